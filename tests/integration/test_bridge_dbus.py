#!/usr/bin/env python3
"""CloudSession.Publish(s topic, ay payload, y qos) -> t id over D-Bus: refused to an unprivileged
caller by the shipped bus policy and, on a bus that lets anyone call, by the daemon itself; allowed
for root, with increasing ids and the bytes delivered unchanged; and the documented refusals: QoS 2
where the platform has none, a payload over the platform's maximum, a bad topic, an unknown session,
a message the outbox can never hold."""

import os
import shutil
import subprocess
import tempfile
import time

from brokers import started_mosquitto
from emulator import PlatformEmulator
from harness import (CLOUD_IFACE, BusError, Daemon, DBusClient, MqttCollector, PrivateBus, bridge_case, bridge_config,
                     bridge_outbox_path, cloud_path, cloud_props, make_workdir, platform_session, run, wait_for)

ALI = dict(product_key="a1B2c3D4e5F", device_name="gw-001", device_secret="dF8sKq2LmN5pR7tV9xZ1bC3eG5hJ7kM9")
MAX_PAYLOAD = 256 * 1024  # cloud/platform.cpp max_payload(aliyun)
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"


def connected(p):
    return p["State"] == "connected"


def send_publish(bus, session, topic, payload: bytes, qos, user=None):
    """Publish through dbus-send (it can run as nobody); returns the reply text."""
    return bus.send(cloud_path(session), CLOUD_IFACE, "Publish", f"string:{topic}",
                    "array:byte:" + ",".join(str(b) for b in payload), f"byte:{qos}", user=user)


def cloud_watch(cloud, filters=("gw/#",)):
    """The platform's side of the cloud mosquitto: every message the gateway delivers there."""
    return MqttCollector(cloud.host, cloud.port, list(filters), client_id="cloud-watch")


def expect_error(fn, what):
    try:
        r = fn()
    except BusError as e:
        return e
    raise AssertionError(f"{what} was accepted: {r!r}")


def test_publish_denied_by_policy_allowed_for_root(args):
    with started_mosquitto(keep=args.keep) as cloud, cloud_watch(cloud) as watch:
        with bridge_case(args, [platform_session("lab", cloud)]) as case:
            case.wait("lab", connected, 15, "connected")
            e = expect_error(lambda: send_publish(case.bus, "lab", "gw/nobody", b"from-nobody", 1, user="nobody"),
                             "Publish by nobody")
            assert e.name == ACCESS_DENIED and "Rejected send message" in e.message, e
            # Root: dbus-send and the wire client both get an id.
            out = send_publish(case.bus, "lab", "gw/root", b"from-root-1", 1)
            first = int(out.split("uint64")[1].split()[0])
            with DBusClient(case.bus.address) as c:
                ids = [first] + [c.publish("lab", "gw/root", f"from-root-{i}".encode(), 1) for i in range(2, 6)]
            assert ids == sorted(ids) and len(set(ids)) == 5 and ids[0] > 0, f"Publish ids {ids}"
            watch.wait_count(5, 10)
            time.sleep(0.3)
            got = [(topic, payload) for _, topic, payload in watch.snapshot()]
            assert got == [("gw/root", f"from-root-{i}".encode()) for i in range(1, 6)], got
            qos = [m.group(1) for _, m in cloud.events(r"Received PUBLISH from gw-lab \(d\d, q(\d)")]
            assert qos == ["1"] * 5, qos
            print(f"policy: nobody -> {e.name} ({e.message[:60]}...); root -> ids {ids}, delivered 5 in order")


