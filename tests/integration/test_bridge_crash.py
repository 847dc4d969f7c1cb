#!/usr/bin/env python3
"""kill -9 of cellgated at random moments while ~3 000 messages stream in (D-Bus Publish and the
local broker; the cloud is also away for 5 s, so kills hit a draining backlog too), restarted each
time with the same outbox: every message whose Publish got a reply
(committed) reaches the cloud, and in order; calls cut by the kill are "in doubt" (either way is
fine); duplicates are counted and reported (at least once). Local-broker messages: their first
arrivals are in order, and a kill loses at most what the README's durability boundary allows (the
messages handed over within one group commit before it: commit window plus fsync, with slack), none
published after the last kill. The cloud is the emulator in generic mode, which records every PUBLISH
it receives."""

import collections
import math
import os
import random
import shutil
import signal
import tempfile
import threading
import time

from brokers import started_mosquitto
from emulator import PlatformEmulator
from harness import (CLOUD_IFACE, BusError, Daemon, DBusClient, MqttCollector, PrivateBus, PropertySampler,
                     assert_no_sanitizer_report, bridge_config, bridge_outbox_path, cloud_path, cloud_props, run,
                     stop_process, wait_for)

DURATION = 20.0      # seconds of streaming
DBUS_RATE = 100.0    # Publish calls per second (pipelined, up to WINDOW outstanding)
LOCAL_RATE = 50.0    # local QoS 1 publishes per second
WINDOW = 32
KILLS = 5
# The cloud is also away for a while, so some kills hit a backlog being drained (the session's rate
# limit stretches the drain over seconds); one kill is placed 1 s into that drain.
CLOUD_DOWN = (4.0, 9.0)
RATE_LIMIT = {"per_second": 300, "burst": 20}
# README "Where the durability boundary is": a kill loses at most the local-broker messages handed
# over within one group commit (10 ms commit window + one fsync, 1-20 ms). Generous slack: what
# arrives in 250 ms, plus 2.
LOCAL_LOSS_WINDOW = 0.25
LOCAL_LOSS_PER_KILL = math.ceil(LOCAL_RATE * LOCAL_LOSS_WINDOW) + 2
UNCOMMITTED = ("org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner")


class DbusStream(threading.Thread):
    """Publishes d-<seq> at DBUS_RATE and sorts every call by its reply."""

    def __init__(self, address):
        super().__init__(daemon=True)
        self.c = DBusClient(address)
        self.stop = threading.Event()
        self.committed = {}      # payload -> id from the reply
        self.in_doubt = []       # cut by the kill (NoReply) or no answer
        self.refused = []        # never reached the daemon (name not owned)
        self.errors = collections.Counter()
        self.sent = 0

    def run(self):
        pending = collections.deque()
        t0 = time.monotonic()
        while not self.stop.is_set() or pending:
            due = int((time.monotonic() - t0) * DBUS_RATE)
            while not self.stop.is_set() and self.sent < due and len(pending) < WINDOW:
                payload = f"d-{self.sent:06d}".encode()
                try:
                    pending.append((self.c.publish_async("lab", "gw/dbus", payload, 1), payload))
                except OSError as e:  # the test's bus is gone: the test is failing anyway
                    self.errors[f"bus connection: {e}"] += 1
                    return
                self.sent += 1
            if not pending:
                time.sleep(0.005)
                continue
            serial, payload = pending[0]
            try:
                self.committed[payload] = self.c.result(serial, timeout=0.01 if not self.stop.is_set() else 30)[0]
            except TimeoutError:
                if self.stop.is_set() or self.c.closed:
                    pending.popleft()
                    self.in_doubt.append(payload)
                continue
            except BusError as e:
                if e.name in UNCOMMITTED:
                    self.refused.append(payload)
                elif e.name == "org.freedesktop.DBus.Error.NoReply":
                    self.in_doubt.append(payload)
                else:
                    self.errors[f"{e.name}: {e.message}"] += 1
                    self.in_doubt.append(payload)
            pending.popleft()


class LocalStream(threading.Thread):
    def __init__(self, local):
        super().__init__(daemon=True)
        self.local = local
        self.stop = threading.Event()
        self.acked = []
        self.sent_at = {}   # payload -> monotonic time just before it was published

    def run(self):
        with MqttCollector(self.local.host, self.local.port, [], client_id="app-crash", clean=True) as pub:
            t0, i = time.monotonic(), 0
            while not self.stop.is_set():
                if i < (time.monotonic() - t0) * LOCAL_RATE:
                    payload = f"l-{i:06d}".encode()
                    self.sent_at[payload] = time.monotonic()
                    pub.publish("app/crash/x", payload, qos=1)
                    self.acked.append(payload)
                    i += 1
                else:
                    time.sleep(0.005)


