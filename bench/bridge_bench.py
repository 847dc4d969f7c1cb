#!/usr/bin/env python3
"""Bridge bench: cellgated against mosquitto's own bridge, same brokers, same QoS 1 load, loopback.

    bench/bridge_bench.py [--daemon BUILD/cellgated] [--count 5000 --rate 1000] [--flood 30000]
                          [--backlog 10000] [--only mosquitto,cellgate] [--no-write]

For each bridge, on a fresh pair of mosquitto brokers (local, cloud):
  slow      --slow-count messages at --slow-rate msg/s (100): latency and CPU at telemetry rates
  latency   --count messages paced at --rate msg/s: p50/p99 from local publish to cloud delivery
  flood     --flood messages as fast as the publisher goes: delivered msg/s
  backlog   cloud broker stopped, --backlog messages published and absorbed by the bridge, broker
            started again: time until the last one is delivered, and the drain rate
and the bridge process's CPU time per 1 000 messages and RSS. Every run counts losses, duplicates
and out-of-order first arrivals. Prints a table with cellgate/mosquitto ratios and writes
bench/RESULTS.md. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bridges  # noqa: E402  (puts tests/integration on sys.path)
from bridges import REPO, BenchBroker, CellgateBridge, InBrokerBridge, MosquittoBridge, proc_sample  # noqa: E402
from loadgen import Publisher, SinkProcess, account  # noqa: E402
from report import aggregate, delivery_table, machine, table, write_results  # noqa: E402

RUN_PROBE, RUN_WARM, RUN_LAT, RUN_FLOOD, RUN_BACKLOG, RUN_SLOW = 1, 2, 3, 4, 5, 6


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", default=os.path.join(REPO, "build/bench/cellgated"),
                   help="cellgated to measure (a release build without sanitizers)")
    p.add_argument("--baseline", default=None, metavar="DAEMON",
                   help="an earlier cellgated (same kind of build), run interleaved as the bridge "
                        "`baseline`: the table gains a cellgate/baseline column")
    p.add_argument("--policy", default=os.path.join(REPO, "etc/dbus-1/system.d/org.cellgate.Gateway1.conf"))
    p.add_argument("--count", type=int, default=5000, help="messages in the latency run")
    p.add_argument("--rate", type=float, default=1000, help="msg/s of the latency run")
    p.add_argument("--slow-count", type=int, default=300, help="messages in the low-rate latency run (0: skip)")
    p.add_argument("--slow-rate", type=float, default=100, help="msg/s of the low-rate latency run")
    p.add_argument("--flood", type=int, default=30000, help="messages in the throughput run")
    p.add_argument("--backlog", type=int, default=10000, help="messages queued while the cloud is down")
    p.add_argument("--payload", type=int, default=128, help="payload bytes")
    p.add_argument("--inflight", type=int, default=100, help="publisher's QoS 1 window on the local broker")
    p.add_argument("--only", default="direct,mosquitto,mosq-inbroker,cellgate",
                   help="comma list of: direct (no bridge: the harness ceiling), mosquitto, "
                        "mosq-inbroker, cellgate")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs per bridge, interleaved; the table shows medians")
    p.add_argument("--cellgate-log-level", default="info")
    p.add_argument("--outbox-dir", default=None, help="where cellgate's outbox goes (default: $TMPDIR)")
    p.add_argument("--results", default=os.path.join(REPO, "bench", "RESULTS.md"))
    p.add_argument("--json", default=None, help="also write the raw results as JSON here")
    p.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    p.add_argument("--keep", action="store_true", help="keep temp dirs and logs")
    p.add_argument("--merge", nargs="+", metavar="JSON", default=None,
                   help="run nothing: pool the runs of earlier --json files (same bridges, same load) "
                        "into one table, and into RESULTS.md unless --no-write")
    return p.parse_args()


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Procs:
    """The bridge process (charged with RSS and CPU) and, for cellgated, the dbus-daemon whose CPU
    its PropertiesChanged signals cost."""

    def __init__(self, pid: int, side: int | None = None):
        self.pid, self.side = pid, side


class Measure:
    """CPU/RSS of the bridge process (and CPU of the side process) around one phase."""

    def __init__(self, procs: Procs):
        self.procs = procs
        self.before = proc_sample(procs.pid)
        self.side_before = proc_sample(procs.side) if procs.side else None

    def done(self, messages: int) -> dict:
        after = proc_sample(self.procs.pid)
        cpu = after["cpu_s"] - self.before["cpu_s"]
        ticks = after["tick_cpu_s"] - self.before["tick_cpu_s"]
        out = dict(cpu_s=cpu, cpu_ms_per_1k=cpu * 1e6 / messages if messages else float("nan"),
                   tick_cpu_ms_per_1k=ticks * 1e6 / messages if messages else float("nan"),
                   rss_kb=after["rss_kb"], hwm_kb=after["hwm_kb"])
        if self.side_before:
            side = proc_sample(self.procs.side)["cpu_s"] - self.side_before["cpu_s"]
            out["side_cpu_ms_per_1k"] = side * 1e6 / messages if messages else float("nan")
        return out


def wait_cpu_flat(pid: int, quiet: float = 1.0, limit: float = 60.0) -> float:
    """Waits until the process used no CPU tick for `quiet` seconds; returns the time waited."""
    t0 = time.monotonic()
    last, since = proc_sample(pid)["tick_cpu_s"], time.monotonic()
    while time.monotonic() - t0 < limit:
        time.sleep(0.1)
        cpu = proc_sample(pid)["tick_cpu_s"]
        if cpu != last:
            last, since = cpu, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return time.monotonic() - t0


def phase_paced(pub, sink, procs, run, count, rate):
    m = Measure(procs)
    t0, _ = pub.send(run, count, rate)
    sink.wait_run(run, count, stall=10, limit=count / rate + 60)
    acc = account(sink.of_run(run), count)
    acc.update(m.done(count))
    acc["rate"] = acc["unique"] / (acc["last_recv"] - t0) if acc["unique"] else 0.0
    return acc


def phase_flood(pub, sink, procs, run, count):
    m = Measure(procs)
    t0, t1 = pub.send(run, count, None)
    sink.wait_run(run, count, stall=15, limit=300)
    acc = account(sink.of_run(run), count)
    acc.update(m.done(count))
    acc["rate"] = acc["unique"] / (acc["last_recv"] - t0) if acc["unique"] else 0.0
    return acc


def phase_backlog(pub, sink, procs, bridge, cloud, run, count):
    m = Measure(procs)
    cloud.kill(signal.SIGTERM)  # SIGTERM: the broker saves the sink's session and subscription
    time.sleep(0.5)
    pub.send(run, count, None)
    if not pub.wait_acked(120):
        log("  backlog: the local broker did not PUBACK everything")
    t_absorb = time.monotonic()
    if isinstance(bridge, CellgateBridge):
        # Everything committed to the outbox before the cloud comes back.
        deadline = time.monotonic() + 60
        while (bridge.queued() or 0) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    wait_cpu_flat(procs.pid)
    extra = {"absorb_s": time.monotonic() - t_absorb}
    if isinstance(bridge, CellgateBridge):
        extra["queued_before"] = bridge.queued()
    t_start = time.monotonic()
    cloud.start()
    sink.wait_run(run, count, stall=20, limit=300)
    acc = account(sink.of_run(run), count)
    acc.update(m.done(count))
    acc.update(extra)
    if acc["unique"]:
        acc["reconnect_s"] = acc["first_recv"] - t_start
        acc["flush_s"] = acc["last_recv"] - t_start
        acc["flush_rate"] = acc["unique"] / acc["flush_s"]
        span = acc["last_recv"] - acc["first_recv"]
        acc["drain_rate"] = acc["unique"] / span if span > 0 else float("inf")
    # When each client came back, from the broker's own log (arrival-stamped by MosquittoBroker).
    for key, cid in (("bridge_connect_s", bridge.cloud_client_id), ("sink_connect_s", sink.client_id)):
        times = [t for t, _ in cloud.events(rf"New (client|bridge) connected from \S+ as {re.escape(cid)} ")
                 if t >= t_start]
        acc[key] = times[0] - t_start if times else None
    return acc


def probe(pub, sink, bridge, timeout=30.0):
    """Until the bridge passes messages end to end (its subscriptions are in place)."""
    deadline = time.monotonic() + timeout
    seq = 0
    while time.monotonic() < deadline:
        if not bridge.alive():
            raise RuntimeError("bridge process exited:\n" + bridge.log_tail())
        pub.publish(RUN_PROBE, seq)
        seq += 1
        end = time.monotonic() + 0.25
        while time.monotonic() < end:
            if sink.of_run(RUN_PROBE):
                return
            time.sleep(0.02)
    raise TimeoutError("no message passed the bridge within %.0fs:\n%s" % (timeout, bridge.log_tail()))


def bench_one(bridge, args) -> dict:
    """All phases for one bridge, on fresh brokers."""
    res = {"name": bridge.name, "label": bridge.label}
    # One private directory per run, not named cellgate-*: tests running next to the bench may
    # sweep those.
    base = tempfile.mkdtemp(prefix=f"cgbench-{bridge.name}-")
    os.chmod(base, 0o755)
    res["workdir"] = base
    with contextlib.ExitStack() as st:
        if not args.keep:
            st.callback(shutil.rmtree, base, True)
        cloud = st.enter_context(BenchBroker(os.path.join(base, "cloud"), persistent=True))
        direct = bridge.name == "direct"
        local_conf = "" if direct else bridge.local_conf(cloud)
        local = st.enter_context(BenchBroker(os.path.join(base, "local"), extra_conf=local_conf))
        pid = None
        if not direct:
            pid = st.enter_context(bridge.run(local, cloud, base))
        sink = SinkProcess(cloud.host, cloud.port).start()
        st.callback(sink.stop)
        target = cloud if direct else local
        pub = Publisher(target.host, target.port, args.payload, args.inflight).start()
        st.callback(pub.stop)
        if direct:
            pid = cloud.proc.pid
        else:
            probe(pub, sink, bridge)
        procs = Procs(pid, getattr(bridge, "side_pid", lambda: None)())
        idle = proc_sample(pid)
        res["idle_rss_kb"] = idle["rss_kb"]
        warm = phase_paced(pub, sink, procs, RUN_WARM, 500, 2000)
        res["warm_lost"] = warm["lost"]
        if args.slow_count > 0:
            log(f"{bridge.name}: low-rate latency run, {args.slow_count} msgs at {args.slow_rate:g}/s")
            res["slow"] = phase_paced(pub, sink, procs, RUN_SLOW, args.slow_count, args.slow_rate)
        log(f"{bridge.name}: latency run, {args.count} msgs at {args.rate:g}/s")
        res["latency"] = phase_paced(pub, sink, procs, RUN_LAT, args.count, args.rate)
        log(f"{bridge.name}: flood run, {args.flood} msgs")
        res["flood"] = phase_flood(pub, sink, procs, RUN_FLOOD, args.flood)
        if not direct and args.backlog > 0:
            log(f"{bridge.name}: backlog run, {args.backlog} msgs while the cloud broker is down")
            res["backlog"] = phase_backlog(pub, sink, procs, bridge, cloud, RUN_BACKLOG, args.backlog)
        final = proc_sample(pid)
        res["final_rss_kb"], res["hwm_kb"] = final["rss_kb"], final["hwm_kb"]
        res["alive"] = direct or bridge.alive()
        res["junk"] = sink.junk
        if isinstance(bridge, CellgateBridge):
            res["outbox_fs"] = bridges.fs_type(os.path.dirname(bridge.outbox_path))
            res["log_tail"] = bridge.log_tail()
    return res


class Direct:
    name = "direct"
    label = "no bridge (publisher on the cloud broker)"


# What must match for runs of several --json files to be pooled.
SAME_LOAD = ("count", "rate", "slow_count", "slow_rate", "flood", "backlog", "payload", "inflight", "only",
             "cellgate_log_level")


def merge(args) -> None:
    files = []
    for path in args.merge:
        with open(path) as f:
            files.append(json.load(f))
    first = files[0]["args"]
    for path, d in zip(args.merge, files):
        other = [k for k in SAME_LOAD if d["args"].get(k) != first.get(k)]
        if other or bool(d["args"].get("baseline")) != bool(first.get("baseline")):
            sys.exit(f"{path}: not the load of {args.merge[0]} ({', '.join(other) or 'baseline'})")
        if len({len(rs) for rs in d["runs"].values()}) != 1:
            sys.exit(f"{path}: a bridge has fewer runs than the others, which would unpair the repeats")
    runs: dict[str, list] = {}
    for d in files:
        for name, rs in d["runs"].items():
            runs.setdefault(name, []).extend(rs)
    pooled = argparse.Namespace(**dict(first, repeat=len(next(iter(runs.values()))), results=args.results))
    results = [dict(aggregate(rs), _runs=rs) for rs in runs.values() if rs]
    machines = [d["machine"] for d in files]
    commits = list(dict.fromkeys(m["commit"] for m in machines))
    mach = dict(machines[-1], commit=" and ".join(commits), dirty=any(m["dirty"] for m in machines),
                date=f"{machines[0]['date']} to {machines[-1]['date']}, {len(files)} bench runs pooled")
    mach["loads"] = "; ".join(f"{' '.join(d.get('load_before', ['?']))} -> {' '.join(d['machine']['loadavg'])}"
                              for d in files)
    notes = list(dict.fromkeys(n for d in files for n in d["notes"]))
    print(table(results, False, spread=True))
    if not args.no_write:
        write_results(args.results, results, pooled, mach, notes, None)
        log(f"wrote {args.results}")


def main():
    args = parse_args()
    if args.merge:
        merge(args)
        return
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    makers = {
        "direct": lambda: Direct(),
        "mosquitto": lambda: MosquittoBridge(),
        "mosq-inbroker": lambda: InBrokerBridge(),
        "cellgate": lambda: CellgateBridge(args.daemon, args.policy, args.cellgate_log_level,
                                           args.outbox_dir),
        "baseline": lambda: CellgateBridge(args.baseline, args.policy, args.cellgate_log_level,
                                           args.outbox_dir, name="baseline"),
    }
    if args.baseline and "baseline" not in wanted:
        wanted.append("baseline")
    if "baseline" in wanted and not args.baseline:
        sys.exit("the baseline bridge needs --baseline DAEMON")
    unknown = [w for w in wanted if w not in makers]
    if unknown:
        sys.exit(f"unknown bridge(s): {', '.join(unknown)}")
    load_before = open("/proc/loadavg").read().split()[:3]
    runs: dict[str, list] = {w: [] for w in wanted}
    notes = []
    t_all = time.monotonic()
    for rep in range(args.repeat):
        for name in wanted:
            bridge = makers[name]()
            log(f"--- {bridge.label} (run {rep + 1}/{args.repeat})")
            t = time.monotonic()
            try:
                r = bench_one(bridge, args)
            except Exception as e:  # noqa: BLE001 - one failing bridge must not hide the others
                log(f"{name} FAILED: {e}")
                notes.append(f"{name} run {rep + 1} failed: "
                             f"{str(e).splitlines()[0] if str(e) else type(e).__name__}")
                continue
            runs[name].append(r)
            for ph in ("slow", "latency", "flood", "backlog"):
                a = r.get(ph)
                if a and (a["lost"] or a["duplicates"] or a["out_of_order"]):
                    notes.append(f"{name} run {rep + 1} {ph}: {a['lost']} lost, {a['duplicates']} duplicates, "
                                 f"{a['out_of_order']} out of order (of {a['expected']})")
            if not r["alive"]:
                notes.append(f"{name} run {rep + 1}: the bridge process was not alive at the end")
            if r.get("junk"):
                notes.append(f"{name} run {rep + 1}: {r['junk']} unparsable payloads at the cloud")
            log(f"{name} done in {time.monotonic() - t:.0f}s")
    results = [dict(aggregate(runs[w]), _runs=runs[w]) for w in wanted if runs[w]]
    fs = {r.get("outbox_fs") for rs in runs.values() for r in rs if r.get("outbox_fs")}
    notes += [f"cellgate's outbox was on {f} (fsync cost depends on it)" for f in sorted(fs)]
    print()
    print(table(results, False, spread=args.repeat > 1))
    print()
    print(delivery_table(results, False))
    for n in notes:
        print("note:", n)
    log(f"total {time.monotonic() - t_all:.0f}s")
    mach = machine()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=mach, args=vars(args), runs=runs, notes=notes, load_before=load_before), f,
                      indent=1)
    if not args.no_write and results:
        write_results(args.results, results, args, mach, notes, load_before)
        log(f"wrote {args.results}")


if __name__ == "__main__":
    main()
