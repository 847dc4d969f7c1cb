"""Shared helpers for the cellgated integration tests (Python 3 stdlib only).

Every test script is invoked by CTest as
    python3 test_x.py --daemon PATH --sim PATH --policy PATH
and typically looks like:

    import harness
    from harness import PrivateBus, Daemon, MODEM_PATH, MODEM_IFACE

    def test_something(args):
        with PrivateBus(args.policy) as bus, Daemon(args.daemon, CONFIG, bus) as d:
            d.wait_ready()
            assert bus.get_property(MODEM_PATH, MODEM_IFACE, "State") == "disabled"

    if __name__ == "__main__":
        harness.main([test_something])

API (keep additions additive; other helpers import this file):
  parse_args()                      -> argparse.Namespace(daemon, sim, policy, keep)
  main(tests)                       runs test functions (each takes args), prints PASS/FAIL, exits 0/1
  wait_for(pred, timeout, what)     polls pred() until truthy; returns its value or raises TimeoutError
  PrivateBus(policy, permissive=False)
                                    context manager: a system-bus-like dbus-daemon on a unix socket in a
                                    temp dir, deny-by-default, <include>s the shipped policy. permissive=True
                                    adds a rule letting anyone call anything, to test the daemon's own checks.
      .address .workdir
      .busctl(*args, user=None, check=True) -> CompletedProcess (user="nobody" runs via setpriv)
      .get_property(path, iface, prop, user=None) -> Python value (s->str, u/i->int, b->bool, ...)
      .get_all(path, iface) -> {name: value}
      .call(path, iface, method, signature="", *args, user=None) -> list of reply values;
                                    raises BusError on an error reply. busctl prints only the
                                    message (and "Access denied" for any AccessDenied), so
                                    BusError.name is a best guess here; use send() to assert names.
      .send(path, iface, method, *args, user=None) -> reply text (dbus-send --print-reply);
                                    args in dbus-send syntax ("string:x", "uint32:5"); raises
                                    BusError with the exact error name and message
      .wait_property(path, iface, prop, expected, timeout=10)
      .has_owner(name=SERVICE) -> bool
  Daemon(binary, config_text, bus=None, env=None, extra_args=(), workdir=None)
                                    context manager running cellgated --config <file> with
                                    DBUS_SYSTEM_BUS_ADDRESS and NOTIFY_SOCKET set; stderr goes to .log_path.
      .proc .config_path .log_path .notifications (list of dicts, one per sd_notify datagram)
      .poll_notifications() -> list of dicts received so far (reads the socket first)
      .wait_notify(key, value=None, timeout=10) -> value    e.g. wait_notify("READY", "1")
      .wait_ready(timeout=10)       READY=1 received
      .log() -> str                 whole stderr so far
      .wait_log(text, timeout=10, regex=False) -> re.Match
      .stop(sig=SIGTERM, timeout=5) -> returncode (raises TimeoutError if it does not exit in time)
  BusError, SERVICE, GATEWAY_PATH, GATEWAY_IFACE, MODEM_PATH, MODEM_IFACE, NOBODY
  modem_config(port, vendor=None, pin=None, apn="cmnet", user/password/auth=None, **timers) -> YAML
                                    text with short timers for tests (added by helper "sim")
  Simulator(sim_path, scenario="normal", vendor="generic", speed=4.0, pin=None)
                                    context manager running tests/sim/modemsim.py on a pty link
      .link .control(line) -> str  .state() -> dict  .history() -> [AT command lines]  .transcript()
  CLOUD_IFACE, CLOUD_STATES, cloud_path(name) -> object path of a cloud session (added by "cloudtest")
  cloud_config(sessions, backoff=None, modem=None, log_level="debug") -> YAML text with a cloud: list
                                    (sessions are dicts; modem is modem_config() text to extend)
  PropertySampler(bus, [(path, iface, prop), ...], interval=0.05)
                                    background sampler keeping each change with its monotonic time
      .seen .current() .first_time(pred, after) .wait(pred, timeout, what, after) .stop() .describe()
  (brokers.py: MosquittoBroker, CertificateAuthority, SynSniffer; mqtt_emulator.py: PlatformEmulator,
   MiniClient, Kicker and the platforms' signing functions)
  Bridge (added by helper "bridgetest"):
  DBusClient(bus.address)           wire-protocol D-Bus client: call/call_async/result, publish(session,
                                    topic, payload, qos) -> id; pipelined, replies matched by serial
  bridge_config(sessions, local, routes, downlink, outbox, backoff) -> YAML with the issue-4 sections
  bridge_case(args, sessions, routes=(), downlink=(), outbox=None, backoff=None) -> context manager:
                                    local mosquitto + bus + cellgated; yields .bus .d .local .props(name)
                                    .wait(name, pred, timeout, what) .publisher()
  MqttCollector(host, port, filters, client_id, clean=False)  background subscriber that reconnects;
                                    .snapshot() [(t, topic, payload)] .wait_count(n, timeout) .publish()
  platform_session(name, emulator, **extra) -> a cloud: entry for a PlatformEmulator
  check_config(daemon, config, workdir)  cellgated --check-config; raises with the daemon's reason
  (brokers.py: started_mosquitto(**kw) -> MosquittoBroker context, retried on a fresh port if taken)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SERVICE = "org.cellgate.Gateway1"
GATEWAY_PATH = "/org/cellgate/Gateway1"
GATEWAY_IFACE = "org.cellgate.Gateway1"
MODEM_PATH = "/org/cellgate/Gateway1/Modem"
MODEM_IFACE = "org.cellgate.Gateway1.Modem"

# Drop to nobody with no supplementary groups: an unprivileged bus client.
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True, help="path to the built cellgated")
    p.add_argument("--sim", required=True, help="path to tests/sim/modemsim.py")
    p.add_argument("--policy", required=True, help="path to the shipped D-Bus policy file")
    p.add_argument("--keep", action="store_true", help="keep temp dirs for debugging")
    p.add_argument("-k", dest="only", default=None, help="run only tests whose name contains this")
    return p.parse_args(argv)


def main(tests, argv=None) -> None:
    """Runs each test(args) in order; a test fails by raising. Exits 1 if any failed."""
    args = parse_args(argv)
    failed = []
    for t in tests:
        if args.only and args.only not in t.__name__:
            continue
        start = time.monotonic()
        try:
            t(args)
        except Exception:  # noqa: BLE001 - report every failure, keep going
            traceback.print_exc()
            failed.append(t.__name__)
            print(f"FAIL {t.__name__} ({time.monotonic() - start:.1f}s)", flush=True)
        else:
            print(f"PASS {t.__name__} ({time.monotonic() - start:.1f}s)", flush=True)
    if failed:
        print("failed: " + ", ".join(failed), flush=True)
        sys.exit(1)
    sys.exit(0)


def wait_for(predicate, timeout: float = 10.0, what: str = "condition", interval: float = 0.05):
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - a poll may fail until the daemon is up
            last_exc = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc})" if last_exc else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


class BusError(Exception):
    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def _make_workdir(prefix: str) -> str:
    d = tempfile.mkdtemp(prefix=prefix)
    # nobody (setpriv tests) must be able to reach the bus socket inside.
    os.chmod(d, 0o755)
    return d


_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- Same default policy as Debian's /usr/share/dbus-1/system.conf, minus activation,
       forking, syslog and the system.d include dirs: only the policy under test is added. -->
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={socket}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>{policy}</include>
{extra}
</busconfig>
"""

