#!/usr/bin/env python3
"""The gateway's status on the local broker, as a real mosquitto subscriber sees it: a retained
JSON message on local.status_topic (modem, signal, each session, the gateway state), updated on
change at most once per 2 s with the latest, the last will ({"state":"offline"}, retained) after
kill -9 of cellgated, the offline message a clean stop publishes itself, and a reload that moves
it to another topic."""

import contextlib
import json
import shutil
import signal
import time

import harness
from brokers import started_mosquitto
from harness import (GATEWAY_IFACE, GATEWAY_PATH, CLOUD_IFACE, Daemon, MqttCollector, PrivateBus, Simulator,
                     bridge_config, check_config, cloud_path, make_workdir, run, wait_for)

TOPIC = "site-7/gw/status"
MIN_INTERVAL = 2.0  # StatusPublisher::kMinInterval


class Case:
    def __init__(self, bus, d, local, cloud, sim):
        self.bus, self.d, self.local, self.cloud, self.sim = bus, d, local, cloud, sim

    def subscriber(self, client_id: str) -> MqttCollector:
        """A fresh local application: retained messages reach it at once."""
        return MqttCollector(self.local.host, self.local.port, [TOPIC], client_id=client_id, clean=True)


@contextlib.contextmanager
def gateway(args, status_topic=TOPIC):
    """The simulator, a cloud and a local mosquitto, cellgated with one session over the modem and
    a local: section (no routes: the status alone needs no outbox)."""
    workdir = make_workdir("cellgate-status-")
    try:
        with started_mosquitto(keep=args.keep) as local, started_mosquitto(keep=args.keep) as cloud, \
                Simulator(args.sim, "normal", speed=4.0, keep=args.keep) as sim:
            sessions = [dict(name="lab", platform="generic", endpoint=cloud.endpoint, client_id="gw-st", tls=False,
                             keepalive="60s")]
            cfg = bridge_config(sessions, local=dict(endpoint=local.endpoint, client_id="gw-st-local",
                                                     status_topic=status_topic),
                                backoff=dict(initial="1s", max="2s", stable_after="2s"),
                                modem=harness.modem_config(sim.link))
            check_config(args.daemon, cfg, workdir)
            with PrivateBus(args.policy, keep=args.keep) as bus, Daemon(args.daemon, cfg, bus, keep=args.keep) as d:
                d.wait_ready(timeout=20)
                yield Case(bus, d, local, cloud, sim)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def statuses(sub: MqttCollector) -> list:
    """(arrival, parsed JSON or None for an empty payload) of every message on the topic."""
    return [(t, json.loads(p) if p else None) for t, topic, p in sub.snapshot() if topic == TOPIC]


def wait_status(sub: MqttCollector, pred, timeout: float, what: str, after: float = 0.0):
    def find():
        return next(((t, s) for t, s in statuses(sub) if t >= after and s is not None and pred(s)), None)
    try:
        return wait_for(find, timeout, what)
    except TimeoutError:
        raise AssertionError(f"no status with {what} within {timeout}s; seen: {statuses(sub)}") from None


def test_retained_status_and_its_updates(args):
    with gateway(args) as case:
        case.bus.wait_property(GATEWAY_PATH, GATEWAY_IFACE, "State", "online", 40)
        # A subscriber that comes late reads the retained status at once.
        with case.subscriber("late-app") as sub:
            _, s = wait_status(sub, lambda s: s["state"] == "online", 2 * MIN_INTERVAL + 1, "state online")
            assert s["reason"] == "modem connected, cloud 1/1 connected", s
            assert s["modem"]["state"] == "connected" and s["modem"]["ip"] == harness.IP, s["modem"]
            assert 0 < s["modem"]["signal"] <= 100, s["modem"]
            assert s["sessions"] == {"lab": {"state": "connected"}}, s["sessions"]

            # The cloud goes away: degraded (the modem is still up), the session's state with it.
            t0 = time.monotonic()
            case.cloud.kill()
            _, s = wait_status(sub, lambda s: s["state"] == "degraded", 15, "state degraded", after=t0)
            assert s["sessions"]["lab"]["state"] in ("backoff", "connecting"), s
            assert s["reason"].startswith("modem connected, cloud 0/1 connected"), s
            case.cloud.start()
            _, s = wait_status(sub, lambda s: s["state"] == "online", 20, "online again", after=t0)

            # A burst of changes (a reconnect is down and up within milliseconds): at most one
            # message per interval, and the last one says what is true now.
            time.sleep(MIN_INTERVAL + 0.5)
            t1 = time.monotonic()
            case.bus.call(cloud_path("lab"), CLOUD_IFACE, "Reconnect")
            time.sleep(2 * MIN_INTERVAL + 1)
            burst = [s for t, s in statuses(sub) if t >= t1]
            # The drop goes out at once (the last message is older than the interval), the return
            # once the interval is over.
            assert burst and burst[0]["state"] == "degraded" and burst[-1]["state"] == "online", burst
            # The first message is the retained one, delivered on subscribing: not one we timed.
            times = [t for t, _ in statuses(sub)][1:]
            gaps = [b - a for a, b in zip(times, times[1:])]
            # Arrival times carry a little scheduling jitter; the sender keeps the full interval.
            assert gaps and min(gaps) >= MIN_INTERVAL - 0.25, f"status messages {min(gaps):.2f} s apart: {statuses(sub)}"
        assert_clean_stop_says_offline(case)


