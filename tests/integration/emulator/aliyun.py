"""Aliyun IoT Platform, as its public documents describe it to a device: the MQTT login
("Establish MQTT connections over TCP" / "Connect over MQTT-TLS"), the Alink JSON property and
event posts and their replies (thing model, "Device properties, events and services"), the error
codes a device receives, and the uplink limit of 30 messages per second per device.

Written independently of the daemon's C++ implementation, from those documents and their
published signing example: it is the oracle the daemon is tested against."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from .mqtt_wire import Connect
from .rules import Refusal, scalar, time_problem

HASHES = {"hmacsha256": hashlib.sha256, "hmacsha1": hashlib.sha1, "hmacmd5": hashlib.md5}

# Error codes a device receives in a post reply.
BAD_JSON = 6207    # the payload is not (Alink) JSON
BAD_METHOD = 6300  # method missing, or not the topic's
BAD_PARAMS = 460   # request parameter error

PACKET_LIMIT = 1024 * 1024
# More than 30 publishes of one device in any second: the excess is acknowledged but dropped.
RATE_RULES = [{"qos": (0, 1), "count": 30, "window": 1.0, "action": "drop"}]


def content(client_id: str, device_name: str, product_key: str, timestamp: str | None) -> str:
    """The sign content: parameters sorted by name, names and values concatenated."""
    parts = {"clientId": client_id, "deviceName": device_name, "productKey": product_key}
    if timestamp is not None:
        parts["timestamp"] = timestamp
    return "".join(k + v for k, v in sorted(parts.items()))


def sign(secret: str, text: str, method: str = "hmacsha256") -> str:
    return hmac.new(secret.encode(), text.encode(), HASHES[method]).hexdigest().upper()


def credentials(product_key: str, device_name: str, secret: str, client_id: str | None = None,
                timestamp: str | None = "2524608000000", securemode: int = 3,
                signmethod: str = "hmacsha256", extra: str = ""):
    """(mqtt client id, username, password) the way the device SDKs build them."""
    cid = client_id if client_id is not None else f"{product_key}.{device_name}"
    params = [f"securemode={securemode}", f"signmethod={signmethod}"]
    if timestamp is not None:
        params.append(f"timestamp={timestamp}")
    if extra:
        params.append(extra)
    return (f"{cid}|{','.join(params)}|", f"{device_name}&{product_key}",
            sign(secret, content(cid, device_name, product_key, timestamp), signmethod))


_CLIENT_ID = re.compile(r"^(?P<id>[^|]*)\|(?P<params>[^|]*)\|$")


def check_connect(c: Connect, product_key: str, device_name: str, secret: str, tls: bool = False):
    """Returns (identity, notes, info) or raises Refusal with Aliyun's CONNACK code: 1 protocol
    version, 2 clientId format or keepalive, 4 username or password."""
    notes = []
    if c.level not in (3, 4):
        raise Refusal(1, f"unacceptable protocol level {c.level}")
    m = _CLIENT_ID.match(c.client_id)
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
    if method not in HASHES:
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
    want = sign(secret, content(cid, device_name, product_key, ts), method)
    if not hmac.compare_digest(c.password_text.upper(), want):
        raise Refusal(4, "password is not the HMAC of the sign content (wrong secret or content)")
    if c.will:
        notes.append("will message sent (Aliyun does not support will)")
    ext = params.get("ext", "0")
    return (product_key, device_name), notes, {"ext": int(ext) if ext.isdigit() else 0, "params": params}


def check_post(payload: bytes, kind: str, event_id: str | None, strict: bool = True):
    """Checks an Alink JSON property/event post. Returns (doc, id, code, message): code 200 and
    message "success" when the platform would accept it, else Aliyun's error code and why."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return None, None, BAD_JSON, "request is not JSON"
    if not isinstance(doc, dict):
        return None, None, BAD_JSON, "request is not a JSON object"
    ident = doc.get("id")
    ident_ok = isinstance(ident, str) and ident.isdigit() and ident.isascii() and int(ident) <= 0xFFFFFFFF
    method = "thing.event.property.post" if kind == "property" else f"thing.event.{event_id}.post"
    if not ident_ok:
        return doc, ident if isinstance(ident, str) else None, BAD_PARAMS, \
            f"id {ident!r} is not a decimal string in 0..4294967295"
    if "method" in doc or strict:
        if doc.get("method") != method:
            return doc, ident, BAD_METHOD, f"method {doc.get('method')!r}, want {method!r}"
    if ("version" in doc or strict) and doc.get("version") != "1.0":
        return doc, ident, BAD_PARAMS, f"version {doc.get('version')!r}, want \"1.0\""
    sys_ = doc.get("sys", {})
    if not isinstance(sys_, dict) or sys_.get("ack", 1) not in (0, 1):
        return doc, ident, BAD_PARAMS, f"sys {sys_!r} is not {{\"ack\":0|1}}"
    params = doc.get("params")
    if not isinstance(params, dict):
        return doc, ident, BAD_PARAMS, "params is not an object"
    if kind == "property":
        if not params:
            return doc, ident, BAD_PARAMS, "params has no property"
        for k, v in params.items():
            if isinstance(v, dict):
                if "value" not in v or set(v) - {"value", "time"}:
                    return doc, ident, BAD_PARAMS, f"property {k!r}: object without value (or extra keys)"
                if "time" in v and time_problem(v["time"]):
                    return doc, ident, BAD_PARAMS, f"property {k!r}: " + time_problem(v["time"])
                v = v["value"]
            if v is None or (strict and not (scalar(v) or isinstance(v, (list, dict)))):
                return doc, ident, BAD_PARAMS, f"property {k!r}: value {v!r}"
    else:
        if not isinstance(params.get("value"), dict) or set(params) - {"value", "time"}:
            return doc, ident, BAD_PARAMS, "event params are not {\"value\":{...},\"time\":ms}"
        if "time" in params and time_problem(params["time"]):
            return doc, ident, BAD_PARAMS, "event " + time_problem(params["time"])
    return doc, ident, 200, "success"


