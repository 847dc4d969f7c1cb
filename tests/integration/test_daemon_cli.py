#!/usr/bin/env python3
"""cellgated's command line, its systemd unit, and the daemon on a private system bus without a
modem: version, config checking (exit 78), unit verification and hardening score, readiness,
D-Bus state, access control in both layers, and shutdown."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import harness
from harness import (GATEWAY_IFACE, GATEWAY_PATH, MODEM_IFACE, MODEM_PATH, SERVICE, BusError, Daemon, PrivateBus,
                     wait_for)

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = os.path.join(SOURCE_DIR, "systemd", "cellgate.service")
EXAMPLE_CONFIG = os.path.join(SOURCE_DIR, "etc", "cellgate.yaml")
EX_USAGE, EX_CONFIG = 64, 78

NO_MODEM_CONFIG = "log_level: debug\n"

# Two independent errors: both must be reported, each with its position.
BAD_CONFIG = """\
log_level: loud
modem:
  port: /dev/ttyUSB2
  baud: 12345
  apn:
    name: cmnet
"""


def project_version() -> str:
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*cellgate\s+VERSION\s+([0-9][0-9.]*)", f.read())
    assert m, "no project VERSION in CMakeLists.txt"
    return m.group(1)


def run(args, cmd, timeout=30, **kw):
    return subprocess.run([args.daemon, *cmd], capture_output=True, text=True, timeout=timeout, **kw)


def write_temp(text: str, suffix=".yaml") -> str:
    fd, path = tempfile.mkstemp(prefix="cellgate-test-", suffix=suffix)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


# --- command line ------------------------------------------------------------------------------

def test_version(args):
    r = run(args, ["--version"])
    assert r.returncode == 0, r
    assert r.stdout == f"cellgated {project_version()}\n", repr(r.stdout)


def test_help_and_usage_errors(args):
    r = run(args, ["--help"])
    assert r.returncode == 0 and "--check-config" in r.stdout, r
    r = run(args, ["--no-such-option"])
    assert r.returncode == EX_USAGE and "Usage:" in r.stderr, r
    r = run(args, ["stray-argument"])
    assert r.returncode == EX_USAGE, r


def test_check_config_accepts_the_shipped_example(args):
    r = run(args, ["--check-config", "--config", EXAMPLE_CONFIG])
    assert r.returncode == 0, r
    assert "configuration OK" in r.stdout, r
    assert r.stderr == "", r.stderr


def test_check_config_accepts_a_config_without_modem(args):
    path = write_temp(NO_MODEM_CONFIG)
    try:
        r = run(args, ["--check-config", "--config", path])
        assert r.returncode == 0 and "configuration OK" in r.stdout, r
    finally:
        os.unlink(path)


def test_check_config_reports_every_error_with_its_position(args):
    path = write_temp(BAD_CONFIG)
    try:
        r = run(args, ["--check-config", "--config", path])
        assert r.returncode == EX_CONFIG, r
        assert "configuration OK" not in r.stdout, r
        lines = [l for l in r.stderr.splitlines() if l.startswith(path + ":")]
        positions = [tuple(map(int, re.match(re.escape(path) + r":(\d+):(\d+): ", l).groups()))
                     for l in lines]
        assert [p[0] for p in positions] == [1, 4], r.stderr
        assert all(col >= 1 for _, col in positions), r.stderr
        assert "log_level" in lines[0] and "modem.baud" in lines[1], r.stderr
    finally:
        os.unlink(path)


def test_yaml_syntax_error_is_a_config_error(args):
    path = write_temp("modem: [1,\n")
    try:
        r = run(args, ["--check-config", "--config", path])
        assert r.returncode == EX_CONFIG, r
        assert re.search(re.escape(path) + r":\d+:\d+: ", r.stderr), r.stderr
    finally:
        os.unlink(path)


def test_missing_config_file_is_a_config_error(args):
    r = run(args, ["--check-config", "--config", "/nonexistent/cellgate.yaml"])
    assert r.returncode == EX_CONFIG, r
    assert "/nonexistent/cellgate.yaml" in r.stderr, r


def test_bad_config_at_service_start_exits_78_before_touching_the_bus(args):
    path = write_temp(BAD_CONFIG)
    try:
        # No bus at this address: a daemon that got past config loading would fail differently.
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/bus")
        r = run(args, ["--config", path], env=env, timeout=10)
        assert r.returncode == EX_CONFIG, r
        # journald priority prefix on every error line
        errors = [l for l in r.stderr.splitlines() if l.startswith("<3>config: " + path + ":")]
        assert len(errors) == 2, r.stderr
    finally:
        os.unlink(path)


# --- systemd unit ------------------------------------------------------------------------------

def _unit_copy(args, tmp: str) -> str:
    with open(UNIT) as f:
        text = f.read()
    assert "/usr/sbin/cellgated" in text
    path = os.path.join(tmp, "cellgate.service")
    with open(path, "w") as f:
        f.write(text.replace("/usr/sbin/cellgated", os.path.abspath(args.daemon)))
    return path


def test_systemd_analyze_verify(args):
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze not found"
    with tempfile.TemporaryDirectory() as tmp:
        unit = _unit_copy(args, tmp)
        r = subprocess.run([tool, "verify", "--man=no", unit], capture_output=True, text=True,
                           timeout=60)
        # verify exits 0 on unknown keys or bad values and only prints them: any output is a defect.
        assert r.returncode == 0, r
        assert r.stderr.strip() == "" and r.stdout.strip() == "", r.stderr + r.stdout


def test_unit_declares_what_the_daemon_relies_on(args):
    with open(UNIT) as f:
        keys = {}
        for line in f:
            k, sep, v = line.strip().partition("=")
            if sep and not line.startswith("#"):
                keys.setdefault(k, []).append(v)
    expect = {"Type": "notify", "NotifyAccess": "main", "BusName": SERVICE, "WatchdogSec": "30s",
              "RestartPreventExitStatus": "78",
              "CapabilityBoundingSet": "CAP_NET_ADMIN CAP_NET_RAW", "AmbientCapabilities": "CAP_NET_ADMIN CAP_NET_RAW",
              "DevicePolicy": "closed", "ProtectSystem": "strict", "NoNewPrivileges": "yes"}
    for k, v in expect.items():
        assert keys.get(k) == [v], f"{k}={keys.get(k)} (want {v})"
    assert any("--check-config" in v for v in keys.get("ExecStartPre", [])), keys.get("ExecStartPre")


def test_unit_hardening_exposure_stays_low(args):
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze not found"
    with tempfile.TemporaryDirectory() as tmp:
        unit = _unit_copy(args, tmp)
        r = subprocess.run([tool, "security", "--offline=true", "--no-pager", unit],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        assert m, r.stdout + r.stderr
        # 1.8 when written; systemd calls < 3 "OK". A regression past that is a decision, not drift.
        assert float(m.group(1)) <= 2.5, m.group(0)


# --- the daemon on a private system bus, no modem -----------------------------------------------

def test_daemon_without_modem_on_the_bus(args):
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Daemon(args.daemon, NO_MODEM_CONFIG, bus, keep=args.keep) as d:
        d.wait_ready()
        ready = next(m for m in d.notifications if m.get("READY") == "1")
        # READY=1 only once the name is ours; the same datagram carries the first STATUS.
        assert bus.has_owner(SERVICE)
        assert ready.get("STATUS") == "online; no modem configured", ready

        assert bus.get_property(GATEWAY_PATH, GATEWAY_IFACE, "Version") == project_version()
        assert bus.get_property(GATEWAY_PATH, GATEWAY_IFACE, "State") == "online"
        modem = bus.get_all(MODEM_PATH, MODEM_IFACE)
        assert modem["State"] == "disabled", modem
        assert modem["FailedReason"] == "" and modem["SignalQuality"] == 0, modem
        assert len(modem) == 39, sorted(modem)  # 22, eight serving-cell and nine data-path properties
        # No modem, no data path: nothing to show of it.
        assert modem["Interface"] == "" and modem["Ipv4Address"] == "" and modem["Dns"] == [], modem

        # Reading is open to everyone.
        assert bus.get_property(MODEM_PATH, MODEM_IFACE, "State", user="nobody") == "disabled"
        assert bus.get_all(GATEWAY_PATH, GATEWAY_IFACE, user="nobody")["State"] == "online"

        d.wait_log("gateway: starting -> online (no modem configured")
        start = time.monotonic()
        assert d.stop(signal.SIGTERM, timeout=5) == 0, d.log()
        assert time.monotonic() - start < 5
        assert any(m.get("STOPPING") == "1" for m in d.notifications), d.notifications


def test_watchdog_keepalive_follows_watchdog_usec(args):
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Daemon(args.daemon, NO_MODEM_CONFIG, bus, keep=args.keep,
                   env={"WATCHDOG_USEC": "400000"}) as d:
        d.wait_ready()
        # sd-event pings at half the interval: several within a second.
        wait_for(lambda: sum(m.get("WATCHDOG") == "1" for m in d.poll_notifications()) >= 3,
                 3, "three WATCHDOG=1 pings")
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Daemon(args.daemon, NO_MODEM_CONFIG, bus, keep=args.keep) as d:
        d.wait_ready()
        time.sleep(0.5)
        assert not any("WATCHDOG" in m for m in d.poll_notifications()), d.notifications


def test_reset_access_control_by_bus_policy(args):
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Daemon(args.daemon, NO_MODEM_CONFIG, bus, keep=args.keep) as d:
        d.wait_ready()
        try:
            bus.send(MODEM_PATH, MODEM_IFACE, "Reset", user="nobody")
            raise AssertionError("nobody was allowed to call Reset()")
        except BusError as e:
            assert e.name == "org.freedesktop.DBus.Error.AccessDenied", e
            assert "Rejected send message" in e.message, e  # refused by dbus-daemon's policy
        try:
            bus.send(MODEM_PATH, "org.freedesktop.DBus.Properties", "Set", f"string:{MODEM_IFACE}",
                     "string:State", "variant:string:connected", user="nobody")
            raise AssertionError("nobody was allowed to call Properties.Set")
        except BusError as e:
            assert e.name == "org.freedesktop.DBus.Error.AccessDenied", e
        # root passes every access check and reaches the method itself, which has no modem.
        try:
            bus.send(MODEM_PATH, MODEM_IFACE, "Reset")
            raise AssertionError("Reset() without a modem succeeded")
        except BusError as e:
            assert e.name == "org.cellgate.Gateway1.Error.NoModem", e
        # Introspection and Peer stay open.
        assert "org.cellgate.Gateway1.Modem" in bus.send(
            MODEM_PATH, "org.freedesktop.DBus.Introspectable", "Introspect", user="nobody")
        bus.send(GATEWAY_PATH, "org.freedesktop.DBus.Peer", "Ping", user="nobody")
        assert d.proc.poll() is None


def test_reset_access_control_in_the_daemon_itself(args):
    # A bus that lets anyone call anything: the daemon must still refuse non-root callers.
    with PrivateBus(args.policy, permissive=True, keep=args.keep) as bus, \
            Daemon(args.daemon, NO_MODEM_CONFIG, bus, keep=args.keep) as d:
        d.wait_ready()
        try:
            bus.send(MODEM_PATH, MODEM_IFACE, "Reset", user="nobody")
            raise AssertionError("the daemon let nobody call Reset()")
        except BusError as e:
            assert e.name == "org.freedesktop.DBus.Error.AccessDenied", e
            assert "Rejected send message" not in e.message, e  # not the bus this time
        try:
            bus.send(MODEM_PATH, MODEM_IFACE, "Reset")
            raise AssertionError("Reset() without a modem succeeded")
        except BusError as e:
            assert e.name == "org.cellgate.Gateway1.Error.NoModem", e


def test_only_root_may_own_the_name(args):
    with PrivateBus(args.policy, keep=args.keep) as bus:
        r = subprocess.run(harness.NOBODY + [
            "dbus-send", f"--bus={bus.address}", "--print-reply", "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus", "org.freedesktop.DBus.RequestName", f"string:{SERVICE}",
            "uint32:4"], capture_output=True, text=True, timeout=10)
        assert r.returncode != 0 and "AccessDenied" in r.stderr, r


def test_second_instance_exits_because_the_name_is_taken(args):
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Daemon(args.daemon, NO_MODEM_CONFIG, bus, keep=args.keep) as first:
        first.wait_ready()
        with Daemon(args.daemon, NO_MODEM_CONFIG, bus, keep=args.keep) as second:
            wait_for(lambda: second.proc.poll() is not None, 10, "second instance to exit")
            assert second.proc.returncode == 1, second.log()
            assert "already owned" in second.log(), second.log()
            assert not any(m.get("READY") == "1" for m in second.notifications)
        assert first.proc.poll() is None
        assert bus.get_property(GATEWAY_PATH, GATEWAY_IFACE, "State") == "online"


def test_losing_the_bus_is_fatal(args):
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Daemon(args.daemon, NO_MODEM_CONFIG, bus, keep=args.keep) as d:
        d.wait_ready()
        bus.proc.terminate()
        bus.proc.wait(5)
        wait_for(lambda: d.proc.poll() is not None, 10, "cellgated to exit after the bus died")
        assert d.proc.returncode == 1, d.log()
        assert "connection to the system bus lost" in d.log(), d.log()


def test_no_bus_at_all_fails_cleanly(args):
    with Daemon(args.daemon, NO_MODEM_CONFIG, None, keep=args.keep,
                env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/bus"}) as d:
        wait_for(lambda: d.proc.poll() is not None, 10, "cellgated to exit without a bus")
        assert d.proc.returncode != 0, d.log()
        assert not any(m.get("READY") == "1" for m in d.notifications)


if __name__ == "__main__":
    harness.run([
        test_version,
        test_help_and_usage_errors,
        test_check_config_accepts_the_shipped_example,
        test_check_config_accepts_a_config_without_modem,
        test_check_config_reports_every_error_with_its_position,
        test_yaml_syntax_error_is_a_config_error,
        test_missing_config_file_is_a_config_error,
        test_bad_config_at_service_start_exits_78_before_touching_the_bus,
        test_systemd_analyze_verify,
        test_unit_declares_what_the_daemon_relies_on,
        test_unit_hardening_exposure_stays_low,
        test_daemon_without_modem_on_the_bus,
        test_watchdog_keepalive_follows_watchdog_usec,
        test_reset_access_control_by_bus_policy,
        test_reset_access_control_in_the_daemon_itself,
        test_only_root_may_own_the_name,
        test_second_instance_exits_because_the_name_is_taken,
        test_losing_the_bus_is_fatal,
        test_no_bus_at_all_fails_cleanly,
    ], workers=1)
