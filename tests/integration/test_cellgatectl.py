#!/usr/bin/env python3
"""cellgatectl against the real daemon on a private bus (the simulator as modem, mosquitto as the
cloud): status as text and JSON, modem and sessions, publish (text and @file) arriving at the
broker, reset and reconnect, and the documented exit statuses: 1 refused, 2 usage, 3 daemon not
running, 4 unknown session, 5 status while not online. watch prints a change within a second of
its signal and makes no further calls to the daemon after its first reads."""

import contextlib
import json
import os
import re
import subprocess
import threading
import time

import harness
from brokers import started_mosquitto
from harness import (CLOUD_IFACE, GATEWAY_IFACE, GATEWAY_PATH, IDENTITY, MODEM_IFACE, MODEM_PATH, NOBODY,
                     MqttCollector, PrivateBus, Simulator, bridge_case, cloud_path, make_workdir, run, wait_for)

OK, FAILED, USAGE, NOT_RUNNING, NO_SESSION, NOT_ONLINE = 0, 1, 2, 3, 4, 5


def ctl_path(args) -> str:
    """Built next to cellgated (both are top-level targets)."""
    path = os.path.join(os.path.dirname(os.path.abspath(args.daemon)), "cellgatectl")
    assert os.access(path, os.X_OK), f"{path} is not built (cmake --build ... --target cellgatectl)"
    return path


def ctl(args, bus_address: str, *argv, user=None, check_rc=None) -> subprocess.CompletedProcess:
    cmd = ([*NOBODY] if user == "nobody" else []) + [ctl_path(args), *argv]
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus_address, TZ="UTC")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=40, env=env)
    if check_rc is not None:
        assert r.returncode == check_rc, f"cellgatectl {' '.join(argv)}: exit {r.returncode}, want {check_rc}\n" \
                                         f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r


@contextlib.contextmanager
def gateway(args, **extra):
    """The simulator, a cloud mosquitto with a watcher on gw/#, and cellgated with one generic
    session 'lab' over the modem and an outbox (for Publish)."""
    with started_mosquitto(keep=args.keep) as cloud, \
            MqttCollector(cloud.host, cloud.port, ["gw/#"], client_id="cloud-watch") as watch, \
            Simulator(args.sim, "normal", speed=4.0, keep=args.keep) as sim:
        sessions = [dict(name="lab", platform="generic", endpoint=cloud.endpoint, client_id="gw-ctl", tls=False,
                         keepalive="60s")]
        with bridge_case(args, sessions, backoff=dict(initial="1s", max="2s", stable_after="2s"),
                         modem=harness.modem_config(sim.link), **extra) as case:
            case.cloud, case.watch, case.sim = cloud, watch, sim
            case.ctl = lambda *argv, **kw: ctl(args, case.bus.address, *argv, **kw)
            yield case


def wait_online(case, timeout=40):
    case.bus.wait_property(GATEWAY_PATH, GATEWAY_IFACE, "State", "online", timeout)


def test_status_as_text_and_json(args):
    with gateway(args) as case:
        wait_online(case)
        r = case.ctl("status", check_rc=OK)
        out = r.stdout
        for pattern in (r"Gateway\s+\|\s+state: online\n",
                        r"\|\s+reason: modem connected, cloud 1/1 connected\n",
                        r"Modem\s+\|\s+state: connected\n",
                        r"\|\s+signal: \d+%",
                        r"\|\s+ip: 10\.64\.12\.34 \(apn cmnet\)\n",
                        r"Cloud lab\s+\|\s+state: connected for \d+s \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\n",
                        r"\|\s+endpoint: 127\.0\.0\.1:\d+ \(generic\)\n"):
            assert re.search(pattern, out), f"{pattern!r} not in:\n{out}"
        assert r.stderr == "", r.stderr

        j = json.loads(case.ctl("--json", "status", check_rc=OK).stdout)
        assert j["gateway"]["State"] == "online" and j["gateway"]["StateReason"], j["gateway"]
        assert j["modem"]["State"] == "connected" and j["modem"]["Imei"] == IDENTITY["generic"][3], j["modem"]
        lab = j["sessions"]["lab"]
        assert lab["State"] == "connected", lab
        assert abs(lab["ConnectedSince"] / 1e6 - time.time()) < 120, lab["ConnectedSince"]

        modem = case.ctl("modem", check_rc=OK).stdout
        assert re.search(r"imei: " + IDENTITY["generic"][3], modem), modem
        sessions = json.loads(case.ctl("sessions", "--json", check_rc=OK).stdout)
        assert list(sessions) == ["lab"] and sessions["lab"]["ClientId"] == "gw-ctl", sessions
        # Reading is for everyone.
        assert "Cloud lab" in case.ctl("status", user="nobody", check_rc=OK).stdout