def _first_order_inversions(arrivals, wanted):
    first = []
    seen = set()
    for p in arrivals:
        if p in wanted and p not in seen:
            seen.add(p)
            first.append(p)
    return sum(1 for a, b in zip(first, first[1:]) if a > b), first


def test_kill9_during_stream_loses_nothing_committed(args):
    seed = int(os.environ.get("CELLGATE_CRASH_SEED", time.time()))
    rng = random.Random(seed)
    workdir = tempfile.mkdtemp(prefix="cellgate-crash-")
    daemons = []
    try:
        with PlatformEmulator("generic") as emu, started_mosquitto(keep=args.keep) as local, \
                PrivateBus(args.policy, keep=args.keep) as bus:
            cfg = bridge_config(
                [dict(name="lab", platform="generic", endpoint=emu.endpoint, client_id="gw-crash", tls=False,
                      keepalive="60s", rate_limit=RATE_LIMIT)],
                local=dict(endpoint=local.endpoint, client_id="cellgate"),
                routes=[{"from": "app/crash/+", "to": "lab", "as": "raw", "topic": "gw/local/{1}", "qos": 1}],
                outbox=dict(path=bridge_outbox_path(workdir)),
                backoff=dict(initial="1s", max="2s", stable_after="2s"))

            def start():
                d = Daemon(args.daemon, cfg, bus, keep=args.keep)
                d.__enter__()
                daemons.append(d)
                d.wait_ready(20)
                return d

            d = start()
            wait_for(lambda: cloud_props(bus, "lab")["State"] == "connected", 15, "lab connected")
            # Local messages published before cellgate's first SUBSCRIBE would never be routed.
            wait_for(lambda: local.count("Received SUBSCRIBE from cellgate"), 10, "cellgate subscribed locally")
            dbus, loc = DbusStream(bus.address), LocalStream(local)
            t0 = time.monotonic()
            dbus.start()
            loc.start()
            sampler = PropertySampler(bus, [(cloud_path("lab"), CLOUD_IFACE, "Queued")], interval=0.1)
            # Kill moments: random, at least 2 s apart (room for the restart), inside the stream; one
            # of them 1 s into the drain after the cloud's outage.
            kills = sorted([CLOUD_DOWN[1] + 1.0] + [rng.uniform(1.0, DURATION - 2.0) for _ in range(KILLS - 1)])
            for i in range(1, len(kills)):
                kills[i] = max(kills[i], kills[i - 1] + 2.0)
            events = sorted([(k, "kill") for k in kills] + [(CLOUD_DOWN[0], "cloud down"), (CLOUD_DOWN[1], "cloud up")])
            restart_times, queued_at_kill, kill_times = [], [], []
            for at, what in events:
                time.sleep(max(0.0, t0 + at - time.monotonic()))
                if what == "cloud down":
                    emu.stop()
                elif what == "cloud up":
                    emu.start()
                else:
                    queued_at_kill.append(sampler.current()[0])
                    kill_times.append(time.monotonic())
                    d.proc.send_signal(signal.SIGKILL)
                    d.proc.wait(5)
                    tk = time.monotonic()
                    d = start()
                    restart_times.append(time.monotonic() - tk)
            time.sleep(max(0.0, t0 + DURATION - time.monotonic()))
            dbus.stop.set()
            loc.stop.set()
            dbus.join(60)
            loc.join(30)
            t_end = time.monotonic()
            max_queued = max(v[0] for _, v in sampler.stop())

            def arrivals(prefix):
                return [p["payload"] for p in emu.received("gw/#") if p["payload"].startswith(prefix)]
            committed = set(dbus.committed)
            try:
                wait_for(lambda: committed <= set(arrivals(b"d-")), 45, "every committed message at the cloud")
            except TimeoutError:
                pass
            wait_for(lambda: cloud_props(bus, "lab")["Queued"] == 0, 30, "Queued == 0 after the stream")
            time.sleep(1.0)
            got_d, got_l = arrivals(b"d-"), arrivals(b"l-")
            lost = sorted(committed - set(got_d))
            phantom = sorted(set(got_d) - committed - set(dbus.in_doubt))
            inv_d, _ = _first_order_inversions(got_d, committed)
            inv_l, _ = _first_order_inversions(got_l, set(loc.acked))
            local_lost = sorted(set(loc.acked) - set(got_l))
            # Each lost local message is charged to the first kill at or after its publish: before
            # that kill it could only have been at the local broker or in cellgate's open commit.
            lost_per_kill = [[] for _ in kill_times]
            unexplained = []
            for m in local_lost:
                k = next((i for i, tk in enumerate(kill_times) if tk >= loc.sent_at[m]), None)
                (unexplained if k is None else lost_per_kill[k]).append(m)
            lost_age = [[kill_times[k] - loc.sent_at[m] for m in ms] for k, ms in enumerate(lost_per_kill)]
            doubt_arrived = len(set(dbus.in_doubt) & set(got_d))
            ids = sorted(dbus.committed.values())
            print(f"crash (seed {seed}): {KILLS} kill -9 at " + ", ".join(f"{k:.1f}" for k in kills)
                  + " s (Queued then " + ", ".join(str(q) for q in queued_at_kill) + f"; max {max_queued}; cloud "
                  f"down {CLOUD_DOWN[0]:g}-{CLOUD_DOWN[1]:g} s), restarts ready in "
                  + ", ".join(f"{r:.2f}" for r in restart_times) + " s; "
                  f"D-Bus: {dbus.sent} calls, {len(committed)} committed, {len(dbus.in_doubt)} in doubt "
                  f"({doubt_arrived} of them delivered), {len(dbus.refused)} refused while down, errors "
                  f"{dict(dbus.errors)}; delivered {len(set(got_d))} distinct, {len(got_d) - len(set(got_d))} "
                  f"duplicates, {len(lost)} committed lost, {inv_d} order inversions; local: {len(loc.acked)} "
                  f"acked by the local broker, {len(set(got_l))} delivered, {len(got_l) - len(set(got_l))} "
                  f"duplicates, {len(local_lost)} not delivered (per kill "
                  + ", ".join(f"{len(ms)}" + (f" published {min(a) * 1000:.0f}-{max(a) * 1000:.0f} ms before it"
                                              if a else "") for ms, a in zip(lost_per_kill, lost_age))
                  + f"; bound {LOCAL_LOSS_PER_KILL} per kill; {len(unexplained)} after the last kill), {inv_l} order "
                  f"inversions; drained {time.monotonic() - t_end:.1f} s after the stream")
            assert len(committed) > 1000, f"only {len(committed)} committed messages: the test proves little"
            assert not lost, f"{len(lost)} committed messages never reached the cloud: {lost[:10]}"
            assert not phantom, f"messages refused by the bus reached the cloud: {phantom[:10]}"
            assert len(set(ids)) == len(ids), "Publish returned the same id twice"
            assert not dbus.errors, f"unexpected Publish errors: {dict(dbus.errors)}"
            assert inv_d == 0, f"committed D-Bus messages delivered out of order ({inv_d} inversions)"
            assert got_l, "no local-broker message reached the cloud"
            assert inv_l == 0, f"local-broker messages delivered out of order ({inv_l} inversions among first arrivals)"
            assert not unexplained, \
                f"{len(unexplained)} local messages published after the last kill never reached the cloud: " \
                f"{unexplained[:10]}"
            over = [(n, len(ms), ms[:10]) for n, ms in enumerate(lost_per_kill) if len(ms) > LOCAL_LOSS_PER_KILL]
            assert not over, f"kills that lost more local messages than one group commit can hold " \
                f"(> {LOCAL_LOSS_PER_KILL} at {LOCAL_RATE:g}/s): {over}"
            assert len(local_lost) <= KILLS * LOCAL_LOSS_PER_KILL, \
                f"{len(local_lost)} local messages lost in {KILLS} kills (bound {KILLS * LOCAL_LOSS_PER_KILL})"
            dbus.c.close()
            rc = d.stop(timeout=10)
            assert rc == 0, f"cellgated exited with {rc} on SIGTERM:\n{d.log()[-3000:]}"
            for n, dm in enumerate(daemons):
                assert_no_sanitizer_report(dm, f"run {n}")
    finally:
        for dm in daemons:
            stop_process(dm.proc, signal.SIGKILL)
            dm.__exit__(None, None, None)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    run([test_kill9_during_stream_loses_nothing_committed])