_PERMISSIVE = """  <policy context="mandatory">
    <allow send_destination="org.cellgate.Gateway1"/>
  </policy>"""


def _typed_value(v):
    """busctl --json=short renders {"type": sig, "data": value}; return the plain value."""
    if isinstance(v, dict) and set(v) == {"type", "data"}:
        return _typed_value(v["data"])
    if isinstance(v, list):
        return [_typed_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _typed_value(x) for k, x in v.items()}
    return v


class PrivateBus:
    def __init__(self, policy: str, permissive: bool = False, workdir: str | None = None,
                 keep: bool = False):
        self.policy = os.path.abspath(policy)
        self.permissive = permissive
        self.keep = keep
        self._own_workdir = workdir is None
        self.workdir = workdir or _make_workdir("cellgate-bus-")
        self.socket_path = os.path.join(self.workdir, "system_bus_socket")
        self.address = ""
        self.proc = None

    def __enter__(self) -> "PrivateBus":
        if not os.path.exists(self.policy):
            raise FileNotFoundError(self.policy)
        config = os.path.join(self.workdir, "bus.conf")
        with open(config, "w") as f:
            f.write(_BUS_CONFIG.format(socket=self.socket_path, policy=self.policy,
                                       extra=_PERMISSIVE if self.permissive else ""))
        self.proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--print-address", "--nofork"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.workdir, "bus.log"), "w"),
            text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        if not ready:
            self._kill()
            raise TimeoutError("dbus-daemon did not print its address")
        self.address = self.proc.stdout.readline().strip()
        if not self.address:
            self._kill()
            raise RuntimeError("dbus-daemon failed: " + self._bus_log())
        os.chmod(self.socket_path, 0o777)
        return self

    def __exit__(self, *exc) -> None:
        self._kill()
        if self._own_workdir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _bus_log(self) -> str:
        try:
            with open(os.path.join(self.workdir, "bus.log")) as f:
                return f.read()
        except OSError:
            return ""

    def busctl(self, *args: str, user: str | None = None, check: bool = True,
               timeout: float = 10) -> subprocess.CompletedProcess:
        cmd = ["busctl", f"--address={self.address}", "--no-pager", *args]
        if user == "nobody":
            cmd = NOBODY + cmd
        elif user not in (None, "root"):
            raise ValueError(f"unsupported user {user!r}")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise _bus_error(r)
        return r

    def get_property(self, path: str, iface: str, prop: str, user: str | None = None):
        r = self.busctl("--json=short", "get-property", SERVICE, path, iface, prop, user=user)
        return _typed_value(json.loads(r.stdout))

    def get_all(self, path: str, iface: str, user: str | None = None) -> dict:
        r = self.busctl("--json=short", "call", SERVICE, path, "org.freedesktop.DBus.Properties",
                        "GetAll", "s", iface, user=user)
        data = _typed_value(json.loads(r.stdout))
        return data[0]

    def call(self, path: str, iface: str, method: str, signature: str = "", *args,
             user: str | None = None) -> list:
        extra = [signature, *map(str, args)] if signature else []
        r = self.busctl("--json=short", "call", SERVICE, path, iface, method, *extra, user=user)
        out = r.stdout.strip()
        return _typed_value(json.loads(out)) if out else []

    def send(self, path: str, iface: str, method: str, *args: str, user: str | None = None,
             timeout: float = 10) -> str:
        cmd = ["dbus-send", f"--bus={self.address}", "--print-reply", f"--dest={SERVICE}",
               f"--reply-timeout={int(timeout * 1000)}", path, f"{iface}.{method}", *args]
        if user == "nobody":
            cmd = NOBODY + cmd
        elif user not in (None, "root"):
            raise ValueError(f"unsupported user {user!r}")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5)
        if r.returncode != 0:
            m = re.match(r"Error (\S+): (.*)", r.stderr.strip(), re.DOTALL)
            if m:
                raise BusError(m.group(1), m.group(2))
            raise BusError("unknown", r.stderr.strip())
        return r.stdout

    def wait_property(self, path: str, iface: str, prop: str, expected, timeout: float = 10):
        seen = []

        def check():
            v = self.get_property(path, iface, prop)
            seen[:] = [v]
            return v == expected

        try:
            wait_for(check, timeout, f"{prop} == {expected!r}")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; last value {seen[0] if seen else None!r}") from None

    def has_owner(self, name: str = SERVICE) -> bool:
        r = self.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "NameHasOwner", "s", name)
        return r.stdout.strip() == "b true"