def test_publish_denied_by_the_daemon_itself(args):
    # A bus that lets anyone call anything: cellgated must still refuse a non-root caller.
    workdir = make_workdir("cellgate-dbus-")
    try:
        _daemon_check(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _daemon_check(args, workdir):
    with started_mosquitto(keep=args.keep) as cloud, cloud_watch(cloud, ["#"]) as watch, \
            PrivateBus(args.policy, permissive=True, keep=args.keep) as bus:
        cfg = bridge_config([platform_session("lab", cloud)], outbox=dict(path=bridge_outbox_path(workdir)))
        with Daemon(args.daemon, cfg, bus, keep=args.keep) as d:
            d.wait_ready(20)
            wait_for(lambda: cloud_props(bus, "lab")["State"] == "connected", 15, "connected")
            e = expect_error(lambda: send_publish(bus, "lab", "gw/nobody", b"from-nobody", 1, user="nobody"),
                             "Publish by nobody on a permissive bus")
            assert e.name == ACCESS_DENIED, e
            assert "Rejected send message" not in e.message, f"the bus refused, not the daemon: {e}"
            time.sleep(0.5)
            assert not watch.snapshot(), "nobody's message reached the cloud"
            assert cloud_props(bus, "lab")["Queued"] == 0
            out = send_publish(bus, "lab", "gw/root", b"ok", 1)
            assert "uint64" in out, out
            assert d.proc.poll() is None
            print(f"daemon check: nobody -> {e.name}: {e.message}")


def test_publish_refusals(args):
    with PlatformEmulator("aliyun", **ALI) as emu:
        topic = f"/{ALI['product_key']}/{ALI['device_name']}/user/update"
        with bridge_case(args, [platform_session("ali", emu)]) as case, DBusClient(case.bus.address) as c:
            case.wait("ali", connected, 15, "connected")
            errors = {}
            errors["qos 2 on aliyun"] = expect_error(lambda: c.publish("ali", topic, b"{}", 2), "QoS 2 on aliyun")
            errors["qos 3"] = expect_error(lambda: c.publish("ali", topic, b"{}", 3), "QoS 3")
            errors["payload max+1"] = expect_error(lambda: c.publish("ali", topic, b"x" * (MAX_PAYLOAD + 1), 1),
                                                   f"a {MAX_PAYLOAD + 1}-byte payload on aliyun")
            errors["wildcard topic"] = expect_error(lambda: c.publish("ali", topic + "/+", b"{}", 1), "topic with +")
            errors["empty topic"] = expect_error(lambda: c.publish("ali", "", b"{}", 1), "an empty topic")
            errors["unknown session"] = expect_error(
                lambda: c.call("org.cellgate.Gateway1", cloud_path("nosuch"), CLOUD_IFACE, "Publish", "sayy",
                               [topic, b"{}", 1]), "Publish on an unknown session")
            for k, e in errors.items():
                print(f"refused {k}: {e.name}: {e.message}")
                assert e.message or k == "unknown session", f"{k}: an error without a reason"
            assert errors["unknown session"].name in ("org.freedesktop.DBus.Error.UnknownObject",
                                                      "org.freedesktop.DBus.Error.UnknownMethod"), \
                errors["unknown session"]
            for k in ("qos 2 on aliyun", "payload max+1"):
                assert errors[k].name != "org.freedesktop.DBus.Error.NoReply", f"{k}: {errors[k]}"
            assert "2" in errors["qos 2 on aliyun"].message or "qos" in errors["qos 2 on aliyun"].message.lower()
            # Accepted at the edge: a large payload under the maximum, and QoS 0.
            big = bytes(range(256)) * (200 * 4)  # 200 KiB
            id1 = c.publish("ali", topic, big, 1, timeout=20)
            id2 = c.publish("ali", topic, b'{"q":0}', 0)
            id3 = c.publish("ali", topic, b"m" * MAX_PAYLOAD, 1, timeout=20)  # exactly the maximum
            assert id3 > id2 > id1 > 0, (id1, id2, id3)
            got = wait_for(lambda: (lambda r: r if len(r) >= 3 else None)(emu.received(topic)), 15,
                           "the 200 KiB, the QoS 0 and the maximum-size message")
            assert len(got[2]["payload"]) == MAX_PAYLOAD, len(got[2]["payload"])
            assert got[0]["payload"] == big and got[0]["qos"] == 1, (len(got[0]["payload"]), got[0]["qos"])
            assert got[1]["payload"] == b'{"q":0}' and got[1]["qos"] == 0, got[1]
            assert not emu.protocol_errors, emu.protocol_errors
            p = case.props("ali")
            assert p["Queued"] == 0, p
            print(f"accepted: 200 KiB (id {id1}) delivered byte-exact, QoS 0 (id {id2}), {MAX_PAYLOAD} B (id {id3}); "
                  f"nothing refused reached the platform ({len(emu.received('#'))} publishes)")


def test_publish_refused_when_the_outbox_cannot_hold_it(args):
    with started_mosquitto(keep=args.keep) as cloud, cloud_watch(cloud) as watch:
        with bridge_case(args, [platform_session("lab", cloud)], outbox={"max_bytes": 2048}) as case, \
                DBusClient(case.bus.address) as c:
            case.wait("lab", connected, 15, "connected")
            e = expect_error(lambda: c.publish("lab", "gw/big", b"x" * 4000, 1), "4000 bytes into a 2048-byte outbox")
            small = c.publish("lab", "gw/small", b"y" * 500, 1)
            watch.wait_count(1, 10, lambda topic, _: topic == "gw/small")
            time.sleep(0.3)
            assert not [m for m in watch.snapshot() if m[1] == "gw/big"], "the oversized message was sent anyway"
            p = case.props("lab")
            print(f"outbox full: 4000 B into max_bytes 2048 -> {e.name}: {e.message}; 500 B -> id {small}; "
                  f"Dropped {p['Dropped']}")


def test_qos0_while_offline(args):
    # QoS 0 is not queued while the session is down: Publish says so, routed local QoS 0 messages
    # are dropped and counted (or queued: either way every one is accounted for); QoS 1 is queued.
    emu = PlatformEmulator("generic")
    emu.start()
    emu.stop()
    routes = [{"from": "app/q0/+", "to": "lab", "as": "raw", "topic": "gw/q0/{1}", "qos": 0}]
    try:
        with bridge_case(args, [platform_session("lab", emu)], routes,
                         backoff=dict(initial="1s", max="2s", stable_after="2s")) as case, \
                DBusClient(case.bus.address) as c, case.publisher() as pub:
            case.wait("lab", lambda p: p["State"] != "connected", 5, "not connected (cloud down)")
            e = expect_error(lambda: c.publish("lab", "gw/d0", b"dbus-q0", 0), "QoS 0 Publish while offline")
            qid = c.publish("lab", "gw/d1", b"dbus-q1", 1)
            for i in range(5):
                pub.publish("app/q0/x", f"l0-{i}", qos=1)
            p = case.wait("lab", lambda q: q["Queued"] + q["Dropped"] == 6, 10,
                          "Queued + Dropped == 6 (1 QoS 1 Publish + 5 local QoS 0)")
            emu.start()
            case.wait("lab", lambda q: q["Queued"] == 0, 15, "Queued == 0")
            time.sleep(0.5)
            got = [(r["topic"], r["payload"], r["qos"]) for r in emu.received("gw/#")]
            assert ("gw/d1", b"dbus-q1", 1) in got, got
            assert not any(t == "gw/d0" for t, _, _ in got), "the refused QoS 0 Publish was sent"
            local0 = [x for x in got if x[0] == "gw/q0/x"]
            assert len(local0) == 5 - p["Dropped"], f"{len(local0)} local QoS 0 delivered, Dropped {p['Dropped']}"
            assert all(q == 0 for _, _, q in local0), local0
            print(f"offline: QoS 0 Publish -> {e.name}: {e.message}; QoS 1 Publish -> id {qid}, delivered; "
                  f"5 local QoS 0 -> Dropped {p['Dropped']}, delivered {len(local0)} after reconnect")
    finally:
        emu.stop()


SLOW_SYNC_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
/* Every fsync/fdatasync takes SLOWSYNC_MS longer (a slow SD card) and is logged to SLOWSYNC_LOG
   as "<CLOCK_MONOTONIC seconds> <end>" when it returns. */
static void slow(void) {
    const char* v = getenv("SLOWSYNC_MS");
    long ms = v ? atol(v) : 200;
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, 0);
}
static void note(void) {
    const char* path = getenv("SLOWSYNC_LOG");
    if (!path) return;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    char line[64];
    int n = snprintf(line, sizeof line, "%ld.%09ld\n", (long)t.tv_sec, t.tv_nsec);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) { (void)!write(fd, line, (size_t)n); close(fd); }
}
int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    slow(); int r = real(fd); note(); return r;
}
int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    slow(); int r = real(fd); note(); return r;
}
"""


def test_publish_reply_waits_for_the_commit(args):
    # With every fsync made 300 ms slow (an SD card on a bad day), a Publish reply can only come
    # after a commit's fsync returned; 50 concurrent calls share a few grouped commits.
    delay = 0.3
    tmp = tempfile.mkdtemp(prefix="cellgate-slowsync-")
    try:
        so = os.path.join(tmp, "slowsync.so")
        src = os.path.join(tmp, "slowsync.c")
        with open(src, "w") as f:
            f.write(SLOW_SYNC_C)
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", so, src, "-ldl"], check=True, capture_output=True)
        synclog = os.path.join(tmp, "sync.log")
        env = {"LD_PRELOAD": so, "SLOWSYNC_MS": str(int(delay * 1000)), "SLOWSYNC_LOG": synclog,
               # The sanitizer runtime wants to be first; the preload only wraps two libc calls.
               "ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")}

        def syncs():
            try:
                with open(synclog) as f:
                    return [float(x) for x in f.read().split()]
            except OSError:
                return []

        with started_mosquitto(keep=args.keep) as cloud, cloud_watch(cloud) as watch, \
                bridge_case(args, [platform_session("lab", cloud)], env=env, ready_timeout=40) as case, \
                DBusClient(case.bus.address) as c:
            case.wait("lab", connected, 30, "connected")
            assert syncs(), "the preload saw no fsync at all (the test would prove nothing)"
            single = []
            for i in range(3):
                t0 = time.monotonic()
                c.publish("lab", "gw/one", f"one-{i}".encode(), 1, timeout=20)
                t1 = time.monotonic()
                single.append(t1 - t0)
                assert any(t0 < s <= t1 for s in syncs()), f"Publish {i} answered without an fsync in between"
            t0 = time.monotonic()
            serials = [c.publish_async("lab", "gw/many", f"many-{i}".encode(), 1) for i in range(50)]
            replies = [c.result(sn, timeout=60) for sn in serials]
            t50 = time.monotonic() - t0
            ids = [r[0] for r in replies]
            groups = len([s for s in syncs() if s > t0])
            watch.wait_count(53, 20)
            print(f"slow fsync {delay * 1000:.0f} ms: single Publish replies after "
                  + ", ".join(f"{x * 1000:.0f}" for x in single) + f" ms; 50 concurrent calls in {t50:.2f} s "
                  f"({groups} fsyncs meanwhile, ids {ids[0]}..{ids[-1]})")
            assert min(single) >= delay * 0.9, f"a Publish reply came in {min(single) * 1000:.0f} ms, before the " \
                f"{delay * 1000:.0f} ms fsync could have finished"
            assert ids == sorted(ids) and len(set(ids)) == 50, ids
            assert t50 < 50 * delay / 4, f"50 calls took {t50:.2f} s: commits are not grouped"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run([test_publish_denied_by_policy_allowed_for_root, test_publish_denied_by_the_daemon_itself,
         test_publish_refusals, test_publish_refused_when_the_outbox_cannot_hold_it,
         test_qos0_while_offline, test_publish_reply_waits_for_the_commit])
