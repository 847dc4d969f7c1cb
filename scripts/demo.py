#!/usr/bin/env python3
"""Live demo: cellgated + the AT modem simulator + two mosquitto brokers (local, "cloud") + a private D-Bus bus.

A local application publishes telemetry to the local broker; cellgate carries it to the cloud broker
through its durable outbox. The demo prints every D-Bus property change as the daemon signals it
(counters in one telemetry line, at most every two seconds and only when they moved), then plays a
short story of field faults so you can watch the daemon heal itself and the queue fill and drain,
with no message lost.

With --datapath (root) the host side of the data path is real too: cellgated runs in a network
namespace of its own ("pi") and reaches the cloud broker through a veth to the module's namespace,
taking its address from the module's DHCP server (tests/integration/datapath_net.py builds both).

Every process the demo starts and its scratch directory go away when it ends, however it ends:
Ctrl-C, SIGTERM, or a closed terminal (SIGHUP).
"""
import argparse
import contextlib
import ctypes
import dataclasses
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
# The simulator's scenario and vendor tables are plain Python: --help lists them without the
# harness's python3-* packages. The harness itself is imported where it is used.
from simcore import scenarios, vendors  # noqa: E402

DEFAULT_DAEMON = os.path.join(ROOT, "build", "demo", "cellgated")
# The vendors whose simulated module has an MQTT command set of its own (tests/sim/simcore/mqtt_module.py).
MODULE_VENDORS = ("luat", "quectel", "simcom")
POLICY = os.path.join(ROOT, "etc", "dbus-1", "system.d", "org.cellgate.Gateway1.conf")


# --- the story ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Fault:
    """One step of the story: `start(rig)` breaks something; `end(rig)`, if any, repairs it after
    `seconds` of watching; the daemon must then heal by itself. `queues`: the outbox must visibly
    fill meanwhile (the cloud is out of reach long enough)."""
    what: str
    start: Callable
    end: Callable | None
    seconds: float
    queues: bool = False


STORY = (
    Fault("the network drops the data call", lambda rig: rig.sim.control("deact"), None, 3),
    Fault("the module reboots (its port vanishes)", lambda rig: rig.sim.control("reboot"), None, 3),
    Fault("the cloud broker dies for 3 s", lambda rig: rig.cloud.kill(), lambda rig: rig.in_cloud(rig.cloud.start), 3),
    Fault("the coverage is gone for 15 s: telemetry queues in the outbox",
          lambda rig: rig.sim.control("deregister"), lambda rig: rig.sim.control("register"), 15, queues=True),
)

# With --module the simulated module's own MQTT client carries the cloud session: its connection
# to the broker can drop while the data call stays up, which only the module reports (a URC).
MODULE_STORY = STORY[:2] + (
    Fault("the module's MQTT connection to the cloud drops", lambda rig: rig.sim.control("mqtt drop"), None, 3),
) + STORY[2:]

CONFIG = """\
modem:
  port: {link}
  vendor: {vendor}
  apn:
    name: cmnet
  signal_interval: 10s
  status_poll: 10s
  recovery_backoff: 2s
  port_return_timeout: 30s
  # The field default is 60 s (a cell reselection must not tear the data call down); the demo's
  # coverage gap is 15 s, so it gives up on the registration sooner.
  registration_grace: 5s
{datapath}cloud:
  - name: lab
    platform: generic
    endpoint: {endpoint}
    client_id: gw-demo
    username: gw
    password_file: {password_file}
    keepalive: 60s
    transport: {transport}
backoff:
  initial: 1s
  max: 10s
  stable_after: 10s
local:
  endpoint: {local_endpoint}
  client_id: cellgate-demo
routes:
  - from: sensors/+/telemetry
    to: lab
    as: raw
    topic: "gw/{{device_name}}/{{1}}/telemetry"
    qos: 1
outbox:
  path: {outbox}
"""

# Counters change with every message: shown in the telemetry line, not one line per change.
QUIET = {"Published", "Received", "Pings", "Queued", "Accepted", "Rejected", "Dropped", "NextRetryIn",
         "ConnectedSince", "RxBytes", "TxBytes"}