def _bus_error(r: subprocess.CompletedProcess) -> BusError:
    """busctl prints only the error message; map well-known ones back to their names."""
    msg = r.stderr.strip()
    known = [
        ("org.freedesktop.DBus.Error.AccessDenied", ("Access denied", "not permitted",
                                                      "Rejected send message")),
        ("org.freedesktop.DBus.Error.UnknownMethod", ("Unknown method",)),
        ("org.freedesktop.DBus.Error.UnknownProperty", ("Unknown property",)),
        ("org.freedesktop.DBus.Error.ServiceUnknown", ("was not provided by any",)),
    ]
    for name, needles in known:
        if any(n in msg for n in needles):
            return BusError(name, msg)
    m = re.search(r"\b((?:[A-Za-z_][\w]*\.)+Error\.[\w.]+)", msg)
    return BusError(m.group(1) if m else "unknown", msg)


class Daemon:
    def __init__(self, binary: str, config_text: str, bus: PrivateBus | None = None,
                 env: dict | None = None, extra_args=(), workdir: str | None = None,
                 keep: bool = False):
        self.binary = os.path.abspath(binary)
        self.bus = bus
        self.keep = keep
        self._own_workdir = workdir is None
        self.workdir = workdir or _make_workdir("cellgate-daemon-")
        self.config_path = os.path.join(self.workdir, "cellgate.yaml")
        self.log_path = os.path.join(self.workdir, "cellgated.log")
        self.notify_path = os.path.join(self.workdir, "notify.sock")
        self.notifications: list[dict] = []
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.proc = None
        self.returncode = None
        with open(self.config_path, "w") as f:
            f.write(config_text)

    def __enter__(self) -> "Daemon":
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(self.notify_path)
        self._notify.settimeout(0.1)
        # Read datagrams as they come, like PID 1 does: the socket queue holds only ~10 of them,
        # and a daemon whose sd_notify() blocks on a full queue stops serving everything else.
        self._notify_lock = threading.Lock()
        self._notify_stop = threading.Event()
        self._notify_thread = threading.Thread(target=self._notify_reader, daemon=True)
        self._notify_thread.start()
        env = dict(os.environ)
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        env["NOTIFY_SOCKET"] = self.notify_path
        if self.bus is not None:
            env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus.address
        env.update(self.env)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([self.binary, "--config", self.config_path, *self.extra_args],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    self.stop(timeout=5)
                except TimeoutError:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            self._log.close()
            self._notify_stop.set()
            self._notify_thread.join(1)
            self._notify.close()
            if exc_type is not None:
                sys.stderr.write(f"--- cellgated log ({self.log_path}) ---\n{self.log()}--- end ---\n")
            if self._own_workdir and not self.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def _notify_reader(self) -> None:
        while not self._notify_stop.is_set():
            try:
                data = self._notify.recv(65536)
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            msg = {}
            for line in data.decode(errors="replace").splitlines():
                key, _, value = line.partition("=")
                msg[key] = value
            with self._notify_lock:
                self.notifications.append(msg)

    def _drain_notify(self) -> None:
        """The reader thread collects datagrams; give it a moment to catch up."""
        time.sleep(0.01)

    def poll_notifications(self) -> list:
        """Reads every datagram that arrived so far; returns all notifications received."""
        self._drain_notify()
        return self.notifications

    def wait_notify(self, key: str, value: str | None = None, timeout: float = 10):
        def find():
            self._drain_notify()
            with self._notify_lock:
                seen = list(self.notifications)
            for m in seen:
                if key in m and (value is None or m[key] == value):
                    return m[key]
            if self.proc.poll() is not None:
                raise AssertionError(f"cellgated exited with {self.proc.returncode}")
            return None

        return wait_for(find, timeout, f"sd_notify {key}={value or '*'}")

    def wait_ready(self, timeout: float = 10) -> None:
        self.wait_notify("READY", "1", timeout)

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern: str, timeout: float = 10, regex: bool = False) -> re.Match:
        """Waits for `pattern` (plain text, or a regular expression with regex=True) in the log."""
        rx = re.compile(pattern if regex else re.escape(pattern), re.MULTILINE)
        return wait_for(lambda: rx.search(self.log()), timeout, f"log matching {pattern!r}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                raise TimeoutError(f"cellgated did not exit within {timeout}s of signal {sig}") from None
        self._drain_notify()
        self.returncode = self.proc.returncode
        return self.returncode


# --- modem simulator (added by helper "sim") ---------------------------------------------------

def modem_config(port: str, vendor: str | None = None, pin: str | None = None, apn: str = "cmnet",
                 log_level: str = "debug", user: str | None = None, password: str | None = None,
                 auth: str | None = None, **timers) -> str:
    """A cellgated config driving the simulator at `port`, with timers short enough for tests.
    Timer keyword arguments override the defaults below (e.g. status_poll="5s")."""
    t = dict(signal_interval="5s", registration_grace="5s", registration_timeout="10s",
             status_poll="5s", recovery_backoff="1s", recovery_backoff_max="4s",
             port_return_timeout="20s")
    t.update(timers)
    lines = [f"log_level: {log_level}", "modem:", f"  port: {port}"]
    if vendor:
        lines.append(f"  vendor: {vendor}")
    if pin:
        lines.append(f'  pin: "{pin}"')
    lines += ["  apn:", f"    name: {apn}"]
    lines += [f'    {k}: "{v}"' for k, v in (("user", user), ("password", password)) if v is not None]
    if auth:
        lines.append(f"    auth: {auth}")
    lines += [f"  {k}: {v}" for k, v in t.items()]
    return "\n".join(lines) + "\n"


class Simulator:
    """Runs tests/sim/modemsim.py with a control socket. The pty link is `.link`.

        with Simulator(args.sim, "normal", vendor="quectel") as sim:
            sim.control("deact"); sim.state()["data_call"]; sim.history()
    """

    def __init__(self, sim_path: str, scenario: str = "normal", vendor: str = "generic",
                 speed: float = 4.0, pin: str | None = None, extra_args=(), keep: bool = False):
        self.sim_path = os.path.abspath(sim_path)
        self.scenario, self.vendor, self.speed, self.pin = scenario, vendor, speed, pin
        self.extra_args = list(extra_args)
        self.keep = keep
        self.workdir = _make_workdir("cellgate-sim-")
        self.link = os.path.join(self.workdir, "ttyMODEM")
        self.control_path = os.path.join(self.workdir, "control.sock")
        self.log_path = os.path.join(self.workdir, "at.log")
        self.proc = None

    def __enter__(self) -> "Simulator":
        cmd = [sys.executable, self.sim_path, "--link", self.link, "--scenario", self.scenario,
               "--vendor", self.vendor, "--control", self.control_path, "--log", self.log_path,
               "--speed", str(self.speed), *self.extra_args]
        if self.pin:
            cmd += ["--pin", self.pin]
        self._err = open(os.path.join(self.workdir, "sim.stderr"), "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._err,
                                     stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: os.path.exists(self.control_path) and os.path.islink(self.link)
                     or self.proc.poll() is not None, 10, "simulator start")
            if self.proc.poll() is not None:
                raise RuntimeError("modemsim exited: " + self._read("sim.stderr"))
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop()
        if exc_type is not None:
            sys.stderr.write(f"--- modemsim {self.scenario}/{self.vendor} AT transcript (tail) ---\n"
                             + "".join(self.transcript().splitlines(True)[-60:]) + "--- end ---\n")
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_err", None):
            self._err.close()

    def _read(self, name: str) -> str:
        try:
            with open(os.path.join(self.workdir, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def transcript(self) -> str:
        return self._read("at.log")

    def control(self, line: str, timeout: float = 5.0) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.control_path)
            s.sendall(line.encode() + b"\n")
            out = b""
            while not out.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        return out.decode(errors="replace").strip()

    def state(self) -> dict:
        return json.loads(self.control("state"))

    def history(self) -> list:
        """Every AT command line the module received, in order."""
        return json.loads(self.control("history"))


# --- cloud sessions (added by helper "cloudtest") ----------------------------------------------

CLOUD_IFACE = "org.cellgate.Gateway1.CloudSession"
CLOUD_STATES = ("idle", "waiting-link", "connecting", "connected", "backoff", "auth-failed")


def cloud_path(name: str) -> str:
    """The session's object path; the name is escaped like sd_bus_path_encode() does
    (every byte outside [A-Za-z0-9] becomes _xx)."""
    if not name:
        return "/org/cellgate/Gateway1/Cloud/_"
    enc = "".join(ch if ch.isascii() and ch.isalnum() else "".join(f"_{b:02x}" for b in ch.encode())
                  for ch in name)
    return "/org/cellgate/Gateway1/Cloud/" + enc


def _yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v))  # a JSON string is a valid double-quoted YAML scalar


