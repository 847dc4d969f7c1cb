#!/usr/bin/env python3
"""What a cellular link does to a cloud session: the broker dies and comes back (reconnect inside
the backoff policy, attempts measured at the TCP level), the broker goes silent (detected within
keepalive + 20 s), the modem's data link drops and returns (the session follows at once), and a
cloned device logs in with the same identity (kick loop reported, login limit never reached)."""

import base64
import time

import harness
from brokers import MosquittoBroker, SynSniffer
from emulator import Kicker, PlatformEmulator, onenet
from harness import (CLOUD_IFACE, MODEM_IFACE, MODEM_PATH, PropertySampler, Simulator, cloud_config, cloud_daemon,
                     cloud_path, run, wait_cloud)

KEEPALIVE = 60  # the daemon's floor for every platform (cellular NAT); the timing tests live with it
TOL = 0.5       # scheduling slack of a sanitizer build on a busy 2-core machine


def connected(p):
    return p["State"] == "connected"


def test_broker_restart_reconnects_within_backoff(args):
    initial, cap, down_for = 1.0, 4.0, 14.0
    with MosquittoBroker(keep=args.keep) as b:
        cfg = cloud_config([dict(name="lab", platform="generic", endpoint=b.endpoint, client_id="gw-bk",
                                 tls=False, keepalive=f"{KEEPALIVE}s")],
                           backoff=dict(initial=f"{initial:g}s", max=f"{cap:g}s", stable_after="2s"))
        with cloud_daemon(args, cfg) as (bus, dm), SynSniffer(b.port) as syn:
            wait_cloud(bus, "lab", connected, 15, "connected", dm)
            # Up longer than stable_after (and the session's own 10 s floor): the schedule starts at `initial`.
            time.sleep(11)
            s = PropertySampler(bus, [(cloud_path("lab"), CLOUD_IFACE, "State")])
            t_kill = time.monotonic()
            b.kill()
            s.wait(lambda v: v[0] != "connected", 5, "the session noticing the dead broker", after=t_kill)
            time.sleep(down_for)
            t_start = time.monotonic()
            b.start()
            t_up = s.wait(lambda v: v[0] == "connected", cap + 5, "connected after the restart", after=t_start)
            s.stop()
            attempts = syn.attempts(after=t_kill, before=t_start)
            p = harness.cloud_props(bus, "lab")
            assert p["Reconnects"] == 1, p
            assert p["LastDisconnectReason"], p
            # Delay n (n from 0) is drawn from [0, min(max, initial * 2^n)]; attempts keep >= 1 s apart.
            delays = [attempts[0] - t_kill] + [b2 - a for a, b2 in zip(attempts, attempts[1:])]
            bounds = [min(cap, initial * 2 ** n) for n in range(len(delays))]
            print("backoff: delays " + ", ".join(f"{d:.2f}" for d in delays) + " s; bounds "
                  + ", ".join(f"{x:g}" for x in bounds) + f"; reconnected {t_up - t_start:.2f} s after the restart")
            assert len(attempts) >= 4, f"only {len(attempts)} attempts in {down_for} s down (cap {cap} s)"
            for n, (d, bound) in enumerate(zip(delays, bounds)):
                assert d <= max(bound, 1.0) + TOL, f"delay {n} = {d:.2f} s over min(max, initial*2^{n}) = {bound:g} s"
                if n:
                    assert d >= 1.0 - 0.05, f"attempts {n - 1} and {n} only {d:.2f} s apart (floor 1 s)"
            assert t_up - t_start <= cap + 1.5, f"reconnect took {t_up - t_start:.2f} s after the broker came back"
            assert b.connects("gw-bk")[-1] >= t_start


