#!/usr/bin/env python3
"""SIGHUP reloads the config (systemctl reload sends it). A valid new config is applied without
touching what did not change: a kept session stays on its TCP connection (the broker sees one
CONNECT; ConnectedSince and Reconnects do not move), a removed session disconnects and its D-Bus
object goes, an added one appears and connects, a new route carries messages at once. An invalid
config is refused with every error logged (file:line:column), and everything keeps running on the
old one. Both are announced to systemd with RELOADING=1 ... READY=1."""

import os
import re
import signal
import time

import harness
from brokers import started_mosquitto
from harness import (CLOUD_IFACE, MODEM_IFACE, MODEM_PATH, SERVICE, BusError, MqttCollector, Simulator, bridge_case,
                     bridge_config, cloud_config, cloud_daemon, cloud_path, cloud_props, modem_config, wait_for)

def _sessions(cloud, names):
    return [dict(name=n, platform="generic", endpoint=cloud.endpoint, client_id=f"gw-{n}", tls=False,
                 keepalive="60s") for n in names]


def _hup(d, config_text):
    """Writes the new config over the running one and sends SIGHUP; returns the reload's log line."""
    with open(d.config_path, "w") as f:
        f.write(config_text)
    mark = len(d.log())
    seen = len(d.poll_notifications())
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any(n.get("READY") == "1" for n in d.poll_notifications()[seen:]), 10,
             "READY=1 after the reload")
    notes = d.poll_notifications()[seen:]
    assert notes and notes[0].get("RELOADING") == "1" and "MONOTONIC_USEC" in notes[0], \
        f"the reload was not announced with RELOADING=1 and MONOTONIC_USEC first: {notes}"
    return mark


def _object_exists(bus, name):
    try:
        bus.get_property(cloud_path(name), CLOUD_IFACE, "Name")
        return True
    except BusError:
        return False


def test_valid_reload_keeps_what_did_not_change(args):
    with started_mosquitto(keep=args.keep) as cloud:
        routes = [{"from": "app/a/+", "to": "keep", "as": "raw", "topic": "gw/a/{1}", "qos": 1}]
        with bridge_case(args, _sessions(cloud, ["keep", "old"]), routes,
                         backoff=dict(initial="1s", max="2s", stable_after="2s")) as case, \
                MqttCollector(cloud.host, cloud.port, ["gw/#"], client_id="cloud-watch") as watch, \
                case.publisher() as pub:
            for n in ("keep", "old"):
                case.wait(n, lambda p: p["State"] == "connected", 15, "connected")
            pub.publish("app/a/1", b"before", qos=1)
            watch.wait_count(1, 10)
            before = case.props("keep")
            connects_keep = len(cloud.connects("gw-keep"))
            assert connects_keep == 1, f"gw-keep connected {connects_keep} times before the reload"

            # Edited: a comment on top (every line moves), "old" gone, "new" added, one more route.
            routes2 = routes + [{"from": "app/b/+", "to": "new", "as": "raw", "topic": "gw/b/{1}", "qos": 1}]
            box = {"path": harness.bridge_outbox_path(case.workdir)}
            text = "# edited for the reload test\n\n" + bridge_config(
                _sessions(cloud, ["keep", "new"]), local=dict(endpoint=case.local.endpoint, client_id="cellgate"),
                routes=routes2, outbox=box, backoff=dict(initial="1s", max="2s", stable_after="2s"))
            mark = _hup(case.d, text)
            case.d.wait_log("reload: no modem; cloud: keep kept, new added, old removed; routes changed", 5)

            case.wait("new", lambda p: p["State"] == "connected", 15, "the added session connected")
            wait_for(lambda: not _object_exists(case.bus, "old"), 5, "the removed session's object gone")
            cloud.wait_log(r"Client gw-old (disconnected|closed its connection)", 5)

            # Both routes work after the bridge was rebuilt; nothing published before is sent again
            # on a new topic.
            pub.publish("app/a/2", b"after-a", qos=1)
            pub.publish("app/b/1", b"after-b", qos=1)
            watch.wait_count(3, 10)
            got = sorted((t, p) for _, t, p in watch.snapshot())
            assert got == [("gw/a/1", b"before"), ("gw/a/2", b"after-a"), ("gw/b/1", b"after-b")], got

            after = case.props("keep")
            assert after["State"] == "connected", after
            assert after["ConnectedSince"] == before["ConnectedSince"], (before, after)
            assert after["Reconnects"] == before["Reconnects"], (before, after)
            assert len(cloud.connects("gw-keep")) == 1, "the kept session reconnected:\n" + cloud.log()[-2000:]
            assert cloud.count("Client gw-keep disconnected") == 0 and \
                cloud.count("Client gw-keep closed its connection") == 0, cloud.log()[-2000:]


