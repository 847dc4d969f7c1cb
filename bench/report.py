"""Aggregation and output of the bridge bench: console table, bench/RESULTS.md, machine facts."""

from __future__ import annotations

import datetime
import math
import os
import platform
import statistics
import subprocess

from bridges import REPO

# Summed over repeats; every other number is the median of the repeats.
COUNTS = {"expected", "received", "unique", "lost", "duplicates", "out_of_order", "junk"}


def aggregate(runs: list[dict]) -> dict:
    """One result from repeated runs of the same bridge: medians of the measurements, sums of the
    delivery counts, and the spread (min, max) of every median kept under "_range"."""
    out, ranges = {}, {}
    for key in runs[0]:
        vals = [r.get(key) for r in runs]
        if all(isinstance(v, dict) for v in vals):
            out[key] = aggregate(vals)
        elif key in COUNTS:
            out[key] = sum(v or 0 for v in vals)
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            good = [v for v in vals if not math.isnan(v)]
            out[key] = statistics.median(good) if good else float("nan")
            if len(good) > 1:
                ranges[key] = (min(good), max(good))
        else:
            out[key] = vals[-1]
    if ranges:
        out["_range"] = ranges
    return out


def _g(res, *keys):
    v = res
    for k in keys:
        if not isinstance(v, dict) or k not in v:
            return None
        v = v[k]
    return v


def _range(res, *keys):
    parent = _g(res, *keys[:-1]) if len(keys) > 1 else res
    r = (parent or {}).get("_range", {}).get(keys[-1])
    return r


ROWS = [  # (label, path, format, scale)
    ("latency p50 (ms) @ low rate", ("slow", "p50_ms"), "{:.2f}", 1),
    ("latency p99 (ms) @ low rate", ("slow", "p99_ms"), "{:.2f}", 1),
    ("latency p50 (ms) @ rate", ("latency", "p50_ms"), "{:.2f}", 1),
    ("latency p99 (ms) @ rate", ("latency", "p99_ms"), "{:.2f}", 1),
    ("latency max (ms) @ rate", ("latency", "max_ms"), "{:.1f}", 1),
    ("throughput (msg/s), flood", ("flood", "rate"), "{:.0f}", 1),
    ("backlog: broker start -> bridge CONNECT (s)", ("backlog", "bridge_connect_s"), "{:.2f}", 1),
    ("backlog: broker start -> all delivered (s)", ("backlog", "flush_s"), "{:.2f}", 1),
    ("backlog: flush rate (msg/s, start -> all)", ("backlog", "flush_rate"), "{:.0f}", 1),
    ("backlog: drain rate (msg/s, first -> last)", ("backlog", "drain_rate"), "{:.0f}", 1),
    ("CPU ms / 1000 msg @ low rate", ("slow", "cpu_ms_per_1k"), "{:.0f}", 1),
    ("CPU ms / 1000 msg @ rate", ("latency", "cpu_ms_per_1k"), "{:.1f}", 1),
    ("CPU ms / 1000 msg, flood", ("flood", "cpu_ms_per_1k"), "{:.1f}", 1),
    ("CPU ms / 1000 msg, backlog (absorb + flush)", ("backlog", "cpu_ms_per_1k"), "{:.1f}", 1),
    ("dbus-daemon CPU ms / 1000 msg @ low rate", ("slow", "side_cpu_ms_per_1k"), "{:.0f}", 1),
    ("dbus-daemon CPU ms / 1000 msg @ rate", ("latency", "side_cpu_ms_per_1k"), "{:.1f}", 1),
    ("dbus-daemon CPU ms / 1000 msg, flood", ("flood", "side_cpu_ms_per_1k"), "{:.1f}", 1),
    ("RSS idle (MiB)", ("idle_rss_kb",), "{:.1f}", 1 / 1024),
    ("RSS at end (MiB)", ("final_rss_kb",), "{:.1f}", 1 / 1024),
    ("VmHWM peak RSS (MiB)", ("hwm_kb",), "{:.1f}", 1 / 1024),
]


def _ratio(by, a, b, path):
    """cellgate / `b` for one metric. Against the baseline build it is the median of the ratios of
    runs made one right after the other, which cancels most of a shared machine's drift; against
    mosquitto it is the ratio of the medians, as in earlier results."""
    if b == "baseline" and by[a].get("_runs") and by[b].get("_runs"):
        pairs = []
        for ra, rb in zip(by[a]["_runs"], by[b]["_runs"]):
            x, y = _g(ra, *path), _g(rb, *path)
            if isinstance(x, (int, float)) and isinstance(y, (int, float)) and y and not math.isnan(x):
                pairs.append(x / y)
        return statistics.median(pairs) if pairs else None
    x, y = _g(by[a], *path), _g(by[b], *path)
    ok = isinstance(x, (int, float)) and isinstance(y, (int, float)) and y and not math.isnan(x)
    return x / y if ok else None


def _fmt(v, f, scale):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f.format(v * scale)


