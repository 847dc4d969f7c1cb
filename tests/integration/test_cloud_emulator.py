#!/usr/bin/env python3
"""The test platform itself: the emulator's Aliyun and OneNET checks accept the platforms'
published signing examples and refuse their mutations with the documented codes, and its kick,
ban, rate, reply and downlink rules work over a real socket. No daemon is involved: the cloud and
bridge tests rely on these rules being right."""

import base64
import json
import socket
import time

from emulator import MiniClient, PlatformEmulator, aliyun, onenet
from emulator.mqtt_wire import Connect, publish_packet
from emulator.rules import Refusal
from harness import run

LOCAL = "127.0.0.1"


def refusal(check, connect: Connect, what: str) -> Refusal:
    try:
        check(connect)
    except Refusal as r:
        return r
    raise AssertionError(f"{what} accepted")


def next_message(c: MiniClient, topic: str, timeout: float = 2.0):
    """The parsed JSON (or bytes) of the first message on `topic` the client receives."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for i, (t, p) in enumerate(c.messages):
            if t == topic:
                del c.messages[i]
                try:
                    return json.loads(p)
                except ValueError:
                    return p
        try:
            c.expect(0x30, max(0.05, deadline - time.monotonic()))
        except socket.timeout:
            break
    return None


def test_aliyun_signing_example_and_refusals(args):
    # The published example: hmacsha1, TCP, timestamp 789.
    c = Connect(client_id="12345|securemode=3,signmethod=hmacsha1,timestamp=789|", username="device&pk",
                password=b"FAFD82A3D602B37FB0FA8B7892F24A477F851A14", keepalive=60, flags=0xC2)

    def check(connect):
        return aliyun.check_connect(connect, "pk", "device", "secret")
    check(c)
    c.password = b"fafd82a3d602b37fb0fa8b7892f24a477f851a14"  # hex case is not significant
    check(c)
    for bad, rc in ((dict(password=b"FAFD82A3D602B37FB0FA8B7892F24A477F851A15"), 4),
                    (dict(username="pk&device"), 4),
                    (dict(client_id="12345|securemode=2,signmethod=hmacsha1,timestamp=789|"), 2),
                    (dict(client_id="12345|securemode=3,signmethod=sha1,timestamp=789|"), 2),
                    (dict(client_id="12345|securemode=3,signmethod=hmacsha1,timestamp=789"), 2),
                    (dict(keepalive=29), 2), (dict(keepalive=1201), 2), (dict(level=5), 1)):
        r = refusal(check, Connect(**{**c.__dict__, **bad}), f"aliyun {bad}")
        assert r.rc == rc, f"aliyun {bad}: rc {r.rc}, want {rc}"
    # The other signmethods, computed from the same example.
    content = "clientId12345deviceNamedeviceproductKeypktimestamp789"
    assert aliyun.content("12345", "device", "pk", "789") == content, "aliyun content order"
    assert aliyun.sign("secret", content, "hmacsha256") \
        == "6074A46A91B1EBB2CC4EA42790AD0E80202C9843859FC292E57C4EB19FAD9E57", "aliyun hmacsha256 vector"
    assert aliyun.sign("secret", content, "hmacmd5") == "14B198324FE55E1D3C88F2E705E201EE", "aliyun hmacmd5 vector"
    # The Link SDK 4.x worked example.
    _, _, pw = aliyun.credentials("pk", "device", "secret", securemode=2)
    assert pw == "2EAB47D05EC94FAB1A34E7E9F54AEBD34A1E15770F932E05300193007E0091E9", "aliyun 4.x example"


ONENET_KEY = "EnW4T71eIE55xOIQMN6pFMKuqel5T5HTzsGJRPiDhlM="
ONENET_TOKEN = ("version=2018-10-31&res=products%2F238322%2Fdevices%2Fmqtts-test-device&et=7557387130"
                "&method=sha1&sign=Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D")


def test_onenet_token_example_and_refusals(args):
    assert onenet.token("238322", "mqtts-test-device", ONENET_KEY, 7557387130, "sha1") == ONENET_TOKEN, \
        "onenet token builder"
    o = Connect(client_id="mqtts-test-device", username="238322", password=ONENET_TOKEN.encode(), keepalive=120,
                flags=0xC2)

    def check(connect):
        return onenet.check_connect(connect, "238322", "mqtts-test-device", ONENET_KEY)
    check(o)
    res = "products/238322/devices/mqtts-test-device"
    assert onenet.sign(ONENET_KEY, 7557387130, "md5", res) == "9z6sXacZSD2aPEH8lbVPyA==", "onenet md5 vector"
    assert onenet.sign(ONENET_KEY, 7557387130, "sha256", res) == "hVAf8QEdu5v4O/vqQmyNzkkxVMzvZOpwtrXXmhyGu7M=", \
        "onenet sha256 vector"
    unencoded = ONENET_TOKEN.replace("%2F", "/").replace("%2B", "+").replace("%3D", "=")
    for bad, rc in ((dict(password=ONENET_TOKEN.replace("Rs0u", "Rs0v").encode()), 4),
                    (dict(password=unencoded.encode()), 4),
                    (dict(password=ONENET_TOKEN.replace("7557387130", "1500000000").encode()), 4),
                    (dict(username="238323"), 4), (dict(client_id="other"), 2),
                    (dict(keepalive=9), None), (dict(keepalive=1801), None),
                    (dict(flags=0xC0), None), (dict(flags=0xC6), None)):
        r = refusal(check, Connect(**{**o.__dict__, **bad}), f"onenet {bad}")
        assert r.rc == rc, f"onenet {bad}: rc {r.rc}, want {rc}"


def test_onenet_logins_kick_qos2_and_login_ban(args):
    dn = "mqtts-test-device"
    with PlatformEmulator("onenet", product_id="238322", device_name=dn, device_key=ONENET_KEY,
                          login_limit=(2, 2.0), ban_seconds=2.0) as emu:
        tok = onenet.token("238322", dn, ONENET_KEY, int(time.time()) + 3600)
        a = MiniClient(LOCAL, emu.port, dn, "238322", tok, 30)
        assert a.connect() == 0, "onenet loopback connect"
        assert a.subscribe(f"$sys/238322/{dn}/thing/property/set", 1) == 0, "onenet grants QoS 0"
        a.ping()
        assert len(emu.pings(dn)) == 1, "ping recorded"
        a.publish(f"$sys/238322/{dn}/thing/property/post", "{}", qos=1)
        b = MiniClient(LOCAL, emu.port, dn, "238322", tok, 30, source="127.0.0.2")
        assert b.connect() == 0, "second login accepted"
        assert a.wait_closed(2), "first login kicked"
        assert len(emu.kicks) == 1, "kick recorded"
        b.publish(f"$sys/238322/{dn}/x", "{}", qos=2)
        assert b.wait_closed(2), "QoS 2 publish disconnects"
        assert any("QoS 2" in e["what"] for e in emu.protocol_errors), "QoS 2 recorded"
        assert MiniClient(LOCAL, emu.port, dn, "238322", tok, 30).connect() is None, \
            "third login within 2 s dropped (limit 2 for the test)"
        assert len(emu.violations) == 1, "violation recorded"
        assert MiniClient(LOCAL, emu.port, dn, "238322", tok, 30).connect() is None, "banned device dropped"
        time.sleep(2.1)
        c3 = MiniClient(LOCAL, emu.port, dn, "238322", tok, 30)
        assert c3.connect() == 0, "ban expires"
        c3.disconnect()
        bad = MiniClient(LOCAL, emu.port, dn, "238322", tok.replace("sign=", "sign=A"), 30)
        assert bad.connect() == 4, "bad token refused with 4"


def test_aliyun_kick_notice_retain_and_wrong_password(args):
    with PlatformEmulator("aliyun", product_key="pk", device_name="device", device_secret="secret") as emu:
        cid, user, pw = aliyun.credentials("pk", "device", "secret", extra="ext=3")
        a = MiniClient(LOCAL, emu.port, cid, user, pw, 30)
        assert a.connect() == 0, "aliyun loopback connect"
        cid2, _, pw2 = aliyun.credentials("pk", "device", "secret", timestamp=str(int(time.time() * 1000)))
        b = MiniClient(LOCAL, emu.port, cid2, user, pw2, 30)
        assert b.connect() == 0, "aliyun second login"
        assert a.wait_closed(2), "aliyun kick"
        assert any(b"Kicked by the same device" in p for _, p in a.messages), "aliyun /ext/notify kick message"
        b.publish("/pk/device/user/update", "x", retain=True)
        assert b.wait_closed(2), "aliyun retain disconnects"
        w = MiniClient(LOCAL, emu.port, cid, user, "00" * 32, 30)
        assert w.connect() == 4, "aliyun wrong password -> 4"


def test_aliyun_posts_replies_requests_and_rate_drop(args):
    now_ms = int(time.time() * 1000)
    with PlatformEmulator("aliyun", product_key="pk", device_name="device", device_secret="secret") as emu:
        cid, user, pw = aliyun.credentials("pk", "device", "secret")
        a = MiniClient(LOCAL, emu.port, cid, user, pw, 30)
        assert a.connect() == 0, "aliyun payload connect"
        for f in ("/sys/pk/device/thing/event/+/post_reply", "/sys/pk/device/thing/service/property/set",
                  "/sys/pk/device/thing/service/+", "/sys/pk/device/rrpc/request/+"):
            a.subscribe(f, 1)
        post = "/sys/pk/device/thing/event/property/post"
        a.publish(post, json.dumps({"id": "7", "version": "1.0", "params": {"t": {"value": 21.5, "time": now_ms}},
                                    "method": "thing.event.property.post"}), qos=1)
        r = next_message(a, post + "_reply")
        assert isinstance(r, dict) and r.get("code") == 200 and r.get("id") == "7", f"aliyun property reply {r!r}"
        a.publish(post, "not json", qos=1)
        r = next_message(a, post + "_reply")
        assert isinstance(r, dict) and r.get("code") == aliyun.BAD_JSON, f"aliyun bad JSON reply {r!r}"
        a.publish(post, json.dumps({"id": "8", "version": "1.0", "params": {"t": 1}}), qos=1)
        r = next_message(a, post + "_reply")
        assert isinstance(r, dict) and r.get("code") == aliyun.BAD_METHOD, f"aliyun strict: method required {r!r}"
        ev = "/sys/pk/device/thing/event/alarm/post"
        a.publish(ev, json.dumps({"id": "9", "version": "1.0", "params": {"value": {"level": 2}, "time": now_ms},
                                  "method": "thing.event.alarm.post"}), qos=1)
        r = next_message(a, ev + "_reply")
        assert isinstance(r, dict) and r.get("code") == 200, f"aliyun event reply {r!r}"
        emu.set_post_reply(6813, "topic illegal")
        a.publish(post, json.dumps({"id": "10", "version": "1.0", "params": {"t": 1},
                                    "method": "thing.event.property.post"}), qos=1)
        r = next_message(a, post + "_reply")
        assert isinstance(r, dict) and r.get("code") == 6813 and r.get("id") == "10", f"aliyun forced code {r!r}"
        emu.set_post_reply()
        assert [p["id"] for p in emu.posts()] == ["7", "9", "10"], f"aliyun posts {[p['id'] for p in emu.posts()]}"
        assert len(emu.format_errors) == 2, f"aliyun format errors {emu.format_errors}"
        rid = emu.property_set({"LightSwitch": 1})
        req = next_message(a, "/sys/pk/device/thing/service/property/set")
        assert isinstance(req, dict) and req.get("method") == "thing.service.property.set", f"aliyun set {req!r}"
        a.publish("/sys/pk/device/thing/service/property/set_reply",
                  json.dumps({"id": rid, "code": 200, "data": {}}), qos=1)
        rep = emu.wait_reply(rid)
        assert rep is not None and not rep["problems"] and rep["code"] == 200, f"aliyun set_reply {rep!r}"
        sid = emu.service_call("reboot", {"delay": 1})
        assert next_message(a, "/sys/pk/device/thing/service/reboot") is not None, "aliyun service delivered"
        a.publish("/sys/pk/device/thing/service/reboot_reply", json.dumps({"id": sid, "code": 200}), qos=1)
        rep = emu.wait_reply(sid)
        assert rep is not None and rep["problems"] == ["Alink reply without data"], f"aliyun reply problems {rep!r}"
        mid = emu.command(b"ping")
        assert next_message(a, f"/sys/pk/device/rrpc/request/{mid}") == b"ping", "aliyun rrpc delivered"
        a.publish(f"/sys/pk/device/rrpc/response/{mid}", b"pong", qos=1)
        rep = emu.wait_reply(mid)
        assert rep is not None and rep["payload"] == b"pong" and not rep["problems"], f"aliyun rrpc reply {rep!r}"
        time.sleep(1.1)
        for i in range(35):
            a.publish("/pk/device/user/update", str(i))
        a.ping()
        assert len(emu.rate_drops) == 5, f"aliyun: 35 in 1 s, 5 dropped (got {len(emu.rate_drops)})"
        assert [v["action"] for v in emu.violations] == ["dropped"] * 5, f"aliyun rate violations {emu.violations}"
        a.disconnect()


def test_onenet_posts_replies_requests_and_rate_ban(args):
    now_ms = int(time.time() * 1000)
    with PlatformEmulator("onenet", product_id="238322", device_name="dev", device_key=base64.b64encode(b"k").decode(),
                          rate_limit=(5, 2.0), ban_seconds=1.0) as emu:
        tok = onenet.token("238322", "dev", emu.device_key, int(time.time()) + 3600)
        a = MiniClient(LOCAL, emu.port, "dev", "238322", tok, 30)
        assert a.connect() == 0, "onenet payload connect"
        for f in ("$sys/238322/dev/thing/property/post/reply", "$sys/238322/dev/thing/event/post/reply",
                  "$sys/238322/dev/thing/property/set", "$sys/238322/dev/thing/service/+/invoke",
                  "$sys/238322/dev/cmd/request/+"):
            a.subscribe(f, 1)
        post = "$sys/238322/dev/thing/property/post"
        a.publish(post, json.dumps({"id": "123", "version": "1.0",
                                    "params": {"temp": {"value": 23.6, "time": now_ms}}}), qos=1)
        r = next_message(a, post + "/reply")
        assert isinstance(r, dict) and r.get("code") == 200 and r.get("id") == "123", f"onenet reply {r!r}"
        a.publish(post, json.dumps({"id": "124", "version": "1.0", "params": {"temp": 23.6}}), qos=1)
        r = next_message(a, post + "/reply")
        assert isinstance(r, dict) and r.get("code") == onenet.BAD_FORMAT and r.get("id") is None, \
            f"onenet unwrapped params {r!r}"
        a.publish("$sys/238322/dev/thing/event/post",
                  json.dumps({"id": "125", "version": "1.0", "params": {"alarm": {"value": {"led1": 22},
                                                                                  "time": now_ms}}}), qos=1)
        r = next_message(a, "$sys/238322/dev/thing/event/post/reply")
        assert isinstance(r, dict) and r.get("code") == 200, f"onenet event reply {r!r}"
        emu.set_post_reply(onenet.BAD_FORMAT, "request format error")
        a.publish(post, json.dumps({"id": "126", "version": "1.0", "params": {"temp": {"value": 1}}}), qos=1)
        r = next_message(a, post + "/reply")
        assert isinstance(r, dict) and r.get("code") == onenet.BAD_FORMAT and r.get("id") == "126", \
            f"onenet forced rejection echoes the id {r!r}"
        emu.set_post_reply()
        sid = emu.service_call("reset", {"x": 1})
        assert next_message(a, "$sys/238322/dev/thing/service/reset/invoke") is not None, "onenet invoke delivered"
        a.publish("$sys/238322/dev/thing/service/reset/invoke_reply",
                  json.dumps({"id": sid, "code": 200, "msg": "ok", "data": {}}))
        rep = emu.wait_reply(sid)
        assert rep is not None and not rep["problems"], f"onenet invoke_reply {rep!r}"
        cmd = emu.command("open")
        assert next_message(a, f"$sys/238322/dev/cmd/request/{cmd}") == b"open", "onenet cmd delivered"
        a.publish(f"$sys/238322/dev/cmd/response/{cmd}", "done")
        assert emu.wait_reply(cmd) is not None, "onenet cmd response recorded"
        time.sleep(2.1)
        for _ in range(5):
            a.publish("$sys/238322/dev/thing/property/post", "{}", qos=1)
        assert not emu.violations, "onenet: 5 QoS 1 in 2 s allowed (test limit 5)"
        try:
            a.publish("$sys/238322/dev/thing/property/post", "{}", qos=1)
            raise AssertionError("onenet: 6th QoS 1 publish was acknowledged")
        except (EOFError, ConnectionError, socket.timeout):
            pass
        assert [v["kind"] for v in emu.violations] == ["rate"], f"onenet rate violation {emu.violations}"
        b = MiniClient(LOCAL, emu.port, "dev", "238322", tok, 30)
        assert b.connect() is None, "onenet banned after the rate violation"


KEY = base64.b64encode(b"k").decode()


def test_onenet_rate_ban_at_the_platform_numbers(args):
    # No rate_limit or ban_seconds given: 100 QoS 1 publishes in under 5 s are all acknowledged and
    # the device stays connected; the 101st within the same 5 s gets no PUBACK, the connection is
    # reset, the violation is recorded and the device cannot log in for 300 s.
    with PlatformEmulator("onenet", product_id="238322", device_name="dev", device_key=KEY) as emu:
        tok = onenet.token("238322", "dev", KEY, int(time.time()) + 3600)
        assert emu.ban_seconds == 300.0, f"onenet default ban {emu.ban_seconds} s, want 300 s"
        a = MiniClient(LOCAL, emu.port, "dev", "238322", tok, 30)
        assert a.connect() == 0, "onenet default-ban connect"
        a.subscribe("$sys/238322/dev/thing/property/post/reply", 1)
        post = "$sys/238322/dev/thing/property/post"
        body = json.dumps({"id": "1", "version": "1.0", "params": {"temp": {"value": 1, "time": 1}}})
        t0 = time.monotonic()
        acked = 0
        try:
            for _ in range(100):
                a.publish(post, body, qos=1)
                acked += 1
            a.ping()
        except (EOFError, ConnectionError, socket.timeout) as e:
            raise AssertionError(f"onenet default limit: the connection ended after {acked} of 100 QoS 1 "
                                 f"publishes: {e!r}") from None
        t100 = time.monotonic() - t0
        assert acked == 100 and not emu.violations, \
            f"onenet default limit: 100 QoS 1 in {t100:.2f} s must pass ({acked} acked, {emu.violations})"
        assert emu.connected_count() == 1, "onenet default limit: still connected after 100 QoS 1 publishes"
        outcome = "acknowledged"
        try:
            a.publish(post, body, qos=1)
        except ConnectionResetError:
            outcome = "reset"
        except (EOFError, ConnectionError) as e:
            outcome = f"closed without a reset ({e!r})"
        except socket.timeout:
            outcome = "no PUBACK, but the connection stayed open"
        t101 = time.monotonic() - t0
        assert t101 < 5.0, f"onenet default limit: 101 publishes took {t101:.2f} s, the check needs < 5 s"
        assert outcome == "reset", f"onenet default limit: the 101st QoS 1 publish in {t101:.2f} s was {outcome}, " \
                                   "want no PUBACK and a TCP reset"
        assert [(v["kind"], v["action"]) for v in emu.violations] == [("rate", "banned")], \
            f"onenet default limit: violations {emu.violations}"
        last = emu.received(post)[-1]
        assert len(emu.received(post)) == 101 and not last["acked"], "onenet default limit: the 101st is not acked"
        left = emu._call(lambda: emu._banned_until.get(("238322", "dev"), 0) - time.monotonic())
        assert 295 <= left <= 300, f"onenet default ban lasts {left:.0f} s more, want about 300 s"
        b = MiniClient(LOCAL, emu.port, "dev", "238322", tok, 30)
        assert b.connect() is None, "onenet default limit: banned device's login dropped"

    # 100 at once, then nothing: no ban (a second device, so the first one's ban is not in the way).
    with PlatformEmulator("onenet", product_id="238322", device_name="dev2", device_key=KEY) as emu:
        tok = onenet.token("238322", "dev2", KEY, int(time.time()) + 3600)
        a = MiniClient(LOCAL, emu.port, "dev2", "238322", tok, 30)
        assert a.connect() == 0, "onenet 100-publish connect"
        try:
            for _ in range(100):
                a.publish("$sys/238322/dev2/thing/property/post", "{}", qos=1)
            a.ping()
            a.disconnect()
        except (EOFError, ConnectionError, socket.timeout) as e:
            raise AssertionError(f"onenet: 100 QoS 1 publishes ended the connection: {e!r}") from None
        assert not emu.violations, f"onenet: 100 QoS 1 publishes are allowed, got {emu.violations}"
        b = MiniClient(LOCAL, emu.port, "dev2", "238322", tok, 30)
        assert b.connect() == 0, "onenet: login after 100 QoS 1 publishes accepted (no ban)"
        b.disconnect()


def test_reply_injection_and_withheld_puback(args):
    # What the bridge tests use: send_post_reply, resend_post_reply, set_puback (no rate limit).
    tok = onenet.token("238322", "dev2", KEY, int(time.time()) + 3600)
    with PlatformEmulator("onenet", product_id="238322", device_name="dev2", device_key=KEY, rate_limit=False) as emu:
        b = MiniClient(LOCAL, emu.port, "dev2", "238322", tok, 30)
        assert b.connect() == 0, "onenet injection connect"
        b.subscribe("$sys/238322/dev2/thing/property/post/reply", 1)
        b.subscribe("$sys/238322/dev2/thing/event/post/reply", 1)
        assert emu.send_post_reply("777", 2402, "nope") == 1, "onenet injected reply delivered"
        r = next_message(b, "$sys/238322/dev2/thing/property/post/reply")
        assert r == {"id": "777", "code": 2402, "msg": "nope"}, f"onenet injected reply {r!r}"
        assert emu.resend_post_reply(emu.post_replies[-1]) == 1, "onenet resent reply delivered"
        r = next_message(b, "$sys/238322/dev2/thing/property/post/reply")
        assert r == {"id": "777", "code": 2402, "msg": "nope"}, f"onenet resent reply {r!r}"
        assert emu.send_post_reply("778", kind="event") == 1, "onenet injected event reply delivered"
        assert next_message(b, "$sys/238322/dev2/thing/event/post/reply") == {"id": "778", "code": 200,
                                                                            "msg": "success"}, "event reply"
        assert all(r["injected"] and r["post"] is None for r in emu.post_replies[-3:]), "injected replies recorded"
        emu.set_puback(False)
        doc = {"id": "9", "version": "1.0", "params": {"t": {"value": 1, "time": int(time.time() * 1000)}}}
        b.sock.sendall(publish_packet("$sys/238322/dev2/thing/property/post", json.dumps(doc).encode(), 1, mid=42))
        r = next_message(b, "$sys/238322/dev2/thing/property/post/reply")
        assert isinstance(r, dict) and r.get("id") == "9", f"unacknowledged post still answered {r!r}"
        try:
            b.expect(0x40, 0.3)
            raise AssertionError("set_puback(False): a PUBACK was sent")
        except socket.timeout:
            pass
        emu.set_puback(True)
        b.publish("$sys/238322/dev2/x", "{}", qos=1)
        assert [p["acked"] for p in emu.received("$sys/238322/dev2/thing/property/post")][-1:] == [False] \
            and emu.received("$sys/238322/dev2/x")[-1]["acked"], "acked recorded"
        b.disconnect()


if __name__ == "__main__":
    # One at a time: the rate checks count publishes per second.
    run([test_aliyun_signing_example_and_refusals, test_onenet_token_example_and_refusals,
         test_onenet_logins_kick_qos2_and_login_ban, test_aliyun_kick_notice_retain_and_wrong_password,
         test_aliyun_posts_replies_requests_and_rate_drop, test_onenet_posts_replies_requests_and_rate_ban,
         test_onenet_rate_ban_at_the_platform_numbers, test_reply_injection_and_withheld_puback], workers=1)
