#!/usr/bin/env python3
"""The outbox on a full disk. The outbox lives on a 2 MiB tmpfs (mounted by the test, root only)
while the cloud is down; a local application publishes 3 MiB of QoS 1 messages on the local broker
and a D-Bus client calls Publish now and then. Nothing either producer handed over may be lost:
while the outbox cannot take more, cellgated stops taking from the local broker (which queues) and
Publish answers OutboxFull. When the cloud returns, everything is delivered, the outbox gives its
space back, Publish works again without a restart, and a restart sends nothing a second time.
Prints: messages lost per producer, the outbox's size at its peak and after the drain, the Publish
answers, and the resends after the restart. And max_bytes below the disk's size: the files stay
below it (WAL included), the oldest are dropped, nothing is refused."""

import collections
import contextlib
import os
import subprocess
import sys
import threading
import time

from brokers import started_mosquitto
from emulator import PlatformEmulator
from harness import (BusError, Daemon, DBusClient, MqttCollector, PrivateBus, bridge_config, cloud_props,
                     make_workdir, run, wait_for)

DISK = "2m"
PAYLOAD = 1024
N_LOCAL = 3000          # 3 MiB of payload: more than the disk holds
PUBLISH_EVERY = 25      # one D-Bus Publish per this many local messages
BACKOFF = dict(initial="1s", max="2s", stable_after="2s")