def test_frozen_broker_detected_within_keepalive_plus_20s(args):
    with MosquittoBroker(keep=args.keep) as b:
        cfg = cloud_config([dict(name="lab", platform="generic", endpoint=b.endpoint, client_id="gw-frz",
                                 tls=False, keepalive=f"{KEEPALIVE}s")],
                           backoff=dict(initial="1s", max="4s", stable_after="10s"))
        with cloud_daemon(args, cfg) as (bus, dm):
            wait_cloud(bus, "lab", connected, 15, "connected", dm)
            t_conn = b.connects("gw-frz")[-1]
            s = PropertySampler(bus, [(cloud_path("lab"), CLOUD_IFACE, "State")], interval=0.1)
            # Right after CONNECT: the worst case, a whole idle interval passes before the first ping.
            t_freeze = time.monotonic()
            b.freeze()
            try:
                limit = KEEPALIVE + 20 + 3
                t_down = s.wait(lambda v: v[0] != "connected", limit + 5, "the session leaving connected",
                                after=t_freeze)
                detect = t_down - t_freeze
                p = harness.cloud_props(bus, "lab")
                print(f"silent broker: detected after {detect:.1f} s (keepalive {KEEPALIVE} s, "
                      f"{t_freeze - t_conn:.1f} s after CONNECT); reason {p['LastDisconnectReason']!r}")
                assert detect <= limit, f"detection took {detect:.1f} s > keepalive + 20 s"
                assert p["State"] in ("backoff", "connecting"), p
                assert p["LastDisconnectReason"], p
            finally:
                b.thaw()
            # The broker answers again: the session comes back by itself.
            t_thaw = time.monotonic()
            t_up = s.wait(lambda v: v[0] == "connected", 4 + 10, "connected after thaw", after=t_thaw)
            s.stop()
            print(f"silent broker: connected again {t_up - t_thaw:.1f} s after it woke up")


def test_link_down_up_sessions_follow_at_once(args):
    with MosquittoBroker(keep=args.keep) as b, Simulator(args.sim, "normal", speed=4.0, keep=args.keep) as sim:
        modem = harness.modem_config(sim.link)
        cfg = cloud_config([dict(name="lab", platform="generic", endpoint=b.endpoint, client_id="gw-link",
                                 tls=False, keepalive=f"{KEEPALIVE}s")],
                           backoff=dict(initial="1s", max="30s", stable_after="5s"), modem=modem)
        with cloud_daemon(args, cfg) as (bus, dm):
            s = PropertySampler(bus, [(MODEM_PATH, MODEM_IFACE, "State"), (cloud_path("lab"), CLOUD_IFACE, "State")])
            t_mc = s.wait(lambda v: v[0] == "connected", 30, "modem connected")
            t_cc = s.wait(lambda v: v[1] == "connected", 30, "session connected")
            # A sample reads the modem, then the session: the last one before t_mc may have read the
            # modem just before it connected and the session just after. Judge the ones before it.
            early = [v[1] for t, v in s.seen if t < t_mc][:-1] or ["waiting-link"]
            # "idle" may show for an instant before the session starts; it must never try to connect.
            assert "waiting-link" in early and set(early) <= {"idle", "waiting-link"}, \
                f"before the modem was connected the session was {early} (want waiting-link only)"
            assert b.connects("gw-link") and b.connects("gw-link")[0] >= t_mc - 0.5, "connected before the link was up"
            first_up = t_cc - t_mc
            results = [("initial bring-up", None, first_up)]
            # Let the connection become stable, then cut the link in two ways.
            time.sleep(6)
            for fault, heal in (("deact", None), ("deregister", "register")):
                t0 = time.monotonic()
                sim.control(fault)
                t_ml = s.wait(lambda v: v[0] != "connected", 30, f"modem leaving connected after {fault}", after=t0)
                t_wl = s.wait(lambda v: v[1] == "waiting-link", 10, f"session waiting-link after {fault}", after=t0)
                assert not [v for t, v in s.seen if t_ml <= t < t_wl and v[1] not in ("connected", "waiting-link")], \
                    f"the session went elsewhere before waiting-link: {s.describe(t0)}"
                if heal:
                    time.sleep(1)
                    sim.control(heal)
                t_mu = s.wait(lambda v: v[0] == "connected", 60, f"modem connected again after {fault}", after=t_wl)
                t_cu = s.wait(lambda v: v[1] == "connected", 15, f"session connected again after {fault}", after=t_mu)
                down, up = t_wl - t_ml, t_cu - t_mu
                results.append((fault, down, up))
                print(f"link {fault}: waiting-link {down:.2f} s after the modem left connected; connected "
                      f"{up:.2f} s after the modem returned; transitions: {s.describe(t0)}")
                assert down <= 2.0, f"{fault}: session took {down:.2f} s to notice the link loss"
                assert up <= 2.0, f"{fault}: session took {up:.2f} s to connect after the link returned (no backoff wait)"
                time.sleep(6)
            s.stop()
            p = harness.cloud_props(bus, "lab")
            assert p["State"] == "connected" and p["Reconnects"] == 2, p
            assert len(b.connects("gw-link")) == 3, b.connect_lines()
            print(f"link follow: first connect {first_up:.2f} s after the modem connected")


