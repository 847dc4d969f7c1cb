"""The brokers and the bridges under test, started the way tests/integration does it.

Every bridge is used as:  with bridge.run(local, cloud, workdir) as pid: ...  where `pid` is the process
whose RSS and CPU time are charged to the bridge. A bridge may also change the local broker's
config (local_conf), for mosquitto's classic "the local broker bridges itself" setup.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import harness  # noqa: E402
from brokers import MosquittoBroker  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchBroker(MosquittoBroker):
    """MosquittoBroker without per-packet logging (log_type all would log every PUBLISH and skew
    the numbers), with unlimited per-client queues (the default 1000 would drop most of a
    10 000-message backlog in the broker, for either bridge) and, for the cloud side, persistence,
    so the bench's own subscription survives the broker restart."""

    def __init__(self, workdir: str, persistent: bool = False, extra_conf: str = ""):
        super().__init__(workdir=workdir, extra_conf=extra_conf)
        self.persistent = persistent

    def _prepare(self) -> None:
        conf = [f"listener {self.port} {self.host}", "log_dest stdout",
                "log_type error", "log_type warning", "log_type notice", "log_type information",
                "log_timestamp true", "connection_messages true", "user root",
                "allow_anonymous true", "max_queued_messages 0"]
        if self.persistent:
            # Saved on SIGTERM; no autosave during a run.
            conf += ["persistence true", f"persistence_location {self.dir}/", "autosave_interval 3600"]
        else:
            conf += ["persistence false"]
        if self.extra_conf:
            conf.append(self.extra_conf)
        with open(self.conf_path, "w") as f:
            f.write("\n".join(conf) + "\n")


def _schedstat_s(pid: int):
    """On-CPU time of all live threads in seconds, with ns resolution (/proc/PID/task/*/schedstat);
    None when the kernel has no schedstats."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def proc_sample(pid: int) -> dict:
    """CPU seconds and VmRSS/VmHWM in KiB of a live process. cpu_s is the schedstat on-CPU time
    (the same quantity as utime + stime, without their 10 ms ticks, which a 300-message run would
    round to 0 or 1 tick); tick_cpu_s is utime + stime of /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()  # fields[0] is field 3 (state)
    ticks = (int(fields[11]) + int(fields[12])) / CLK_TCK
    precise = _schedstat_s(pid)
    out = {"cpu_s": precise if precise is not None else ticks, "tick_cpu_s": ticks, "rss_kb": 0, "hwm_kb": 0}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                out["rss_kb"] = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                out["hwm_kb"] = int(line.split()[1])
    return out


def _bridge_conn(name: str, port: int, client_id: str, topic: str) -> str:
    # QoS 1, persistent session, reconnect attempts about every second (cellgate gets a 1 s
    # backoff). "1 1" and not the constant form "1": mosquitto 2.0.11 ignores the constant and
    # first retries after ~5.5 s; with base = cap = 1 it retries every ~2 s (measured).
    return "\n".join([f"connection {name}", f"address 127.0.0.1:{port}", f"clientid {client_id}",
                      "cleansession false", f"topic {topic}", "restart_timeout 1 1",
                      "notifications false"])


class MosquittoBridge:
    """A third mosquitto that only bridges: `topic bench/# in 1` from the local broker,
    `topic bench/# out 1` to the cloud. Same process shape as cellgated (one client on each broker,
    its own queue), so its RSS and CPU compare directly."""

    name = "mosquitto"
    label = "mosquitto bridge (separate process)"
    cloud_client_id = "bridge-cloud"
    has_backlog = True

    def __init__(self):
        self.broker = None

    def local_conf(self, cloud) -> str:
        return ""

    @contextlib.contextmanager
    def run(self, local, cloud, workdir: str):
        conf = "\n".join([_bridge_conn("local", local.port, "bridge-local", "bench/# in 1"),
                          _bridge_conn("cloud", cloud.port, "bridge-cloud", "bench/# out 1")])
        with BenchBroker(os.path.join(workdir, "bridge"), extra_conf=conf) as b:
            self.broker = b
            yield b.proc.pid

    def alive(self) -> bool:
        return self.broker is not None and self.broker.running

    def log_tail(self) -> str:
        return self.broker.log()[-3000:] if self.broker else ""


