#!/usr/bin/env python3
"""An idle gateway: exactly one PINGREQ per keepalive interval on every platform; a name server
that never answers does not stall D-Bus; and no secret (nor a token or HMAC derived from one)
reaches the log or any D-Bus property."""

import base64
import json
import os
import re
import tempfile
import textwrap
import time
import urllib.parse

import harness
from brokers import MosquittoBroker
from emulator import PlatformEmulator
from harness import (CLOUD_IFACE, GATEWAY_IFACE, GATEWAY_PATH, MODEM_IFACE, MODEM_PATH, SERVICE, cloud_config,
                     cloud_daemon, run, wait_cloud, wait_for, write_secret)

KEEPALIVE = 60  # the daemon's floor for every platform
ALI = dict(product_key="a1B2c3D4e5F", device_name="gw-001", device_secret="Zq8Xw7Vu6Ts5Rr4Qp3On2Ml1Kk0Jj9Ii")
ONE = dict(product_id="238322", device_name="gw-001", device_key=base64.b64encode(bytes(range(1, 33))).decode())
LAB_PASSWORD = "Lab-Pa55w0rd-7e1d9c"


def connected(p):
    return p["State"] == "connected"


def test_one_ping_per_keepalive_idle(args):
    with MosquittoBroker(users={"gw": LAB_PASSWORD}, keep=args.keep) as b, \
            PlatformEmulator("aliyun", **ALI) as ali, PlatformEmulator("onenet", **ONE) as one:
        cfg = cloud_config([
            dict(name="lab", platform="generic", endpoint=b.endpoint, client_id="gw-idle", username="gw",
                 password=LAB_PASSWORD, tls=False, keepalive=f"{KEEPALIVE}s"),
            dict(name="ali", platform="aliyun", endpoint=ali.endpoint, tls=False, keepalive=f"{KEEPALIVE}s", **ALI),
            dict(name="one", platform="onenet", endpoint=one.endpoint, tls=False, keepalive=f"{KEEPALIVE}s", **ONE)])
        with cloud_daemon(args, cfg) as (bus, dm):
            for n in ("lab", "ali", "one"):
                wait_cloud(bus, n, connected, 15, "connected", dm)
            starts = {"lab": b.connects("gw-idle")[-1], "ali": ali.accepted()[-1].time, "one": one.accepted()[-1].time}
            window = 2 * KEEPALIVE + 8  # pings due at ~60 s and ~120 s, the third not before ~180 s
            time.sleep(max(0.0, max(starts.values()) + window - time.monotonic()))
            pings = {"lab": b.pingreqs("gw-idle"), "ali": ali.pings(), "one": one.pings()}
            props = {n: harness.cloud_props(bus, n) for n in starts}
        problems = []
        for n, t0 in starts.items():
            seen = [t for t in pings[n] if t0 <= t <= t0 + window]
            gaps = [b2 - a for a, b2 in zip([t0] + seen, seen)]
            rate = 3600 / (sum(gaps[1:]) / len(gaps[1:])) if len(gaps) > 1 else float("nan")
            print(f"{n}: {len(seen)} PINGREQ in {window} s idle (keepalive {KEEPALIVE} s), spacing from CONNECT "
                  + ", ".join(f"{g:.2f}" for g in gaps) + f" s -> {rate:.0f} pings/hour idle; Pings={props[n]['Pings']}")
            if len(seen) != 2:
                problems.append(f"{n}: {len(seen)} PINGREQs in {window} s idle, want exactly 2")
            if any(g < KEEPALIVE - 1 for g in gaps):
                problems.append(f"{n}: two packets closer than keepalive - 1 s: {gaps}")
            if any(g > KEEPALIVE + 2 for g in gaps):
                problems.append(f"{n}: a ping came late (keepalive {KEEPALIVE} s): {gaps}")
            if props[n]["State"] != "connected" or props[n]["Reconnects"] != 0:
                problems.append(f"{n}: not continuously connected: {props[n]}")
        if props["lab"]["Pings"] != len(pings["lab"]):
            problems.append(f"lab: Pings property {props['lab']['Pings']} but the broker saw {len(pings['lab'])}")
        for emu, n in ((ali, "ali"), (one, "one")):
            if emu.protocol_errors or emu.violations:
                problems.append(f"{n}: platform rules broken: {emu.protocol_errors} {emu.violations}")
        assert not problems, "\n".join(problems)