# With --datapath: the module's interface in the pi namespace and how it gets its address. A fixed
# MAC address makes the module's DHCP server hand out the same lease every run, the one the
# simulated module reports in AT+CGPADDR and AT+CGCONTRDP (checked: "the lease matches").
DATAPATH_MODEM = """\
  interface: usb0
  ip_method: dhcp
  route: failover
"""
USB0_MAC = "02:ce:11:da:7a:01"
LEASE = "192.168.225.34"


# --- ending: signals, children, the scratch directory ---------------------------------------------

class Stop(BaseException):
    """The demo was asked to end: a signal, or its terminal went away. A BaseException, like
    KeyboardInterrupt, so that no `except Exception` on the way (a polling helper) swallows it;
    unwinding the rig then stops every child in order."""

    def __init__(self, why: str, signum: int = signal.SIGHUP):
        super().__init__(why)
        self.signum = signum
        self.interactive = signum == signal.SIGINT  # Ctrl-C: someone still reads the terminal


ENDING_SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP (terminal closed)"}
_stop_requested: Stop | None = None


def _request_stop(stop: Stop) -> Stop:
    global _stop_requested
    _stop_requested = _stop_requested or stop
    return stop


def _on_ending_signal(signum, _frame):
    # The first signal starts the cleanup; more of them (a second Ctrl-C, the SIGHUP that follows
    # a closed terminal) must not cut it short.
    ignore_ending_signals()
    raise _request_stop(Stop(ENDING_SIGNALS[signum], signum))


def ignore_ending_signals() -> None:
    for s in ENDING_SIGNALS:
        signal.signal(s, signal.SIG_IGN)


def check_stop() -> None:
    """Raises the Stop again in case it was raised inside a D-Bus callback, which swallows it."""
    if _stop_requested is not None:
        raise Stop(str(_stop_requested), _stop_requested.signum)


def say(text: str = "") -> None:
    try:
        print(text, flush=True)
    except OSError:  # EIO from a hung-up terminal, EPIPE from a reader that quit
        sys.stdout = open(os.devnull, "w")
        raise _request_stop(Stop("its output closed")) from None


class Children:
    """Every process started while this is active (the harness starts them with subprocess.Popen,
    always from the demo's main thread) gets PR_SET_PDEATHSIG=SIGKILL through setpriv, so none
    outlives the demo even when it is SIGKILLed, and a process group of its own, so a terminal's
    SIGINT or SIGHUP reaches only the demo, which stops cellgated before the brokers and the bus it
    talks to. Leaving it SIGKILLs the group of any child still running (normally none is)."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []
        self._original = subprocess.Popen

    def __enter__(self) -> "Children":
        setpriv = shutil.which("setpriv")
        started = self.procs

        class Popen(self._original):
            def __init__(self, args, *rest, **kw):
                if setpriv and isinstance(args, (list, tuple)):
                    args = [setpriv, "--pdeathsig", "KILL", "--", *args]
                kw.setdefault("process_group", 0)
                super().__init__(args, *rest, **kw)
                started.append(self)

        subprocess.Popen = Popen
        return self

    def __exit__(self, *exc) -> None:
        subprocess.Popen = self._original
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()


# --- network namespaces (--datapath) -------------------------------------------------------------

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns: " + os.strerror(ctypes.get_errno()))


def enter_netns(ns: str, stack: contextlib.ExitStack) -> None:
    """Moves the calling (main) thread into the namespace `ns` until `stack` unwinds: the processes
    and threads it starts from then on (the simulator, the local broker, the bus, the watcher's
    connection) live there with cellgated."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    stack.callback(os.close, home)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        _setns(fd)
    finally:
        os.close(fd)
    stack.callback(_setns, home)


class NetnsThread:
    """A thread living in the namespace `ns` that runs the functions it is given (`thread(fn)`):
    what they start (a broker, an MQTT client's network thread) stays there, the caller's namespace
    does not change. It lives as long as what it started: a process started with
    PR_SET_PDEATHSIG (Children) is killed when the thread that forked it ends."""

    def __init__(self, ns: str):
        self.ns = ns
        self.jobs: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            fd = os.open(f"/run/netns/{self.ns}", os.O_RDONLY)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            error = None
        except OSError as e:
            error = e
        while (job := self.jobs.get()) is not None:
            fn, out, done = job
            try:
                if error:
                    raise error
                out["value"] = fn()
            except BaseException as e:  # handed to the caller
                out["error"] = e
            done.set()

    def __call__(self, fn: Callable):
        out: dict = {}
        done = threading.Event()
        self.jobs.put((fn, out, done))
        done.wait()
        if "error" in out:
            raise out["error"]
        return out.get("value")

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join()


