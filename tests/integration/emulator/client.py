"""A blocking MQTT client that shows the emulator's behaviour on the wire, and a cloned device.

paho-mqtt hides what these must see: whether the server closed with a TCP reset or a FIN, and a
connection dropped without any CONNACK (OneNET's answer to bad connect flags or a banned device).
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from .mqtt_wire import Reader, connect_packet, packet, publish_packet, string


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
        self.sock.sendall(packet(0x82, struct.pack("!H", self._next_mid()) + string(topic) + bytes([qos])))
        return self.expect(0x90)[-1]

    def ping(self) -> None:
        self.sock.sendall(packet(0xC0))
        self.expect(0xD0)

    def expect(self, first: int, timeout: float | None = None) -> bytes:
        while True:
            f, body = self.read_packet(timeout)
            if f >> 4 == 3:
                self.messages.append(Reader(body).publish(f))
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
                    self.messages.append(Reader(body).publish(f))
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