def _yaml_lines(value, indent: int) -> list:
    """A block mapping; nested dicts nest, lists are flow sequences (a JSON array is valid YAML)."""
    pad = " " * indent
    out = []
    for k, v in value.items():
        if v is None:
            continue
        if isinstance(v, dict):
            out.append(f"{pad}{k}:")
            out += _yaml_lines(v, indent + 2)
        elif isinstance(v, (list, tuple)):
            out.append(f"{pad}{k}: [" + ", ".join(_yaml_scalar(x) for x in v) + "]")
        else:
            out.append(f"{pad}{k}: {_yaml_scalar(v)}")
    return out


def _yaml_list(key: str, items) -> list:
    """A block sequence of mappings under `key`."""
    lines = [f"{key}:"]
    for item in items:
        entry = _yaml_lines(item, 4)
        entry[0] = "  - " + entry[0].lstrip()
        lines += entry
    return lines


def cloud_config(sessions, backoff: dict | None = None, modem: str | None = None,
                 log_level: str = "debug") -> str:
    """YAML with a `cloud:` list built from dicts (nested dicts for tls: {...}; None values are
    left out), an optional `backoff:` map, and optionally a modem section as produced by
    modem_config() (which already carries log_level). Durations are strings such as "60s"."""
    text = modem if modem is not None else f"log_level: {log_level}\n"
    lines = _yaml_list("cloud", sessions)
    if backoff:
        lines.append("backoff:")
        lines += _yaml_lines(backoff, 2)
    return text + "\n".join(lines) + "\n"


class PropertySampler:
    """Samples properties in the background (every `interval` s) and keeps the transitions:
    .seen = [(monotonic time, (v1, v2, ...)), ...], one entry per change.

        s = PropertySampler(bus, [(MODEM_PATH, MODEM_IFACE, "State"), (cloud_path("lab"), CLOUD_IFACE, "State")])
        ...; s.stop(); s.first_time(lambda v: v[1] == "connected", after=t0)
    """

    def __init__(self, bus: "PrivateBus", props, interval: float = 0.05):
        self.bus, self.props, self.interval = bus, list(props), interval
        self.seen: list = []
        self.errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        wait_for(lambda: self.seen, 10, "first property sample")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                values = tuple(self.bus.get_property(p, i, n) for p, i, n in self.props)
                now = time.monotonic()
                with self._lock:
                    if not self.seen or self.seen[-1][1] != values:
                        self.seen.append((now, values))
            except Exception:  # noqa: BLE001 - a poll may fail while the daemon is busy
                self.errors += 1
            self._stop.wait(self.interval)

    def stop(self) -> list:
        self._stop.set()
        self._t.join(5)
        return self.seen

    def current(self):
        with self._lock:
            return self.seen[-1][1]

    def first_time(self, pred, after: float = 0.0):
        """Monotonic time of the first sampled change at/after `after` whose values satisfy pred,
        or None. A state already holding at `after` counts from `after`."""
        with self._lock:
            seen = list(self.seen)
        prev = None
        for t, v in seen:
            if t < after:
                prev = v
                continue
            if prev is not None and pred(prev):
                return after
            prev = None
            if pred(v):
                return t
        if prev is not None and pred(prev):
            return after
        return None

    def wait(self, pred, timeout: float, what: str, after: float = 0.0) -> float:
        try:
            return wait_for(lambda: self.first_time(pred, after), timeout, what, interval=0.02)
        except TimeoutError as e:
            raise AssertionError(f"{e}; transitions: {self.describe()}") from None

    def describe(self, since: float | None = None) -> str:
        with self._lock:
            seen = list(self.seen)
        t0 = since if since is not None else (seen[0][0] if seen else 0)
        return "; ".join(f"{t - t0:+.2f}s {v}" for t, v in seen)


