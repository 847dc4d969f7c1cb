#!/usr/bin/env python3
"""A small MQTT 3.1.1 broker on loopback that enforces a cloud platform's CONNECT rules
(Python 3 stdlib only), and a tiny blocking MQTT client for tests.

    emu = PlatformEmulator("aliyun", product_key="a1B2c3D4e5F", device_name="gw-001",
                           device_secret="s3cr3t")
    with emu:                                   # listens on 127.0.0.1:emu.port (plain TCP)
        ... emu.connects, emu.pings(), emu.kicks, emu.violations, emu.protocol_errors

Modes (the rules come from ../../../shared/reference/aliyun.md and onenet.md):
  aliyun   clientId "<id>|securemode=3,signmethod=hmacsha256|hmacsha1|hmacmd5[,timestamp=<ms>]|"
           (securemode 2 is TLS, and this listener is plain TCP), username "dn&pk", password the
           HMAC of the sorted content with the device secret (hex, any case), keepalive 30..1200.
           Refusals: 1 protocol version, 2 clientId format / keepalive, 4 username or password.
           A second login of the same device kicks the first (and, with ext bit 1, sends it the
           /ext/notify "Kicked by the same device" message first).
  onenet   username = product id, clientId = device name, password = 2018-10-31 token (HMAC with the
           base64-decoded device key, et in the future, res products/<pid>/devices/<dn>, values
           URL-encoded as documented); keepalive 10..1800, clean session 1, no will (else the
           connection is dropped without CONNACK); bad token -> 4. More than 10 CONNECTs of one
           device in 5 s -> TCP reset, a recorded violation and a 5-minute ban.
  generic  accepts any CONNECT (optionally checks users={name: password}).
Every mode: QoS 2 or retained PUBLISH -> recorded protocol error and disconnect (as the platforms
do); PINGREQ answered and recorded; SUBSCRIBE/PUBLISH QoS 0/1; 1.5 x keepalive without uplink ->
the server closes ("Keepalive timeout"). freeze()/thaw() stop/resume all reading and answering.

Uplink (every PUBLISH is recorded in emu.publishes: dicts with time (monotonic), wall, conn,
client_id, identity, topic, payload (bytes), qos, retain, mid, dup, dropped, acked (PUBACK sent), and
for posts kind "property"|"event", event_id, id, json, format_error, reply):
  check_formats=True  property/event posts are checked and answered on the reply topic:
      aliyun  /sys/pk/dn/thing/event/property/post and .../thing/event/<eventId>/post, Alink JSON
              {"id":"<0..4294967295>","version":"1.0","params":{...},"method":"thing.event.property.post"
              | "thing.event.<eventId>.post"[,"sys":{"ack":0|1}]}; property params flat or {value,time},
              event params {"value":{...},"time":ms}; time in ms, at most 24 h ahead. Reply on
              <topic>_reply {"code":200,"data":{},"id":..,"message":"success","version":"1.0"} (none
              with sys.ack 0); errors 6207 not JSON, 6300 method, 460 other params.
      onenet  $sys/pid/dn/thing/property/post and .../thing/event/post, OneJSON {"id":"<<=13 digits>",
              "version":"1.0","params":{"k":{"value":v,"time":ms}}} (event: value is an object). Reply
              on <topic>/reply {"id":..,"code":200,"msg":"success"}; error {"id":null,"code":2402,..}.
      strict_format=True also requires "version" (and, aliyun, "method"), which the platforms
      tolerate missing. Replies reach the device only when it subscribed to them (or, aliyun, _ss=1).
  emu.posts(kind=None) / emu.wait_posts(n, timeout=10, kind=None): accepted posts in arrival order.
  emu.received(topic_filter="#"): every publish on matching topics.
  emu.format_errors, emu.post_replies (topic, payload, json, code, id, delivered, post).
  emu.set_post_reply(code=200, message="success", enabled=True): answer later good posts with
      another code (e.g. 6813, 429, 2402; the id is echoed) or not at all.
  emu.send_post_reply(id, code=200, message="success", kind="property", event_id=None) -> delivered:
      a platform reply that answers no post of this connection (an id never posted, or a second
      answer to one already answered), on the kind's reply topic in the platform's format;
      emu.resend_post_reply(record) sends a post_replies record again, byte for byte. Both are
      recorded in post_replies with "post": None and "injected": True.
  emu.set_puback(enabled=True): withhold the PUBACK of later QoS 1 publishes (they are still
      recorded, checked and answered; "acked" False in their record), as when the platform's PUBACK
      is lost with the connection: the device must send them again.
Rate limits (rate_limit=None: the platform's; False: none; (count, seconds): other numbers):
  aliyun  more than 30 publishes in any 1 s -> the excess is PUBACKed but dropped (not checked, not
          answered, not delivered): emu.rate_drops and a violation {"kind":"rate","action":"dropped"}.
  onenet  more than 100 QoS 1 (300 QoS 0) publishes in any 5 s -> no PUBACK, TCP reset, violation
          {"kind":"rate","action":"banned"} and a ban_seconds ban (logins dropped meanwhile).
  Violations of the login/ping limits have kind "login"/"ping". Studio's 1 msg/s uplink delay is
  not emulated (it delays, it does not lose).
Downlink (to the connected device, if it subscribed to the request topic; returns the request id):
  emu.property_set(params, qos=0)          aliyun thing/service/property/set, onenet thing/property/set
  emu.property_get(identifiers, qos=0)     onenet thing/property/get
  emu.service_call(service_id, params=None, qos=0)  aliyun thing/service/<id>, onenet .../<id>/invoke
  emu.command(payload, qos=0)              onenet cmd/request/<id>, aliyun rrpc/request/<id> (opaque)
  emu.wait_reply(request_id, timeout=5) -> the device's answer or None: a dict with topic, payload,
      json, id, code, request (the emu.downlinks record), problems (list of format complaints: id not
      echoed, code not a number, Alink without data, wrong reply topic). All answers are in
      emu.device_replies; problems are also in emu.format_errors. emu.downlinks has "delivered".

`python3 mqtt_emulator.py --selftest` checks the signature verification against the platforms'
published test vectors and runs a loopback round trip.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import hmac
import itertools
import json
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

# --- platform signing (independent of the daemon's C++ implementation) -------------------------

_HASHES = {"hmacsha256": hashlib.sha256, "hmacsha1": hashlib.sha1, "hmacmd5": hashlib.md5}
_TOKEN_HASHES = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "md5": hashlib.md5}
ONENET_VERSION = "2018-10-31"


def aliyun_content(client_id: str, device_name: str, product_key: str, timestamp: str | None) -> str:
    """The sign content: parameters sorted by name, names and values concatenated (Doc-TLS)."""
    parts = {"clientId": client_id, "deviceName": device_name, "productKey": product_key}
    if timestamp is not None:
        parts["timestamp"] = timestamp
    return "".join(k + v for k, v in sorted(parts.items()))


def aliyun_sign(secret: str, content: str, method: str = "hmacsha256") -> str:
    return hmac.new(secret.encode(), content.encode(), _HASHES[method]).hexdigest().upper()


def aliyun_credentials(product_key: str, device_name: str, secret: str, client_id: str | None = None,
                       timestamp: str | None = "2524608000000", securemode: int = 3,
                       signmethod: str = "hmacsha256", extra: str = ""):
    """(mqtt client id, username, password) the way the device SDKs build them."""
    cid = client_id if client_id is not None else f"{product_key}.{device_name}"
    params = [f"securemode={securemode}", f"signmethod={signmethod}"]
    if timestamp is not None:
        params.append(f"timestamp={timestamp}")
    if extra:
        params.append(extra)
    content = aliyun_content(cid, device_name, product_key, timestamp)
    return (f"{cid}|{','.join(params)}|", f"{device_name}&{product_key}",
            aliyun_sign(secret, content, signmethod))


# The documented URL encoding of token values: exactly these eight characters.
_ONENET_ESCAPES = {"+": "%2B", " ": "%20", "/": "%2F", "?": "%3F", "%": "%25", "#": "%23", "&": "%26",
                   "=": "%3D"}


def onenet_encode(value: str) -> str:
    return "".join(_ONENET_ESCAPES.get(ch, ch) for ch in value)


def onenet_sign(key_b64: str, et: int, method: str, res: str, version: str = ONENET_VERSION) -> str:
    msg = f"{et}\n{method}\n{res}\n{version}".encode()
    return base64.b64encode(hmac.new(base64.b64decode(key_b64), msg, _TOKEN_HASHES[method]).digest()).decode()


def onenet_token(product_id: str, device_name: str, key_b64: str, et: int, method: str = "sha256",
                 res: str | None = None) -> str:
    res = res or f"products/{product_id}/devices/{device_name}"
    sign = onenet_sign(key_b64, et, method, res)
    return (f"version={ONENET_VERSION}&res={onenet_encode(res)}&et={et}&method={method}"
            f"&sign={onenet_encode(sign)}")


class Refusal(Exception):
    """A CONNECT the platform refuses: rc is the CONNACK code, or None to drop without CONNACK."""

    def __init__(self, rc: int | None, reason: str):
        super().__init__(reason)
        self.rc = rc
        self.reason = reason


@dataclass
class Connect:
    protocol_name: str = "MQTT"
    level: int = 4
    flags: int = 0
    keepalive: int = 0
    client_id: str = ""
    will_topic: str | None = None
    will_message: bytes | None = None
    username: str | None = None
    password: bytes | None = None

    @property
    def clean(self) -> bool:
        return bool(self.flags & 0x02)

    @property
    def will(self) -> bool:
        return bool(self.flags & 0x04)

    @property
    def password_text(self) -> str:
        return (self.password or b"").decode(errors="replace")


_ALIYUN_CID = re.compile(r"^(?P<id>[^|]*)\|(?P<params>[^|]*)\|$")


def aliyun_check(c: Connect, product_key: str, device_name: str, secret: str, tls: bool = False):
    """Returns (identity, notes) or raises Refusal with Aliyun's CONNACK code (aliyun.md §1, §3, §6)."""
    notes = []
    if c.level not in (3, 4):
        raise Refusal(1, f"unacceptable protocol level {c.level}")
    m = _ALIYUN_CID.match(c.client_id)
    if not m:
        raise Refusal(2, "clientId is not '<id>|<params>|'")
    cid = m.group("id")
    if not cid or len(cid) > 64:
        raise Refusal(2, f"clientId part must be 1..64 characters, got {len(cid)}")
    params = {}
    for kv in m.group("params").split(","):
        if not kv:
            continue  # the 4.x SDK ends its list with "ext=3,"
        k, sep, v = kv.partition("=")
        if not sep:
            raise Refusal(2, f"extended parameter {kv!r} is not key=value")
        params[k] = v
    mode = params.get("securemode")
    if mode not in ("2", "3"):
        raise Refusal(2, f"securemode must be 2 (TLS) or 3 (TCP), got {mode!r}")
    if mode != ("2" if tls else "3"):
        raise Refusal(2, f"securemode={mode} on a {'TLS' if tls else 'plain TCP'} connection")
    method = params.get("signmethod")
    if method not in _HASHES:
        raise Refusal(2, f"signmethod must be hmacsha256, hmacsha1 or hmacmd5, got {method!r}")
    ts = params.get("timestamp")
    if ts is not None and not ts.isdigit():
        raise Refusal(2, f"timestamp must be milliseconds, got {ts!r}")
    if not 30 <= c.keepalive <= 1200:
        raise Refusal(2, f"keepalive {c.keepalive} s outside 30..1200 s")
    if c.username is None or c.password is None:
        raise Refusal(4, "username and password are required")
    if c.username != f"{device_name}&{product_key}":
        raise Refusal(4, f"username {c.username!r} is not deviceName&productKey")
    want = aliyun_sign(secret, aliyun_content(cid, device_name, product_key, ts), method)
    if not hmac.compare_digest(c.password_text.upper(), want):
        raise Refusal(4, "password is not the HMAC of the sign content (wrong secret or content)")
    if c.will:
        notes.append("will message sent (Aliyun does not support will)")
    ext = params.get("ext", "0")
    return (product_key, device_name), notes, {"ext": int(ext) if ext.isdigit() else 0, "params": params}