# --- the rig: the processes the demo runs ---------------------------------------------------------

class Rig:
    """The modem simulator, the cloud and local brokers, a private bus and cellgated, each entered
    on `stack` so that leaving it stops them in reverse order (cellgated first)."""

    def __init__(self, args, work: str, stack: contextlib.ExitStack):
        from brokers import MosquittoBroker
        from harness import Daemon, PrivateBus, Simulator

        self.vendor = args.vendor
        self.module = args.module
        self.net = None
        self.in_cloud = lambda fn: fn()
        sim_args, daemon_env, wrapper = (), None, ()
        if args.datapath:
            from datapath_net import BROKER_IP, MODULE_IP, Topology
            self.net = stack.enter_context(Topology("demo"))
            # The demo's own cloud broker (password auth, persistence) takes the module side's
            # address: the topology's plain one steps aside.
            self.net.module_broker.stop()
            self.net.ip(self.net.pi, f"link set usb0 address {USB0_MAC}")
            enter_netns(self.net.pi, stack)
            self.in_cloud = NetnsThread(self.net.mod)
            stack.callback(self.in_cloud.close)
            sim_args = ("--ip", LEASE, "--prefix", "24", "--gateway", MODULE_IP, "--dns", MODULE_IP, "--mtu", "1400")
            daemon_env = {"CELLGATE_UDHCPC_HOOK": os.path.join(ROOT, "net", "udhcpc-hook")}
            wrapper = ("ip", "netns", "exec", self.net.pi)
        self.sim = stack.enter_context(Simulator(os.path.join(ROOT, "tests", "sim", "modemsim.py"), args.scenario,
                                                 vendor=args.vendor, speed=1.0, extra_args=sim_args))
        password_file = os.path.join(work, "lab.secret")
        with open(password_file, "w") as f:
            f.write("demo-secret\n")
        os.chmod(password_file, 0o600)
        # Persistence keeps the cloud application's session (and what was queued for it) across the
        # broker's crash, as a real platform would.
        cloud_dir = os.path.join(work, "broker")
        os.makedirs(cloud_dir)
        self.cloud = MosquittoBroker(
            workdir=cloud_dir, users={"gw": "demo-secret"}, port=1883 if args.datapath else None,
            extra_conf=f"persistence true\npersistence_location {cloud_dir}/\nautosave_interval 1\n"
                       "max_queued_messages 0")
        endpoint = self.cloud.endpoint
        if args.datapath:
            # Only the module's side has this address; cellgated finds it by name, from the
            # module's DNS server.
            self.cloud.host = BROKER_IP
            endpoint = "cloud.example:1883"
        self.in_cloud(self.cloud.__enter__)
        stack.push(self.cloud.__exit__)
        self.local = stack.enter_context(MosquittoBroker(workdir=os.path.join(work, "local")))
        config = CONFIG.format(link=self.sim.link, vendor=args.module or "auto",
                               datapath=DATAPATH_MODEM if args.datapath else "",
                               transport="module" if args.module else "host", endpoint=endpoint,
                               password_file=password_file,
                               local_endpoint=self.local.endpoint, outbox=os.path.join(work, "outbox.db"))
        self.bus = stack.enter_context(PrivateBus(POLICY))
        self.daemon = stack.enter_context(Daemon(args.daemon, config, self.bus, env=daemon_env, wrapper=wrapper))

    def describe(self) -> None:
        from harness import MODEM_PATH
        say(f"demo: private bus {self.bus.address}\ndemo: simulated {self.vendor} module on {self.sim.link}")
        say(f"demo: cloud broker: mosquitto on {self.cloud.endpoint} (password auth); "
            f"local broker: mosquitto on {self.local.endpoint}")
        if self.module:
            say(f"demo: the cloud session goes through the module's own MQTT client ({self.module} AT commands); "
                "the simulator holds the real connection to the cloud broker")
        if self.net:
            say(f"demo: data path: cellgated in network namespace {self.net.pi}, the module's usb0 a veth to "
                f"{self.net.mod} (dnsmasq: DHCP and DNS for cloud.example); Ethernet eth0 to {self.net.lan}\n"
                f"demo: the cloud broker listens only in {self.net.mod}, on {self.cloud.endpoint}")
        say(f"demo: try  DBUS_SYSTEM_BUS_ADDRESS={self.bus.address} busctl --system introspect "
            f"org.cellgate.Gateway1 {MODEM_PATH}\n")