class InBrokerBridge(MosquittoBridge):
    """The usual deployment: the local broker itself bridges to the cloud. One hop less; its RSS and
    CPU include serving the publisher, so they are not comparable to a bridge-only process."""

    name = "mosq-inbroker"
    label = "mosquitto bridge (inside the local broker)"

    def __init__(self):
        super().__init__()

    def local_conf(self, cloud) -> str:
        return _bridge_conn("cloud", cloud.port, "bridge-cloud", "bench/# out 1")

    @contextlib.contextmanager
    def run(self, local, cloud, workdir: str):
        self.broker = local
        yield local.proc.pid


class CellgateBridge:
    """cellgated on a private bus: a local session subscribed to bench/#, one raw route to a
    generic cloud session, the outbox in the bench's temp dir."""

    name = "cellgate"
    label = "cellgated"
    cloud_client_id = "gw-bench"
    has_backlog = True

    def __init__(self, daemon: str, policy: str, log_level: str = "info", outbox_dir: str | None = None,
                 name: str = "cellgate"):
        self.daemon, self.policy, self.log_level = daemon, policy, log_level
        if name != "cellgate":
            self.name, self.label = name, f"cellgated, {name} build"
        self.outbox_dir = outbox_dir
        self.d = None
        self.outbox_path = ""

    def local_conf(self, cloud) -> str:
        return ""

    def config(self, local, cloud, outbox: str) -> str:
        return f"""log_level: {self.log_level}
cloud:
  - name: cloud
    platform: generic
    endpoint: "{cloud.endpoint}"
    client_id: gw-bench
    tls: false
    keepalive: 60s
backoff:
  initial: 1s
  max: 1s
local:
  endpoint: "{local.endpoint}"
  client_id: cellgate-bench
outbox:
  path: "{outbox}"
routes:
  - from: "bench/#"
    to: cloud
    as: raw
    topic: "bench/{{1}}"
    qos: 1
"""

    @contextlib.contextmanager
    def run(self, local, cloud, workdir: str):
        if self.outbox_dir:
            box = tempfile.mkdtemp(prefix="cgbench-outbox-", dir=self.outbox_dir)
        else:
            box = os.path.join(workdir, "outbox")
            os.makedirs(box)
        self.outbox_path = os.path.join(box, "outbox.db")
        bus_dir, daemon_dir = os.path.join(workdir, "bus"), os.path.join(workdir, "daemon")
        os.makedirs(bus_dir)
        os.makedirs(daemon_dir)
        try:
            with harness.PrivateBus(self.policy, workdir=bus_dir) as bus, \
                    harness.Daemon(self.daemon, self.config(local, cloud, self.outbox_path), bus,
                                   workdir=daemon_dir) as d:
                self.d = d
                d.wait_ready(timeout=20)
                yield d.proc.pid
        finally:
            if self.outbox_dir:
                shutil.rmtree(box, ignore_errors=True)

    def alive(self) -> bool:
        return self.d is not None and self.d.proc.poll() is None

    def side_pid(self):
        return self.d.bus.proc.pid if self.d and self.d.bus else None

    def log_tail(self) -> str:
        return self.d.log()[-3000:] if self.d else ""

    def queued(self):
        """The session's Queued property, or None when the daemon has none (yet)."""
        try:
            return self.d.bus.get_property(harness.cloud_path("cloud"), harness.CLOUD_IFACE, "Queued")
        except Exception:  # noqa: BLE001 - the property is optional here
            return None


def fs_type(path: str) -> str:
    """File system type and device under `path` (where the outbox's fsyncs land)."""
    r = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,SOURCE", "--target", path], capture_output=True, text=True)
    return " ".join(r.stdout.split()) or "?"