def onenet_check(c: Connect, product_id: str, device_name: str, key_b64: str, now: float | None = None):
    """Returns identity or raises Refusal with OneNET's behaviour (onenet.md §1.2, §2, §3, §5)."""
    now = time.time() if now is None else now
    if c.level != 4:
        raise Refusal(1, f"protocol level {c.level}; OneNET wants MQTT 3.1.1")
    if c.will:
        raise Refusal(None, "will flag set (connect flags must be 0xC2)")
    if not c.clean:
        raise Refusal(None, "clean session must be 1 (connect flags must be 0xC2)")
    if c.username is None or c.password is None:
        raise Refusal(None, "username and password flags must be set (connect flags must be 0xC2)")
    if not 10 <= c.keepalive <= 1800:
        raise Refusal(None, f"keepalive {c.keepalive} s outside 10..1800 s")
    if c.username != product_id:
        raise Refusal(4, f"username {c.username!r} is not the product id")
    if c.client_id != device_name:
        raise Refusal(2, f"clientId {c.client_id!r} is not the device name")
    token = c.password_text
    fields = {}
    for part in token.split("&"):
        k, sep, v = part.partition("=")
        if not sep or k in fields:
            raise Refusal(4, f"token part {part!r} malformed")
        fields[k] = v
    missing = {"version", "res", "et", "method", "sign"} - set(fields)
    if missing:
        raise Refusal(4, f"token lacks {sorted(missing)}")
    raw = fields
    val = {k: urllib.parse.unquote(v) for k, v in raw.items()}
    for k in ("res", "sign"):
        if raw[k].upper() != onenet_encode(val[k]).upper():
            raise Refusal(4, f"token {k} is not URL-encoded as documented: {raw[k]!r}")
    if val["version"] != ONENET_VERSION:
        raise Refusal(4, f"token version {val['version']!r}")
    if val["method"] not in _TOKEN_HASHES:
        raise Refusal(4, f"token method {val['method']!r}")
    if not val["et"].isdigit():
        raise Refusal(4, f"token et {val['et']!r} is not Unix seconds")
    et = int(val["et"])
    if et <= now:
        raise Refusal(4, f"token expired (et {et} <= now {int(now)})")
    if val["res"] != f"products/{product_id}/devices/{device_name}":
        raise Refusal(4, f"token res {val['res']!r} is not products/<pid>/devices/<device name>")
    want = onenet_sign(key_b64, et, val["method"], val["res"], val["version"])
    if not hmac.compare_digest(val["sign"], want):
        raise Refusal(4, "token sign does not verify with the device key")
    return (product_id, device_name), [], {"et": et, "method": val["method"]}


# --- MQTT framing --------------------------------------------------------------------------------

def _rl(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _s(text: str | bytes) -> bytes:
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(b)) + b


def packet(first: int, body: bytes = b"") -> bytes:
    return bytes([first]) + _rl(len(body)) + body


def connect_packet(client_id: str, username=None, password=None, keepalive=60, clean=True,
                   will: tuple | None = None, level: int = 4) -> bytes:
    flags = (0x02 if clean else 0) | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    payload = _s(client_id)
    if will:
        flags |= 0x04
        payload += _s(will[0]) + _s(will[1])
    if username is not None:
        payload += _s(username)
    if password is not None:
        payload += _s(password)
    name = "MQTT" if level == 4 else "MQIsdp"
    return packet(0x10, _s(name) + bytes([level, flags]) + struct.pack("!H", keepalive) + payload)


def publish_packet(topic: str, payload: bytes, qos: int = 0, retain: bool = False, mid: int = 1,
                   dup: bool = False) -> bytes:
    body = _s(topic) + (struct.pack("!H", mid) if qos else b"") + payload
    return packet(0x30 | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0), body)


class _Reader:
    """Parses fields out of a packet body."""

    def __init__(self, data: bytes):
        self.d, self.i = data, 0

    def u8(self) -> int:
        if self.i >= len(self.d):
            raise ValueError("truncated")
        self.i += 1
        return self.d[self.i - 1]

    def u16(self) -> int:
        if self.i + 2 > len(self.d):
            raise ValueError("truncated")
        self.i += 2
        return struct.unpack("!H", self.d[self.i - 2:self.i])[0]

    def bytes_(self) -> bytes:
        n = self.u16()
        if self.i + n > len(self.d):
            raise ValueError("truncated")
        self.i += n
        return self.d[self.i - n:self.i]

    def text(self) -> str:
        return self.bytes_().decode("utf-8")

    def rest(self) -> bytes:
        r = self.d[self.i:]
        self.i = len(self.d)
        return r


def parse_connect(body: bytes) -> Connect:
    r = _Reader(body)
    c = Connect()
    c.protocol_name = r.text()
    c.level = r.u8()
    c.flags = r.u8()
    c.keepalive = r.u16()
    c.client_id = r.text()
    if c.flags & 0x04:
        c.will_topic = r.text()
        c.will_message = r.bytes_()
    if c.flags & 0x80:
        c.username = r.text()
    if c.flags & 0x40:
        c.password = r.bytes_()
    return c


async def _read_packet(reader: asyncio.StreamReader, limit: int):
    first = (await reader.readexactly(1))[0]
    mult, n = 1, 0
    for _ in range(4):
        b = (await reader.readexactly(1))[0]
        n += (b & 0x7F) * mult
        mult *= 128
        if not b & 0x80:
            break
    else:
        raise ValueError("malformed remaining length")
    if n > limit:
        raise ValueError(f"packet of {n} bytes over the platform limit {limit}")
    return first, await reader.readexactly(n)


def topic_matches(flt: str, topic: str) -> bool:
    f, t = flt.split("/"), topic.split("/")
    for i, part in enumerate(f):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(f) == len(t)


# --- uplink formats and rate limits (aliyun.md §4.3, §5; onenet.md §4.1, §5) ---------------------

ALIYUN_BAD_JSON = 6207    # Doc-Code-Cloud: the payload is not (Alink) JSON
ALIYUN_BAD_METHOD = 6300  # Doc-Code-Cloud: method missing / not the topic's
ALIYUN_BAD_PARAMS = 460   # Doc-Code-Dev/Cloud: request parameter error
ONENET_BAD_FORMAT = 2402  # field-observed {"id":null,"code":2402,"msg":"request format error"}
_MAX_AHEAD_MS = 24 * 3600 * 1000  # Doc-TSL: time at most 24 h in the future


def _rate_rules(mode: str, override) -> list[dict]:
    """Aliyun drops a device's uplink beyond 30 messages/s; OneNET MQTTS bans the device for 5 minutes
    after more than 100 QoS 1 (or 300 QoS 0) publishes in 5 s. override: None = these, False = none,
    (count, seconds) = replaces the first rule's numbers (e.g. to test faster)."""
    rules = {"aliyun": [{"qos": (0, 1), "count": 30, "window": 1.0, "action": "drop"}],
             "onenet": [{"qos": (1,), "count": 100, "window": 5.0, "action": "ban"},
                        {"qos": (0,), "count": 300, "window": 5.0, "action": "ban"}]}.get(mode, [])
    if override is False:
        return []
    if override is not None:
        rules = rules[:1] or [{"qos": (0, 1), "count": 0, "window": 1.0, "action": "drop"}]
        rules[0] = {**rules[0], "count": override[0], "window": float(override[1])}
    for r in rules:
        r["what"] = (f"more than {r['count']} QoS {'/'.join(map(str, r['qos']))} publishes in {r['window']:g} s"
                     + (" (excess dropped)" if r["action"] == "drop" else " (disconnect and ban)"))
    return rules


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _time_problem(v) -> str:
    if not _is_int(v):
        return f"time {v!r} is not an integer (milliseconds)"
    if v < 10 ** 12:
        return f"time {v} is not in milliseconds"
    if v > time.time() * 1000 + _MAX_AHEAD_MS:
        return f"time {v} is more than 24 h in the future"
    return ""


def _scalar(v) -> bool:
    return isinstance(v, (int, float, str)) and v is not None


