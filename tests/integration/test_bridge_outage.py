#!/usr/bin/env python3
"""The cloud broker is stopped while 1 000 messages are published on the local broker: cellgate
queues them durably (Queued rises to 1 000 on D-Bus), and when the broker returns delivers every
one, in order, none lost, and Queued falls back to 0. Prints the drain time and rate. And the other
side: while cellgated itself is stopped, its persistent local session keeps what applications
publish, and it all arrives, in order, after the restart. And the cellular link itself dropping
(the module deregistered): local messages queue and drain in order when the modem is back."""

import shutil
import signal
import tempfile
import time

import harness
from brokers import started_mosquitto
from harness import (CLOUD_IFACE, MODEM_IFACE, MODEM_PATH, Daemon, MqttCollector, PrivateBus, PropertySampler,
                     Simulator, assert_clean_stop, bridge_case, bridge_config, bridge_outbox_path, cloud_path,
                     cloud_props, run, wait_for)

N = 1000


def test_cloud_broker_outage_1000_messages(args):
    persist = tempfile.mkdtemp(prefix="cellgate-persist-")
    try:
        _outage(args, persist)
    finally:
        shutil.rmtree(persist, ignore_errors=True)


def _outage(args, persist):
    # The test's own subscriber must not lose what the broker got while it reconnects after the
    # restart: persistent session (clean off) and broker persistence, unlimited queue.
    conf = f"persistence true\npersistence_location {persist}/\nautosave_interval 0\nmax_queued_messages 0"
    with started_mosquitto(extra_conf=conf, keep=args.keep) as cloud:
        sessions = [dict(name="lab", platform="generic", endpoint=cloud.endpoint, client_id="gw-lab", tls=False,
                         keepalive="60s")]
        routes = [{"from": "app/seq/+", "to": "lab", "as": "raw", "topic": "gw/{client_id}/{1}", "qos": 1}]
        with bridge_case(args, sessions, routes, backoff=dict(initial="1s", max="2s", stable_after="2s")) as case, \
                MqttCollector(cloud.host, cloud.port, ["gw/#"], client_id="cloud-watch") as watch, \
                case.publisher() as pub:
            case.wait("lab", lambda p: p["State"] == "connected", 15, "connected")
            pub.publish("app/seq/warm", b"warm-up", qos=1)
            watch.wait_count(1, 10)
            s = PropertySampler(case.bus, [(cloud_path("lab"), CLOUD_IFACE, "State"),
                                           (cloud_path("lab"), CLOUD_IFACE, "Queued")], interval=0.05)
            try:
                t_stop = time.monotonic()
                cloud.kill(signal.SIGTERM)
                s.wait(lambda v: v[0] != "connected", 10, "the session noticing the stopped broker", after=t_stop)
                t0 = time.monotonic()
                for i in range(N):
                    pub.publish("app/seq/data", f"seq-{i:05d}".encode(), qos=1)
                t_pub = time.monotonic()
                t_full = s.wait(lambda v: v[1] == N, 30, f"Queued == {N}", after=t0)
                assert len(watch.snapshot()) == 1, "messages reached the cloud broker while it was stopped"
                time.sleep(1.0)
                q = s.current()[1]
                assert q == N, f"Queued {q} while the broker is down, want {N}"
                t_restart = time.monotonic()
                cloud.start()
                want = [f"seq-{i:05d}".encode() for i in range(N)]

                def data():
                    return [m for m in watch.snapshot() if m[2].startswith(b"seq-")]
                try:
                    watch.wait_count(N, 60, lambda t, p: p.startswith(b"seq-"))
                    while len({m[2] for m in data()}) < N and time.monotonic() - t_restart < 60:
                        time.sleep(0.05)
                except AssertionError:
                    pass
                t_empty = s.wait(lambda v: v[1] == 0, 30, "Queued back to 0", after=t_restart)
                time.sleep(0.5)
                msgs = data()
            finally:
                s.stop()
            first = {}
            for t, topic, p in msgs:
                first.setdefault(p, (t, topic))
            missing = [w for w in want if w not in first]
            assert not missing, f"{len(missing)} of {N} lost, e.g. {missing[:5]}; queued max {q}"
            order = sorted(first, key=lambda p: first[p][0])
            inversions = sum(1 for a, b in zip(order, order[1:]) if a > b)
            assert order == want, f"delivered out of order ({inversions} inversions): first {order[:10]}"
            assert {topic for _, topic in first.values()} == {"gw/gw-lab/data"}, {t for _, t in first.values()}
            dups = len(msgs) - len(first)
            t_first = min(t for t, _ in first.values())
            t_last = max(t for t, _ in first.values())
            drain = t_last - t_first
            print(f"outage: {N} local publishes in {t_pub - t0:.2f} s, Queued reached {N} "
                  f"{t_full - t0:.2f} s after the first; broker back -> first delivery {t_first - t_restart:.2f} s, "
                  f"all {N} in order after {t_last - t_restart:.2f} s; drain {drain:.2f} s = "
                  f"{N / max(drain, 1e-3):.0f} msg/s; Queued 0 after {t_empty - t_restart:.2f} s; "
                  f"duplicates {dups}")


