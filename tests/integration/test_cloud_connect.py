#!/usr/bin/env python3
"""Cloud sessions connect: a real mosquitto with password auth and with TLS client certificates,
and the Aliyun and OneNET CONNECT rules (emulated on loopback), which only the real signatures pass.
Refusals end in auth-failed with the platform's meaning of the code, without hammering."""

import base64
import contextlib
import os
import re
import subprocess
import tempfile
import time

import harness
from brokers import CertificateAuthority, MosquittoBroker
from emulator import PlatformEmulator
from harness import cloud_config, cloud_daemon, run, wait_cloud, write_secret

ALI_PK, ALI_DN, ALI_SECRET = "a1B2c3D4e5F", "gw-001", "dF8sKq2LmN5pR7tV9xZ1bC3eG5hJ7kM9"
ONENET_PID, ONENET_DN = "238322", "gw-001"
ONENET_KEY = base64.b64encode(bytes(range(7, 39))).decode()


def connected(p):
    return p["State"] == "connected"


@contextlib.contextmanager
def tmpdir():
    with tempfile.TemporaryDirectory(prefix="cellgate-cloud-") as d:
        os.chmod(d, 0o755)
        yield d


def mosquitto_pub(broker, topic, payload, user=None, password=None):
    cmd = ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-i", "tester", "-q", "1",
           "-t", topic, "-m", payload]
    if user:
        cmd += ["-u", user, "-P", password]
    subprocess.run(cmd, check=True, timeout=10, capture_output=True)


def concrete(topic_filter):
    """A topic that the filter matches (wildcards filled in)."""
    return "/".join("x" if lvl == "+" else ("x/y" if lvl == "#" else lvl) for lvl in topic_filter.split("/"))


def test_generic_password_connects_and_counts(args):
    with MosquittoBroker(users={"gw": "pw-Secr3t-lab", "tester": "tpw"}, keep=args.keep) as b, tmpdir() as d:
        pw = write_secret(d, "lab", "pw-Secr3t-lab")
        cfg = cloud_config([dict(name="lab", platform="generic", endpoint=b.endpoint, client_id="gw-001",
                                 username="gw", password_file=pw, tls=False, keepalive="60s")])
        with cloud_daemon(args, cfg) as (bus, dm):
            t0 = time.time()
            p = wait_cloud(bus, "lab", connected, 15, "connected", dm)
            assert p["Name"] == "lab" and p["Platform"] == "generic", p
            assert p["Endpoint"] == b.endpoint, p["Endpoint"]
            assert p["ClientId"] == "gw-001", p["ClientId"]
            assert p["KeepAlive"] == 60, p["KeepAlive"]
            since = p["ConnectedSince"] / 1e6
            assert t0 - 20 < since <= time.time() + 1, f"ConnectedSince {since} vs now {time.time()}"
            assert p["NextRetryIn"] == 0, p
            line = b.wait_log(r"New client connected from \S+ as gw-001 .*u'gw'", 5)[1].string
            assert "c1" in line, f"expected a clean session: {line}"
            # Received: whatever the session subscribed to, a message there is counted.
            time.sleep(1.0)
            subs = [m.group(1) for _, m in b.events(r"^\d+: \t(\S+) \(QoS \d\)$")]
            if b.count("Received SUBSCRIBE from gw-001"):
                assert subs, "SUBSCRIBE seen but no topic lines:\n" + b.log()[-2000:]
                before = harness.cloud_props(bus, "lab")["Received"]
                mosquitto_pub(b, concrete(subs[0]), '{"id":"1"}', "tester", "tpw")
                wait_cloud(bus, "lab", lambda q: q["Received"] == before + 1, 5, "Received + 1", dm)
            # Published: equal to what the broker received from this client.
            sent = b.count("Received PUBLISH from gw-001")
            p = wait_cloud(bus, "lab", lambda q: q["Published"] == sent, 5, f"Published == {sent}", dm)
            print(f"lab: subscriptions {subs}, published {p['Published']}, received {p['Received']}")
            assert p["Reconnects"] == 0 and p["State"] == "connected", p
        b.wait_log(r"Client gw-001 (disconnected\.|closed its connection)", 5)
        assert b.count("Received DISCONNECT from gw-001") == 1, "no clean MQTT DISCONNECT on daemon stop"


