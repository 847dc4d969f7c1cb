#!/usr/bin/env python3
"""Live demo: cellgated + the AT modem simulator + a local mosquitto "cloud" + a private D-Bus bus.

Prints every D-Bus property change as it happens, then plays a short story of field faults (the
network drops the data call, the module reboots, the cloud broker restarts) so you can watch the
daemon heal itself: the cloud session waits for the modem's data link, follows it down and up, and
reconnects with backoff when the broker goes away.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from brokers import MosquittoBroker  # noqa: E402
from harness import (CLOUD_IFACE, GATEWAY_IFACE, GATEWAY_PATH, MODEM_IFACE, MODEM_PATH, Daemon,  # noqa: E402
                     PrivateBus, cloud_path)

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
"""


def control(path, command):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall((command + "\n").encode())
        return s.recv(4096).decode().strip()


class Watcher:
    """Polls GetAll and prints what changed since the last look."""

    def __init__(self, bus):
        self.bus = bus
        self.last = {}
        self.t0 = time.monotonic()

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
                    print(f"[{time.monotonic() - self.t0:6.1f}s] {label:7} {k:17} = {v!r}", flush=True)

    def value(self, label, prop):
        return self.last.get((label, prop))

    def run_until(self, deadline, predicate=None):
        while time.monotonic() < deadline:
            self.poll()
            if predicate and predicate():
                return True
            time.sleep(0.2)
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--vendor", default="quectel", choices=["generic", "quectel", "simcom", "luat", "huawei"])
    ap.add_argument("--scenario", default="normal")
    ap.add_argument("--forever", action="store_true", help="keep running after the story (Ctrl-C stops)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="cellgate-demo-")
    link, ctl = os.path.join(work, "ttyMODEM"), os.path.join(work, "modem.ctl")
    sim = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "sim", "modemsim.py"), "--link", link,
                            "--scenario", args.scenario, "--vendor", args.vendor, "--control", ctl,
                            "--log", os.path.join(work, "modem.log")])
    try:
        deadline = time.monotonic() + 10
        while not (os.path.exists(link) and os.path.exists(ctl)):
            if time.monotonic() > deadline:
                sys.exit("demo: the simulator did not start")
            time.sleep(0.05)
        policy = os.path.join(ROOT, "etc", "dbus-1", "system.d", "org.cellgate.Gateway1.conf")
        password_file = os.path.join(work, "lab.secret")
        with open(password_file, "w") as f:
            f.write("demo-secret\n")
        os.chmod(password_file, 0o600)
        broker = MosquittoBroker(workdir=os.path.join(work, "broker"), users={"gw": "demo-secret"})
        config = CONFIG.format(link=link, endpoint=broker.endpoint, password_file=password_file)
        with broker, PrivateBus(policy) as bus, Daemon(args.daemon, config, bus) as daemon:
            print(f"demo: private bus {bus.address}\ndemo: simulated {args.vendor} module on {link}")
            print(f"demo: cloud broker: mosquitto on {broker.endpoint} (password auth)")
            print(f"demo: try  DBUS_SYSTEM_BUS_ADDRESS={bus.address} busctl --system introspect "
                  f"org.cellgate.Gateway1 {MODEM_PATH}\n", flush=True)
            t0 = time.monotonic()
            daemon.wait_ready()
            w = Watcher(bus)
            if w.run_until(time.monotonic() + 60, lambda: w.value("modem", "State") == "connected"):
                print(f"\ndemo: modem connected {time.monotonic() - t0:.1f}s after start\n", flush=True)
                w.run_until(time.monotonic() + 15, lambda: w.value("cloud", "State") == "connected")
                print(f"\ndemo: cloud session connected {time.monotonic() - t0:.1f}s after start\n", flush=True)

                def both_up():
                    return w.value("modem", "State") == "connected" and w.value("cloud", "State") == "connected"

                # (what, fault, heal): heal runs after the fault has been watched for 3 s.
                story = (("the network drops the data call", lambda: control(ctl, "deact"), None),
                         ("the module reboots (its port vanishes)", lambda: control(ctl, "reboot"), None),
                         ("the cloud broker dies for 3 s", broker.kill, broker.start))
                for what, fault, heal in story:
                    w.run_until(time.monotonic() + 4)
                    print(f"\ndemo: >>> {what}\n", flush=True)
                    t_fault = time.monotonic()
                    fault()
                    w.run_until(time.monotonic() + 3)
                    if heal:
                        heal()
                    healed = w.run_until(time.monotonic() + 60, both_up)
                    print(f"\ndemo: {'healed' if healed else 'NOT healed'} {time.monotonic() - t_fault:.1f}s after "
                          f"the fault, without a restart (daemon pid {daemon.proc.pid})\n", flush=True)
            else:
                print("\ndemo: the modem did not connect; see the log below", flush=True)
            if args.forever or sys.stdin.isatty():
                print("demo: watching; Ctrl-C to stop", flush=True)
                try:
                    w.run_until(float("inf"))
                except KeyboardInterrupt:
                    pass
            print("\n--- cellgated journal (stderr) ---")
            print("\n".join(line for line in daemon.log().splitlines() if not line.startswith("<7>")))
    finally:
        sim.terminate()
        sim.wait(5)


if __name__ == "__main__":
    main()
