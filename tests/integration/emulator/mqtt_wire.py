"""MQTT 3.1.1 packets as the emulator reads and writes them (the server side, which paho, a
client library, does not provide)."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass


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


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def string(text: str | bytes) -> bytes:
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(b)) + b


def packet(first: int, body: bytes = b"") -> bytes:
    return bytes([first]) + _remaining_length(len(body)) + body


def connect_packet(client_id: str, username=None, password=None, keepalive=60, clean=True,
                   will: tuple | None = None, level: int = 4) -> bytes:
    flags = (0x02 if clean else 0) | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    payload = string(client_id)
    if will:
        flags |= 0x04
        payload += string(will[0]) + string(will[1])
    if username is not None:
        payload += string(username)
    if password is not None:
        payload += string(password)
    name = "MQTT" if level == 4 else "MQIsdp"
    return packet(0x10, string(name) + bytes([level, flags]) + struct.pack("!H", keepalive) + payload)


def publish_packet(topic: str, payload: bytes, qos: int = 0, retain: bool = False, mid: int = 1,
                   dup: bool = False) -> bytes:
    body = string(topic) + (struct.pack("!H", mid) if qos else b"") + payload
    return packet(0x30 | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0), body)


class Reader:
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

    def publish(self, first: int) -> tuple[str, bytes]:
        """(topic, payload) of a PUBLISH body whose fixed header byte is `first`."""
        topic = self.text()
        if (first >> 1) & 3:
            self.u16()
        return topic, self.rest()


def parse_connect(body: bytes) -> Connect:
    r = Reader(body)
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


async def read_packet(reader: asyncio.StreamReader, limit: int):
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