def test_tls_with_client_certificate(args):
    with MosquittoBroker(tls=True, require_certificate=True, use_identity_as_username=True,
                         client_cn="gw-001", keep=args.keep) as b:
        cfg = cloud_config([dict(name="tls", platform="generic", endpoint=b.endpoint, client_id="gw-001",
                                 tls=dict(ca=b.ca, cert=b.client_cert, key=b.client_key), keepalive="60s")])
        with cloud_daemon(args, cfg) as (bus, dm):
            wait_cloud(bus, "tls", connected, 15, "connected over TLS", dm)
            line = b.wait_log(r"New client connected from \S+ as gw-001 ", 5)[1].string
            assert "u'gw-001'" in line, f"the broker did not take the certificate's CN as user: {line}"


def test_tls_server_not_trusted(args):
    # The server's certificate comes from another CA: verification is on by default, so no session.
    with MosquittoBroker(tls=True, require_certificate=False, keep=args.keep) as b:
        other = CertificateAuthority(os.path.join(b.dir, "other-ca"))
        cfg = cloud_config([dict(name="tls", platform="generic", endpoint=b.endpoint, client_id="gw-001",
                                 tls=dict(ca=other.ca), keepalive="60s")])
        with cloud_daemon(args, cfg) as (bus, dm):
            p = wait_cloud(bus, "tls", lambda q: q["State"] in ("backoff", "auth-failed") and q["LastDisconnectReason"],
                           15, "a failed TLS connect", dm)
            time.sleep(2)
            p = harness.cloud_props(bus, "tls")
            assert p["State"] != "connected", p
            assert b.count("New client connected") == 0, "the broker saw an MQTT CONNECT over an untrusted TLS session"
            assert re.search(r"certif|verif|tls|ssl|handshake", p["LastDisconnectReason"], re.I), \
                f"reason does not say the TLS check failed: {p['LastDisconnectReason']!r}"


def test_wrong_password_is_auth_failed(args):
    with MosquittoBroker(users={"gw": "right-password"}, keep=args.keep) as b:
        cfg = cloud_config([dict(name="lab", platform="generic", endpoint=b.endpoint, client_id="gw-001",
                                 username="gw", password="wrong-password", tls=False, keepalive="60s")],
                           backoff=dict(initial="1s", max="30s", stable_after="10s"))
        with cloud_daemon(args, cfg) as (bus, dm):
            p = wait_cloud(bus, "lab", lambda q: q["State"] == "auth-failed", 15, "auth-failed", dm)
            reason = p["LastDisconnectReason"]
            assert re.search(r"not authori[sz]ed|bad user ?name or password", reason, re.I), \
                f"LastDisconnectReason does not give the refusal's meaning: {reason!r}"
            assert "wrong-password" not in reason
            assert 0 < p["NextRetryIn"] <= 30, f"NextRetryIn {p['NextRetryIn']} (backoff max 30 s)"
            time.sleep(8)
            attempts = b.count("New connection from")
            p = harness.cloud_props(bus, "lab")
            assert p["State"] == "auth-failed", p
            # A refused CONNECT backs off to max: no retry storm against a broker that says no.
            assert attempts <= 2, f"{attempts} connection attempts within ~10 s of a credentials refusal"
            print(f"wrong password: reason {reason!r}, {attempts} attempt(s), NextRetryIn {p['NextRetryIn']} s")


def only_connect(emu):
    """The one CONNECT the platform accepted, in a session that broke none of its protocol rules."""
    acc = emu.accepted()
    assert len(acc) == 1, [(r.rc, r.reason) for r in emu.connects]
    assert not emu.protocol_errors, emu.protocol_errors
    return acc[0]


def _aliyun_entry(name, emu, **extra):
    e = dict(name=name, platform="aliyun", product_key=ALI_PK, device_name=ALI_DN, device_secret=ALI_SECRET,
             endpoint=emu.endpoint, tls=False, keepalive="60s")
    e.update(extra)
    return e


def test_aliyun_signatures_accepted(args):
    methods = ("hmacsha256", "hmacsha1", "hmacmd5")
    emus = [PlatformEmulator("aliyun", product_key=ALI_PK, device_name=ALI_DN, device_secret=ALI_SECRET)
            for _ in methods]
    for e in emus:
        e.start()
    try:
        with tmpdir() as d:
            entries = []
            for i, (m, e) in enumerate(zip(methods, emus)):
                extra = dict(sign_method=m)
                if i == 1:  # also the file form of the secret
                    extra = dict(sign_method=m, device_secret=None,
                                 device_secret_file=write_secret(d, "ali", ALI_SECRET))
                entries.append(_aliyun_entry(f"ali{i}", e, **extra))
            with cloud_daemon(args, cloud_config(entries)) as (bus, dm):
                for i, (m, e) in enumerate(zip(methods, emus)):
                    p = wait_cloud(bus, f"ali{i}", connected, 15, f"connected with {m}", dm)
                    rec = only_connect(e)
                    assert f"signmethod={m}" in rec.client_id and "securemode=3" in rec.client_id, rec.client_id
                    assert rec.username == f"{ALI_DN}&{ALI_PK}", rec.username
                    assert p["ClientId"] == rec.client_id.split("|")[0] or p["ClientId"] == rec.client_id, \
                        f"ClientId {p['ClientId']!r} vs CONNECT {rec.client_id!r}"
                    assert p["Platform"] == "aliyun", p
                    print(f"aliyun {m}: clientId {rec.client_id!r}, keepalive {rec.keepalive}, clean {rec.clean}")
    finally:
        for e in emus:
            e.stop()