def test_publish_reaches_the_broker(args):
    with gateway(args) as case:
        wait_online(case)
        r = case.ctl("publish", "lab", "gw/ctl/text", "hello from cellgatectl", check_rc=OK)
        assert re.match(r"cloud lab: message \d+ queued \(22 bytes to gw/ctl/text\)\n", r.stdout), r.stdout
        blob = os.path.join(case.workdir, "blob.bin")
        data = bytes(range(256)) * 4
        with open(blob, "wb") as f:
            f.write(data)
        j = json.loads(case.ctl("--json", "publish", "lab", "gw/ctl/file", "@" + blob, "--qos", "0",
                                check_rc=OK).stdout)
        assert j["session"] == "lab" and j["id"] > 0, j
        got = case.watch.wait_count(2, 10)
        assert {(t, p) for _, t, p in got} == {("gw/ctl/text", b"hello from cellgatectl"), ("gw/ctl/file", data)}, got

        r = case.ctl("publish", "nope", "gw/x", "y", check_rc=NO_SESSION)
        assert "no cloud session 'nope' (configured: lab)" in r.stderr, r.stderr
        r = case.ctl("publish", "lab", "gw/+/x", "y", check_rc=FAILED)
        assert "InvalidTopic" in r.stderr, r.stderr
        r = case.ctl("publish", "lab", "gw/x", "y", user="nobody", check_rc=FAILED)
        assert "denied" in r.stderr.lower(), r.stderr
        case.ctl("publish", "lab", "gw/x", "@/nonexistent/file", check_rc=USAGE)
        assert len(case.watch.snapshot()) == 2, case.watch.snapshot()


def test_reset_reconnect_and_not_online(args):
    with gateway(args) as case:
        wait_online(case)
        before = case.bus.get_property(cloud_path("lab"), CLOUD_IFACE, "Reconnects")
        case.ctl("reconnect", "lab", check_rc=OK)
        wait_for(lambda: case.bus.get_property(cloud_path("lab"), CLOUD_IFACE, "Reconnects") > before, 10,
                 "Reconnects to count the reconnect")
        case.ctl("reconnect", "nope", check_rc=NO_SESSION)
        case.ctl("reconnect", "lab", user="nobody", check_rc=FAILED)

        # The cloud goes away with the modem still connected: degraded (some links up), and status says so.
        wait_online(case)
        case.cloud.kill()
        case.bus.wait_property(GATEWAY_PATH, GATEWAY_IFACE, "State", "degraded", 20)
        r = case.ctl("status", check_rc=NOT_ONLINE)
        assert re.search(r"state: degraded\n", r.stdout), r.stdout
        assert case.bus.get_property(GATEWAY_PATH, GATEWAY_IFACE, "StateReason").startswith(
            "modem connected, cloud 0/1 connected (lab "), r.stdout

        resets = case.bus.get_property(MODEM_PATH, MODEM_IFACE, "Resets")
        assert case.ctl("--json", "reset", check_rc=OK).stdout.strip().startswith("{")
        wait_for(lambda: case.bus.get_property(MODEM_PATH, MODEM_IFACE, "Resets") > resets, 20, "the modem reset")
        case.ctl("reset", user="nobody", check_rc=FAILED)