def alink_check(payload: bytes, kind: str, event_id: str | None, strict: bool = True):
    """Checks an Alink JSON property/event post. Returns (doc, id, code, message): code 200 and
    message "success" when the platform would accept it, else Aliyun's error code and why."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return None, None, ALIYUN_BAD_JSON, "request is not JSON"
    if not isinstance(doc, dict):
        return None, None, ALIYUN_BAD_JSON, "request is not a JSON object"
    ident = doc.get("id")
    ident_ok = isinstance(ident, str) and ident.isdigit() and ident.isascii() and int(ident) <= 0xFFFFFFFF
    method = "thing.event.property.post" if kind == "property" else f"thing.event.{event_id}.post"
    if not ident_ok:
        return doc, ident if isinstance(ident, str) else None, ALIYUN_BAD_PARAMS, \
            f"id {ident!r} is not a decimal string in 0..4294967295"
    if "method" in doc or strict:
        if doc.get("method") != method:
            return doc, ident, ALIYUN_BAD_METHOD, f"method {doc.get('method')!r}, want {method!r}"
    if ("version" in doc or strict) and doc.get("version") != "1.0":
        return doc, ident, ALIYUN_BAD_PARAMS, f"version {doc.get('version')!r}, want \"1.0\""
    sys_ = doc.get("sys", {})
    if not isinstance(sys_, dict) or sys_.get("ack", 1) not in (0, 1):
        return doc, ident, ALIYUN_BAD_PARAMS, f"sys {sys_!r} is not {{\"ack\":0|1}}"
    params = doc.get("params")
    if not isinstance(params, dict):
        return doc, ident, ALIYUN_BAD_PARAMS, "params is not an object"
    if kind == "property":
        if not params:
            return doc, ident, ALIYUN_BAD_PARAMS, "params has no property"
        for k, v in params.items():
            if isinstance(v, dict):
                if "value" not in v or set(v) - {"value", "time"}:
                    return doc, ident, ALIYUN_BAD_PARAMS, f"property {k!r}: object without value (or extra keys)"
                if "time" in v and _time_problem(v["time"]):
                    return doc, ident, ALIYUN_BAD_PARAMS, f"property {k!r}: " + _time_problem(v["time"])
                v = v["value"]
            if v is None or (strict and not (_scalar(v) or isinstance(v, (list, dict)))):
                return doc, ident, ALIYUN_BAD_PARAMS, f"property {k!r}: value {v!r}"
    else:
        if not isinstance(params.get("value"), dict) or set(params) - {"value", "time"}:
            return doc, ident, ALIYUN_BAD_PARAMS, "event params are not {\"value\":{...},\"time\":ms}"
        if "time" in params and _time_problem(params["time"]):
            return doc, ident, ALIYUN_BAD_PARAMS, "event " + _time_problem(params["time"])
    return doc, ident, 200, "success"


def onejson_check(payload: bytes, kind: str, event_id: str | None = None, strict: bool = True):
    """Checks a OneJSON property/event post; same result shape as alink_check (2402 when rejected)."""
    bad = ONENET_BAD_FORMAT
    try:
        doc = json.loads(payload)
    except ValueError:
        return None, None, bad, "request is not JSON"
    if not isinstance(doc, dict):
        return None, None, bad, "request is not a JSON object"
    ident = doc.get("id")
    if not (isinstance(ident, str) and ident.isdigit() and ident.isascii() and len(ident) <= 13):
        return doc, None, bad, f"id {ident!r} is not a string of at most 13 digits"
    if ("version" in doc or strict) and doc.get("version") != "1.0":
        return doc, ident, bad, f"version {doc.get('version')!r}, want \"1.0\""
    params = doc.get("params")
    if not isinstance(params, dict) or not params:
        return doc, ident, bad, "params is not a non-empty object"
    for k, v in params.items():
        if not isinstance(v, dict) or "value" not in v or set(v) - {"value", "time"}:
            return doc, ident, bad, f"{kind} {k!r} is not {{\"value\":...,\"time\":ms}}"
        if "time" in v and _time_problem(v["time"]):
            return doc, ident, bad, f"{kind} {k!r}: " + _time_problem(v["time"])
        if kind == "event" and not isinstance(v["value"], dict):
            return doc, ident, bad, f"event {k!r}: value is not an object of output parameters"
        if kind == "property" and v["value"] is None:
            return doc, ident, bad, f"property {k!r}: value is null"
    return doc, ident, 200, "success"


# --- the emulator ------------------------------------------------------------------------------------

@dataclass
class ConnectRecord:
    time: float                  # time.monotonic()
    wall: float
    peer: str
    client_id: str
    username: str | None
    password: str                # what the client sent (to prove it never leaks elsewhere)
    keepalive: int
    clean: bool
    will: bool
    level: int
    rc: int | None               # CONNACK code sent, None = dropped without CONNACK
    reason: str                  # "" when accepted
    identity: tuple | None = None
    conn_id: int = 0


@dataclass
class _Conn:
    id: int
    writer: asyncio.StreamWriter
    peer: str
    record: ConnectRecord | None = None
    identity: tuple | None = None
    subs: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    closed_reason: str = ""
    last_rx: float = 0.0


class PlatformEmulator:
    LIMITS = {"aliyun": 1024 * 1024, "onenet": 256 * 1024, "generic": 16 * 1024 * 1024}

    def __init__(self, mode: str = "generic", *, product_key: str = "", device_name: str = "",
                 device_secret: str = "", product_id: str = "", device_key: str = "",
                 users: dict | None = None, port: int | None = None, host: str = "127.0.0.1",
                 login_limit: tuple | None = None, ban_seconds: float = 300.0,
                 enforce_keepalive: bool = True, check_formats: bool = True, strict_format: bool = True,
                 rate_limit=None):
        assert mode in ("aliyun", "onenet", "generic"), mode
        self.mode = mode
        self.product_key, self.device_name, self.device_secret = product_key, device_name, device_secret
        self.product_id, self.device_key = product_id, device_key
        self.users = users
        self.host = host
        self.port = port or 0
        # (count, seconds): OneNET bans a device for 5 minutes after more than 10 logins in 5 s.
        self.login_limit = login_limit if login_limit is not None else ((10, 5.0) if mode == "onenet" else None)
        self.ban_seconds = ban_seconds
        self.enforce_keepalive = enforce_keepalive
        self.lock = threading.Lock()
        self.connects: list[ConnectRecord] = []
        self.ping_log: list[tuple[float, str, tuple | None]] = []  # (time, client id, identity)
        self.publishes: list[dict] = []
        self.subscribes: list[tuple[float, str, str, int]] = []
        self.kicks: list[dict] = []
        self.violations: list[dict] = []
        self.protocol_errors: list[dict] = []
        self.closes: list[dict] = []
        # Uplink formats, platform replies, downlink requests (see the module docstring).
        self.check_formats, self.strict_format = check_formats, strict_format
        self.format_errors: list[dict] = []
        self.post_replies: list[dict] = []
        self.downlinks: list[dict] = []
        self.device_replies: list[dict] = []
        self.rate_drops: list[dict] = []
        self._post_reply = {"code": 200, "message": "success", "enabled": True}
        self._puback = True
        self._rate_rules = _rate_rules(mode, rate_limit)
        self._rate_times: dict = {}
        self._request_ids = itertools.count(100)
        self._banned_until: dict = {}
        self._login_times: dict = {}
        self._conns: dict[int, _Conn] = {}
        self._by_identity: dict = {}
        self._ids = itertools.count(1)
        self._frozen = None  # asyncio.Event, set = running
        self._loop = None
        self._server = None
        self._thread = None

    # --- lifecycle -----------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def __enter__(self) -> "PlatformEmulator":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        ready = threading.Event()
        err = []

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._start_server())
            except Exception as e:  # noqa: BLE001 - reported to the caller
                err.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name=f"emulator-{self.mode}")
        self._thread.start()
        ready.wait(10)
        if err:
            raise err[0]

    async def _start_server(self):
        self._running = asyncio.Event()
        self._running.set()
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Closes the listener and every connection (abruptly: a broker crash)."""
        if not self._loop or not self._thread.is_alive():
            return

        async def shutdown():
            self._running.set()
            self._server.close()
            for c in list(self._conns.values()):
                self._abort(c, "emulator stopped")
            await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, fn, *args):
        """Runs fn(*args) on the emulator's loop and returns its result."""
        async def wrap():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(wrap(), self._loop).result(5)

    def freeze(self) -> None:
        """Stop reading and answering everything (a silently dropped flow, seen from the client)."""
        self._call(self._running.clear)

    def thaw(self) -> None:
        self._call(self._running.set)

    def kick(self, identity=None) -> int:
        """Closes the connections of `identity` (all when None); returns how many."""
        def do():
            n = 0
            for c in list(self._conns.values()):
                if identity is None or c.identity == identity:
                    self._abort(c, "kicked by the test")
                    n += 1
            return n
        return self._call(do)

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, identity=None, force: bool = False) -> int:
        """Sends a downlink PUBLISH to connected clients subscribed to `topic` (all with force)."""
        data = payload.encode() if isinstance(payload, str) else payload

        def do():
            n = 0
            for c in list(self._conns.values()):
                if c.record is None or (identity is not None and c.identity != identity):
                    continue
                if force or any(topic_matches(f, topic) for f in c.subs):
                    c.writer.write(publish_packet(topic, data, qos=qos, mid=next(self._ids) % 65535 + 1))
                    n += 1
            return n
        return self._call(do)

    # --- uplink posts, platform replies and downlink requests (thread-safe) ---------------------
    def set_post_reply(self, code: int = 200, message: str = "success", enabled: bool = True) -> None:
        """How well-formed property/event posts are answered from now on: `code` (200 = accepted, e.g.
        6813 or 429 on aliyun, 2402 on onenet = rejected, id echoed), or no reply when not enabled."""
        with self.lock:
            self._post_reply = {"code": code, "message": message, "enabled": enabled}

    def _reply_topic(self, kind: str, event_id: str | None) -> str:
        pre = self._device_prefix()
        if self.mode == "aliyun":
            return pre + f"thing/event/{'property' if kind == 'property' else event_id}/post_reply"
        return pre + f"thing/{kind}/post/reply"

    def _inject_reply(self, topic: str, data: bytes, doc: dict | None, code, ident) -> int:
        identity = ((self.product_key, self.device_name) if self.mode == "aliyun"
                    else (self.product_id, self.device_name))

        def do():
            c = self._by_identity.get(identity)
            delivered = self._deliver(c, topic, data, 0) if c is not None else 0
            with self.lock:
                self.post_replies.append({"time": time.monotonic(), "topic": topic, "payload": data, "json": doc,
                                          "code": code, "id": ident, "delivered": delivered, "post": None,
                                          "injected": True})
            return delivered
        return self._call(do)

    def send_post_reply(self, ident, code: int = 200, message: str = "success", kind: str = "property",
                        event_id: str | None = None) -> int:
        """Sends the connected device a reply to post `ident` (a string, as the platforms echo it) that
        no post of this connection asked for, in the platform's reply format on the reply topic of
        `kind` ("property" | "event"; aliyun events need event_id). Returns 1 when it was delivered."""
        if self.mode == "aliyun":
            doc = {"code": code, "data": {}, "id": ident, "message": message, "version": "1.0"}
        else:
            doc = {"id": ident, "code": code, "msg": message}
        data = json.dumps(doc, separators=(",", ":")).encode()
        return self._inject_reply(self._reply_topic(kind, event_id), data, doc, code, ident)

    def resend_post_reply(self, record: dict) -> int:
        """Sends a post_replies record's payload again on its topic (a duplicate answer); returns 1
        when it was delivered."""
        return self._inject_reply(record["topic"], record["payload"], record["json"], record["code"], record["id"])

    def set_puback(self, enabled: bool = True) -> None:
        """Whether later QoS 1 publishes are acknowledged (see the module docstring)."""
        with self.lock:
            self._puback = enabled

    def received(self, topic_filter: str = "#") -> list[dict]:
        """Every PUBLISH received from devices whose topic matches `topic_filter` (see publishes)."""
        with self.lock:
            return [p for p in self.publishes if topic_matches(topic_filter, p["topic"])]

    def posts(self, kind: str | None = None, include_bad: bool = False) -> list[dict]:
        """Property/event posts that passed the format check (and were not dropped), in arrival order.
        kind: "property" | "event" | None. Each is a publishes record; "json" is the parsed payload."""
        with self.lock:
            return [p for p in self.publishes if p["kind"] and (kind is None or p["kind"] == kind)
                    and not p["dropped"] and (include_bad or not p["format_error"])]

    def wait_posts(self, n: int, timeout: float = 10.0, kind: str | None = None) -> list[dict]:
        """posts(kind) once there are at least n of them, or whatever arrived by the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.posts(kind)
            if len(got) >= n or time.monotonic() >= deadline:
                return got
            time.sleep(0.02)

    def _device_prefix(self) -> str:
        if self.mode == "aliyun":
            return f"/sys/{self.product_key}/{self.device_name}/"
        if self.mode == "onenet":
            return f"$sys/{self.product_id}/{self.device_name}/"
        raise ValueError("downlink requests need mode aliyun or onenet")

    def _request(self, kind: str, topic: str, payload: bytes, ident: str, qos: int) -> str:
        identity = ((self.product_key, self.device_name) if self.mode == "aliyun"
                    else (self.product_id, self.device_name))

        def do():
            c = self._by_identity.get(identity)
            delivered = self._deliver(c, topic, payload, qos) if c is not None else 0
            with self.lock:
                self.downlinks.append({"time": time.monotonic(), "kind": kind, "id": ident, "topic": topic,
                                       "payload": payload, "qos": qos, "delivered": delivered})
        self._call(do)
        return ident

    def _json_request(self, kind: str, suffix: str, method: str | None, params, qos: int) -> str:
        ident = str(next(self._request_ids))
        doc = {"id": ident, "version": "1.0", "params": params}
        if method:
            doc["method"] = method
        return self._request(kind, self._device_prefix() + suffix, json.dumps(doc).encode(), ident, qos)

    def property_set(self, params: dict, qos: int = 0) -> str:
        """Platform -> device property set (aliyun thing/service/property/set, onenet thing/property/set).
        Returns the request id; the device's answer shows up in wait_reply(id)."""
        if self.mode == "aliyun":
            return self._json_request("property_set", "thing/service/property/set", "thing.service.property.set",
                                      params, qos)
        return self._json_request("property_set", "thing/property/set", None, params, qos)

    def property_get(self, identifiers: list, qos: int = 0) -> str:
        """OneNET property get (thing/property/get, params = list of identifiers); returns the id."""
        assert self.mode == "onenet", "property get is a OneNET request"
        return self._json_request("property_get", "thing/property/get", None, list(identifiers), qos)

    def service_call(self, service_id: str, params: dict | None = None, qos: int = 0) -> str:
        """Service call (aliyun thing/service/<id>, onenet thing/service/<id>/invoke); returns the id."""
        if self.mode == "aliyun":
            return self._json_request("service_call", f"thing/service/{service_id}",
                                      f"thing.service.{service_id}", params or {}, qos)
        return self._json_request("service_call", f"thing/service/{service_id}/invoke", None, params or {}, qos)

    def command(self, payload: bytes | str, qos: int = 0) -> str:
        """Opaque command: onenet cmd/request/<cmdid> (answered on cmd/response/<cmdid>), aliyun RRPC
        rrpc/request/<messageId> (answered on rrpc/response/<messageId>). Returns the cmd/message id."""
        data = payload.encode() if isinstance(payload, str) else payload
        ident = str(next(self._request_ids))
        suffix = f"rrpc/request/{ident}" if self.mode == "aliyun" else f"cmd/request/{ident}"
        return self._request("command", self._device_prefix() + suffix, data, ident, qos)

    def wait_reply(self, request_id: str, timeout: float = 5.0) -> dict | None:
        """The device's first answer to request `request_id` (a device_replies record), or None."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = next((r for r in self.device_replies if r["request"] and r["request"]["id"] == request_id),
                           None)
            if got is not None or time.monotonic() >= deadline:
                return got
            time.sleep(0.02)

    # --- queries (thread-safe) -----------------------------------------------------------
    def accepted(self) -> list[ConnectRecord]:
        with self.lock:
            return [r for r in self.connects if r.rc == 0]

    def refused(self) -> list[ConnectRecord]:
        with self.lock:
            return [r for r in self.connects if r.rc != 0]

    def pings(self, client_id: str | None = None) -> list[float]:
        with self.lock:
            return [t for t, cid, _ in self.ping_log if client_id is None or cid == client_id]

    def connected_count(self) -> int:
        return self._call(lambda: sum(1 for c in self._conns.values() if c.record and c.record.rc == 0))

    def snapshot(self) -> dict:
        with self.lock:
            return {"connects": list(self.connects), "kicks": list(self.kicks),
                    "violations": list(self.violations), "protocol_errors": list(self.protocol_errors),
                    "closes": list(self.closes), "format_errors": list(self.format_errors),
                    "rate_drops": list(self.rate_drops), "device_replies": list(self.device_replies)}

    # --- connection handling (emulator loop) --------------------------------------------------
    def _abort(self, c: _Conn, reason: str, rst: bool = False) -> None:
        if c.closed_reason:
            return
        c.closed_reason = reason
        with self.lock:
            self.closes.append({"time": time.monotonic(), "conn": c.id, "peer": c.peer,
                                "identity": c.identity, "reason": reason})
        if rst:
            sock = c.writer.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            c.writer.transport.abort()
        else:
            c.writer.close()
        self._conns.pop(c.id, None)
        if c.identity is not None and self._by_identity.get(c.identity) is c:
            del self._by_identity[c.identity]

    def _protocol_error(self, c: _Conn, what: str) -> None:
        with self.lock:
            self.protocol_errors.append({"time": time.monotonic(), "conn": c.id, "peer": c.peer,
                                         "identity": c.identity, "what": what})
        self._abort(c, "protocol error: " + what)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = "%s:%d" % writer.get_extra_info("peername")[:2]
        c = _Conn(next(self._ids), writer, peer, last_rx=time.monotonic())
        self._conns[c.id] = c
        watchdog = asyncio.ensure_future(self._keepalive_watchdog(c, reader))
        try:
            while not c.closed_reason:
                await self._running.wait()
                try:
                    first, body = await _read_packet(reader, self.LIMITS[self.mode])
                except (asyncio.IncompleteReadError, ConnectionError):
                    self._abort(c, "client closed the connection")
                    break
                except ValueError as e:
                    self._protocol_error(c, str(e))
                    break
                if not self._running.is_set():
                    await self._running.wait()  # frozen mid-read: hold the packet until thawed
                    if c.closed_reason:
                        break
                c.last_rx = time.monotonic()
                try:
                    self._dispatch(c, first, body)
                except (ValueError, UnicodeDecodeError) as e:
                    self._protocol_error(c, f"malformed packet 0x{first:02x}: {e}")
                try:
                    await writer.drain()
                except ConnectionError:
                    self._abort(c, "connection reset")
        finally:
            watchdog.cancel()
            self._abort(c, c.closed_reason or "handler ended")

    async def _keepalive_watchdog(self, c: _Conn, reader) -> None:
        # The platforms close a connection that sent nothing for 1.5 x keepalive.
        while not c.closed_reason:
            await asyncio.sleep(0.5)
            if not self.enforce_keepalive or c.record is None or c.record.rc != 0 or not c.record.keepalive:
                continue
            if not self._running.is_set():
                continue
            if time.monotonic() - c.last_rx > 1.5 * c.record.keepalive:
                self._abort(c, "Keepalive timeout")

    def _dispatch(self, c: _Conn, first: int, body: bytes) -> None:
        kind = first >> 4
        if c.record is None and kind != 1:
            self._protocol_error(c, f"packet type {kind} before CONNECT")
            return
        if kind == 1:
            if c.record is not None:
                self._protocol_error(c, "second CONNECT on one connection")
                return
            self._on_connect(c, parse_connect(body))
        elif kind == 3:
            self._on_publish(c, first, body)
        elif kind == 4:
            pass  # PUBACK for a downlink
        elif kind in (5, 6, 7):
            self._protocol_error(c, "QoS 2 flow (PUBREC/PUBREL/PUBCOMP) is not supported")
        elif kind == 8:
            self._on_subscribe(c, first, body)
        elif kind == 10:
            r = _Reader(body)
            mid = r.u16()
            c.writer.write(packet(0xB0, struct.pack("!H", mid)))
        elif kind == 12:
            now = time.monotonic()
            with self.lock:
                self.ping_log.append((now, c.record.client_id, c.identity))
                recent = [t for t, _, ident in self.ping_log if ident == c.identity and now - t < 5.0]
            if self.mode == "onenet" and len(recent) > 10:
                self._violation(c, "PINGREQ more than 10 in 5 s", kind="ping")
                return
            c.writer.write(packet(0xD0))
        elif kind == 14:
            self._abort(c, "client sent DISCONNECT")
        else:
            self._protocol_error(c, f"unexpected packet type {kind}")

    def _violation(self, c: _Conn, what: str, kind: str = "login") -> None:
        with self.lock:
            self.violations.append({"time": time.monotonic(), "peer": c.peer, "identity": c.identity,
                                    "kind": kind, "action": "banned", "what": what})
        if c.identity is not None:
            self._banned_until[c.identity] = time.monotonic() + self.ban_seconds
        self._abort(c, "violation: " + what, rst=True)

    def _check(self, conn: Connect, tls: bool = False):
        if self.mode == "aliyun":
            return aliyun_check(conn, self.product_key, self.device_name, self.device_secret, tls)
        if self.mode == "onenet":
            return onenet_check(conn, self.product_id, self.device_name, self.device_key)
        if self.users is not None:
            if conn.username not in self.users or self.users[conn.username] != conn.password_text:
                raise Refusal(5 if conn.username is None else 4, "bad user name or password")
        return conn.client_id, [], {}

    def _identity_guess(self, conn: Connect):
        """Who the device claims to be, before its credentials are checked (for login limits)."""
        if self.mode == "aliyun":
            return (self.product_key, self.device_name) if conn.username == f"{self.device_name}&{self.product_key}" else None
        if self.mode == "onenet":
            return (conn.username, conn.client_id)
        return conn.client_id

    def _on_connect(self, c: _Conn, conn: Connect) -> None:
        now = time.monotonic()
        rec = ConnectRecord(now, time.time(), c.peer, conn.client_id, conn.username, conn.password_text,
                            conn.keepalive, conn.clean, conn.will, conn.level, None, "", None, c.id)
        c.record = rec
        who = self._identity_guess(conn)
        with self.lock:
            self.connects.append(rec)
        if who is not None and self._banned_until.get(who, 0) > now:
            rec.reason = "device banned (login limit)"
            self._abort(c, rec.reason, rst=True)
            return
        if who is not None and self.login_limit:
            count, window = self.login_limit
            times = [t for t in self._login_times.get(who, []) if now - t < window] + [now]
            self._login_times[who] = times
            if len(times) > count:
                rec.reason = f"more than {count} CONNECTs in {window:g} s"
                c.identity = who
                self._violation(c, rec.reason)
                return
        try:
            identity, notes, info = self._check(conn)
        except Refusal as r:
            rec.rc, rec.reason = r.rc, r.reason
            if r.rc is not None:
                c.writer.write(packet(0x20, bytes([0, r.rc])))
            # The platforms close the connection after a refusal.
            self._abort(c, "refused: " + r.reason)
            return
        rec.rc, rec.identity = 0, identity
        c.identity, c.info = identity, info
        for n in notes:
            with self.lock:
                self.protocol_errors.append({"time": now, "conn": c.id, "peer": c.peer, "identity": identity,
                                             "what": n})
        old = self._by_identity.get(identity)
        if old is not None and old is not c:
            with self.lock:
                self.kicks.append({"time": now, "identity": identity, "old_peer": old.peer, "new_peer": c.peer,
                                   "old_conn": old.id, "new_conn": c.id})
            if self.mode == "aliyun" and old.info.get("ext", 0) & 2:
                old.writer.write(publish_packet("/ext/notify", b'{"title":"kick","content":"Kicked by the same device"}'))
            self._abort(old, "Kicked by the same device")
        self._by_identity[identity] = c
        c.writer.write(packet(0x20, bytes([0, 0])))

    def _on_publish(self, c: _Conn, first: int, body: bytes) -> None:
        qos = (first >> 1) & 3
        retain = bool(first & 1)
        r = _Reader(body)
        topic = r.text()
        mid = r.u16() if qos else 0
        payload = r.rest()
        rec = {"time": time.monotonic(), "wall": time.time(), "conn": c.id, "client_id": c.record.client_id,
               "identity": c.identity, "topic": topic, "payload": payload, "qos": qos, "retain": retain,
               "mid": mid, "dup": bool(first & 0x08), "dropped": False, "kind": None, "event_id": None,
               "id": None, "json": None, "format_error": "", "reply": None, "acked": False}
        with self.lock:
            self.publishes.append(rec)
        if qos > 1:
            self._protocol_error(c, f"PUBLISH QoS {qos} (platform supports 0 and 1)")
            return
        if retain and self.mode != "generic":
            self._protocol_error(c, "retained PUBLISH (platform does not support retain)")
            return
        if self.mode == "onenet":
            pid, dn = c.identity
            if not topic.startswith(f"$sys/{pid}/{dn}/") or not re.fullmatch(r"[A-Za-z0-9/_$-]+", topic):
                self._protocol_error(c, f"PUBLISH to illegal topic {topic!r}")
                return
        if not self._rate_check(c, qos, rec):
            return  # banned: disconnected without PUBACK
        with self.lock:
            puback = self._puback
        if qos == 1 and puback:
            rec["acked"] = True
            c.writer.write(packet(0x40, struct.pack("!H", mid)))
        if rec["dropped"]:
            return
        if self.mode in ("aliyun", "onenet"):
            if self.check_formats:
                self._check_post(c, rec)
            self._check_device_reply(c, rec)
        # Local delivery, so a test can see its own uplink (and count Received) when subscribed.
        for other in list(self._conns.values()):
            if other.record and other.record.rc == 0 and any(topic_matches(f, topic) for f in other.subs):
                other.writer.write(publish_packet(topic, payload, qos=0))

    # --- rate limits (emulator loop) -------------------------------------------------------------
    def _rate_check(self, c: _Conn, qos: int, rec: dict) -> bool:
        """Counts the publish against every rule; False when the device got banned."""
        now = rec["time"]
        for i, rule in enumerate(self._rate_rules):
            if qos not in rule["qos"]:
                continue
            times = self._rate_times.setdefault((c.identity, i), collections.deque())
            while times and now - times[0] >= rule["window"]:
                times.popleft()
            times.append(now)
            if len(times) <= rule["count"]:
                continue
            if rule["action"] == "drop":
                rec["dropped"] = True
                with self.lock:
                    self.rate_drops.append(rec)
                    self.violations.append({"time": now, "peer": c.peer, "identity": c.identity, "kind": "rate",
                                            "action": "dropped", "what": rule["what"], "topic": rec["topic"]})
            else:
                self._violation(c, rule["what"], kind="rate")
                return False
        return True

    # --- uplink formats and the platform's replies (emulator loop) -------------------------------
    def _post_kind(self, c: _Conn, topic: str):
        """("property"|"event", event id or None, reply topic) for a post topic of this device, else None."""
        if self.mode == "aliyun":
            pk, dn = c.identity
            m = re.fullmatch(rf"/sys/{re.escape(pk)}/{re.escape(dn)}/thing/event/([^/]+)/post", topic)
            if not m:
                return None
            return ("property", None, topic + "_reply") if m.group(1) == "property" else \
                ("event", m.group(1), topic + "_reply")
        pid, dn = c.identity
        m = re.fullmatch(rf"\$sys/{re.escape(pid)}/{re.escape(dn)}/thing/(property|event)/post", topic)
        return (m.group(1), None, topic + "/reply") if m else None

    def _check_post(self, c: _Conn, rec: dict) -> None:
        found = self._post_kind(c, rec["topic"])
        if found is None:
            return
        kind, event_id, reply_topic = found
        rec["kind"], rec["event_id"] = kind, event_id
        check = alink_check if self.mode == "aliyun" else onejson_check
        doc, ident, code, what = check(rec["payload"], kind, event_id, self.strict_format)
        rec["json"], rec["id"] = doc, ident
        if code != 200:
            rec["format_error"] = what
            with self.lock:
                self.format_errors.append({"time": rec["time"], "topic": rec["topic"], "payload": rec["payload"],
                                           "code": code, "what": what})
        else:
            with self.lock:
                code, message, enabled = (self._post_reply["code"], self._post_reply["message"],
                                          self._post_reply["enabled"])
            if not enabled:
                return
            what = message
        if self.mode == "aliyun":
            if code == 200 and isinstance(doc.get("sys"), dict) and doc["sys"].get("ack") == 0:
                return  # sys.ack 0: the device asked for no reply
            reply = {"code": code, "data": {}, "id": ident if ident is not None else "", "message": what,
                     "version": "1.0"}
        else:
            # Field-observed: a rejected OneJSON post is answered with "id": null (onenet.md §4.1).
            reply = {"id": None if rec["format_error"] else ident, "code": code, "msg": what}
        data = json.dumps(reply, separators=(",", ":")).encode()
        delivered = self._deliver(c, reply_topic, data, 0)
        out = {"time": time.monotonic(), "topic": reply_topic, "payload": data, "json": reply, "code": code,
               "id": ident, "delivered": delivered, "post": rec}
        rec["reply"] = out
        with self.lock:
            self.post_replies.append(out)

    def _deliver(self, c: _Conn, topic: str, data: bytes, qos: int) -> int:
        """Sends a platform message to the device's connection `c` when it can receive it: subscribed
        to a matching filter, or (aliyun) logged in with _ss=1 (server-side subscription)."""
        if c.closed_reason:
            return 0
        auto = self.mode == "aliyun" and c.info.get("params", {}).get("_ss") == "1" and topic.startswith("/sys/")
        if not auto and not any(topic_matches(f, topic) for f in c.subs):
            return 0
        c.writer.write(publish_packet(topic, data, qos=qos, mid=next(self._ids) % 65535 + 1))
        return 1

    def _check_device_reply(self, c: _Conn, rec: dict) -> None:
        """A device's answer to a downlink request: recorded, checked and matched to the request."""
        topic = rec["topic"]
        if self.mode == "aliyun":
            pre = "/sys/%s/%s/" % c.identity
            m = re.fullmatch(re.escape(pre) + r"(?:thing/service/(property/set|[^/]+)_reply|rrpc/response/([^/]+))",
                             topic)
            if not m:
                return
            raw_key = m.group(2)
            req_topic = pre + ("rrpc/request/" + raw_key if raw_key else "thing/service/" + m.group(1))
        else:
            pre = "$sys/%s/%s/" % c.identity
            m = re.fullmatch(re.escape(pre) + r"(?:thing/property/(set|get)_reply|thing/service/([^/]+)/invoke_reply"
                             r"|cmd/response/([^/]+))", topic)
            if not m:
                return
            raw_key = m.group(3)
            if raw_key:
                req_topic = pre + "cmd/request/" + raw_key
            elif m.group(1):
                req_topic = pre + "thing/property/" + m.group(1)
            else:
                req_topic = pre + f"thing/service/{m.group(2)}/invoke"
        problems, doc, ident, code = [], None, None, None
        if raw_key:
            ident = raw_key
        else:
            try:
                doc = json.loads(rec["payload"])
            except ValueError:
                doc = None
            if not isinstance(doc, dict):
                problems.append("reply is not a JSON object")
            else:
                ident, code = doc.get("id"), doc.get("code")
                if not isinstance(ident, str) or not ident:
                    problems.append(f"reply id {ident!r} is not the request's id string")
                if not isinstance(code, int) or isinstance(code, bool):
                    problems.append(f"reply code {code!r} is not a number")
                if self.mode == "aliyun" and "data" not in doc:
                    problems.append("Alink reply without data")
                if self.mode == "onenet" and "msg" in doc and not isinstance(doc["msg"], str):
                    problems.append("OneJSON reply msg is not a string")
        with self.lock:
            req = next((d for d in self.downlinks if d["id"] == ident), None)
        if req is None:
            problems.append(f"reply to unknown request id {ident!r}")
        elif req["topic"] != req_topic:
            problems.append(f"reply on {topic} does not answer {req['topic']}")
        out = {"time": rec["time"], "topic": topic, "payload": rec["payload"], "json": doc, "id": ident,
               "code": code, "request": req, "problems": problems, "qos": rec["qos"]}
        with self.lock:
            self.device_replies.append(out)
            if problems:
                self.format_errors.append({"time": rec["time"], "topic": topic, "payload": rec["payload"],
                                           "code": None, "what": "; ".join(problems)})

    def _on_subscribe(self, c: _Conn, first: int, body: bytes) -> None:
        if first != 0x82:
            self._protocol_error(c, f"SUBSCRIBE with fixed header 0x{first:02x}")
            return
        r = _Reader(body)
        mid = r.u16()
        granted = []
        while r.i < len(r.d):
            topic = r.text()
            qos = r.u8()
            with self.lock:
                self.subscribes.append((time.monotonic(), c.record.client_id, topic, qos))
            ok = True
            if self.mode == "onenet":
                pid, dn = c.identity
                ok = topic.startswith(f"$sys/{pid}/{dn}/")
                g = 0  # OneNET grants at most QoS 0
            else:
                g = min(qos, 1)
            if ok:
                c.subs[topic] = g
            granted.append(g if ok else 0x80)
        c.writer.write(packet(0x90, struct.pack("!H", mid) + bytes(granted)))