def test_onenet_tokens_accepted(args):
    methods = ("sha256", "sha1", "md5")
    emus = [PlatformEmulator("onenet", product_id=ONENET_PID, device_name=ONENET_DN, device_key=ONENET_KEY)
            for _ in methods]
    for e in emus:
        e.start()
    try:
        with tmpdir() as d:
            entries = []
            for i, (m, e) in enumerate(zip(methods, emus)):
                entry = dict(name=f"one{i}", platform="onenet", product_id=ONENET_PID, device_name=ONENET_DN,
                             device_key=ONENET_KEY, token_method=m, token_lifetime="1h", endpoint=e.endpoint,
                             tls=False, keepalive="60s")
                if i == 2:
                    entry.update(device_key=None, device_key_file=write_secret(d, "onenet", ONENET_KEY))
                entries.append(entry)
            with cloud_daemon(args, cloud_config(entries)) as (bus, dm):
                for i, (m, e) in enumerate(zip(methods, emus)):
                    p = wait_cloud(bus, f"one{i}", connected, 15, f"connected with a {m} token", dm)
                    rec = only_connect(e)
                    et = int(re.search(r"(?:^|&)et=(\d+)", rec.password).group(1))
                    assert f"method={m}" in rec.password, rec.password
                    assert abs(et - (rec.wall + 3600)) < 120, f"et {et} is not now + token_lifetime (1h)"
                    assert rec.clean and not rec.will and rec.client_id == ONENET_DN and rec.username == ONENET_PID
                    assert p["ClientId"] == ONENET_DN, p
                    print(f"onenet {m}: token et = now + {et - rec.wall:.0f} s, keepalive {rec.keepalive}")
    finally:
        for e in emus:
            e.stop()


def test_wrong_credentials_on_platforms_are_auth_failed(args):
    with PlatformEmulator("aliyun", product_key=ALI_PK, device_name=ALI_DN, device_secret=ALI_SECRET) as ali, \
            PlatformEmulator("onenet", product_id=ONENET_PID, device_name=ONENET_DN, device_key=ONENET_KEY) as one:
        wrong_key = base64.b64encode(bytes(range(40, 72))).decode()
        entries = [_aliyun_entry("ali", ali, device_secret="not-the-device-secret"),
                   dict(name="one", platform="onenet", product_id=ONENET_PID, device_name=ONENET_DN,
                        device_key=wrong_key, endpoint=one.endpoint, tls=False, keepalive="60s")]
        cfg = cloud_config(entries, backoff=dict(initial="1s", max="60s", stable_after="10s"))
        with cloud_daemon(args, cfg) as (bus, dm):
            for name, emu in (("ali", ali), ("one", one)):
                p = wait_cloud(bus, name, lambda q: q["State"] == "auth-failed", 15, "auth-failed", dm)
                reason = p["LastDisconnectReason"]
                assert emu.refused() and emu.refused()[0].rc == 4, [(r.rc, r.reason) for r in emu.connects]
                assert re.search(r"\b4\b|user ?name or password|signature|secret|key|token|credential", reason, re.I), \
                    f"{name}: LastDisconnectReason does not give the refusal's meaning: {reason!r}"
                print(f"{name} refused: {reason!r}")
            time.sleep(8)
            for name, emu in (("ali", ali), ("one", one)):
                n = len(emu.connects)
                assert n <= 2, f"{name}: {n} CONNECTs within ~10 s of a credentials refusal (no backoff to max)"
                assert not emu.violations, emu.violations
                assert harness.cloud_props(bus, name)["State"] == "auth-failed"


if __name__ == "__main__":
    run([test_generic_password_connects_and_counts, test_tls_with_client_certificate,
         test_tls_server_not_trusted, test_wrong_password_is_auth_failed,
         test_aliyun_signatures_accepted, test_onenet_tokens_accepted,
         test_wrong_credentials_on_platforms_are_auth_failed])