# A name server that receives queries and never answers, run inside the daemon's network namespace.
BLACKHOLE = textwrap.dedent("""\
    import os, select, socket, sys, time
    log = open(sys.argv[1], "a", buffering=1)
    parent = os.getppid()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 53))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 53))
    t.listen(16)  # a TCP fallback is accepted by the kernel and then ignored as well
    log.write("ready\\n")
    while os.getppid() == parent:
        r, _, _ = select.select([u], [], [], 0.5)
        if r:
            data, peer = u.recvfrom(4096)
            log.write("query %.3f %d bytes from %s\\n" % (time.time(), len(data), peer[0]))
    """)

WRAPPER = textwrap.dedent("""\
    #!/bin/sh
    # cellgated in a fresh mount + network namespace whose resolv.conf points at a silent server.
    exec unshare -m -n -- sh -c '
      set -e
      ip link set lo up
      mount --bind "$CT_RESOLV" /etc/resolv.conf
      python3 "$CT_HOLE" "$CT_HOLE_LOG" &
      i=0
      while ! grep -q ready "$CT_HOLE_LOG" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 200 ] || { echo "blackhole name server did not start" >&2; exit 97; }
        sleep 0.05
      done
      exec "$CT_REAL" "$@"' cellgated "$@"
    """)


def _timed_get(bus, path, iface, prop):
    t = time.monotonic()
    v = bus.get_property(path, iface, prop)
    return time.monotonic() - t, v


