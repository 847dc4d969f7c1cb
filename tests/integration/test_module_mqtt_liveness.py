#!/usr/bin/env python3
"""Liveness of a session through the module's own MQTT client, in each command set: the module
pings (exactly one PINGREQ per keepalive interval seen at the broker, none added by cellgate), a
module-side link that dies without a word (its URC lost on the UART) and a module that stops
answering AT are both noticed within keepalive + 20 s."""

import time

import harness
from brokers import started_mosquitto
from harness import Simulator, cloud_config, cloud_daemon, run, wait_cloud

VENDORS = ("luat", "quectel", "simcom")
KEEPALIVE = 60  # the daemon's floor for every platform
IDLE = 2 * KEEPALIVE + 8


def connected(p):
    return p["State"] == "connected"


def _config(sim, cloud, vendor):
    session = dict(name="lab", platform="generic", endpoint=cloud.endpoint, client_id=f"gw-{vendor}", tls=False,
                   keepalive=f"{KEEPALIVE}s", transport="module")
    return cloud_config([session], backoff=dict(initial="1s", max="4s", stable_after="2s"),
                        modem=harness.modem_config(sim.link, vendor=vendor))


def _pings_and_silent_link(vendor):
    def test(args):
        cid = f"gw-{vendor}"
        with started_mosquitto(keep=args.keep) as cloud, \
                Simulator(args.sim, "normal", vendor=vendor, speed=4.0, keep=args.keep) as sim, \
                cloud_daemon(args, _config(sim, cloud, vendor)) as (bus, d):
            wait_cloud(bus, "lab", connected, 60, "connected through the module", d)
            t_conn = cloud.connects(cid)[-1]
            time.sleep(IDLE)
            pings = [t for t in cloud.pingreqs(cid) if t > t_conn]
            gaps = [round(b - a, 2) for a, b in zip([t_conn] + pings, pings)]
            assert len(pings) == 2, f"{len(pings)} PINGREQs in {IDLE} s idle at keepalive {KEEPALIVE} s: {gaps}"
            assert all(abs(g - KEEPALIVE) <= 1.5 for g in gaps), gaps
            props = harness.cloud_props(bus, "lab")
            assert props["State"] == "connected" and props["Reconnects"] == 0, props

            # The connection dies under the module and the URC never reaches us.
            t0 = time.monotonic()
            sim.control("mqtt silent")
            p = wait_cloud(bus, "lab", lambda p: p["State"] != "connected", KEEPALIVE + 25, "the dead link noticed", d)
            silent = time.monotonic() - t0
            assert silent <= KEEPALIVE + 20, silent
            wait_cloud(bus, "lab", connected, 30, "connected again", d)
            print(f"{vendor}: {len(pings)} PINGREQs in {IDLE} s idle, gaps {gaps} s (keepalive {KEEPALIVE} s: "
                  f"{3600 // KEEPALIVE} per hour, 30 per hour at the 120 s default); silent module-side link "
                  f"noticed after {silent:.1f} s ({p['LastDisconnectReason']})")
    test.__name__ = f"test_pings_and_silent_link_{vendor}"
    return test


def _silent_module(vendor):
    def test(args):
        with started_mosquitto(keep=args.keep) as cloud, \
                Simulator(args.sim, "normal", vendor=vendor, speed=4.0, keep=args.keep) as sim, \
                cloud_daemon(args, _config(sim, cloud, vendor)) as (bus, d):
            wait_cloud(bus, "lab", connected, 60, "connected through the module", d)
            t0 = time.monotonic()
            sim.control("silence on")
            p = wait_cloud(bus, "lab", lambda p: p["State"] != "connected", KEEPALIVE + 25,
                           "the silent module noticed", d)
            noticed = time.monotonic() - t0
            sim.control("silence off")
            assert noticed <= KEEPALIVE + 20, noticed
            wait_cloud(bus, "lab", connected, 90, "connected again once the module answers", d)
            print(f"{vendor}: a module that stopped answering AT noticed after {noticed:.1f} s "
                  f"({p['LastDisconnectReason']})")
    test.__name__ = f"test_silent_module_{vendor}"
    return test


if __name__ == "__main__":
    run([_pings_and_silent_link(v) for v in VENDORS] + [_silent_module(v) for v in VENDORS])
