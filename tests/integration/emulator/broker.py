"""The platform emulator: a small MQTT 3.1.1 broker on loopback that plays an Aliyun or OneNET
device endpoint (or, in generic mode, a broker that records everything). See the package's
docstring for what it does and why."""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from . import aliyun, onenet
from .mqtt_wire import Connect, Reader, packet, parse_connect, publish_packet, read_packet, topic_matches
from .rules import Refusal

PLATFORMS = {"aliyun": aliyun, "onenet": onenet}


def rate_rules(mode: str, override) -> list[dict]:
    """The platform's publish rate rules (aliyun.RATE_RULES, onenet.RATE_RULES). override: None = those,
    False = none, (count, seconds) = replaces the first rule's numbers (e.g. to test faster)."""
    rules = [dict(r) for r in getattr(PLATFORMS.get(mode), "RATE_RULES", [])]
    if override is False:
        return []
    if override is not None:
        rules = rules[:1] or [{"qos": (0, 1), "count": 0, "window": 1.0, "action": "drop"}]
        rules[0] = {**rules[0], "count": override[0], "window": float(override[1])}
    for r in rules:
        r["what"] = (f"more than {r['count']} QoS {'/'.join(map(str, r['qos']))} publishes in {r['window']:g} s"
                     + (" (excess dropped)" if r["action"] == "drop" else " (disconnect and ban)"))
    return rules


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
    """emu = PlatformEmulator("aliyun", product_key=..., device_name=..., device_secret=...);
    `with emu:` listens on 127.0.0.1:emu.port (plain TCP). See the package docstring."""

    LIMITS = {"aliyun": aliyun.PACKET_LIMIT, "onenet": onenet.PACKET_LIMIT, "generic": 16 * 1024 * 1024}

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
        self.login_limit = login_limit if login_limit is not None else \
            (onenet.LOGIN_LIMIT if mode == "onenet" else None)
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
        # Uplink formats, platform replies, downlink requests (see the package docstring).
        self.check_formats, self.strict_format = check_formats, strict_format
        self.format_errors: list[dict] = []
        self.post_replies: list[dict] = []
        self.downlinks: list[dict] = []
        self.device_replies: list[dict] = []
        self.rate_drops: list[dict] = []
        self._post_reply = {"code": 200, "message": "success", "enabled": True}
        self._puback = True
        self._rate_rules = rate_rules(mode, rate_limit)
        self._rate_times: dict = {}
        self._request_ids = itertools.count(100)
        self._banned_until: dict = {}
        self._login_times: dict = {}
        self._conns: dict[int, _Conn] = {}
        self._by_identity: dict = {}
        self._ids = itertools.count(1)
        self._running = None  # asyncio.Event: set = running, cleared by freeze()
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

    @property
    def _platform(self):
        if self.mode not in PLATFORMS:
            raise ValueError("platform replies and downlink requests need mode aliyun or onenet")
        return PLATFORMS[self.mode]

    @property
    def _identity(self) -> tuple:
        return (self.product_key if self.mode == "aliyun" else self.product_id, self.device_name)

    def _inject_reply(self, topic: str, data: bytes, doc: dict | None, code, ident) -> int:
        identity = self._identity

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
        doc = self._platform.post_reply(code, ident, message)
        data = json.dumps(doc, separators=(",", ":")).encode()
        return self._inject_reply(self._platform.reply_topic(self._device_prefix(), kind, event_id), data, doc,
                                  code, ident)

    def resend_post_reply(self, record: dict) -> int:
        """Sends a post_replies record's payload again on its topic (a duplicate answer); returns 1
        when it was delivered."""
        return self._inject_reply(record["topic"], record["payload"], record["json"], record["code"], record["id"])

    def set_puback(self, enabled: bool = True) -> None:
        """Whether later QoS 1 publishes are acknowledged (see the package docstring)."""
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
        return self._platform.device_prefix(*self._identity)

    def _request(self, kind: str, topic: str, payload: bytes, ident: str, qos: int) -> str:
        identity = self._identity

        def do():
            c = self._by_identity.get(identity)
            delivered = self._deliver(c, topic, payload, qos) if c is not None else 0
            with self.lock:
                self.downlinks.append({"time": time.monotonic(), "kind": kind, "id": ident, "topic": topic,
                                       "payload": payload, "qos": qos, "delivered": delivered})
        self._call(do)
        return ident

    def _json_request(self, kind: str, params, qos: int, service_id: str | None = None) -> str:
        suffix, method = self._platform.request(kind, service_id)
        ident = str(next(self._request_ids))
        doc = {"id": ident, "version": "1.0", "params": params}
        if method:
            doc["method"] = method
        return self._request(kind, self._device_prefix() + suffix, json.dumps(doc).encode(), ident, qos)

    def property_set(self, params: dict, qos: int = 0) -> str:
        """Platform -> device property set (aliyun thing/service/property/set, onenet thing/property/set).
        Returns the request id; the device's answer shows up in wait_reply(id)."""
        return self._json_request("property_set", params, qos)

    def property_get(self, identifiers: list, qos: int = 0) -> str:
        """OneNET property get (thing/property/get, params = list of identifiers); returns the id."""
        assert self.mode == "onenet", "property get is a OneNET request"
        return self._json_request("property_get", list(identifiers), qos)

    def service_call(self, service_id: str, params: dict | None = None, qos: int = 0) -> str:
        """Service call (aliyun thing/service/<id>, onenet thing/service/<id>/invoke); returns the id."""
        return self._json_request("service_call", params or {}, qos, service_id)

    def command(self, payload: bytes | str, qos: int = 0) -> str:
        """Opaque command: onenet cmd/request/<cmdid> (answered on cmd/response/<cmdid>), aliyun RRPC
        rrpc/request/<messageId> (answered on rrpc/response/<messageId>). Returns the cmd/message id."""
        data = payload.encode() if isinstance(payload, str) else payload
        ident = str(next(self._request_ids))
        return self._request("command", self._device_prefix() + self._platform.command_topic(ident), data, ident,
                             qos)

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
                    first, body = await read_packet(reader, self.LIMITS[self.mode])
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
            r = Reader(body)
            mid = r.u16()
            c.writer.write(packet(0xB0, struct.pack("!H", mid)))
        elif kind == 12:
            now = time.monotonic()
            with self.lock:
                self.ping_log.append((now, c.record.client_id, c.identity))
                recent = [t for t, _, ident in self.ping_log if ident == c.identity and now - t < onenet.PING_LIMIT[1]]
            if self.mode == "onenet" and len(recent) > onenet.PING_LIMIT[0]:
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
            return aliyun.check_connect(conn, self.product_key, self.device_name, self.device_secret, tls)
        if self.mode == "onenet":
            return onenet.check_connect(conn, self.product_id, self.device_name, self.device_key)
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
        r = Reader(body)
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
        if self.mode == "onenet" and not onenet.topic_allowed(c.identity, topic):
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
    def _check_post(self, c: _Conn, rec: dict) -> None:
        found = self._platform.post_kind(c.identity, rec["topic"])
        if found is None:
            return
        kind, event_id, reply_topic = found
        rec["kind"], rec["event_id"] = kind, event_id
        doc, ident, code, what = self._platform.check_post(rec["payload"], kind, event_id, self.strict_format)
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
            if aliyun.answers_no_reply(code, doc):
                return
            reply = aliyun.post_reply(code, ident if ident is not None else "", what)
        else:
            # Seen in the field: a rejected OneJSON post is answered with "id": null.
            reply = onenet.post_reply(code, None if rec["format_error"] else ident, what)
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
        found = self._platform.request_of_reply(c.identity, topic)
        if found is None:
            return
        req_topic, raw_key = found
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
                problems += self._platform.reply_problems(doc)
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
        r = Reader(body)
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