def assert_clean_stop_says_offline(case):
    with case.subscriber("watcher-stop") as sub:
        wait_status(sub, lambda s: s["state"] != "offline", 5, "the live status")
        t0 = time.monotonic()
        assert case.d.stop() == 0, case.d.log()[-3000:]
        _, s = wait_status(sub, lambda s: s["state"] == "offline", 5, "offline after SIGTERM", after=t0)
        assert s == {"state": "offline", "reason": "cellgated stopped"}, s
    # Retained: whoever comes next reads it.
    with case.subscriber("after-stop") as sub:
        wait_status(sub, lambda s: s == {"state": "offline", "reason": "cellgated stopped"}, 5, "retained offline")


def test_last_will_after_kill_9(args):
    with gateway(args) as case:
        case.bus.wait_property(GATEWAY_PATH, GATEWAY_IFACE, "State", "online", 40)
        with case.subscriber("app") as sub:
            wait_status(sub, lambda s: s["state"] == "online", 2 * MIN_INTERVAL + 1, "state online")
            t0 = time.monotonic()
            case.d.proc.send_signal(signal.SIGKILL)
            case.d.proc.wait(5)
            t, s = wait_status(sub, lambda s: s["state"] == "offline", 5, "the will", after=t0)
            assert s["reason"] == "cellgated is gone (connection lost)", s
            print(f"will seen {t - t0:.2f} s after kill -9")
        with case.subscriber("after-kill") as sub:
            wait_status(sub, lambda s: s["state"] == "offline", 5, "the retained will")


def test_a_reload_moves_the_status_to_a_new_topic(args):
    moved = "site-7/gw/state"
    with gateway(args) as case:
        case.bus.wait_property(GATEWAY_PATH, GATEWAY_IFACE, "State", "online", 40)
        with MqttCollector(case.local.host, case.local.port, [TOPIC, moved], client_id="app", clean=True) as sub:
            wait_status(sub, lambda s: s["state"] == "online", 2 * MIN_INTERVAL + 1, "state online")
            with open(case.d.config_path) as f:
                text = f.read()
            assert f"status_topic: {TOPIC}" in text, text
            mark = len(case.d.log())
            with open(case.d.config_path, "w") as f:
                f.write(text.replace(TOPIC, moved))
            t0 = time.monotonic()
            case.d.proc.send_signal(signal.SIGHUP)
            line = wait_for(lambda: next((l for l in case.d.log()[mark:].splitlines() if "reload: " in l
                                          and "cloud:" in l), None), 10, "the reload's log line")
            assert "status on the local broker changed" in line and "nothing changed" not in line, line
            # The old topic's retained status is removed, the new one carries the status.
            wait_for(lambda: any(t >= t0 and topic == TOPIC and not p for t, topic, p in sub.snapshot()), 5,
                     f"the retained status removed from {TOPIC}")
            wait_for(lambda: any(t >= t0 and topic == moved and p and json.loads(p)["state"] == "online"
                                 for t, topic, p in sub.snapshot()), 2 * MIN_INTERVAL + 5, f"the status on {moved}")
        assert case.d.stop() == 0


def test_an_empty_status_topic_turns_it_off(args):
    with gateway(args, status_topic="") as case:
        with case.subscriber("app") as sub, \
                MqttCollector(case.local.host, case.local.port, ["#"], client_id="all", clean=True) as everything:
            case.bus.wait_property(GATEWAY_PATH, GATEWAY_IFACE, "State", "online", 40)
            time.sleep(MIN_INTERVAL + 1)
            assert not everything.snapshot(), everything.snapshot()
            assert "gw-st-local-status" not in case.local.log(), case.local.log()[-2000:]
        assert case.d.stop() == 0


if __name__ == "__main__":
    run([test_retained_status_and_its_updates, test_last_will_after_kill_9, test_a_reload_moves_the_status_to_a_new_topic,
         test_an_empty_status_topic_turns_it_off])