def test_invalid_reload_keeps_the_running_config(args):
    with started_mosquitto(keep=args.keep) as cloud:
        routes = [{"from": "app/a/+", "to": "keep", "as": "raw", "topic": "gw/a/{1}", "qos": 1}]
        with bridge_case(args, _sessions(cloud, ["keep"]), routes) as case, \
                MqttCollector(cloud.host, cloud.port, ["gw/#"], client_id="cloud-watch") as watch, \
                case.publisher() as pub:
            case.wait("keep", lambda p: p["State"] == "connected", 15, "connected")
            before = case.props("keep")
            good = case.config

            # Two mistakes at once: both are logged, with their place in the file.
            bad = good.replace("keepalive: 60s", "keepalive: 1500ms").replace("as: raw", "as: telemetry")
            assert bad != good
            mark = _hup(case.d, bad)
            case.d.wait_log("reload: keeping the running configuration", 5)
            log = case.d.log()[mark:]
            path = case.d.config_path
            assert f"reload: {path}:" in log, log
            assert "keepalive" in log and "telemetry" in log, f"not every error was logged:\n{log}"
            assert "reload: no modem" not in log, f"an invalid config was applied:\n{log}"

            pub.publish("app/a/1", b"still-routed", qos=1)
            watch.wait_count(1, 10)
            after = case.props("keep")
            assert after["ConnectedSince"] == before["ConnectedSince"] and after["KeepAlive"] == 60, (before, after)
            assert len(cloud.connects("gw-keep")) == 1, cloud.log()[-2000:]

            # A broken file does not stick: the next good one is applied.
            _hup(case.d, good.replace("keepalive: 60s", "keepalive: 90s"))
            case.d.wait_log("reload: no modem; cloud: keep replaced", 5)
            case.wait("keep", lambda p: p["State"] == "connected" and p["KeepAlive"] == 90, 15,
                      "reconnected with the new keepalive")
            assert case.d.proc.poll() is None


def test_unreadable_config_keeps_running(args):
    with started_mosquitto(keep=args.keep) as cloud:
        with bridge_case(args, _sessions(cloud, ["keep"])) as case:
            case.wait("keep", lambda p: p["State"] == "connected", 15, "connected")
            os.chmod(case.d.config_path, 0)  # root reads it anyway; a missing file is the real case
            os.rename(case.d.config_path, case.d.config_path + ".moved")
            seen = len(case.d.poll_notifications())
            case.d.proc.send_signal(signal.SIGHUP)
            case.d.wait_log("reload: keeping the running configuration", 5)
            wait_for(lambda: any(n.get("READY") == "1" for n in case.d.poll_notifications()[seen:]), 5, "READY=1")
            time.sleep(0.5)
            assert cloud_props(case.bus, "keep")["State"] == "connected"
            assert case.bus.has_owner(SERVICE)
            os.rename(case.d.config_path + ".moved", case.d.config_path)


def test_modem_restarts_only_when_its_section_changed(args):
    # The simulated module answers at once, so a restart can be over between two D-Bus polls:
    # the journal's transition lines say what happened.
    modem_moved = re.compile(r"^<\d>modem: .*State \S+ -> \S+", re.M)
    with started_mosquitto(keep=args.keep) as cloud, Simulator(args.sim, "normal", speed=4.0, keep=args.keep) as sim:
        session = _sessions(cloud, ["lab"])
        with cloud_daemon(args, cloud_config(session, modem=modem_config(sim.link))) as (bus, d):
            bus.wait_property(MODEM_PATH, MODEM_IFACE, "State", "connected", 40)
            wait_for(lambda: cloud_props(bus, "lab")["State"] == "connected", 15, "lab connected")
            commands = len(sim.history())
            # A cloud edit only: the modem is not touched (no AT command beyond its polls).
            mark = _hup(d, cloud_config(_sessions(cloud, ["lab"]) + _sessions(cloud, ["two"]),
                                        modem=modem_config(sim.link)))
            d.wait_log("reload: modem unchanged; cloud: lab kept, two added", 5)
            wait_for(lambda: cloud_props(bus, "two")["State"] == "connected", 15, "two connected")
            time.sleep(1.0)
            assert not modem_moved.search(d.log()[mark:]), f"the modem moved:\n{d.log()[mark:]}"
            new = sim.history()[commands:]
            assert not any(c.startswith(("AT+CFUN", "AT+CGATT", "AT+CGDCONT", "ATD")) for c in new), new

            # The APN changed: the modem is brought up again with it, the sessions follow.
            mark = _hup(d, cloud_config(_sessions(cloud, ["lab", "two"]), modem=modem_config(sim.link, apn="cmiot")))
            d.wait_log("reload: modem restarted; cloud: lab kept, two kept", 5)
            bus.wait_property(MODEM_PATH, MODEM_IFACE, "Apn", "cmiot", 40)
            bus.wait_property(MODEM_PATH, MODEM_IFACE, "State", "connected", 40)
            log = d.log()[mark:]
            assert re.search(r"State \S+ -> initializing", log) and "State connecting -> connected" in log, \
                f"the modem was not brought up again:\n{log}"
            assert "cloud lab: connected -> waiting-link" in log, f"lab did not follow the old link down:\n{log}"
            assert any("cmiot" in c for c in sim.history()[commands:]), "the new APN never reached the module"
            wait_for(lambda: cloud_props(bus, "lab")["State"] == "connected", 20, "lab back on the new link")


if __name__ == "__main__":
    harness.run([test_valid_reload_keeps_what_did_not_change, test_invalid_reload_keeps_the_running_config,
                  test_unreadable_config_keeps_running, test_modem_restarts_only_when_its_section_changed], workers=1)
