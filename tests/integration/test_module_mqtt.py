#!/usr/bin/env python3
"""Cloud sessions through the module's own MQTT client (`transport: module`), in each command set
(Luat, Quectel, SIMCom), the simulator holding a real MQTT connection to a local mosquitto: the
session connects, a route's messages arrive in order with nothing lost across a module-side drop,
downlink arrives locally (also after the drop: subscriptions are sent again), and the throughput
of one publish in flight is measured."""

import time

import harness
from brokers import started_mosquitto
from harness import MqttCollector, Simulator, bridge_case, run, wait_for

VENDORS = ("luat", "quectel", "simcom")


def connected(p):
    return p["State"] == "connected"


def _first_in_order(msgs, prefix):
    got = [p for _, _, p in msgs if p.startswith(prefix)]
    return list(dict.fromkeys(got)), len(got)


def _case(vendor):
    def body(args):
        with started_mosquitto(keep=args.keep) as cloud, \
                MqttCollector(cloud.host, cloud.port, ["gw/#"], client_id="cloud-watch") as watch, \
                Simulator(args.sim, "normal", vendor=vendor, speed=4.0, keep=args.keep) as sim:
            cid = f"gw-{vendor}"
            sessions = [dict(name="lab", platform="generic", endpoint=cloud.endpoint, client_id=cid, tls=False,
                             keepalive="60s", transport="module")]
            routes = [{"from": "app/up/+", "to": "lab", "as": "raw", "topic": "gw/{1}", "qos": 1}]
            downlink = [{"from": "lab", "to": "cloud/lab", "filters": [f"cmd/{cid}/#"]}]
            with bridge_case(args, sessions, routes, downlink=downlink,
                             backoff=dict(initial="1s", max="4s", stable_after="2s"),
                             modem=harness.modem_config(sim.link, vendor=vendor)) as case, \
                    case.publisher() as pub, \
                    MqttCollector(cloud.host, cloud.port, [], client_id="cloud-app", clean=True) as backend, \
                    MqttCollector(case.local.host, case.local.port, ["cloud/lab/#"], client_id="app-dl",
                                  clean=True) as app:
                props = case.wait("lab", connected, 60, f"{vendor}: connected through the module")
                assert props["Transport"] == "module", props
                assert cloud.connects(cid), "the broker never saw the module's CONNECT"
                history = [c for c in sim.history() if "MQTT" in c or "QMT" in c or "MPUB" in c]
                assert history, "no MQTT command went to the module"

                # Throughput: one publish in flight through the module.
                n = 100
                t0 = time.monotonic()
                for i in range(n):
                    pub.publish("app/up/rate", f"rate-{i:04d}".encode(), qos=1)
                watch.wait_count(n, 120, lambda t, p: p.startswith(b"rate-"))
                elapsed = time.monotonic() - t0
                firsts, total = _first_in_order(watch.snapshot(), b"rate-")
                assert firsts == [f"rate-{i:04d}".encode() for i in range(n)], firsts[:5]

                # Downlink: binary bytes, CR LF included, arrive unchanged.
                body_bytes = b"\x00\x01\r\nOK\r\n\xff" + vendor.encode()
                backend.publish(f"cmd/{cid}/reboot", body_bytes, qos=1)
                got = app.wait_count(1, 20)
                assert got[0][1] == f"cloud/lab/cmd/{cid}/reboot" and got[0][2] == body_bytes, got[0]

                # A module-side drop mid-stream: nothing lost, order kept.
                m = 60
                t_drop = None
                for i in range(m):
                    pub.publish("app/up/drop", f"drop-{i:04d}".encode(), qos=1)
                    if i == 20:
                        watch.wait_count(10, 30, lambda t, p: p.startswith(b"drop-"))
                        t_drop = time.monotonic()
                        sim.control("mqtt drop")
                down = case.wait("lab", lambda p: p["Reconnects"] >= 1, 30, "the drop noticed")
                t_noticed = time.monotonic()
                watch.wait_count(m, 120, lambda t, p: p.startswith(b"drop-"))
                firsts, total_drop = _first_in_order(watch.snapshot(), b"drop-")
                assert firsts == [f"drop-{i:04d}".encode() for i in range(m)], firsts[:5]
                assert "lost" in down["LastDisconnectReason"] or "closed" in down["LastDisconnectReason"].lower(), down

                # Subscriptions were sent again on the new connection.
                case.wait("lab", connected, 30, "connected again")
                wait_for(lambda: sum(1 for c in sim.history() if "SUB" in c and "UNSUB" not in c) >= 2, 20,
                         "the subscription sent again")
                backend.publish(f"cmd/{cid}/after", b"again", qos=1)
                app.wait_count(2, 20)
                # The bearer goes (PDP lost): the session waits it out and comes back by itself.
                t_pdp = time.monotonic()
                sim.control("mqtt pdp 3")
                case.wait("lab", lambda p: p["Reconnects"] >= 2, 30, "the PDP loss noticed")
                case.wait("lab", connected, 60, "connected again after the PDP came back")
                pdp = time.monotonic() - t_pdp
                st = sim.control("mqtt state")
                print(f"{vendor}: {n / elapsed:.1f} messages/s through the module (one in flight, sim speed 4); "
                      f"drop noticed {t_noticed - t_drop:.2f} s, {m} of {m} in order, "
                      f"{total_drop - m} duplicates; downlink ok before and after; back {pdp:.1f} s after a 3 s PDP loss; "
                      f"module state {st.strip()}")
    body.__name__ = f"test_module_mqtt_{vendor}"
    return body


if __name__ == "__main__":
    run([_case(v) for v in VENDORS])