def table(results: list[dict], markdown: bool, spread: bool = False) -> str:
    """Metrics by bridge, with the cellgate/mosquitto ratio when both ran. `spread` adds the
    min..max of the repeats under each median."""
    names = [r["name"] for r in results]
    by = {r["name"]: r for r in results}
    ratios = [d for d in ("mosquitto", "baseline") if d in by and "cellgate" in by]
    head = ["metric"] + names + [f"cellgate/{d}" for d in ratios]
    rows = []
    for label, path, f, scale in ROWS:
        vals = [_g(by[n], *path) for n in names]
        if all(v is None for v in vals):
            continue
        cells = []
        for n, v in zip(names, vals):
            cell = _fmt(v, f, scale)
            rg = _range(by[n], *path) if spread else None
            if rg and cell != "-":
                cell += f" ({_fmt(rg[0], f, scale)}..{_fmt(rg[1], f, scale)})"
            cells.append(cell)
        row = [label] + cells
        for d in ratios:
            r = _ratio(by, "cellgate", d, path)
            row.append("-" if r is None else "{:.2f}".format(r))
        rows.append(row)
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    w = [max(len(str(x[i])) for x in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(str(x).ljust(w[0]) if i == 0 else str(x).rjust(w[i]) for i, x in enumerate(r))
             for r in [head] + rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def delivery_table(results: list[dict], markdown: bool) -> str:
    head = ["bridge", "run", "expected", "received", "lost", "duplicates", "out of order"]
    rows = []
    for r in results:
        for ph in ("slow", "latency", "flood", "backlog"):
            a = r.get(ph)
            if a:
                rows.append([r["name"], ph, a["expected"], a["received"], a["lost"], a["duplicates"],
                             a["out_of_order"]])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
        out += ["| " + " | ".join(map(str, x)) + " |" for x in rows]
        return "\n".join(out)
    return "\n".join("".join(str(x).rjust(14) for x in row) for row in [head] + rows)


SUMMARY = [  # (what, path, higher is better)
    ("latency p50 at 100 msg/s", ("slow", "p50_ms"), False),
    ("latency p50 at the latency rate", ("latency", "p50_ms"), False),
    ("latency p99 at the latency rate", ("latency", "p99_ms"), False),
    ("flood throughput (harness-bound, see README)", ("flood", "rate"), True),
    ("backlog broker start -> all delivered", ("backlog", "flush_s"), False),
    ("backlog drain rate", ("backlog", "drain_rate"), True),
    ("CPU per message, flood", ("flood", "cpu_ms_per_1k"), False),
    ("CPU per message at 100 msg/s", ("slow", "cpu_ms_per_1k"), False),
    ("peak RSS", ("hwm_kb",), False),
]


def summary(results: list[dict]) -> str:
    """One line per headline ratio, for the closing note."""
    by = {r["name"]: r for r in results}
    out = []
    for d, title in (("mosquitto", "mosquitto's bridge"), ("baseline", "the baseline build")):
        if "cellgate" not in by or d not in by:
            continue
        out += [("\n" if out else "") + f"Summary, cellgate against {title} (x = cellgate / {d}):", ""]
        for what, path, _ in SUMMARY:
            r = _ratio(by, "cellgate", d, path)
            if r is not None:
                out.append(f"- {what}: x{r:.2f}")
    return "\n".join(out)


def machine() -> dict:
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    git = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    # The results file itself is left out: an earlier run of this bench has rewritten it.
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", ".", ":!bench/RESULTS.md"],
                           capture_output=True, text=True)
    mosq = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout.splitlines()
    return dict(nproc=os.cpu_count(), cpu=model, kernel=platform.release(),
                commit=git.stdout.strip(), dirty=bool(dirty.stdout.strip()),
                date=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                mosquitto=mosq[0] if mosq else "?", python=platform.python_version(),
                loadavg=open("/proc/loadavg").read().split()[:3])


def build_commit(daemon: str) -> str:
    """The commit of the checkout (a worktree, say) a cellgated was built in, by asking git there."""
    r = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(daemon)), "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "an unknown commit"


def write_results(path, results, args, mach, notes, load_before):
    commit = mach["commit"] + (" with uncommitted changes in the working tree" if mach["dirty"] else "")
    lines = [
        "# Bridge bench results",
        "",
        "Produced by `bench/bridge_bench.py` (method and caveats: bench/README.md). Loopback;",
        f"each number is the median of {args.repeat} runs (bridges interleaved); min..max in brackets.",
        "Ratios are cellgate / mosquitto: below 1 is better for latency, CPU and RSS, above 1 is",
        "better for rates." + (" cellgate / baseline is the median of the ratios of each repeat's"
                               " two runs, made one after the other." if getattr(args, "baseline", None) else ""),
        "",
        f"- date: {mach['date']}",
        f"- commit: {commit}",
        f"- machine: {mach['nproc']} CPUs, {mach['cpu']}, Linux {mach['kernel']}; load average "
        + (f"before -> after each bench run: {mach['loads']}" if mach.get("loads") else
           f"{' '.join(load_before)} before, {' '.join(mach['loadavg'])} after (the machine was shared)"),
        f"- {mach['mosquitto']}; Python {mach['python']} with paho-mqtt",
        f"- cellgated: `{os.path.relpath(os.path.abspath(args.daemon), REPO)}` (RelWithDebInfo, no sanitizers), log_level {args.cellgate_log_level}",
        *([f"- baseline: cellgated at {build_commit(args.baseline)}, built the same way, run interleaved"]
          if getattr(args, "baseline", None) else []),
        f"- load: QoS 1, {args.payload}-byte payloads; low-rate run {args.slow_count} msgs at "
        f"{args.slow_rate:g} msg/s; latency run {args.count} msgs at {args.rate:g} msg/s; "
        f"flood run {args.flood} msgs; backlog {args.backlog} msgs; publisher window {args.inflight}",
        "",
        "Columns: " + "; ".join(f"`{r['name']}` = {r['label']}" for r in results) + ".",
        "",
        table(results, True, spread=args.repeat > 1),
        "",
        summary(results),
        "",
        f"## Delivery accounting (summed over {args.repeat} runs)",
        "",
        delivery_table(results, True),
        "",
    ]
    if notes:
        lines += ["## Notes from this run", ""] + [f"- {n}" for n in notes] + [""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