SANITIZER_REPORT = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")


class _CloudDaemon:
    """Context manager behind cloud_daemon(): a private bus plus cellgated with `config`; on a clean
    exit it checks that the daemon is still alive, stops with exit code 0 and logged no sanitizer
    report."""

    def __init__(self, args, config: str, env: dict | None = None, binary: str | None = None,
                 ready_timeout: float = 20):
        self.args, self.config, self.env, self.binary = args, config, env, binary
        self.ready_timeout = ready_timeout

    def __enter__(self):
        self._bus = PrivateBus(self.args.policy, keep=self.args.keep)
        self.bus = self._bus.__enter__()
        try:
            self._daemon = Daemon(self.binary or self.args.daemon, self.config, self.bus, env=self.env,
                                  keep=self.args.keep)
            self.d = self._daemon.__enter__()
        except BaseException:
            self._bus.__exit__(None, None, None)
            raise
        try:
            self.d.wait_ready(timeout=self.ready_timeout)
        except BaseException as e:
            self.__exit__(type(e), e, e.__traceback__)
            raise
        return self.bus, self.d

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                rc = self.d.proc.poll()
                assert rc is None, f"cellgated exited with {rc}:\n{self.d.log()[-4000:]}"
                rc = self.d.stop(timeout=10)
                assert rc == 0, f"cellgated exited with {rc} on SIGTERM:\n{self.d.log()[-4000:]}"
                m = SANITIZER_REPORT.search(self.d.log())
                assert not m, "sanitizer report in the daemon log:\n" + self.d.log()[max(0, m.start() - 200):][:4000]
        except BaseException:
            self._daemon.__exit__(*sys.exc_info())
            self._bus.__exit__(None, None, None)
            raise
        self._daemon.__exit__(exc_type, exc, tb)
        self._bus.__exit__(None, None, None)
        return False


def cloud_daemon(args, config: str, env: dict | None = None, binary: str | None = None,
                 ready_timeout: float = 20) -> _CloudDaemon:
    """with cloud_daemon(args, cloud_config([...])) as (bus, d): ...  (READY=1 already received)"""
    return _CloudDaemon(args, config, env, binary, ready_timeout)


def cloud_props(bus: "PrivateBus", name: str) -> dict:
    return bus.get_all(cloud_path(name), CLOUD_IFACE)


def wait_cloud(bus: "PrivateBus", name: str, pred, timeout: float, what: str, daemon: "Daemon | None" = None) -> dict:
    """Polls the session's properties until pred(props) holds; returns them. The error shows the
    last properties seen (and the daemon's log tail when `daemon` is given)."""
    last = {}

    def check():
        if daemon is not None and daemon.proc.poll() is not None:
            raise AssertionError(f"cellgated exited with {daemon.proc.returncode}")
        last.clear()
        last.update(cloud_props(bus, name))
        return pred(last)

    try:
        wait_for(check, timeout, f"{name}: {what}", interval=0.05)
    except TimeoutError as e:
        tail = ("\n--- daemon log tail ---\n" + daemon.log()[-3000:]) if daemon is not None else ""
        raise AssertionError(f"{e}; last {name} properties: {last}{tail}") from None
    return dict(last)


def write_secret(directory: str, name: str, value: str) -> str:
    """A 0600 secret file, the way the config wants it; returns its path."""
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return path


# --- bridge tests (added by helper "bridgetest") ---------------------------------------------------

def _dbus_pad(buf: bytearray, align: int) -> None:
    buf.extend(b"\0" * (-len(buf) % align))


def _dbus_str(buf: bytearray, text: str, sig: bool = False) -> None:
    data = text.encode()
    if sig:
        buf.append(len(data))
    else:
        _dbus_pad(buf, 4)
        buf.extend(len(data).to_bytes(4, "little"))
    buf.extend(data + b"\0")


def _dbus_marshal(buf: bytearray, sig: str, values) -> None:
    """Marshals `values` after `buf` (offsets count from the message start) for the basic types
    s o g y b u i t x d and ay (bytes)."""
    import struct as _struct
    i = 0
    for v in values:
        c = sig[i]
        i += 1
        if c in "so":
            _dbus_str(buf, v)
        elif c == "g":
            _dbus_str(buf, v, sig=True)
        elif c == "y":
            buf.append(v & 0xFF)
        elif c in "bui":
            _dbus_pad(buf, 4)
            buf.extend(_struct.pack("<I" if c != "i" else "<i", int(v)))
        elif c in "tx":
            _dbus_pad(buf, 8)
            buf.extend(_struct.pack("<Q" if c == "t" else "<q", int(v)))
        elif c == "d":
            _dbus_pad(buf, 8)
            buf.extend(_struct.pack("<d", float(v)))
        elif c == "a" and sig[i] == "y":
            i += 1
            _dbus_pad(buf, 4)
            buf.extend(len(v).to_bytes(4, "little"))
            buf.extend(v)
        else:
            raise ValueError(f"unsupported D-Bus signature {sig!r}")