def test_hanging_resolver_does_not_stall_dbus(args):
    with tempfile.TemporaryDirectory(prefix="cellgate-resolver-") as d:
        os.chmod(d, 0o755)
        resolv = os.path.join(d, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:30 attempts:1\n")
        hole, hole_log, wrapper = (os.path.join(d, x) for x in ("blackhole.py", "blackhole.log", "cellgated-netns"))
        with open(hole, "w") as f:
            f.write(BLACKHOLE)
        with open(wrapper, "w") as f:
            f.write(WRAPPER)
        os.chmod(wrapper, 0o755)
        env = dict(CT_RESOLV=resolv, CT_HOLE=hole, CT_HOLE_LOG=hole_log, CT_REAL=os.path.abspath(args.daemon))
        cfg = cloud_config([dict(name="far", platform="generic", endpoint="cloud.invalid.example:1883",
                                 client_id="gw-dns", tls=False, keepalive=f"{KEEPALIVE}s")])
        with cloud_daemon(args, cfg, env=env, binary=wrapper) as (bus, dm):
            wait_for(lambda: "query" in open(hole_log).read(), 10, "a DNS query reaching the silent name server")
            t_query = time.monotonic()
            worst, samples, states = 0.0, 0, set()
            while time.monotonic() - t_query < 10:
                for path, iface, prop in ((GATEWAY_PATH, GATEWAY_IFACE, "State"), (MODEM_PATH, MODEM_IFACE, "State"),
                                          (harness.cloud_path("far"), CLOUD_IFACE, "State")):
                    dt, v = _timed_get(bus, path, iface, prop)
                    worst = max(worst, dt)
                    samples += 1
                    assert dt < 0.2, f"Get {iface}.{prop} took {dt * 1000:.0f} ms while the resolver hangs"
                    if iface == CLOUD_IFACE:
                        states.add(v)
                time.sleep(0.05)
            # A method call goes through the same loop: it must not wait for the resolver either.
            t = time.monotonic()
            bus.call(harness.cloud_path("far"), CLOUD_IFACE, "Reconnect")
            dt_call = time.monotonic() - t
            p = harness.cloud_props(bus, "far")
            queries = open(hole_log).read().count("query")
            print(f"hanging resolver: {samples} Gets in 10 s, slowest {worst * 1000:.0f} ms; Reconnect() "
                  f"{dt_call * 1000:.0f} ms; session states seen {sorted(states)}; {queries} DNS queries unanswered")
            assert dt_call < 0.5, f"Reconnect() took {dt_call * 1000:.0f} ms"
            assert states <= {"connecting", "backoff"}, f"session states while resolving: {states}"
            assert p["State"] in ("connecting", "backoff"), p


def _all_properties(bus):
    """{(path, iface): GetAll} for every object and interface the daemon exports."""
    r = bus.busctl("--list", "tree", SERVICE)
    paths = [ln.strip() for ln in r.stdout.splitlines() if ln.strip().startswith("/")]
    out = {}
    for path in paths:
        intro = bus.busctl("introspect", SERVICE, path).stdout
        for iface in re.findall(r"^(\S+)\s+interface\s", intro, re.M):
            if iface.startswith("org.freedesktop.DBus."):
                continue
            out[(path, iface)] = bus.get_all(path, iface)
    return out


def test_secrets_never_in_log_or_on_dbus(args):
    wrong_secret = "Wr0ngSecret-DoNotLeak-44af"
    with MosquittoBroker(users={"gw": LAB_PASSWORD}, keep=args.keep) as b, \
            PlatformEmulator("aliyun", **ALI) as ali, PlatformEmulator("onenet", **ONE) as one, \
            PlatformEmulator("aliyun", **ALI) as ali_bad, tempfile.TemporaryDirectory(prefix="cellgate-secrets-") as d:
        os.chmod(d, 0o755)
        cfg = cloud_config([
            dict(name="lab", platform="generic", endpoint=b.endpoint, client_id="gw-sec", username="gw",
                 password_file=write_secret(d, "lab", LAB_PASSWORD), tls=False, keepalive=f"{KEEPALIVE}s"),
            dict(name="labbad", platform="generic", endpoint=b.endpoint, client_id="gw-sec2", username="gw",
                 password="Bad-" + LAB_PASSWORD, tls=False, keepalive=f"{KEEPALIVE}s"),
            dict(name="ali", platform="aliyun", endpoint=ali.endpoint, tls=False, keepalive=f"{KEEPALIVE}s", **ALI),
            dict(name="alibad", platform="aliyun", endpoint=ali_bad.endpoint, tls=False, keepalive=f"{KEEPALIVE}s",
                 **{**ALI, "device_secret": wrong_secret}),
            dict(name="one", platform="onenet", endpoint=one.endpoint, tls=False, keepalive=f"{KEEPALIVE}s",
                 product_id=ONE["product_id"], device_name=ONE["device_name"],
                 device_key_file=write_secret(d, "one", ONE["device_key"]))],
            backoff=dict(initial="1s", max="5s", stable_after="2s"))
        with cloud_daemon(args, cfg) as (bus, dm):
            for n in ("lab", "ali", "one"):
                wait_cloud(bus, n, connected, 15, "connected", dm)
            for n in ("labbad", "alibad"):
                wait_cloud(bus, n, lambda p: p["State"] == "auth-failed", 15, "auth-failed", dm)
            # More connects, more chances to log a freshly computed credential.
            bus.call(harness.cloud_path("ali"), CLOUD_IFACE, "Reconnect")
            bus.call(harness.cloud_path("one"), CLOUD_IFACE, "Reconnect")
            wait_for(lambda: len(ali.accepted()) >= 2 and len(one.accepted()) >= 2, 15, "reconnects after Reconnect()")
            time.sleep(6)  # the refused sessions retry once at max (5 s)
            props = _all_properties(bus)
            log = dm.log()
        secrets = {"generic password": LAB_PASSWORD, "wrong generic password": "Bad-" + LAB_PASSWORD,
                   "aliyun device secret": ALI["device_secret"], "wrong aliyun secret": wrong_secret,
                   "onenet device key": ONE["device_key"],
                   "onenet device key (url-encoded)": urllib.parse.quote(ONE["device_key"], safe="")}
        for emu, what in ((ali, "aliyun"), (ali_bad, "aliyun (wrong secret)"), (one, "onenet")):
            for i, rec in enumerate(emu.connects):
                if not rec.password:
                    continue
                secrets[f"{what} CONNECT password #{i}"] = rec.password
                if what == "onenet":
                    sign = re.search(r"sign=([^&]+)", rec.password).group(1)
                    secrets[f"onenet token sign #{i}"] = sign
                    secrets[f"onenet token sign #{i} (decoded)"] = urllib.parse.unquote(sign)
                else:
                    secrets[f"{what} CONNECT password #{i} (lower case)"] = rec.password.lower()
        assert len(ali.accepted()) >= 2 and ali_bad.refused() and len(one.accepted()) >= 2
        dbus_text = json.dumps({f"{p} {i}": v for (p, i), v in props.items()})
        assert any(iface == CLOUD_IFACE for _, iface in props), f"no CloudSession objects among {list(props)}"
        leaks = [f"{name} in the daemon log" for name, s in secrets.items() if s in log]
        leaks += [f"{name} on D-Bus" for name, s in secrets.items() if s in dbus_text]
        print(f"secrets: checked {len(secrets)} values against {len(log)} bytes of debug log and "
              f"{len(props)} D-Bus interfaces")
        assert not leaks, "secrets leaked: " + "; ".join(leaks)


if __name__ == "__main__":
    run([test_one_ping_per_keepalive_idle, test_hanging_resolver_does_not_stall_dbus,
         test_secrets_never_in_log_or_on_dbus])
