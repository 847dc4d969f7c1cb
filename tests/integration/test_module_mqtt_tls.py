#!/usr/bin/env python3
"""TLS through the module's own MQTT client (`transport: module`, `tls: {ca: ...}`), in each command
set, against a local mosquitto TLS listener: the CA goes into the module's files, the simulator's
broker connection is made with TLS checking that CA, messages arrive, and a reconnect does not upload
the unchanged CA again."""

import json

import harness
from brokers import started_mosquitto
from harness import MqttCollector, Simulator, bridge_case, run, wait_for

VENDORS = ("quectel", "luat", "simcom")


def connected(p):
    return p["State"] == "connected"


def _case(vendor):
    def body(args):
        with started_mosquitto(tls=True, require_certificate=False, keep=args.keep) as cloud, \
                Simulator(args.sim, "normal", vendor=vendor, speed=4.0, keep=args.keep) as sim:
            cid = f"gw-tls-{vendor}"
            sessions = [dict(name="lab", platform="generic", endpoint=cloud.endpoint, client_id=cid,
                             tls=dict(ca=cloud.ca), keepalive="60s", transport="module")]
            routes = [{"from": "app/up/+", "to": "lab", "as": "raw", "topic": "gw/{1}", "qos": 1}]
            with bridge_case(args, sessions, routes, backoff=dict(initial="1s", max="4s", stable_after="2s"),
                             modem=harness.modem_config(sim.link, vendor=vendor)) as case, \
                    case.publisher() as pub:
                case.wait("lab", connected, 60, f"{vendor}: connected over TLS through the module")
                assert cloud.connects(cid), "the broker never saw the module's CONNECT"
                state = json.loads(sim.control("mqtt state"))
                assert state["tls"].get("0") == "verified", state
                assert len(state["uploads"]) == 1, state["uploads"]
                ca_name = state["uploads"][0]
                assert ca_name in state["files"], state

                # Messages cross the TLS connection (the watcher checks the same CA).
                got = []
                import paho.mqtt.client as paho
                watch = paho.Client(client_id="cloud-watch-tls", protocol=paho.MQTTv311)
                watch.tls_set(ca_certs=cloud.ca)
                watch.on_message = lambda c, u, m: got.append(bytes(m.payload))
                watch.on_connect = lambda c, u, fl, rc: c.subscribe("gw/#", 1)
                watch.connect(cloud.host, cloud.port, 30)
                watch.loop_start()
                try:
                    wait_for(lambda: watch.is_connected(), 10, "the watcher connected")
                    for i in range(5):
                        pub.publish("app/up/t", f"tls-{i}".encode(), qos=1)
                    wait_for(lambda: len(set(got)) >= 5, 60, "5 messages over TLS")

                    # A module-side drop and a reconnect: the CA is unchanged, so no second upload.
                    sim.control("mqtt drop")
                    case.wait("lab", lambda p: p["Reconnects"] >= 1, 30, "the drop noticed")
                    case.wait("lab", connected, 60, "connected again over TLS")
                    pub.publish("app/up/t", b"after", qos=1)
                    wait_for(lambda: b"after" in got, 60, "a message after the reconnect")
                finally:
                    watch.loop_stop()
                    watch.disconnect()
                state = json.loads(sim.control("mqtt state"))
                assert len(state["uploads"]) == 1, f"unchanged CA uploaded again: {state['uploads']}"
                assert len(cloud.connects(cid)) >= 2, "no second CONNECT at the broker"
                print(f"{vendor}: TLS through the module, uploads {state['uploads']}, "
                      f"{len(cloud.connects(cid))} CONNECTs, tls {state['tls']}")
    body.__name__ = f"test_module_mqtt_tls_{vendor}"
    return body


if __name__ == "__main__":
    run([_case(v) for v in VENDORS])