def test_duplicate_client_id_reported_and_login_limit_kept(args):
    pid, dn = "238322", "gw-dup"
    key = base64.b64encode(bytes(range(100, 132))).decode()
    with PlatformEmulator("onenet", product_id=pid, device_name=dn, device_key=key) as emu:
        cfg = cloud_config([dict(name="one", platform="onenet", product_id=pid, device_name=dn, device_key=key,
                                 endpoint=emu.endpoint, tls=False, keepalive=f"{KEEPALIVE}s")],
                           backoff=dict(initial="1s", max="16s", stable_after="30s"))
        with cloud_daemon(args, cfg) as (bus, dm):
            wait_cloud(bus, "one", connected, 15, "connected", dm)
            t0 = time.monotonic()

            def creds():
                return dn, pid, onenet.token(pid, dn, key, int(time.time()) + 3600)

            with Kicker("127.0.0.1", emu.port, creds, keepalive=KEEPALIVE, delay=2.0, source="127.0.0.2") as k:
                p = wait_cloud(bus, "one", lambda q: "duplicate" in q["LastDisconnectReason"].lower()
                               or "same device" in q["LastDisconnectReason"].lower(), 60,
                               "LastDisconnectReason naming a duplicate client id", dm)
                t_hint = time.monotonic()
                time.sleep(10)  # the loop goes on: the schedule must keep growing
            daemon_logins = [r.time for r in emu.connects if r.peer.startswith("127.0.0.1:")]
            every = sorted(r.time for r in emu.connects)
            worst = max(sum(1 for u in every if t <= u < t + 5.0) for t in every)
            gaps = [b2 - a for a, b2 in zip(daemon_logins, daemon_logins[1:])]
            print(f"duplicate id: reported after {t_hint - t0:.1f} s, {len(emu.kicks)} kicks; daemon logins "
                  f"{len(daemon_logins)}, gaps " + ", ".join(f"{g:.1f}" for g in gaps)
                  + f"; at most {worst} logins of the device in 5 s; reason {p['LastDisconnectReason']!r}")
            assert not emu.violations, f"OneNET login limit violated: {emu.violations}"
            assert worst <= 10, f"{worst} logins of one device within 5 s"
            assert len(emu.kicks) >= 3, emu.kicks
            assert all(g >= 1.0 - 0.05 for g in gaps), f"daemon logins closer than 1 s: {gaps}"
            assert k.logins, "the cloned device never logged in"


if __name__ == "__main__":
    run([test_broker_restart_reconnects_within_backoff, test_frozen_broker_detected_within_keepalive_plus_20s,
         test_link_down_up_sessions_follow_at_once, test_duplicate_client_id_reported_and_login_limit_kept])