# --- topics and replies -------------------------------------------------------------------------

def device_prefix(product_key: str, device_name: str) -> str:
    return f"/sys/{product_key}/{device_name}/"


def post_kind(identity: tuple, topic: str):
    """("property"|"event", event id or None, reply topic) for a post topic of this device, else None."""
    pk, dn = identity
    m = re.fullmatch(rf"/sys/{re.escape(pk)}/{re.escape(dn)}/thing/event/([^/]+)/post", topic)
    if not m:
        return None
    return ("property", None, topic + "_reply") if m.group(1) == "property" else \
        ("event", m.group(1), topic + "_reply")


def reply_topic(prefix: str, kind: str, event_id: str | None) -> str:
    return prefix + f"thing/event/{'property' if kind == 'property' else event_id}/post_reply"


def post_reply(code: int, ident, message: str) -> dict:
    return {"code": code, "data": {}, "id": ident, "message": message, "version": "1.0"}


def answers_no_reply(code: int, doc: dict) -> bool:
    """sys.ack 0: the device asked for no reply (to an accepted post)."""
    return code == 200 and isinstance(doc.get("sys"), dict) and doc["sys"].get("ack") == 0


def request_of_reply(identity: tuple, topic: str):
    """For a device's answer to a downlink request: (the request's topic, the id carried in the
    topic or None); None when `topic` answers no request."""
    pre = "/sys/%s/%s/" % identity
    m = re.fullmatch(re.escape(pre) + r"(?:thing/service/(property/set|[^/]+)_reply|rrpc/response/([^/]+))", topic)
    if not m:
        return None
    raw_key = m.group(2)
    return pre + ("rrpc/request/" + raw_key if raw_key else "thing/service/" + m.group(1)), raw_key


def reply_problems(doc: dict) -> list:
    return [] if "data" in doc else ["Alink reply without data"]


def request(kind: str, service_id: str | None = None):
    """(topic suffix, Alink method) of a platform -> device request."""
    if kind == "property_set":
        return "thing/service/property/set", "thing.service.property.set"
    if kind == "service_call":
        return f"thing/service/{service_id}", f"thing.service.{service_id}"
    raise ValueError(f"Aliyun has no {kind} request")


def command_topic(ident: str) -> str:
    """RRPC: answered on rrpc/response/<messageId>."""
    return f"rrpc/request/{ident}"
