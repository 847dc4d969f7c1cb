#!/usr/bin/env python3
"""Live demo: cellgated + the AT modem simulator + two mosquitto brokers (local, "cloud") + a private D-Bus bus.

A local application publishes telemetry to the local broker; cellgate carries it to the cloud broker
through its durable outbox. The demo prints every D-Bus property change as it happens (counters once
every two seconds), then plays a short story of field faults (the network drops the data call, the
module reboots, the cloud broker restarts, the coverage disappears for a while) so you can watch the
daemon heal itself and the queue fill and drain, with no message lost.
"""
import argparse
import json
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from brokers import MosquittoBroker  # noqa: E402
from harness import (CLOUD_IFACE, GATEWAY_IFACE, GATEWAY_PATH, MODEM_IFACE, MODEM_PATH, Daemon,  # noqa: E402
                     MqttCollector, PrivateBus, Simulator, cloud_path)

CONFIG = """\
modem:
  port: {link}
  vendor: auto
  apn:
    name: cmnet
  signal_interval: 10s
  status_poll: 10s
  recovery_backoff: 2s
  port_return_timeout: 30s
  # The field default is 60 s (a cell reselection must not tear the data call down); the demo's
  # coverage gap is 15 s, so it gives up on the registration sooner.
  registration_grace: 5s
cloud:
  - name: lab
    platform: generic
    endpoint: {endpoint}
    client_id: gw-demo
    username: gw
    password_file: {password_file}
    keepalive: 60s
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

# Counters change with every message: shown as one summary line, not one line per change.
QUIET = {"Published", "Received", "Pings", "Queued", "Accepted", "Rejected", "Dropped", "NextRetryIn",
         "ConnectedSince"}


class Watcher:
    """Polls GetAll and prints what changed since the last look."""

    def __init__(self, bus, telemetry=None):
        self.bus = bus
        self.last = {}
        self.t0 = time.monotonic()
        self.telemetry = telemetry
        self.next_summary = 0.0

    def poll(self):
        for label, path, iface in (("gateway", GATEWAY_PATH, GATEWAY_IFACE), ("modem", MODEM_PATH, MODEM_IFACE),
                                   ("cloud", cloud_path("lab"), CLOUD_IFACE)):
            try:
                props = self.bus.get_all(path, iface)
            except Exception:
                continue
            for k, v in props.items():
                key = (label, k)
                if self.last.get(key) != v:
                    self.last[key] = v
                    if k not in QUIET:
                        print(f"[{self.elapsed():6.1f}s] {label:7} {k:17} = {v!r}", flush=True)
        if self.telemetry and time.monotonic() >= self.next_summary:
            self.next_summary = time.monotonic() + 2
            t = self.telemetry
            print(f"[{self.elapsed():6.1f}s] telemetry: {t.sent} published locally, {len(t.received())} at the cloud, "
                  f"Queued {self.value('cloud', 'Queued')}, Published {self.value('cloud', 'Published')}", flush=True)

    def elapsed(self):
        return time.monotonic() - self.t0

    def value(self, label, prop):
        return self.last.get((label, prop))

    def run_until(self, deadline, predicate=None):
        while time.monotonic() < deadline:
            self.poll()
            if predicate and predicate():
                return True
            time.sleep(0.2)
        return False


class Telemetry:
    """A local application publishing a reading every half second (QoS 1), and an application at
    the cloud subscribed with a persistent session, so what cellgate delivers while it reconnects
    after a broker restart waits for it at the broker."""

    def __init__(self, local, cloud):
        self.sent = 0
        self.stop = threading.Event()
        self.sub = MqttCollector(cloud.host, cloud.port, ["gw/#"], client_id="demo-cloud-app", clean=False,
                                 username="gw", password="demo-secret").__enter__()
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--vendor", default="quectel", choices=["generic", "quectel", "simcom", "luat", "huawei"])
    ap.add_argument("--scenario", default="normal")
    ap.add_argument("--forever", action="store_true", help="keep running after the story (Ctrl-C stops)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless every fault healed, the outbox filled and drained, and no reading was lost "
                         "(CTest runs it so)")
    args = ap.parse_args()

    problems = []
    work = tempfile.mkdtemp(prefix="cellgate-demo-")
    with Simulator(os.path.join(ROOT, "tests", "sim", "modemsim.py"), args.scenario, vendor=args.vendor,
                   speed=1.0) as sim:
        policy = os.path.join(ROOT, "etc", "dbus-1", "system.d", "org.cellgate.Gateway1.conf")
        password_file = os.path.join(work, "lab.secret")
        with open(password_file, "w") as f:
            f.write("demo-secret\n")
        os.chmod(password_file, 0o600)
        # Persistence keeps the cloud application's session (and what was queued for it) across the
        # broker's crash, as a real platform would.
        cloud_dir = os.path.join(work, "broker")
        os.makedirs(cloud_dir)
        broker = MosquittoBroker(workdir=cloud_dir, users={"gw": "demo-secret"},
                                 extra_conf=f"persistence true\npersistence_location {cloud_dir}/\n"
                                            "autosave_interval 1\nmax_queued_messages 0")
        local = MosquittoBroker(workdir=os.path.join(work, "local"))
        config = CONFIG.format(link=sim.link, endpoint=broker.endpoint, password_file=password_file,
                               local_endpoint=local.endpoint, outbox=os.path.join(work, "outbox.db"))
        with broker, local, PrivateBus(policy) as bus, Daemon(args.daemon, config, bus) as daemon:
            print(f"demo: private bus {bus.address}\ndemo: simulated {args.vendor} module on {sim.link}")
            print(f"demo: cloud broker: mosquitto on {broker.endpoint} (password auth); "
                  f"local broker: mosquitto on {local.endpoint}")
            print(f"demo: try  DBUS_SYSTEM_BUS_ADDRESS={bus.address} busctl --system introspect "
                  f"org.cellgate.Gateway1 {MODEM_PATH}\n", flush=True)
            t0 = time.monotonic()
            daemon.wait_ready()
            telemetry = Telemetry(local, broker)
            w = Watcher(bus, telemetry)
            if w.run_until(time.monotonic() + 60, lambda: w.value("modem", "State") == "connected"):
                print(f"\ndemo: modem connected {time.monotonic() - t0:.1f}s after start\n", flush=True)
                w.run_until(time.monotonic() + 15, lambda: w.value("cloud", "State") == "connected")
                print(f"\ndemo: cloud session connected {time.monotonic() - t0:.1f}s after start\n", flush=True)

                def both_up():
                    return w.value("modem", "State") == "connected" and w.value("cloud", "State") == "connected"

                # (what, fault, heal, seconds, queues): heal runs after the fault has been watched that
                # long; `queues`: the outbox must visibly fill meanwhile.
                story = (("the network drops the data call", lambda: sim.control("deact"), None, 3, False),
                         ("the module reboots (its port vanishes)", lambda: sim.control("reboot"), None, 3, False),
                         ("the cloud broker dies for 3 s", broker.kill, broker.start, 3, False),
                         ("the coverage is gone for 15 s: telemetry queues in the outbox",
                          lambda: sim.control("deregister"), lambda: sim.control("register"), 15, True))
                for what, fault, heal, seconds, queues in story:
                    w.run_until(time.monotonic() + 4)
                    print(f"\ndemo: >>> {what}\n", flush=True)
                    t_fault = time.monotonic()
                    fault()
                    peak = 0

                    def watch_queue():
                        nonlocal peak
                        peak = max(peak, w.value("cloud", "Queued") or 0)
                        return False
                    w.run_until(time.monotonic() + seconds, watch_queue)
                    if heal:
                        heal()
                    healed = w.run_until(time.monotonic() + 60, lambda: watch_queue() or both_up())
                    print(f"\ndemo: {'healed' if healed else 'NOT healed'} {time.monotonic() - t_fault:.1f}s after "
                          f"the fault, without a restart (daemon pid {daemon.proc.pid}); "
                          f"up to {peak} readings waited in the outbox\n", flush=True)
                    if not healed:
                        problems.append(f"not healed after: {what}")
                    if queues and peak == 0:
                        problems.append(f"the outbox never filled during: {what}")
                if not w.run_until(time.monotonic() + 60, lambda: w.value("cloud", "Queued") == 0):
                    problems.append(f"the outbox did not drain (Queued {w.value('cloud', 'Queued')})")
                telemetry.close()
                w.run_until(time.monotonic() + 3, lambda: not telemetry.missing())
                print(f"\ndemo: {telemetry.report()}\n", flush=True)
                if telemetry.missing():
                    problems.append(f"readings lost: {telemetry.missing()[:10]}")
                if telemetry.sent < 40:
                    problems.append(f"only {telemetry.sent} readings were published")
            else:
                print("\ndemo: the modem did not connect; see the log below", flush=True)
                problems.append("the modem did not connect")
            if args.forever or sys.stdin.isatty():
                print("demo: watching; Ctrl-C to stop", flush=True)
                try:
                    w.run_until(float("inf"))
                except KeyboardInterrupt:
                    pass
            print("\n--- cellgated journal (stderr) ---")
            print("\n".join(line for line in daemon.log().splitlines() if not line.startswith("<7>")))
            print("\ndemo: " + ("; ".join(problems) if problems else "every fault healed, no reading lost"), flush=True)
    if args.check and problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