# --- watching ---------------------------------------------------------------------------------------

def _plain(v):
    """A python-dbus value as the plain Python value it stands for (for printing and comparing)."""
    import dbus
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, dict):
        return {_plain(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


class Watcher:
    """Follows the daemon's PropertiesChanged signals and prints each change. It reads each object's
    properties once (GetAll, asynchronously, so the reply and the signals are applied in the order
    the daemon sent them) and from then on only listens: no polling on the bus."""

    def __init__(self, address: str, telemetry=None):
        import dbus.bus
        from dbus.mainloop.glib import DBusGMainLoop
        from gi.repository import GLib
        from harness import CLOUD_IFACE, GATEWAY_IFACE, GATEWAY_PATH, MODEM_IFACE, MODEM_PATH, SERVICE, cloud_path

        self.objects = {GATEWAY_PATH: ("gateway", GATEWAY_IFACE), MODEM_PATH: ("modem", MODEM_IFACE),
                        cloud_path("lab"): ("cloud", CLOUD_IFACE)}
        self.service = SERVICE
        self.last: dict = {}
        self.t0 = time.monotonic()
        self.telemetry = telemetry
        self.next_summary = 0.0
        self.last_summary = ""
        self.reads = 0      # method calls to the daemon
        self.signals = 0    # PropertiesChanged received
        self._unread: dict = {}   # path -> when to (re)try its GetAll
        self._context = GLib.MainContext.default()
        self._conn = dbus.bus.BusConnection(address, mainloop=DBusGMainLoop())
        self._conn.add_signal_receiver(self._on_changed, "PropertiesChanged", "org.freedesktop.DBus.Properties",
                                       SERVICE, path_keyword="path")
        for path in self.objects:
            self._unread[path] = 0.0

    def close(self) -> None:
        self._conn.close()

    def _read(self, path: str) -> None:
        label, iface = self.objects[path]
        self._unread[path] = float("inf")  # a reply is due
        self.reads += 1

        def failed(_error):  # not on the bus yet: try again shortly
            self._unread[path] = time.monotonic() + 0.2

        def read(props):
            self._unread.pop(path, None)
            self._apply(label, props)

        self._conn.call_async(self.service, path, "org.freedesktop.DBus.Properties", "GetAll", "s", (iface,),
                              read, failed)

    def _on_changed(self, iface, changed, invalidated, path=None) -> None:
        if path not in self.objects or iface != self.objects[path][1]:
            return
        self.signals += 1
        self._apply(self.objects[path][0], changed)
        if invalidated:  # the daemon sends values; an invalidated name is read again
            self._unread[path] = 0.0

    def _apply(self, label: str, props) -> None:
        # Called back by python-dbus, which would print and drop a Stop raised in here;
        # run_until raises it again (check_stop).
        with contextlib.suppress(Stop):
            self._print_changes(label, props)

    def _print_changes(self, label: str, props) -> None:
        for k, v in props.items():
            key, value = (label, str(k)), _plain(v)
            if self.last.get(key) != value:
                self.last[key] = value
                if key[1] not in QUIET:
                    say(f"[{self.elapsed():6.1f}s] {label:7} {key[1]:17} = {value!r}")

    def _summary(self) -> None:
        t = self.telemetry
        if not t or self.value("cloud", "Queued") is None or time.monotonic() < self.next_summary:
            return
        self.next_summary = time.monotonic() + 2
        line = (f"telemetry: {t.sent} published locally, {len(t.received())} at the cloud, "
                f"Queued {self.value('cloud', 'Queued')}, Published {self.value('cloud', 'Published')}")
        if line != self.last_summary:  # nothing flows: nothing to say
            self.last_summary = line
            say(f"[{self.elapsed():6.1f}s] {line}")

    def get(self, label: str, prop: str):
        """One property read now (counters that need not be signalled at once)."""
        path = next(p for p, (name, _) in self.objects.items() if name == label)
        self.reads += 1
        return _plain(self._conn.call_blocking(self.service, path, "org.freedesktop.DBus.Properties", "Get", "ss",
                                               (self.objects[path][1], prop)))

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def value(self, label: str, prop: str):
        return self.last.get((label, prop))

    def run_until(self, deadline: float, predicate=None) -> bool:
        while time.monotonic() < deadline:
            check_stop()
            now = time.monotonic()
            for path, when in list(self._unread.items()):
                if when <= now:
                    self._read(path)
            while self._context.pending():
                self._context.iteration(False)
            check_stop()
            self._summary()
            if predicate and predicate():
                return True
            time.sleep(0.05)
        return False


class Telemetry:
    """A local application publishing a reading every half second (QoS 1), and an application at
    the cloud subscribed with a persistent session, so what cellgate delivers while it reconnects
    after a broker restart waits for it at the broker."""

    def __init__(self, local, cloud, in_cloud=lambda fn: fn()):
        from harness import MqttCollector
        self.sent = 0
        self.stop = threading.Event()
        # in_cloud: where the cloud broker is reachable (its network namespace with --datapath).
        self.sub = in_cloud(lambda: MqttCollector(cloud.host, cloud.port, ["gw/#"], client_id="demo-cloud-app",
                                                  clean=False, username="gw", password="demo-secret").__enter__())
        self.pub = MqttCollector(local.host, local.port, [], client_id="demo-sensor", clean=True).__enter__()
        self.thread = threading.Thread(target=self._publish, daemon=True)
        self.thread.start()

    def received(self):
        out = []
        for _, _, payload in self.sub.snapshot():
            try:
                out.append(json.loads(payload)["seq"])
            except (ValueError, KeyError):
                pass
        return out

    def _publish(self):
        while not self.stop.wait(0.5):
            payload = json.dumps({"seq": self.sent, "temp": round(20 + (self.sent % 50) / 10, 1)})
            try:
                self.pub.publish("sensors/boiler/telemetry", payload, qos=1)
            except (OSError, TimeoutError):
                continue  # the local broker never goes away in this demo; keep going if it does
            self.sent += 1

    def close(self):
        if self.stop.is_set():
            return
        self.stop.set()
        self.thread.join(5)
        self.pub.__exit__(None, None, None)
        self.sub.__exit__(None, None, None)

    def missing(self):
        got = set(self.received())
        return [n for n in range(self.sent) if n not in got]

    def report(self):
        received = self.received()
        missing = self.missing()
        return (f"{self.sent} readings published locally, {len(set(received))} distinct at the cloud "
                f"({len(received) - len(set(received))} duplicates), missing: {missing[:10] or 'none'}")


# --- the demo ---------------------------------------------------------------------------------------

def play(rig: Rig, w: Watcher, telemetry: Telemetry, story, problems: list) -> None:
    """Each fault in turn: watch a few quiet seconds, break, repair, and wait for the daemon to heal."""

    def both_up():
        return w.value("modem", "State") == "connected" and w.value("cloud", "State") == "connected"

    for fault in story:
        w.run_until(time.monotonic() + 4)
        say(f"\ndemo: >>> {fault.what}\n")
        t_fault = time.monotonic()
        fault.start(rig)
        peak = 0

        def watch_queue():
            nonlocal peak
            peak = max(peak, w.value("cloud", "Queued") or 0)
            return False
        w.run_until(time.monotonic() + fault.seconds, watch_queue)
        if fault.end:
            fault.end(rig)
        healed = w.run_until(time.monotonic() + 60, lambda: watch_queue() or both_up())
        say(f"\ndemo: {'healed' if healed else 'NOT healed'} {time.monotonic() - t_fault:.1f}s after the fault, "
            f"without a restart (daemon pid {rig.daemon.proc.pid}); up to {peak} readings waited in the outbox\n")
        if not healed:
            problems.append(f"not healed after: {fault.what}")
        if fault.queues and peak == 0:
            problems.append(f"the outbox never filled during: {fault.what}")


def run(args, rig: Rig, w: Watcher, problems: list) -> None:
    rig.describe()
    t0 = time.monotonic()
    rig.daemon.wait_ready()
    telemetry = w.telemetry = Telemetry(rig.local, rig.cloud, rig.in_cloud)
    try:
        if not w.run_until(time.monotonic() + 60, lambda: w.value("modem", "State") == "connected"):
            say("\ndemo: the modem did not connect; see the log below")
            problems.append("the modem did not connect")
            return
        say(f"\ndemo: modem connected {time.monotonic() - t0:.1f}s after start\n")
        w.run_until(time.monotonic() + 15, lambda: w.value("cloud", "State") == "connected")
        transport = w.value("cloud", "Transport")
        say(f"\ndemo: cloud session connected {time.monotonic() - t0:.1f}s after start (Transport: {transport})\n")
        expected = "module" if args.module else "host"
        if transport != expected:
            problems.append(f"the cloud session's Transport is {transport!r}, not {expected!r}")
        if rig.net:
            show_datapath(rig, w, problems)
        play(rig, w, telemetry, story_of(args), problems)
        if not w.run_until(time.monotonic() + 60, lambda: w.value("cloud", "Queued") == 0):
            problems.append(f"the outbox did not drain (Queued {w.value('cloud', 'Queued')})")
        telemetry.close()
        w.run_until(time.monotonic() + 3, lambda: not telemetry.missing())
        say(f"\ndemo: {telemetry.report()}\n")
        if telemetry.missing():
            problems.append(f"readings lost: {telemetry.missing()[:10]}")
        if telemetry.sent < 40:
            problems.append(f"only {telemetry.sent} readings were published")
        if rig.net:
            show_datapath(rig, w, problems, counters=True)
    finally:
        telemetry.close()
    if args.forever or sys.stdin.isatty():
        say("demo: watching; Ctrl-C to stop")
        try:
            w.run_until(float("inf"))
        except Stop as e:
            if not e.interactive:
                raise


DATAPATH_PROPS = ("Interface", "IpMethod", "Ipv4Address", "Ipv4Gateway", "Dns", "Mtu", "Route", "RxBytes", "TxBytes")


def show_datapath(rig: Rig, w: Watcher, problems: list, counters: bool = False) -> None:
    """The host side of the path as the daemon reports it and as the kernel has it, and where the
    cloud broker saw the session come from. `counters`: RxBytes/TxBytes must have moved (the daemon
    reads them every signal_interval, 10 s here)."""
    net = rig.net
    if counters and not w.run_until(time.monotonic() + 15, lambda: (w.value("modem", "RxBytes") or 0) > 0
                                    and (w.value("modem", "TxBytes") or 0) > 0):
        problems.append("RxBytes/TxBytes did not move")
    say("demo: the data path: " + ", ".join(f"{k} {w.get('modem', k)!r}" for k in DATAPATH_PROPS))
    for what in ("route", "rule", "route show table 100"):
        say(f"demo: ip -n pi {what}\n" + textwrap.indent(net.ip(net.pi, what, check=False).rstrip(), "    "))
    lease = str(w.value("modem", "Ipv4Address") or "").split("/")[0]
    sources = re.findall(r"New client connected from ([0-9.]+):\d+ as gw-demo\b", rig.cloud.log())
    say(f"demo: the cloud broker saw gw-demo connect from {sorted(set(sources))} (the lease: {lease or 'none'}); "
        f"the Ethernet side's broker saw it {len(net.lan_broker.clients('gw-demo'))} times")
    if lease != LEASE:
        problems.append(f"the lease {lease!r} is not the address the module reports ({LEASE})")
    if not sources or set(sources) != {lease}:
        problems.append(f"the cloud broker saw the session from {sorted(set(sources))}, not from the lease {lease}")
    if net.lan_broker.clients("gw-demo"):
        problems.append("the session went out through Ethernet")


def story_of(args) -> tuple:
    return MODULE_STORY if args.module else STORY


def print_journal(rig: Rig) -> None:
    say("\n--- cellgated journal (stderr) ---")
    say("\n".join(line for line in rig.daemon.log().splitlines() if not line.startswith("<7>")))


def parse_args(argv=None):
    steps = "\n".join(f"  {n}. {f.what}" for n, f in enumerate(STORY, 1))
    added = "\n".join(f"  +  {f.what}" for f in MODULE_STORY if f not in STORY)
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"the story, after the modem and the cloud session are up:\n{steps}\n"
               "then the outbox drains and every reading must have reached the cloud.\n"
               "with --datapath, the data path is shown (D-Bus, routes and rules) once the session is up and\n"
               "at the end, and the cloud broker must have seen the session only from the DHCP lease.\n"
               f"with --module, also (before the broker dies):\n{added}\n\n"
               "scenarios (the simulated module's behaviour):\n"
               + textwrap.fill(", ".join(scenarios.NAMES), initial_indent="  ", subsequent_indent="  ") + "\n"
               "  the story needs a module that connects (normal); no-sim, pin-required, reg-denied\n"
               "  and the like show how cellgated reports one that cannot.")
    # scripts/demo builds cellgated and passes it here, as CTest does: not an option for users.
    ap.add_argument("--daemon", default=DEFAULT_DAEMON, help=argparse.SUPPRESS)
    ap.add_argument("--vendor", default="quectel", choices=list(vendors.PROFILES),
                    help="the simulated module's AT dialect (default: quectel)")
    ap.add_argument("--scenario", default="normal", choices=scenarios.NAMES, metavar="SCENARIO",
                    help="the simulated module's behaviour (default: normal; listed below)")
    ap.add_argument("--module", choices=list(MODULE_VENDORS), metavar="{" + ",".join(MODULE_VENDORS) + "}",
                    help="carry the cloud session over the simulated module's own MQTT client in this vendor's AT "
                         "command set (transport: module; sets --vendor) instead of the host's network")
    ap.add_argument("--datapath", action="store_true",
                    help="(root) run cellgated in a network namespace whose usb0 leads to the module's: a DHCP "
                         "lease, DNS, routes and rules as on a Pi, the cloud broker reachable only there")
    ap.add_argument("--forever", action="store_true", help="keep watching after the story (Ctrl-C stops)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless every fault healed, the outbox filled and drained, and no reading was lost "
                         "(CTest runs it so)")
    args = ap.parse_args(argv)
    if args.module:
        args.vendor = args.module
    if args.datapath and args.module:
        ap.error("--datapath shows the host's data path; --module takes the session off it")
    if args.datapath and os.geteuid() != 0:
        ap.error("--datapath needs root (network namespaces)")
    if not os.access(args.daemon, os.X_OK):
        ap.error(f"no cellgated at {args.daemon}: run scripts/demo, which builds it first")
    return args


def demo(args, work: str, problems: list) -> Stop | None:
    """Runs the rig in `work` and the story against it; returns the Stop that cut it short, if any.
    Leaving the `with` stops cellgated, the bus, the brokers and the simulator, in that order."""
    stopped = None
    with Children(), contextlib.ExitStack() as stack:
        rig = w = None
        try:
            rig = Rig(args, work, stack)
            w = Watcher(rig.bus.address)
            stack.callback(w.close)
            run(args, rig, w, problems)
        except Stop as e:
            stopped = e
        ignore_ending_signals()  # from here on nothing may cut the cleanup short
        try:
            if w is not None:
                say(f"\ndemo: followed the daemon through {w.signals} PropertiesChanged signals "
                    f"with {w.reads} property reads")
            if rig is not None and (stopped is None or stopped.interactive):
                print_journal(rig)
        except Stop as e:
            stopped = stopped or e
    return stopped


def main():
    args = parse_args()
    for s in ENDING_SIGNALS:
        signal.signal(s, _on_ending_signal)
    problems = []
    work = tempfile.mkdtemp(prefix="cellgate-demo-")
    try:
        # Every scratch directory the harness makes (bus, daemon, simulator) goes inside `work`:
        # removing it leaves nothing behind.
        tempfile.tempdir = work
        say(f"demo: scratch directory {work} (removed when the demo ends)")
        stopped = demo(args, work, problems)
    except Stop as e:
        stopped = e
    finally:
        ignore_ending_signals()
        shutil.rmtree(work, ignore_errors=True)
    with contextlib.suppress(Stop):
        if stopped is not None:
            say(f"\ndemo: stopped by {stopped}; every process it started has ended")
        else:
            say("\ndemo: " + ("; ".join(problems) if problems else "every fault healed, no reading lost"))
    if stopped is not None:
        sys.exit(128 + stopped.signum)
    if args.check and problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