# --- a tiny blocking client -------------------------------------------------------------------

class MiniClient:
    """One MQTT 3.1.1 connection, blocking socket. source binds the local address (e.g. 127.0.0.2
    to tell this client from the daemon in a broker's log)."""

    def __init__(self, host: str, port: int, client_id: str, username=None, password=None, keepalive=60,
                 clean=True, will=None, source: str | None = None, timeout: float = 5.0):
        self.host, self.port = host, port
        self.client_id, self.username, self.password = client_id, username, password
        self.keepalive, self.clean, self.will, self.source = keepalive, clean, will, source
        self.timeout = timeout
        self.sock = None
        self.buf = b""
        self.messages: list[tuple[str, bytes]] = []
        self._mid = 0

    def connect(self) -> int | None:
        """Returns the CONNACK code, or None when the server closed without one."""
        self.sock = socket.create_connection((self.host, self.port), self.timeout,
                                             source_address=(self.source, 0) if self.source else None)
        self.sock.sendall(connect_packet(self.client_id, self.username, self.password, self.keepalive, self.clean,
                                         self.will))
        try:
            first, body = self.read_packet()
        except (ConnectionError, EOFError, socket.timeout):
            self.close()
            return None
        if first != 0x20 or len(body) != 2:
            raise ValueError(f"expected CONNACK, got 0x{first:02x}")
        return body[1]

    def read_packet(self, timeout: float | None = None):
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        while True:
            if len(self.buf) >= 2:
                n, mult, i = 0, 1, 1
                while i < len(self.buf):
                    b = self.buf[i]
                    n += (b & 0x7F) * mult
                    mult *= 128
                    i += 1
                    if not b & 0x80:
                        break
                else:
                    i = None
                if i is not None and len(self.buf) >= i + n and not (self.buf[i - 1] & 0x80):
                    first, body = self.buf[0], self.buf[i:i + n]
                    self.buf = self.buf[i + n:]
                    return first, body
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("server closed the connection")
            self.buf += data

    def _next_mid(self) -> int:
        self._mid = self._mid % 65535 + 1
        return self._mid

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self.sock.sendall(publish_packet(topic, data, qos, retain, self._next_mid()))
        if qos == 1:
            self.expect(0x40)

    def subscribe(self, topic: str, qos: int = 0) -> int:
        self.sock.sendall(packet(0x82, struct.pack("!H", self._next_mid()) + _s(topic) + bytes([qos])))
        return self.expect(0x90)[-1]

    def ping(self) -> None:
        self.sock.sendall(packet(0xC0))
        self.expect(0xD0)

    def expect(self, first: int, timeout: float | None = None) -> bytes:
        while True:
            f, body = self.read_packet(timeout)
            if f >> 4 == 3:
                r = _Reader(body)
                topic = r.text()
                if (f >> 1) & 3:
                    r.u16()
                self.messages.append((topic, r.rest()))
                if first >> 4 == 3:
                    return body
                continue
            if f == first:
                return body
            raise ValueError(f"expected 0x{first:02x}, got 0x{f:02x}")

    def wait_closed(self, timeout: float) -> bool:
        """True when the server closed the connection within `timeout` (messages are collected)."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    f, body = self.read_packet(max(0.05, deadline - time.monotonic()))
                except socket.timeout:
                    return False
                if f >> 4 == 3:
                    r = _Reader(body)
                    topic = r.text()
                    if (f >> 1) & 3:
                        r.u16()
                    self.messages.append((topic, r.rest()))
        except (EOFError, ConnectionError):
            return True
        return False

    def disconnect(self) -> None:
        try:
            if self.sock:
                self.sock.sendall(packet(0xE0))
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        if self.sock:
            self.sock.close()
            self.sock = None


class Kicker:
    """A second device with the same identity that logs in again `delay` s after being kicked,
    like a cloned gateway. credentials() -> (client_id, username, password), fresh per login."""

    def __init__(self, host: str, port: int, credentials, keepalive: int = 60, delay: float = 2.0,
                 source: str = "127.0.0.2", max_logins: int = 50):
        self.host, self.port, self.credentials = host, port, credentials
        self.keepalive, self.delay, self.source, self.max_logins = keepalive, delay, source, max_logins
        self.logins: list[tuple[float, int | None]] = []
        self.kicked: list[float] = []
        self.messages: list[tuple[str, bytes]] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True, name="kicker")
        self._client = None

    def __enter__(self) -> "Kicker":
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._client:
            self._client.close()
        self._t.join(5)

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.logins) < self.max_logins:
            cid, user, pw = self.credentials()
            c = MiniClient(self.host, self.port, cid, user, pw, self.keepalive, source=self.source)
            self._client = c
            try:
                rc = c.connect()
            except OSError:
                rc = None
            self.logins.append((time.monotonic(), rc))
            if rc == 0:
                while not self._stop.is_set():
                    if c.wait_closed(0.2):
                        self.kicked.append(time.monotonic())
                        break
                self.messages += c.messages
            c.close()
            self._stop.wait(self.delay)


# --- self test ------------------------------------------------------------------------------------

def selftest() -> list[str]:
    """Returns a list of failures (empty = all good)."""
    fails = []

    def check(cond, what):
        if not cond:
            fails.append(what)

    # Aliyun published vector (aliyun.md §1.2): hmacsha1, TCP, timestamp 789.
    c = Connect(client_id="12345|securemode=3,signmethod=hmacsha1,timestamp=789|", username="device&pk",
                password=b"FAFD82A3D602B37FB0FA8B7892F24A477F851A14", keepalive=60, flags=0xC2)
    try:
        aliyun_check(c, "pk", "device", "secret")
    except Refusal as r:
        fails.append(f"aliyun published vector refused: {r.reason}")
    c.password = b"fafd82a3d602b37fb0fa8b7892f24a477f851a14"  # hex case is not significant
    try:
        aliyun_check(c, "pk", "device", "secret")
    except Refusal as r:
        fails.append(f"aliyun lower-case vector refused: {r.reason}")
    for bad, rc in ((dict(password=b"FAFD82A3D602B37FB0FA8B7892F24A477F851A15"), 4),
                    (dict(username="pk&device"), 4),
                    (dict(client_id="12345|securemode=2,signmethod=hmacsha1,timestamp=789|"), 2),
                    (dict(client_id="12345|securemode=3,signmethod=sha1,timestamp=789|"), 2),
                    (dict(client_id="12345|securemode=3,signmethod=hmacsha1,timestamp=789"), 2),
                    (dict(keepalive=29), 2), (dict(keepalive=1201), 2), (dict(level=5), 1)):
        c2 = Connect(**{**c.__dict__, **bad})
        try:
            aliyun_check(c2, "pk", "device", "secret")
            fails.append(f"aliyun accepted {bad}")
        except Refusal as r:
            check(r.rc == rc, f"aliyun {bad}: rc {r.rc}, want {rc}")
    # The other signmethods, computed vectors (aliyun.md §1.2).
    content = "clientId12345deviceNamedeviceproductKeypktimestamp789"
    check(aliyun_content("12345", "device", "pk", "789") == content, "aliyun content order")
    check(aliyun_sign("secret", content, "hmacsha256")
          == "6074A46A91B1EBB2CC4EA42790AD0E80202C9843859FC292E57C4EB19FAD9E57", "aliyun hmacsha256 vector")
    check(aliyun_sign("secret", content, "hmacmd5") == "14B198324FE55E1D3C88F2E705E201EE", "aliyun hmacmd5 vector")
    # 4.x-style worked example (§1.5).
    cid, user, pw = aliyun_credentials("pk", "device", "secret", securemode=2)
    check(pw == "2EAB47D05EC94FAB1A34E7E9F54AEBD34A1E15770F932E05300193007E0091E9", "aliyun 4.x example")

    # OneNET published vector (onenet.md §2.4).
    key = "EnW4T71eIE55xOIQMN6pFMKuqel5T5HTzsGJRPiDhlM="
    published = ("version=2018-10-31&res=products%2F238322%2Fdevices%2Fmqtts-test-device&et=7557387130"
                 "&method=sha1&sign=Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D")
    check(onenet_token("238322", "mqtts-test-device", key, 7557387130, "sha1") == published, "onenet token builder")
    o = Connect(client_id="mqtts-test-device", username="238322", password=published.encode(), keepalive=120,
                flags=0xC2)
    try:
        onenet_check(o, "238322", "mqtts-test-device", key)
    except Refusal as r:
        fails.append(f"onenet published vector refused: {r.reason}")
    check(onenet_sign(key, 7557387130, "md5", "products/238322/devices/mqtts-test-device")
          == "9z6sXacZSD2aPEH8lbVPyA==", "onenet md5 vector")
    check(onenet_sign(key, 7557387130, "sha256", "products/238322/devices/mqtts-test-device")
          == "hVAf8QEdu5v4O/vqQmyNzkkxVMzvZOpwtrXXmhyGu7M=", "onenet sha256 vector")
    unencoded = published.replace("%2F", "/").replace("%2B", "+").replace("%3D", "=")
    for bad, rc in ((dict(password=published.replace("Rs0u", "Rs0v").encode()), 4),
                    (dict(password=unencoded.encode()), 4),
                    (dict(password=published.replace("7557387130", "1500000000").encode()), 4),
                    (dict(username="238323"), 4), (dict(client_id="other"), 2),
                    (dict(keepalive=9), None), (dict(keepalive=1801), None),
                    (dict(flags=0xC0), None), (dict(flags=0xC6), None)):
        o2 = Connect(**{**o.__dict__, **bad})
        try:
            onenet_check(o2, "238322", "mqtts-test-device", key)
            fails.append(f"onenet accepted {bad}")
        except Refusal as r:
            check(r.rc == rc, f"onenet {bad}: rc {r.rc}, want {rc}")

    # Loopback round trip: accept, refuse, QoS 2 disconnect, ping record, duplicate kick, login limit.
    with PlatformEmulator("onenet", product_id="238322", device_name="mqtts-test-device", device_key=key,
                          login_limit=(2, 2.0), ban_seconds=2.0) as emu:
        tok = onenet_token("238322", "mqtts-test-device", key, int(time.time()) + 3600)
        a = MiniClient("127.0.0.1", emu.port, "mqtts-test-device", "238322", tok, 30)
        check(a.connect() == 0, "onenet loopback connect")
        check(a.subscribe("$sys/238322/mqtts-test-device/thing/property/set", 1) == 0, "onenet grants QoS 0")
        a.ping()
        check(len(emu.pings("mqtts-test-device")) == 1, "ping recorded")
        a.publish("$sys/238322/mqtts-test-device/thing/property/post", "{}", qos=1)
        b = MiniClient("127.0.0.1", emu.port, "mqtts-test-device", "238322", tok, 30, source="127.0.0.2")
        check(b.connect() == 0, "second login accepted")
        check(a.wait_closed(2), "first login kicked")
        check(len(emu.kicks) == 1, "kick recorded")
        b.publish("$sys/238322/mqtts-test-device/x", "{}", qos=2)
        check(b.wait_closed(2), "QoS 2 publish disconnects")
        check(any("QoS 2" in e["what"] for e in emu.protocol_errors), "QoS 2 recorded")
        c3 = MiniClient("127.0.0.1", emu.port, "mqtts-test-device", "238322", tok, 30)
        check(c3.connect() is None, "third login within 2 s dropped (limit 2 for the test)")
        check(len(emu.violations) == 1, "violation recorded")
        c3 = MiniClient("127.0.0.1", emu.port, "mqtts-test-device", "238322", tok, 30)
        check(c3.connect() is None, "banned device dropped")
        time.sleep(2.1)
        c3 = MiniClient("127.0.0.1", emu.port, "mqtts-test-device", "238322", tok, 30)
        check(c3.connect() == 0, "ban expires")
        c3.disconnect()
        bad = MiniClient("127.0.0.1", emu.port, "mqtts-test-device", "238322", tok.replace("sign=", "sign=A"), 30)
        check(bad.connect() == 4, "bad token refused with 4")
    with PlatformEmulator("aliyun", product_key="pk", device_name="device", device_secret="secret") as emu:
        cid, user, pw = aliyun_credentials("pk", "device", "secret", extra="ext=3")
        a = MiniClient("127.0.0.1", emu.port, cid, user, pw, 30)
        check(a.connect() == 0, "aliyun loopback connect")
        cid2, _, pw2 = aliyun_credentials("pk", "device", "secret", timestamp=str(int(time.time() * 1000)))
        b = MiniClient("127.0.0.1", emu.port, cid2, user, pw2, 30)
        check(b.connect() == 0, "aliyun second login")
        check(a.wait_closed(2), "aliyun kick")
        check(any(b"Kicked by the same device" in p for _, p in a.messages), "aliyun /ext/notify kick message")
        b.publish("/pk/device/user/update", "x", retain=True)
        check(b.wait_closed(2), "aliyun retain disconnects")
        w = MiniClient("127.0.0.1", emu.port, cid, user, "00" * 32, 30)
        check(w.connect() == 4, "aliyun wrong password -> 4")
    fails += _selftest_payloads()
    fails += _selftest_onenet_default_ban()
    return fails


def _next_message(c: MiniClient, topic: str, timeout: float = 2.0):
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


def _selftest_payloads() -> list[str]:
    """Formats, replies, rate limits and downlink round trips over a real socket."""
    fails = []

    def check(cond, what):
        if not cond:
            fails.append(what)

    now_ms = int(time.time() * 1000)
    with PlatformEmulator("aliyun", product_key="pk", device_name="device", device_secret="secret") as emu:
        cid, user, pw = aliyun_credentials("pk", "device", "secret")
        a = MiniClient("127.0.0.1", emu.port, cid, user, pw, 30)
        check(a.connect() == 0, "aliyun payload connect")
        for f in ("/sys/pk/device/thing/event/+/post_reply", "/sys/pk/device/thing/service/property/set",
                  "/sys/pk/device/thing/service/+", "/sys/pk/device/rrpc/request/+"):
            a.subscribe(f, 1)
        post = "/sys/pk/device/thing/event/property/post"
        a.publish(post, json.dumps({"id": "7", "version": "1.0", "params": {"t": {"value": 21.5, "time": now_ms}},
                                    "method": "thing.event.property.post"}), qos=1)
        r = _next_message(a, post + "_reply")
        check(isinstance(r, dict) and r.get("code") == 200 and r.get("id") == "7", f"aliyun property reply {r!r}")
        a.publish(post, "not json", qos=1)
        r = _next_message(a, post + "_reply")
        check(isinstance(r, dict) and r.get("code") == ALIYUN_BAD_JSON, f"aliyun bad JSON reply {r!r}")
        a.publish(post, json.dumps({"id": "8", "version": "1.0", "params": {"t": 1}}), qos=1)
        r = _next_message(a, post + "_reply")
        check(isinstance(r, dict) and r.get("code") == ALIYUN_BAD_METHOD, f"aliyun strict: method required {r!r}")
        ev = "/sys/pk/device/thing/event/alarm/post"
        a.publish(ev, json.dumps({"id": "9", "version": "1.0", "params": {"value": {"level": 2}, "time": now_ms},
                                  "method": "thing.event.alarm.post"}), qos=1)
        r = _next_message(a, ev + "_reply")
        check(isinstance(r, dict) and r.get("code") == 200, f"aliyun event reply {r!r}")
        emu.set_post_reply(6813, "topic illegal")
        a.publish(post, json.dumps({"id": "10", "version": "1.0", "params": {"t": 1},
                                    "method": "thing.event.property.post"}), qos=1)
        r = _next_message(a, post + "_reply")
        check(isinstance(r, dict) and r.get("code") == 6813 and r.get("id") == "10", f"aliyun forced code {r!r}")
        emu.set_post_reply()
        check([p["id"] for p in emu.posts()] == ["7", "9", "10"], f"aliyun posts {[p['id'] for p in emu.posts()]}")
        check(len(emu.format_errors) == 2, f"aliyun format errors {emu.format_errors}")
        rid = emu.property_set({"LightSwitch": 1})
        req = _next_message(a, "/sys/pk/device/thing/service/property/set")
        check(isinstance(req, dict) and req.get("method") == "thing.service.property.set", f"aliyun set {req!r}")
        a.publish("/sys/pk/device/thing/service/property/set_reply",
                  json.dumps({"id": rid, "code": 200, "data": {}}), qos=1)
        rep = emu.wait_reply(rid)
        check(rep is not None and not rep["problems"] and rep["code"] == 200, f"aliyun set_reply {rep!r}")
        sid = emu.service_call("reboot", {"delay": 1})
        check(_next_message(a, "/sys/pk/device/thing/service/reboot") is not None, "aliyun service delivered")
        a.publish("/sys/pk/device/thing/service/reboot_reply", json.dumps({"id": sid, "code": 200}), qos=1)
        rep = emu.wait_reply(sid)
        check(rep is not None and rep["problems"] == ["Alink reply without data"], f"aliyun reply problems {rep!r}")
        mid = emu.command(b"ping")
        check(_next_message(a, f"/sys/pk/device/rrpc/request/{mid}") == b"ping", "aliyun rrpc delivered")
        a.publish(f"/sys/pk/device/rrpc/response/{mid}", b"pong", qos=1)
        rep = emu.wait_reply(mid)
        check(rep is not None and rep["payload"] == b"pong" and not rep["problems"], f"aliyun rrpc reply {rep!r}")
        time.sleep(1.1)
        for i in range(35):
            a.publish("/pk/device/user/update", str(i))
        a.ping()
        check(len(emu.rate_drops) == 5, f"aliyun: 35 in 1 s, 5 dropped (got {len(emu.rate_drops)})")
        check([v["action"] for v in emu.violations] == ["dropped"] * 5, f"aliyun rate violations {emu.violations}")
        a.disconnect()

    with PlatformEmulator("onenet", product_id="238322", device_name="dev", device_key=base64.b64encode(b"k").decode(),
                          rate_limit=(5, 2.0), ban_seconds=1.0) as emu:
        tok = onenet_token("238322", "dev", emu.device_key, int(time.time()) + 3600)
        a = MiniClient("127.0.0.1", emu.port, "dev", "238322", tok, 30)
        check(a.connect() == 0, "onenet payload connect")
        for f in ("$sys/238322/dev/thing/property/post/reply", "$sys/238322/dev/thing/event/post/reply",
                  "$sys/238322/dev/thing/property/set", "$sys/238322/dev/thing/service/+/invoke",
                  "$sys/238322/dev/cmd/request/+"):
            a.subscribe(f, 1)
        post = "$sys/238322/dev/thing/property/post"
        a.publish(post, json.dumps({"id": "123", "version": "1.0",
                                    "params": {"temp": {"value": 23.6, "time": now_ms}}}), qos=1)
        r = _next_message(a, post + "/reply")
        check(isinstance(r, dict) and r.get("code") == 200 and r.get("id") == "123", f"onenet reply {r!r}")
        a.publish(post, json.dumps({"id": "124", "version": "1.0", "params": {"temp": 23.6}}), qos=1)
        r = _next_message(a, post + "/reply")
        check(isinstance(r, dict) and r.get("code") == ONENET_BAD_FORMAT and r.get("id") is None,
              f"onenet unwrapped params {r!r}")
        a.publish("$sys/238322/dev/thing/event/post",
                  json.dumps({"id": "125", "version": "1.0", "params": {"alarm": {"value": {"led1": 22},
                                                                                  "time": now_ms}}}), qos=1)
        r = _next_message(a, "$sys/238322/dev/thing/event/post/reply")
        check(isinstance(r, dict) and r.get("code") == 200, f"onenet event reply {r!r}")
        emu.set_post_reply(ONENET_BAD_FORMAT, "request format error")
        a.publish(post, json.dumps({"id": "126", "version": "1.0", "params": {"temp": {"value": 1}}}), qos=1)
        r = _next_message(a, post + "/reply")
        check(isinstance(r, dict) and r.get("code") == ONENET_BAD_FORMAT and r.get("id") == "126",
              f"onenet forced rejection echoes the id {r!r}")
        emu.set_post_reply()
        sid = emu.service_call("reset", {"x": 1})
        check(_next_message(a, "$sys/238322/dev/thing/service/reset/invoke") is not None, "onenet invoke delivered")
        a.publish("$sys/238322/dev/thing/service/reset/invoke_reply",
                  json.dumps({"id": sid, "code": 200, "msg": "ok", "data": {}}))
        rep = emu.wait_reply(sid)
        check(rep is not None and not rep["problems"], f"onenet invoke_reply {rep!r}")
        cmd = emu.command("open")
        check(_next_message(a, f"$sys/238322/dev/cmd/request/{cmd}") == b"open", "onenet cmd delivered")
        a.publish(f"$sys/238322/dev/cmd/response/{cmd}", "done")
        check(emu.wait_reply(cmd) is not None, "onenet cmd response recorded")
        time.sleep(2.1)
        for i in range(5):
            a.publish("$sys/238322/dev/thing/property/post", "{}", qos=1)
        check(not emu.violations, "onenet: 5 QoS 1 in 2 s allowed (test limit 5)")
        try:
            a.publish("$sys/238322/dev/thing/property/post", "{}", qos=1)
            fails.append("onenet: 6th QoS 1 publish was acknowledged")
        except (EOFError, ConnectionError, socket.timeout):
            pass
        check([v["kind"] for v in emu.violations] == ["rate"], f"onenet rate violation {emu.violations}")
        b = MiniClient("127.0.0.1", emu.port, "dev", "238322", tok, 30)
        check(b.connect() is None, "onenet banned after the rate violation")
    return fails


def _selftest_onenet_default_ban() -> list[str]:
    """The OneNET MQTTS rate ban at the platform's own numbers (no rate_limit or ban_seconds given):
    100 QoS 1 publishes in under 5 s are all acknowledged and the device stays connected; the 101st
    within the same 5 s gets no PUBACK, the connection is reset, the violation is recorded and the
    device cannot log in for 300 s. Also the reply injection and PUBACK withholding the bridge tests
    use (send_post_reply, resend_post_reply, set_puback)."""
    fails = []

    def check(cond, what):
        if not cond:
            fails.append(what)

    key = base64.b64encode(b"k").decode()
    with PlatformEmulator("onenet", product_id="238322", device_name="dev", device_key=key) as emu:
        tok = onenet_token("238322", "dev", key, int(time.time()) + 3600)
        check(emu.ban_seconds == 300.0, f"onenet default ban {emu.ban_seconds} s, want 300 s")
        a = MiniClient("127.0.0.1", emu.port, "dev", "238322", tok, 30)
        check(a.connect() == 0, "onenet default-ban connect")
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
            fails.append(f"onenet default limit: the connection ended after {acked} of 100 QoS 1 publishes: {e!r}")
        t100 = time.monotonic() - t0
        check(acked == 100 and not emu.violations,
              f"onenet default limit: 100 QoS 1 in {t100:.2f} s must pass ({acked} acked, {emu.violations})")
        check(emu.connected_count() == 1, "onenet default limit: still connected after 100 QoS 1 publishes")
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
        check(t101 < 5.0, f"onenet default limit: 101 publishes took {t101:.2f} s, the check needs < 5 s")
        check(outcome == "reset", f"onenet default limit: the 101st QoS 1 publish in {t101:.2f} s was {outcome}, "
                                  "want no PUBACK and a TCP reset")
        check([(v["kind"], v["action"]) for v in emu.violations] == [("rate", "banned")],
              f"onenet default limit: violations {emu.violations}")
        last = emu.received(post)[-1]
        check(len(emu.received(post)) == 101 and not last["acked"], "onenet default limit: the 101st is not acked")
        left = emu._call(lambda: emu._banned_until.get(("238322", "dev"), 0) - time.monotonic())
        check(295 <= left <= 300, f"onenet default ban lasts {left:.0f} s more, want about 300 s")
        b = MiniClient("127.0.0.1", emu.port, "dev", "238322", tok, 30)
        check(b.connect() is None, "onenet default limit: banned device's login dropped")

    # 100 at once, then nothing: no ban (a second device, so the first one's ban is not in the way).
    with PlatformEmulator("onenet", product_id="238322", device_name="dev2", device_key=key) as emu:
        tok = onenet_token("238322", "dev2", key, int(time.time()) + 3600)
        a = MiniClient("127.0.0.1", emu.port, "dev2", "238322", tok, 30)
        check(a.connect() == 0, "onenet 100-publish connect")
        try:
            for _ in range(100):
                a.publish("$sys/238322/dev2/thing/property/post", "{}", qos=1)
            a.ping()
            a.disconnect()
        except (EOFError, ConnectionError, socket.timeout) as e:
            fails.append(f"onenet: 100 QoS 1 publishes ended the connection: {e!r}")
        check(not emu.violations, f"onenet: 100 QoS 1 publishes are allowed, got {emu.violations}")
        b = MiniClient("127.0.0.1", emu.port, "dev2", "238322", tok, 30)
        check(b.connect() == 0, "onenet: login after 100 QoS 1 publishes accepted (no ban)")
        b.disconnect()

    # Reply injection and PUBACK withholding (no rate limit: not what is tested here).
    with PlatformEmulator("onenet", product_id="238322", device_name="dev2", device_key=key, rate_limit=False) as emu:
        b = MiniClient("127.0.0.1", emu.port, "dev2", "238322", tok, 30)
        check(b.connect() == 0, "onenet injection connect")
        b.subscribe("$sys/238322/dev2/thing/property/post/reply", 1)
        b.subscribe("$sys/238322/dev2/thing/event/post/reply", 1)
        check(emu.send_post_reply("777", 2402, "nope") == 1, "onenet injected reply delivered")
        r = _next_message(b, "$sys/238322/dev2/thing/property/post/reply")
        check(r == {"id": "777", "code": 2402, "msg": "nope"}, f"onenet injected reply {r!r}")
        check(emu.resend_post_reply(emu.post_replies[-1]) == 1, "onenet resent reply delivered")
        r = _next_message(b, "$sys/238322/dev2/thing/property/post/reply")
        check(r == {"id": "777", "code": 2402, "msg": "nope"}, f"onenet resent reply {r!r}")
        check(emu.send_post_reply("778", kind="event") == 1, "onenet injected event reply delivered")
        check(_next_message(b, "$sys/238322/dev2/thing/event/post/reply") == {"id": "778", "code": 200,
                                                                            "msg": "success"}, "event reply")
        check(all(r["injected"] and r["post"] is None for r in emu.post_replies[-3:]), "injected replies recorded")
        emu.set_puback(False)
        doc = {"id": "9", "version": "1.0", "params": {"t": {"value": 1, "time": int(time.time() * 1000)}}}
        b.sock.sendall(publish_packet("$sys/238322/dev2/thing/property/post", json.dumps(doc).encode(), 1, mid=42))
        r = _next_message(b, "$sys/238322/dev2/thing/property/post/reply")
        check(isinstance(r, dict) and r.get("id") == "9", f"unacknowledged post still answered {r!r}")
        try:
            b.expect(0x40, 0.3)
            fails.append("set_puback(False): a PUBACK was sent")
        except socket.timeout:
            pass
        emu.set_puback(True)
        b.publish("$sys/238322/dev2/x", "{}", qos=1)
        check([p["acked"] for p in emu.received("$sys/238322/dev2/thing/property/post")][-1:] == [False]
              and emu.received("$sys/238322/dev2/x")[-1]["acked"], "acked recorded")
        b.disconnect()
    return fails


if __name__ == "__main__":
    if "--selftest" in sys.argv:
        problems = selftest()
        for p in problems:
            print("FAIL", p)
        print("emulator self-test:", "ok" if not problems else f"{len(problems)} failures")
        sys.exit(1 if problems else 0)
    print(__doc__)
