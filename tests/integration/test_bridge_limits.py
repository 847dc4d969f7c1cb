#!/usr/bin/env python3
"""Limits. The outbox's max_messages / max_bytes / max_age drop the oldest first, the D-Bus Dropped
counter says how many, and the newest are kept and delivered in order once the cloud returns.
The per-session rate limit: a 300-message backlog drained to the Aliyun and OneNET emulations (which
enforce 30 msg/s and 100 QoS 1 publishes per 5 s) never trips them, at about the default rate, and a
generic session's configured rate_limit is honoured."""

import base64
import json
import os
import shutil
import sqlite3
import tempfile
import time

from emulator import PlatformEmulator
from harness import bridge_case, platform_session, run, wait_for

ALI = dict(product_key="a1B2c3D4e5F", device_name="gw-001", device_secret="dF8sKq2LmN5pR7tV9xZ1bC3eG5hJ7kM9")
ONE = dict(product_id="238322", device_name="gw-001", device_key=base64.b64encode(bytes(range(7, 39))).decode())
# cloud/rate_limit.cpp default_rate_limit(): (per_second, burst); the platforms' ceilings.
DEFAULT_RATE = {"aliyun": (20.0, 5.0), "onenet": (16.0, 10.0)}
CEILING = {"aliyun": (30, 1.0), "onenet": (100, 5.0)}
BACKOFF = dict(initial="1s", max="2s", stable_after="2s")


def stopped(mode, **kw):
    """An emulator whose port is known but that is not listening yet (the cloud is down)."""
    emu = PlatformEmulator(mode, **kw)
    emu.start()
    emu.stop()
    return emu


def not_connected(p):
    return p["State"] != "connected"


def max_in_window(times, window):
    best, j = 0, 0
    for i, t in enumerate(times):
        while t - times[j] >= window:
            j += 1
        best = max(best, i - j + 1)
    return best


def _limit_case(args, outbox, fill, expect_kept, expect_dropped, what):
    """Cloud down; fill(pub) publishes locally; the outbox holds expect_kept (payloads, oldest first)
    and Dropped == expect_dropped; the cloud comes back and gets exactly expect_kept, in order."""
    emu = stopped("generic")
    sessions = [dict(name="lab", platform="generic", endpoint=emu.endpoint, client_id="gw-lim", tls=False,
                     keepalive="60s")]
    routes = [{"from": "app/lim/+", "to": "lab", "as": "raw", "topic": "gw/{1}", "qos": 1}]
    try:
        with bridge_case(args, sessions, routes, outbox=outbox, backoff=BACKOFF) as case, case.publisher() as pub:
            case.wait("lab", not_connected, 5, "not connected (cloud down)")
            t0 = time.monotonic()
            fill(pub)
            p = case.wait("lab", lambda q: q["Queued"] == len(expect_kept) and q["Dropped"] == expect_dropped,
                          15, f"Queued == {len(expect_kept)} and Dropped == {expect_dropped}")
            t_limits = time.monotonic() - t0
            emu.start()
            wait_for(lambda: len(emu.received("gw/#")) >= len(expect_kept), 20,
                     f"{len(expect_kept)} messages at the cloud")
            case.wait("lab", lambda q: q["Queued"] == 0, 10, "Queued == 0")
            time.sleep(0.5)
            got = [r["payload"] for r in emu.received("gw/#")]
            firsts = list(dict.fromkeys(got))
            assert firsts == expect_kept, f"{what}: delivered {[g[:12] for g in firsts]}, want the newest " \
                f"{len(expect_kept)}: {[e[:12] for e in expect_kept]}"
            final = case.props("lab")
            assert final["Dropped"] == expect_dropped, final
            print(f"{what}: Queued {p['Queued']}, Dropped {p['Dropped']} ({t_limits:.2f} s after the first "
                  f"publish); delivered the newest {len(firsts)} in order ({len(got) - len(firsts)} duplicates)")
    finally:
        emu.stop()


def test_outbox_max_messages_drops_oldest(args):
    msgs = [f"m-{i:03d}".encode() for i in range(50)]

    def fill(pub):
        for m in msgs:
            pub.publish("app/lim/x", m, qos=1)
    _limit_case(args, {"max_messages": 20}, fill, msgs[30:], 30, "max_messages 20, 50 published")


