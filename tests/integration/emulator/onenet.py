"""OneNET (China Mobile) as its public documents describe it to a device: the MQTT login with a
version 2018-10-31 token, OneJSON property and event posts and their replies, and what the broker
does to a device that logs in or publishes too often (more than 10 CONNECTs or PINGREQs, or more
than 100 QoS 1 / 300 QoS 0 publishes, in 5 s: a TCP reset and a 5-minute ban).

Written independently of the daemon's C++ implementation, from those documents and their
published token example: it is the oracle the daemon is tested against."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import urllib.parse

from .mqtt_wire import Connect
from .rules import Refusal, time_problem

VERSION = "2018-10-31"
HASHES = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "md5": hashlib.md5}

# A rejected post's reply, as seen in the field: {"id":null,"code":2402,"msg":"request format error"}.
BAD_FORMAT = 2402

PACKET_LIMIT = 256 * 1024
LOGIN_LIMIT = (10, 5.0)   # CONNECTs of one device in that many seconds
PING_LIMIT = (10, 5.0)
RATE_RULES = [{"qos": (1,), "count": 100, "window": 5.0, "action": "ban"},
              {"qos": (0,), "count": 300, "window": 5.0, "action": "ban"}]

# The documented URL encoding of token values: exactly these eight characters.
_ESCAPES = {"+": "%2B", " ": "%20", "/": "%2F", "?": "%3F", "%": "%25", "#": "%23", "&": "%26", "=": "%3D"}


def encode(value: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in value)


def sign(key_b64: str, et: int, method: str, res: str, version: str = VERSION) -> str:
    msg = f"{et}\n{method}\n{res}\n{version}".encode()
    return base64.b64encode(hmac.new(base64.b64decode(key_b64), msg, HASHES[method]).digest()).decode()


def token(product_id: str, device_name: str, key_b64: str, et: int, method: str = "sha256",
          res: str | None = None) -> str:
    res = res or f"products/{product_id}/devices/{device_name}"
    return (f"version={VERSION}&res={encode(res)}&et={et}&method={method}"
            f"&sign={encode(sign(key_b64, et, method, res))}")


def check_connect(c: Connect, product_id: str, device_name: str, key_b64: str, now: float | None = None):
    """Returns (identity, notes, info) or raises Refusal: connect flags other than 0xC2 or a
    keepalive outside 10..1800 s drop the connection without CONNACK, a bad token gets 4."""
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
    fields = {}
    for part in c.password_text.split("&"):
        k, sep, v = part.partition("=")
        if not sep or k in fields:
            raise Refusal(4, f"token part {part!r} malformed")
        fields[k] = v
    missing = {"version", "res", "et", "method", "sign"} - set(fields)
    if missing:
        raise Refusal(4, f"token lacks {sorted(missing)}")
    val = {k: urllib.parse.unquote(v) for k, v in fields.items()}
    for k in ("res", "sign"):
        if fields[k].upper() != encode(val[k]).upper():
            raise Refusal(4, f"token {k} is not URL-encoded as documented: {fields[k]!r}")
    if val["version"] != VERSION:
        raise Refusal(4, f"token version {val['version']!r}")
    if val["method"] not in HASHES:
        raise Refusal(4, f"token method {val['method']!r}")
    if not val["et"].isdigit():
        raise Refusal(4, f"token et {val['et']!r} is not Unix seconds")
    et = int(val["et"])
    if et <= now:
        raise Refusal(4, f"token expired (et {et} <= now {int(now)})")
    if val["res"] != f"products/{product_id}/devices/{device_name}":
        raise Refusal(4, f"token res {val['res']!r} is not products/<pid>/devices/<device name>")
    want = sign(key_b64, et, val["method"], val["res"], val["version"])
    if not hmac.compare_digest(val["sign"], want):
        raise Refusal(4, "token sign does not verify with the device key")
    return (product_id, device_name), [], {"et": et, "method": val["method"]}


def check_post(payload: bytes, kind: str, event_id: str | None = None, strict: bool = True):
    """Checks a OneJSON property/event post; returns (doc, id, code, message) like aliyun.check_post
    (BAD_FORMAT when rejected)."""
    bad = BAD_FORMAT
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
        if "time" in v and time_problem(v["time"]):
            return doc, ident, bad, f"{kind} {k!r}: " + time_problem(v["time"])
        if kind == "event" and not isinstance(v["value"], dict):
            return doc, ident, bad, f"event {k!r}: value is not an object of output parameters"
        if kind == "property" and v["value"] is None:
            return doc, ident, bad, f"property {k!r}: value is null"
    return doc, ident, 200, "success"


# --- topics and replies -------------------------------------------------------------------------

def device_prefix(product_id: str, device_name: str) -> str:
    return f"$sys/{product_id}/{device_name}/"


def topic_allowed(identity: tuple, topic: str) -> bool:
    """A device may publish only below its own $sys/<pid>/<device>/, in these characters."""
    pid, dn = identity
    return topic.startswith(f"$sys/{pid}/{dn}/") and re.fullmatch(r"[A-Za-z0-9/_$-]+", topic) is not None


def post_kind(identity: tuple, topic: str):
    """("property"|"event", None, reply topic) for a post topic of this device, else None."""
    pid, dn = identity
    m = re.fullmatch(rf"\$sys/{re.escape(pid)}/{re.escape(dn)}/thing/(property|event)/post", topic)
    return (m.group(1), None, topic + "/reply") if m else None


def reply_topic(prefix: str, kind: str, event_id: str | None = None) -> str:
    return prefix + f"thing/{kind}/post/reply"


def post_reply(code: int, ident, message: str) -> dict:
    return {"id": ident, "code": code, "msg": message}


def request_of_reply(identity: tuple, topic: str):
    """For a device's answer to a downlink request: (the request's topic, the id carried in the
    topic or None); None when `topic` answers no request."""
    pre = "$sys/%s/%s/" % identity
    m = re.fullmatch(re.escape(pre) + r"(?:thing/property/(set|get)_reply|thing/service/([^/]+)/invoke_reply"
                     r"|cmd/response/([^/]+))", topic)
    if not m:
        return None
    raw_key = m.group(3)
    if raw_key:
        return pre + "cmd/request/" + raw_key, raw_key
    if m.group(1):
        return pre + "thing/property/" + m.group(1), None
    return pre + f"thing/service/{m.group(2)}/invoke", None


def reply_problems(doc: dict) -> list:
    return ["OneJSON reply msg is not a string"] if "msg" in doc and not isinstance(doc["msg"], str) else []


def request(kind: str, service_id: str | None = None):
    """(topic suffix, method: None, OneJSON has none) of a platform -> device request."""
    if kind == "property_set":
        return "thing/property/set", None
    if kind == "property_get":
        return "thing/property/get", None
    if kind == "service_call":
        return f"thing/service/{service_id}/invoke", None
    raise ValueError(f"OneNET has no {kind} request")


def command_topic(ident: str) -> str:
    """Answered on cmd/response/<cmdid>."""
    return f"cmd/request/{ident}"