def outbox_bytes(path):
    """What the outbox occupies on its disk: the database, its WAL and its shared-memory index."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += os.stat(path + suffix).st_blocks * 512
        except FileNotFoundError:
            pass
    return total


def payload(tag, i):
    head = f"{tag}-{i:05d}-".encode()
    return head + b"x" * (PAYLOAD - len(head))


@contextlib.contextmanager
def small_disk(args):
    """A scratch directory with a DISK-sized tmpfs in it; yields (workdir, outbox path)."""
    workdir = make_workdir("cellgate-fulldisk-")
    disk = os.path.join(workdir, "disk")
    os.makedirs(disk)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0755", "tmpfs", disk], check=True)
    try:
        yield workdir, os.path.join(disk, "outbox.db")
    finally:
        subprocess.run(["umount", "-l", disk], check=False)
        if not args.keep:
            subprocess.run(["rm", "-rf", workdir], check=False)


def stopped_cloud():
    emu = PlatformEmulator("generic")
    emu.start()
    emu.stop()  # the port is known; the cloud is down
    return emu


def config(emu, local, box, **outbox):
    sessions = [dict(name="lab", platform="generic", endpoint=emu.endpoint, client_id="gw-full", tls=False,
                     keepalive="60s", rate_limit=dict(per_second=0))]
    routes = [{"from": "app/full/+", "to": "lab", "as": "raw", "topic": "gw/{1}", "qos": 1}]
    return bridge_config(sessions, local=dict(endpoint=local.endpoint, client_id="cellgate-full"), routes=routes,
                         outbox=dict(path=box, **outbox), backoff=BACKOFF, log_level="info")


def local_broker(args):
    # The local broker's own limits must not be what loses messages here: an unlimited queue.
    return started_mosquitto(extra_conf="max_queued_messages 0\nmax_inflight_messages 20", keep=args.keep)


def test_full_disk_loses_nothing_and_recovers(args):
    with small_disk(args) as (workdir, box):
        _full_disk(args, workdir, box)


def _full_disk(args, workdir, box):
    emu = stopped_cloud()
    with local_broker(args) as local, PrivateBus(args.policy, keep=args.keep) as bus:
        cfg = config(emu, local, box)
        answers = collections.Counter()
        accepted = []  # D-Bus payloads whose Publish returned an id
        with Daemon(args.daemon, cfg, bus, keep=args.keep, workdir=workdir) as d, \
                MqttCollector(local.host, local.port, [], client_id="app-full", clean=True) as pub, \
                DBusClient(bus.address) as c:
            d.wait_ready(20)

            def call(tag, i):
                p = payload(tag, i)
                try:
                    c.publish("lab", f"gw/{tag}", p, 1, timeout=15)
                    accepted.append(p)
                    return "ok"
                except BusError as e:
                    return e.name.rsplit(".", 1)[-1]

            t0 = time.monotonic()
            sent_local = []
            for i in range(N_LOCAL):
                p = payload("L", i)
                pub.publish("app/full/data", p, qos=1, timeout=15)
                sent_local.append(p)
                if i % PUBLISH_EVERY == 0:
                    answers["filling: " + call("D", i)] += 1
            t_fill = time.monotonic() - t0
            time.sleep(2.0)
            peak = outbox_bytes(box)
            full_answers = collections.Counter(call("F", i) for i in range(5))
            queued_full = cloud_props(bus, "lab")["Queued"]

            emu.start()
            want = set(sent_local) | set(accepted)

            def delivered():
                return {r["payload"] for r in emu.received("gw/#")}
            try:
                wait_for(lambda: want <= delivered(), 120, "every accepted message at the cloud")
            except TimeoutError:
                pass
            try:
                wait_for(lambda: cloud_props(bus, "lab")["Queued"] == 0, 10, "Queued == 0")
            except TimeoutError:
                pass
            try:
                wait_for(lambda: outbox_bytes(box) < peak // 4, 15, "the outbox giving its space back")
            except TimeoutError:
                pass
            after_drain = outbox_bytes(box)
            again = collections.Counter(call("A", i) for i in range(5))
            try:
                wait_for(lambda: set(accepted) <= delivered(), 15, "the Publish calls after the drain delivered")
            except TimeoutError:
                pass
            before_restart = len(emu.received("gw/#"))
            rc = d.stop(timeout=15)
        with Daemon(args.daemon, cfg, bus, keep=args.keep) as d2:
            d2.wait_ready(20)
            try:
                wait_for(lambda: cloud_props(bus, "lab")["State"] == "connected", 15, "connected after the restart")
            except TimeoutError:
                pass
            time.sleep(3.0)
            resent = len(emu.received("gw/#")) - before_restart
            rc2 = d2.stop(timeout=15)
        emu.stop()

    got = delivered()
    lost_local = [p for p in sent_local if p not in got]
    lost_dbus = [p for p in accepted if p not in got]
    print(f"full disk ({DISK} tmpfs): {N_LOCAL} local messages of {PAYLOAD} B published in {t_fill:.1f} s; "
          f"lost: local {len(lost_local)}, D-Bus {len(lost_dbus)} of {len(accepted)} accepted; "
          f"Queued while full {queued_full}; outbox {peak // 1024} KiB at the peak, {after_drain // 1024} KiB after "
          f"the drain; Publish while filling {dict(answers)}, while full {dict(full_answers)}, after the drain "
          f"{dict(again)}; resent after the restart {resent}; exit codes {rc}, {rc2}")
    assert not lost_local, f"{len(lost_local)} local messages lost, e.g. {[p[:8] for p in lost_local[:5]]}"
    assert not lost_dbus, f"{len(lost_dbus)} accepted Publish messages lost"
    assert set(full_answers) <= {"ok", "OutboxFull"}, f"Publish on a full outbox answered {dict(full_answers)}"
    assert "OutboxFull" in full_answers, f"the outbox never reported full: {dict(full_answers)}"
    assert after_drain < peak // 4, f"the outbox kept {after_drain} bytes after the drain (peak {peak})"
    assert again == {"ok": 5}, f"Publish after the drain answered {dict(again)}"
    assert resent == 0, f"{resent} messages sent again after the restart"
    assert rc == 0 and rc2 == 0, (rc, rc2)


def test_max_bytes_below_the_disk_keeps_the_files_below_it(args):
    max_bytes = 1 << 20
    n = 2000
    with small_disk(args) as (workdir, box):
        emu = stopped_cloud()
        with local_broker(args) as local, PrivateBus(args.policy, keep=args.keep) as bus, \
                Daemon(args.daemon, config(emu, local, box, max_bytes="1MiB"), bus, keep=args.keep,
                       workdir=workdir) as d, \
                MqttCollector(local.host, local.port, [], client_id="app-max", clean=True) as pub, \
                DBusClient(bus.address) as c:
            d.wait_ready(20)
            sizes, done = [], threading.Event()

            def sample():
                while not done.is_set():
                    sizes.append(outbox_bytes(box))
                    time.sleep(0.005)
            sampler = threading.Thread(target=sample)
            sampler.start()
            answers = collections.Counter()
            try:
                for i in range(n):
                    pub.publish("app/full/data", payload("M", i), qos=1, timeout=15)
                    if i % PUBLISH_EVERY == 0:
                        try:
                            c.publish("lab", "gw/P", payload("P", i), 1, timeout=15)
                            answers["ok"] += 1
                        except BusError as e:
                            answers[e.name.rsplit(".", 1)[-1]] += 1
                want = n + answers["ok"]
                p = wait_for(lambda: (lambda q: q if q["Queued"] + q["Dropped"] >= want else None)(
                    cloud_props(bus, "lab")), 30, f"Queued + Dropped == {want}")
                time.sleep(1.0)
            finally:
                done.set()
                sampler.join()
            emu.start()
            wait_for(lambda: cloud_props(bus, "lab")["Queued"] == 0, 60, "the backlog delivered")
            got = [r["payload"] for r in emu.received("gw/#")]
            held = "local intake taking -> holding" in d.log()
            emu.stop()
    firsts = list(dict.fromkeys(g for g in got if g.startswith(b"M-")))
    newest = [payload("M", i) for i in range(n - len(firsts), n)]
    print(f"max_bytes 1 MiB on a {DISK} disk: {n} local messages of {PAYLOAD} B; the files reached at most "
          f"{max(sizes) // 1024} KiB; Queued {p['Queued']}, Dropped {p['Dropped']}; Publish {dict(answers)}; "
          f"local intake paused: {held}; delivered {len(firsts)} local, the newest in order: {firsts == newest}")
    assert max(sizes) <= max_bytes, f"the outbox's files reached {max(sizes)} bytes, over max_bytes {max_bytes}"
    assert p["Dropped"] > 0 and p["Queued"] + p["Dropped"] == want, p
    assert answers == {"ok": answers["ok"]}, f"Publish refused below max_bytes: {dict(answers)}"
    assert not held, "the local intake paused although max_bytes, not the disk, was the limit"
    assert firsts == newest, f"delivered {len(firsts)}, not the newest in order: {[f[:8] for f in firsts[:5]]}"


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: mounting a tmpfs for the outbox needs root")
        sys.exit(77)
    run([test_full_disk_loses_nothing_and_recovers, test_max_bytes_below_the_disk_keeps_the_files_below_it])