def test_outbox_max_bytes_drops_oldest(args):
    msgs = [f"b-{i:03d}-".encode().ljust(200, b"x") for i in range(30)]

    def fill(pub):
        for m in msgs:
            pub.publish("app/lim/x", m, qos=1)
    _limit_case(args, {"max_bytes": 2048}, fill, msgs[20:], 20, "max_bytes 2048, 30 x 200 B published")


def test_outbox_max_age_drops_expired(args):
    """max_age is at least 1 minute, so age the rows instead of waiting: a gateway powered off with a
    backlog, whose rows are older than max_age when it boots (created_ms is moved back two minutes
    in the stopped daemon's SQLite file), then 5 new messages; only the new ones may reach the cloud."""
    old = [f"old-{i}".encode() for i in range(10)]
    new = [f"new-{i}".encode() for i in range(5)]
    emu = stopped("generic")
    workdir = tempfile.mkdtemp(prefix="cellgate-age-")
    box = {"path": os.path.join(workdir, "outbox.db"), "max_age": "1m"}
    sessions = [dict(name="lab", platform="generic", endpoint=emu.endpoint, client_id="gw-age", tls=False,
                     keepalive="60s")]
    routes = [{"from": "app/lim/+", "to": "lab", "as": "raw", "topic": "gw/{1}", "qos": 1}]
    try:
        with bridge_case(args, sessions, routes, outbox=box, backoff=BACKOFF) as case, case.publisher() as pub:
            case.wait("lab", not_connected, 5, "not connected (cloud down)")
            for m in old:
                pub.publish("app/lim/x", m, qos=1)
            case.wait("lab", lambda q: q["Queued"] == 10, 10, "Queued == 10")
        with sqlite3.connect(box["path"]) as db:
            n = db.execute("UPDATE messages SET created_ms = created_ms - 120000").rowcount
        assert n == 10, f"{n} rows in the stopped daemon's outbox, want 10"
        with bridge_case(args, sessions, routes, outbox=box, backoff=BACKOFF) as case, case.publisher() as pub:
            t0 = time.monotonic()
            for m in new:
                pub.publish("app/lim/x", m, qos=1)
            p = case.wait("lab", lambda q: q["Queued"] == 5 and q["Dropped"] == 10, 20,
                          "Queued == 5 and Dropped == 10 (the aged rows expired)")
            t_drop = time.monotonic() - t0
            emu.start()
            wait_for(lambda: len(emu.received("gw/#")) >= 5, 20, "5 messages at the cloud")
            case.wait("lab", lambda q: q["Queued"] == 0, 10, "Queued == 0")
            time.sleep(0.5)
            got = list(dict.fromkeys(r["payload"] for r in emu.received("gw/#")))
            assert got == new, f"delivered {got}, want only the 5 new ones"
            print(f"max_age 1m: 10 rows aged 2 min across a restart -> Dropped {p['Dropped']} "
                  f"{t_drop:.2f} s after the first new publish; delivered {[g.decode() for g in got]}")
    finally:
        emu.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _seq(mode, rec):
    """The "seq" a drained message carries: the raw payload (generic) or the post's params, whose
    values the platform format may wrap as {"value": v, "time": ms}."""
    if mode == "generic":
        return json.loads(rec["payload"])["seq"]
    v = rec["json"]["params"]["seq"]
    return v["value"] if isinstance(v, dict) else v