class _DBusReader:
    def __init__(self, data: bytes, little: bool):
        self.d, self.i, self.e = data, 0, "<" if little else ">"

    def align(self, n: int) -> None:
        self.i += -self.i % n

    def fixed(self, fmt: str, size: int):
        import struct as _struct
        self.align(size)
        v = _struct.unpack_from(self.e + fmt, self.d, self.i)[0]
        self.i += size
        return v

    def value(self, c: str):
        if c in "so":
            n = self.fixed("I", 4)
            v = self.d[self.i:self.i + n].decode(errors="replace")
            self.i += n + 1
            return v
        if c == "g":
            n = self.d[self.i]
            v = self.d[self.i + 1:self.i + 1 + n].decode()
            self.i += n + 2
            return v
        if c == "y":
            self.i += 1
            return self.d[self.i - 1]
        if c == "b":
            return bool(self.fixed("I", 4))
        return {"u": lambda: self.fixed("I", 4), "i": lambda: self.fixed("i", 4),
                "t": lambda: self.fixed("Q", 8), "x": lambda: self.fixed("q", 8),
                "d": lambda: self.fixed("d", 8), "n": lambda: self.fixed("h", 2),
                "q": lambda: self.fixed("H", 2)}[c]()


class DBusClient:
    """A minimal D-Bus client speaking the wire protocol over the private bus's unix socket
    (stdlib only: no python3-dbus here). Built for volume: calls are pipelined, replies are
    matched by serial on a reader thread, and every reply keeps its arrival time.

        with DBusClient(bus.address) as c:
            serial = c.call_async(SERVICE, path, CLOUD_IFACE, "Publish", "sayy", ["t", b"{}", 1])
            c.result(serial, timeout=10)   # -> [id] or raises BusError
            c.call(...)                    # the same, blocking

    Reply bodies of basic types only are decoded (others come back as None values). A call still
    pending when the peer vanishes gets the bus's NoReply error (dbus-daemon tracks it). It
    authenticates as the current user; for denial tests use PrivateBus.send(user="nobody")."""

    METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4

    def __init__(self, address: str, timeout: float = 10.0):
        path = None
        for part in address.split(";")[0].split(":", 1)[1].split(","):
            k, _, v = part.partition("=")
            if k == "path":
                path = v
        if path is None:
            raise ValueError(f"only unix:path= addresses are supported: {address}")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.sock.sendall(b"\0AUTH EXTERNAL " + str(os.geteuid()).encode().hex().encode() + b"\r\n")
        line = b""
        while not line.endswith(b"\r\n"):
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("bus closed during authentication")
            line += chunk
        if not line.startswith(b"OK "):
            raise ConnectionError(f"bus refused authentication: {line!r}")
        self.sock.sendall(b"BEGIN\r\n")
        self.sock.settimeout(None)
        self._next_serial = 0
        self._send_lock = threading.Lock()  # serial order == wire order; never held by the reader
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._replies: dict = {}      # serial -> (monotonic time, ok, values or BusError)
        self.closed = False
        self._t = threading.Thread(target=self._read_loop, daemon=True, name="dbus-client")
        self._t.start()
        self.unique_name = self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                     "Hello", timeout=timeout)[0]

    def __enter__(self) -> "DBusClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._t.join(2)

    def call_async(self, dest: str, path: str, iface: str, member: str, signature: str = "",
                   args=()) -> int:
        body = bytearray()
        if signature:
            _dbus_marshal(body, signature, args)
        # Header fields: an array of (code, variant); the array starts at offset 16 (8-aligned).
        fields = bytearray(16)
        for code, sig, value in ((1, "o", path), (2, "s", iface), (3, "s", member), (6, "s", dest),
                                 (8, "g", signature)):
            if code == 8 and not signature:
                continue
            _dbus_pad(fields, 8)
            fields.append(code)
            _dbus_str(fields, sig, sig=True)
            _dbus_marshal(fields, sig, [value])
        fields_len = len(fields) - 16
        _dbus_pad(fields, 8)
        # Body alignment is relative to the message start, which the 8-aligned header preserves.
        with self._send_lock:
            self._next_serial += 1
            serial = self._next_serial
            head = b"l" + bytes([self.METHOD_CALL, 0, 1]) + len(body).to_bytes(4, "little") \
                + serial.to_bytes(4, "little") + fields_len.to_bytes(4, "little")
            self.sock.sendall(head + bytes(fields[16:]) + bytes(body))
        return serial

    def result(self, serial: int, timeout: float = 10.0) -> list:
        """Waits for the reply to `serial`; returns its values or raises BusError."""
        with self._cond:
            ok = self._cond.wait_for(lambda: serial in self._replies or self.closed, timeout)
            if serial not in self._replies:
                raise TimeoutError(f"no D-Bus reply to call {serial} within {timeout}s"
                                   + (" (connection closed)" if self.closed and ok else ""))
            _, good, value = self._replies.pop(serial)
        if not good:
            raise value
        return value

    def poll(self, serial: int):
        """(monotonic arrival time, ok, values-or-BusError) if the reply came, else None (kept)."""
        with self._lock:
            return self._replies.get(serial)

    def call(self, dest: str, path: str, iface: str, member: str, signature: str = "", args=(),
             timeout: float = 10.0) -> list:
        return self.result(self.call_async(dest, path, iface, member, signature, args), timeout)

    def _recv_exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def _read_loop(self) -> None:
        try:
            while True:
                fixed = self._recv_exact(16)
                little = fixed[0:1] == b"l"
                e = "little" if little else "big"
                mtype = fixed[1]
                body_len = int.from_bytes(fixed[4:8], e)
                fields_len = int.from_bytes(fixed[12:16], e)
                rest = self._recv_exact(fields_len + (-(16 + fields_len) % 8) + body_len)
                msg = fixed + rest
                r = _DBusReader(msg, little)
                r.i = 16
                end = 16 + fields_len
                fields = {}
                while r.i < end:
                    r.align(8)
                    code = r.value("y")
                    sig = r.value("g")
                    fields[code] = r.value(sig) if len(sig) == 1 else None
                r.i = end
                r.align(8)
                values = []
                sig = fields.get(8, "")
                try:
                    for c in sig:
                        values.append(r.value(c))
                except (KeyError, IndexError):
                    values = [None] * len(sig)
                if mtype not in (self.METHOD_RETURN, self.ERROR) or 5 not in fields:
                    continue
                now = time.monotonic()
                if mtype == self.METHOD_RETURN:
                    entry = (now, True, values)
                else:
                    entry = (now, False, BusError(fields.get(4, "?"), values[0] if values else ""))
                with self._cond:
                    self._replies[fields[5]] = entry
                    self._cond.notify_all()
        except (EOFError, OSError):
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    # --- the gateway's CloudSession.Publish -----------------------------------------------------
    def publish_async(self, session: str, topic: str, payload: bytes, qos: int = 1) -> int:
        return self.call_async(SERVICE, cloud_path(session), CLOUD_IFACE, "Publish", "sayy",
                               [topic, payload, qos])

    def publish(self, session: str, topic: str, payload: bytes, qos: int = 1, timeout: float = 10.0) -> int:
        """CloudSession.Publish; returns the message id (the reply means: durable in the outbox)."""
        return self.result(self.publish_async(session, topic, payload, qos), timeout)[0]