def test_exit_statuses_without_a_daemon(args):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/bus")
    for argv, want in ((["status"], NOT_RUNNING), (["frobnicate"], USAGE), (["publish", "lab"], USAGE),
                       (["status", "--bogus"], USAGE), (["--version"], OK), (["--help"], OK)):
        r = subprocess.run([ctl_path(args), *argv], capture_output=True, text=True, timeout=20, env=env)
        assert r.returncode == want, f"{argv}: exit {r.returncode}, want {want}: {r.stderr}"
    with PrivateBus(args.policy, keep=args.keep) as bus:
        for argv in (["status"], ["--json", "modem"], ["watch"], ["reset"]):
            r = ctl(args, bus.address, *argv, check_rc=NOT_RUNNING)
            assert "cellgated is not running" in r.stderr, r.stderr


class LineReader:
    """Collects a child's stdout lines with their arrival times."""

    def __init__(self, proc):
        self.lines, self._lock = [], threading.Lock()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc):
        for line in proc.stdout:
            with self._lock:
                self.lines.append((time.monotonic(), line.rstrip("\n")))

    def snapshot(self):
        with self._lock:
            return list(self.lines)

    def wait(self, pred, timeout, what, after=0.0):
        return wait_for(lambda: next(((t, l) for t, l in self.snapshot() if t >= after and pred(l)), None),
                        timeout, what)


def daemon_calls(monitor: LineReader) -> list:
    """Method calls to cellgated seen by dbus-monitor, but the test's own Reconnect."""
    return [l for _, l in monitor.snapshot()
            if l.startswith("method call") and "destination=org.cellgate.Gateway1" in l and "member=Reconnect" not in l]


def test_watch_follows_signals_without_polling(args):
    with gateway(args) as case:
        wait_online(case)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=case.bus.address, TZ="UTC")
        # Every method call on the bus, seen by a monitor (root may monitor the private bus).
        monitor = subprocess.Popen(["dbus-monitor", "--address", case.bus.address],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        watcher = None
        try:
            calls = LineReader(monitor)
            wait_for(calls.snapshot, 10, "dbus-monitor to start")  # it prints its own NameLost first
            watcher = subprocess.Popen([ctl_path(args), "watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True, env=env)
            lines = LineReader(watcher)
            lines.wait(lambda l: l.endswith("cloud lab: State=connected"), 10, "watch's first lines")
            time.sleep(0.5)
            before = daemon_calls(calls)

            t0 = time.monotonic()
            case.bus.call(cloud_path("lab"), CLOUD_IFACE, "Reconnect")
            t_seen, _ = lines.wait(lambda l: re.search(r"cloud lab: .*State=(connecting|backoff|idle)", l), 5,
                                   "the session's drop", after=t0)
            assert t_seen - t0 < 1.0, f"watch printed the change {t_seen - t0:.2f} s after it"
            lines.wait(lambda l: "cloud lab: State=connected" in l and "ConnectedSince=" in l, 15,
                       "the session back", after=t0)
            time.sleep(3)  # long enough for any polling to show
            after = daemon_calls(calls)
            assert after == before, f"calls to the daemon while watching: {after[len(before):]}"
            assert sum("member=GetAll" in l for l in before) >= 3, before  # its first reads: gateway, modem, lab
            assert watcher.poll() is None, watcher.stderr.read()
        finally:
            harness.stop_process(watcher)
            harness.stop_process(monitor)
        text = "\n".join(l for _, l in lines.snapshot())
        assert re.search(r"^\d\d:\d\d:\d\d gateway: State=online StateReason=\"modem connected, cloud 1/1 connected\"$",
                         text, re.M), text


if __name__ == "__main__":
    run([test_status_as_text_and_json, test_publish_reaches_the_broker, test_reset_reconnect_and_not_online,
         test_exit_statuses_without_a_daemon, test_watch_follows_signals_without_polling])