def test_local_broker_keeps_messages_while_cellgate_is_down(args):
    # The local side is a persistent session (clean session off, QoS 1 subscriptions): what the
    # applications publish while cellgated is stopped waits in the local broker and arrives after.
    n = 200
    workdir = tempfile.mkdtemp(prefix="cellgate-localq-")
    try:
        with started_mosquitto(keep=args.keep) as cloud, started_mosquitto(keep=args.keep) as local, \
                MqttCollector(cloud.host, cloud.port, ["gw/#"], client_id="cloud-watch") as watch, \
                PrivateBus(args.policy, keep=args.keep) as bus, \
                MqttCollector(local.host, local.port, [], client_id="app", clean=True) as pub:
            cfg = bridge_config([dict(name="lab", platform="generic", endpoint=cloud.endpoint, client_id="gw-lq",
                                      tls=False, keepalive="60s")],
                                local=dict(endpoint=local.endpoint, client_id="cellgate-lq"),
                                routes=[{"from": "app/q/+", "to": "lab", "as": "raw", "topic": "gw/{1}", "qos": 1}],
                                outbox=dict(path=bridge_outbox_path(workdir)))
            with Daemon(args.daemon, cfg, bus, keep=args.keep) as d:
                d.wait_ready(20)
                wait_for(lambda: cloud_props(bus, "lab")["State"] == "connected", 15, "connected")
                pub.publish("app/q/x", b"before", qos=1)
                watch.wait_count(1, 10)
                assert d.stop(timeout=10) == 0, d.log()[-3000:]
            line = local.wait_log(r"New client connected from \S+ as cellgate-lq \(p\d, c(\d)", 1)[1]
            assert line.group(1) == "0", f"cellgate's local session is not persistent: {line.string}"
            t0 = time.monotonic()
            for i in range(n):
                pub.publish("app/q/x", f"while-down-{i:04d}".encode(), qos=1)
            with Daemon(args.daemon, cfg, bus, keep=args.keep) as d:
                d.wait_ready(20)
                t_up = time.monotonic()
                want = [f"while-down-{i:04d}".encode() for i in range(n)]

                def while_down():
                    return [p for _, _, p in watch.snapshot() if p.startswith(b"while")]

                try:
                    got = wait_for(lambda: (lambda got: got if len(set(got)) >= n else None)(while_down()), 20,
                                   f"{n} messages published while cellgated was down")
                except TimeoutError:
                    got = while_down()
                    raise AssertionError(f"{len(set(got))} of {n} arrived; the local broker did not keep them "
                                         f"for cellgate (or cellgate lost them)") from None
                t_done = time.monotonic()
                firsts = list(dict.fromkeys(got))
                assert firsts == want, f"out of order: {firsts[:5]}..."
                assert_clean_stop(d)
            print(f"local queue: {n} published while cellgated was stopped ({t_up - t0:.2f} s), all delivered in "
                  f"order {t_done - t_up:.2f} s after READY, {len(got) - len(firsts)} duplicates; local session c0")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_modem_link_loss_queues_and_drains(args):
    # The cellular link itself goes away (the network deregisters the module): the session waits
    # for the link, local messages queue, and drain in order once the modem is connected again.
    n = 100
    with started_mosquitto(keep=args.keep) as cloud, \
            MqttCollector(cloud.host, cloud.port, ["gw/#"], client_id="cloud-watch") as watch, \
            Simulator(args.sim, "normal", speed=4.0, keep=args.keep) as sim:
        sessions = [dict(name="lab", platform="generic", endpoint=cloud.endpoint, client_id="gw-link", tls=False,
                         keepalive="60s")]
        routes = [{"from": "app/link/+", "to": "lab", "as": "raw", "topic": "gw/{1}", "qos": 1}]
        with bridge_case(args, sessions, routes, backoff=dict(initial="1s", max="4s", stable_after="2s"),
                         modem=harness.modem_config(sim.link)) as case, case.publisher() as pub:
            s = PropertySampler(case.bus, [(MODEM_PATH, MODEM_IFACE, "State"),
                                           (cloud_path("lab"), CLOUD_IFACE, "State"),
                                           (cloud_path("lab"), CLOUD_IFACE, "Queued")], interval=0.1)
            try:
                s.wait(lambda v: v[1] == "connected", 40, "session connected over the modem")
                pub.publish("app/link/x", b"warm-up", qos=1)
                watch.wait_count(1, 10)
                t0 = time.monotonic()
                sim.control("deregister")
                s.wait(lambda v: v[1] == "waiting-link", 30, "session waiting-link", after=t0)
                for i in range(n):
                    pub.publish("app/link/x", f"link-{i:04d}".encode(), qos=1)
                s.wait(lambda v: v[2] == n, 10, f"Queued == {n}", after=t0)
                assert len(watch.snapshot()) == 1, "messages left while the link was down"
                t_heal = time.monotonic()
                sim.control("register")
                t_mc = s.wait(lambda v: v[0] == "connected", 60, "modem connected again", after=t_heal)
                t_empty = s.wait(lambda v: v[1] == "connected" and v[2] == 0, 30, "drained", after=t_mc)
            finally:
                s.stop()
            got = [p for _, _, p in watch.snapshot() if p.startswith(b"link-")]
            firsts = list(dict.fromkeys(got))
            assert firsts == [f"link-{i:04d}".encode() for i in range(n)], f"{len(firsts)} of {n}, first {firsts[:3]}"
            print(f"link loss: {n} queued while deregistered; modem connected {t_mc - t_heal:.1f} s after register, "
                  f"all {n} delivered in order {t_empty - t_mc:.2f} s later ({len(got) - len(firsts)} duplicates)")


if __name__ == "__main__":
    run([test_cloud_broker_outage_1000_messages, test_local_broker_keeps_messages_while_cellgate_is_down,
         test_modem_link_loss_queues_and_drains])