def bridge_config(sessions, local: dict | None = None, routes=(), downlink=(), outbox: dict | None = None,
                  backoff: dict | None = None, log_level: str = "debug", modem: str | None = None) -> str:
    """cloud_config() plus the bridge sections, in the issue-4 schema:
        local: {endpoint, client_id, username, password_file}
        routes: [{from, to, as, topic, qos}, ...]      (as: property | event:<id> | raw)
        downlink: [{from, to, filters}, ...]          (filters: a list, for generic)
        outbox: {path, max_messages, max_bytes, max_age}
    Values are dicts/lists of dicts; None values are left out. modem: modem_config() text to extend."""
    text = cloud_config(sessions, backoff=backoff, log_level=log_level, modem=modem)
    lines = []
    if local:
        lines.append("local:")
        lines += _yaml_lines(local, 2)
    if routes:
        lines += _yaml_list("routes", routes)
    if downlink:
        lines += _yaml_list("downlink", downlink)
    if outbox:
        lines.append("outbox:")
        lines += _yaml_lines(outbox, 2)
    return text + "\n".join(lines) + ("\n" if lines else "")


class MqttCollector:
    """A background MQTT 3.1.1 subscriber (for a local or cloud broker) that keeps every message
    with its arrival time and reconnects (same client id, clean session off by default) when the
    broker goes away, so a persistent session picks up what was queued meanwhile.

        with MqttCollector(broker.host, broker.port, ["gw/#"]) as col:
            col.wait_count(1000, timeout=30); col.messages -> [(monotonic, topic, payload bytes)]
    Also answers: publish(topic, payload, qos) from the same connection (QoS 1 waits for PUBACK)."""

    def __init__(self, host: str, port: int, filters, client_id: str = "collector", qos: int = 1,
                 clean: bool = False, username=None, password=None):
        self.host, self.port, self.filters, self.client_id = host, port, list(filters), client_id
        self.qos, self.clean, self.username, self.password = qos, clean, username, password
        self.messages: list = []
        self.reconnects = 0
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = None
        self._mid = 0
        self._acks: dict = {}
        self._connected = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True, name=f"collector-{client_id}")

    def __enter__(self) -> "MqttCollector":
        self._t.start()
        if not self._connected.wait(10):
            raise TimeoutError(f"collector {self.client_id} did not connect/subscribe to {self.host}:{self.port}")
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        s = self._sock
        if s is not None:
            try:
                s.sendall(b"\xe0\x00")
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._t.join(5)

    @staticmethod
    def _enc_len(n: int) -> bytes:
        out = bytearray()
        while True:
            b, n = n % 128, n // 128
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)

    @staticmethod
    def _s(b) -> bytes:
        b = b.encode() if isinstance(b, str) else b
        return len(b).to_bytes(2, "big") + b

    def _packet(self, first: int, body: bytes) -> bytes:
        return bytes([first]) + self._enc_len(len(body)) + body

    def _next_mid(self) -> int:
        with self._lock:
            self._mid = self._mid % 65535 + 1
            return self._mid

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self._sock.sendall(data)

    def publish(self, topic: str, payload, qos: int = 1, timeout: float = 5.0) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        mid = self._next_mid() if qos else 0
        ev = threading.Event()
        if qos:
            self._acks[mid] = ev
        body = self._s(topic) + (mid.to_bytes(2, "big") if qos else b"") + data
        self._send(self._packet(0x30 | (qos << 1), body))
        if qos and not ev.wait(timeout):
            raise TimeoutError(f"no PUBACK for {topic} within {timeout}s")

    def _connect_once(self) -> None:
        s = socket.create_connection((self.host, self.port), 5)
        flags = (0x02 if self.clean else 0) | (0x80 if self.username is not None else 0) \
            | (0x40 if self.password is not None else 0)
        payload = self._s(self.client_id)
        if self.username is not None:
            payload += self._s(self.username)
        if self.password is not None:
            payload += self._s(self.password)
        s.sendall(self._packet(0x10, self._s("MQTT") + bytes([4, flags]) + (60).to_bytes(2, "big") + payload))
        self._sock = s
        self._buf = b""
        first, body = self._read(s, 5)
        if first != 0x20 or body[1] != 0:
            raise ConnectionError(f"CONNACK {body!r}")
        if not self.filters:
            self._connected.set()
            return
        sub = self._next_mid().to_bytes(2, "big") + b"".join(self._s(f) + bytes([self.qos]) for f in self.filters)
        self._send(self._packet(0x82, sub))

    def _read(self, s, timeout):
        s.settimeout(timeout)
        while True:
            if len(self._buf) >= 2:
                n, mult, i = 0, 1, 1
                while i < len(self._buf) and i < 5:
                    b = self._buf[i]
                    n += (b & 0x7F) * mult
                    mult *= 128
                    i += 1
                    if not b & 0x80:
                        if len(self._buf) >= i + n:
                            first, body = self._buf[0], self._buf[i:i + n]
                            self._buf = self._buf[i + n:]
                            return first, body
                        break
            data = s.recv(65536)
            if not data:
                raise EOFError
            self._buf += data

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._connect_once()
            except (OSError, EOFError, ConnectionError):
                self._stop.wait(0.05)
                continue
            s = self._sock
            try:
                while not self._stop.is_set():
                    try:
                        first, body = self._read(s, 0.5)
                    except socket.timeout:
                        continue
                    kind = first >> 4
                    if kind == 9:
                        self._connected.set()
                    elif kind == 3:
                        qos = (first >> 1) & 3
                        n = int.from_bytes(body[:2], "big")
                        topic = body[2:2 + n].decode(errors="replace")
                        off = 2 + n
                        if qos:
                            mid = body[off:off + 2]
                            off += 2
                            self._send(self._packet(0x40 if qos == 1 else 0x50, mid))
                        with self._lock:
                            self.messages.append((time.monotonic(), topic, bytes(body[off:])))
                    elif kind == 4:
                        ev = self._acks.pop(int.from_bytes(body[:2], "big"), None)
                        if ev:
                            ev.set()
            except (OSError, EOFError):
                pass
            if not self._stop.is_set():
                self.reconnects += 1

    def snapshot(self) -> list:
        with self._lock:
            return list(self.messages)

    def wait_count(self, n: int, timeout: float, pred=None) -> list:
        """Waits until at least n messages (matching pred(topic, payload) if given) arrived."""
        def enough():
            msgs = [m for m in self.snapshot() if pred is None or pred(m[1], m[2])]
            return msgs if len(msgs) >= n else None
        try:
            return wait_for(enough, timeout, f"{n} messages on {self.filters}")
        except TimeoutError:
            got = len([m for m in self.snapshot() if pred is None or pred(m[1], m[2])])
            raise AssertionError(f"{self.client_id}: {got} of {n} messages on {self.filters} within "
                                 f"{timeout}s") from None