def _drain(args, mode, emu_kw, session_extra, n, want_rate, want_burst):
    """n property posts queued while the platform is down, then drained; returns the figures."""
    emu = stopped(mode, **emu_kw)
    name = mode[:3]
    routes = [{"from": "sensors/+/telemetry", "to": name, "as": "property" if mode != "generic" else "raw",
               "topic": "gw/{1}" if mode == "generic" else None}]
    sess = platform_session(name, emu, **session_extra)
    try:
        with bridge_case(args, [sess], routes, backoff=BACKOFF) as case, case.publisher() as pub:
            case.wait(name, not_connected, 5, "not connected (platform down)")
            for i in range(n):
                pub.publish(f"sensors/s{i % 7}/telemetry", f'{{"seq":{i},"temp":{20 + i % 10}.5}}', qos=1)
            case.wait(name, lambda q: q["Queued"] == n, 20, f"Queued == {n}")
            t_up = time.monotonic()
            emu.start()
            expect = n / want_rate + 15
            if mode == "generic":
                recs = wait_for(lambda: (lambda r: r if len(r) >= n else None)(emu.received("gw/#")), expect,
                                f"{n} messages at the cloud")
            else:
                recs = emu.wait_posts(n, expect)
            final = case.wait(name, lambda q: q["Queued"] == 0 and (mode == "generic" or q["Accepted"] >= n), 10,
                              "Queued == 0 and every post's reply matched (Accepted)")
            time.sleep(0.3)  # a resend still on its way would show up as a duplicate
            every = emu.received("gw/#") if mode == "generic" else emu.posts()
            seqs = [_seq(mode, r) for r in every]
            firsts = list(dict.fromkeys(seqs))
            snap = emu.snapshot()
            times = [r["time"] for r in recs]
            span = times[-1] - times[0]
            rate = (len(times) - 1) / span if span > 0 else float("inf")
            w1, w5 = max_in_window(times, 1.0), max_in_window(times, 5.0)
            # Steady state: leave the initial burst out.
            k = int(want_burst)
            steady = (len(times) - 1 - k) / (times[-1] - times[k]) if times[-1] > times[k] else float("inf")
            print(f"{mode}: {len(recs)} of {n} delivered {times[0] - t_up:.2f} s after the platform returned, over "
                  f"{span:.2f} s: {rate:.1f} msg/s overall, {steady:.1f} msg/s after the burst (default/configured "
                  f"{want_rate:g}/s, burst {want_burst:g}); max {w1} in any 1 s, {w5} in any 5 s; violations "
                  f"{len(snap['violations'])}, rate drops {len(snap['rate_drops'])}, "
                  f"format errors {len(snap['format_errors'])}; Accepted {final.get('Accepted')}, "
                  f"Rejected {final.get('Rejected')}; {len(set(seqs))} distinct seq, "
                  f"{len(seqs) - len(set(seqs))} duplicates")
            assert not snap["violations"], f"platform limit violated: {snap['violations'][:3]}"
            assert not snap["rate_drops"], f"{len(snap['rate_drops'])} messages dropped by the platform's rate limit"
            assert not snap["format_errors"], snap["format_errors"][:3]
            missing = sorted(set(range(n)) - set(seqs))
            extra = sorted(set(seqs) - set(range(n)))
            assert not missing and not extra, \
                f"seq values at the platform != range({n}): {len(missing)} missing {missing[:10]}, " \
                f"unexpected {extra[:10]}"
            inversions = [(a, b) for a, b in zip(firsts, firsts[1:]) if a > b]
            assert firsts == list(range(n)), \
                f"first arrivals out of order: {len(inversions)} inversions, first {inversions[:5]}"
            if mode != "generic":
                assert final["Accepted"] == n and final["Rejected"] == 0, final
            assert want_rate * 0.8 <= steady <= want_rate * 1.1, \
                f"steady drain rate {steady:.1f} msg/s is not near {want_rate:g}/s"
            # The bucket sends at most burst + rate in any second; arrivals may bunch a little on a
            # loaded machine (the platform ceilings above are the hard limits).
            assert w1 <= (want_burst + want_rate) * 1.1 + 2, f"{w1} messages in one second"
            if mode in CEILING:
                count, window = CEILING[mode]
                assert max_in_window(times, window) <= count, f"{max_in_window(times, window)} in {window:g} s"
    finally:
        emu.stop()


def test_rate_limit_aliyun_backlog(args):
    _drain(args, "aliyun", ALI, {}, 300, *DEFAULT_RATE["aliyun"])


def test_rate_limit_onenet_backlog(args):
    _drain(args, "onenet", ONE, {}, 300, *DEFAULT_RATE["onenet"])


def test_rate_limit_generic_configured(args):
    _drain(args, "generic", {}, {"rate_limit": {"per_second": 50, "burst": 5}}, 300, 50.0, 5.0)


if __name__ == "__main__":
    run([test_outbox_max_messages_drops_oldest, test_outbox_max_bytes_drops_oldest,
         test_outbox_max_age_drops_expired, test_rate_limit_aliyun_backlog, test_rate_limit_onenet_backlog,
         test_rate_limit_generic_configured])