def platform_session(name: str, emu, **extra) -> dict:
    """A cloud: entry for a PlatformEmulator (mode aliyun, onenet or generic) on plain TCP with its
    credentials; keyword arguments override or add keys (None removes one)."""
    e = dict(name=name, platform=emu.mode, endpoint=emu.endpoint, tls=False, keepalive="60s")
    if emu.mode == "aliyun":
        e.update(product_key=emu.product_key, device_name=emu.device_name, device_secret=emu.device_secret)
    elif emu.mode == "onenet":
        e.update(product_id=emu.product_id, device_name=emu.device_name, device_key=emu.device_key,
                 token_lifetime="1h")
    else:
        e.update(client_id=f"gw-{name}")
    e.update(extra)
    return e


class BridgeCase:
    """What bridge_case() yields: the private bus, the running daemon, the local mosquitto broker
    (persistence off, anonymous), a scratch directory (the outbox lives there) and the config."""

    def __init__(self, bus, daemon, local, workdir: str, config: str):
        self.bus, self.d, self.local, self.workdir, self.config = bus, daemon, local, workdir, config

    def props(self, name: str) -> dict:
        return cloud_props(self.bus, name)

    def wait(self, name: str, pred, timeout: float, what: str) -> dict:
        return wait_cloud(self.bus, name, pred, timeout, what, self.d)

    def publisher(self, client_id: str = "app-pub") -> "MqttCollector":
        """A local application connection (clean session, no subscriptions) to publish with."""
        return MqttCollector(self.local.host, self.local.port, [], client_id=client_id, clean=True)


def bridge_outbox_path(workdir: str) -> str:
    return os.path.join(workdir, "outbox.db")


def check_config(daemon: str, config: str, workdir: str) -> None:
    """cellgated --check-config: a refused config fails at once with the daemon's reason (instead of
    a READY=1 timeout)."""
    path = os.path.join(workdir, "check.yaml")
    with open(path, "w") as f:
        f.write(config)
    r = subprocess.run([daemon, "--check-config", "--config", path], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"cellgated --check-config refused the test's config ({r.returncode}):\n"
                             f"{r.stderr.strip()}\n--- config ---\n{config}")


def bridge_case(args, sessions, routes=(), downlink=(), outbox: dict | None = None, backoff: dict | None = None,
                local_client_id: str = "cellgate", ready_timeout: float = 20, modem: str | None = None,
                env: dict | None = None):
    """with bridge_case(args, [platform_session("ali", emu)], routes=[...]) as case: ...
    A local mosquitto, a private bus and cellgated with the bridge sections (outbox in a fresh
    scratch dir unless `outbox` names a path). On a clean exit the daemon must still run, stop with
    0 and have logged no sanitizer report (see cloud_daemon)."""
    import contextlib
    from brokers import started_mosquitto

    @contextlib.contextmanager
    def run():
        workdir = _make_workdir("cellgate-bridge-")
        try:
            with started_mosquitto(keep=args.keep) as local:
                box = {"path": bridge_outbox_path(workdir)}
                box.update(outbox or {})
                cfg = bridge_config(sessions, local=dict(endpoint=local.endpoint, client_id=local_client_id),
                                    routes=routes, downlink=downlink, outbox=box, backoff=backoff, modem=modem)
                check_config(args.daemon, cfg, workdir)
                with cloud_daemon(args, cfg, env=env, ready_timeout=ready_timeout) as (bus, d):
                    yield BridgeCase(bus, d, local, workdir, cfg)
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
    return run()
