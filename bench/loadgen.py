"""MQTT load for the bridge bench: a QoS 1 publisher on the local broker, a persistent QoS 1
subscriber on the cloud broker, and the per-run accounting (latency, duplicates, losses, order).

Payload: b"<run> <seq> <monotonic ns at publish> " + padding. CLOCK_MONOTONIC is system-wide, so
publisher and sink stamps compare directly on one host; both bridges pass the bytes through.
"""

from __future__ import annotations

import math
import sys
import threading
import time

try:
    import paho.mqtt.client as mqtt
except ImportError:  # a pyenv/venv python3 on PATH does not see Debian's python3-paho-mqtt
    sys.path.append("/usr/lib/python3/dist-packages")
    import paho.mqtt.client as mqtt

TOPIC = "bench/s1/data"
FILTER = "bench/#"


def _connect(client: "mqtt.Client", host: str, port: int, timeout: float) -> None:
    up = threading.Event()
    prev = client.on_connect

    def on_connect(c, userdata, flags, rc):
        if prev:
            prev(c, userdata, flags, rc)
        if rc == 0:
            up.set()

    client.on_connect = on_connect
    client.connect(host, port, keepalive=60)
    client.loop_start()
    if not up.wait(timeout):
        client.loop_stop()
        raise TimeoutError(f"MQTT connect to {host}:{port} timed out")


class Sink:
    """Persistent session (clean_session off, QoS 1) on the cloud broker: with broker persistence
    its subscription survives a broker restart, so nothing the bridge delivers before the sink
    reconnects is lost to the bench itself."""

    def __init__(self, host: str, port: int, client_id: str = "bench-sink"):
        self.host, self.port, self.client_id = host, port, client_id
        self.records: list[tuple[int, int, int, int]] = []  # (run, seq, t_pub_ns, t_recv_ns)
        self.junk = 0
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self.c = mqtt.Client(client_id=client_id, clean_session=False)
        # The cloud broker is restarted on purpose: come back fast, do not back off for long.
        self.c.reconnect_delay_set(min_delay=0.05, max_delay=0.2)
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = lambda c, u, mid, q: self.subscribed.set()
        self.c.on_message = self._on_message

    def _on_connect(self, c, userdata, flags, rc):
        if rc == 0:
            c.subscribe(FILTER, qos=1)

    def _on_message(self, c, userdata, msg):
        now = time.monotonic_ns()
        try:
            run, seq, ts, _ = msg.payload.split(b" ", 3)
            rec = (int(run), int(seq), int(ts), now)
        except ValueError:
            self.junk += 1
            return
        with self._lock:
            self.records.append(rec)

    def start(self, timeout: float = 10) -> "Sink":
        _connect(self.c, self.host, self.port, timeout)
        if not self.subscribed.wait(timeout):
            raise TimeoutError("sink SUBACK timed out")
        return self

    def stop(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()

    def of_run(self, run: int) -> list[tuple[int, int, int, int]]:
        with self._lock:
            return [r for r in self.records if r[0] == run]

    def unique_count(self, run: int) -> int:
        return len({r[1] for r in self.of_run(run)})

    def wait_run(self, run: int, expected: int, stall: float, limit: float) -> bool:
        """Waits until `expected` distinct seqs of `run` arrived; gives up after `stall` seconds
        without progress or `limit` seconds in all. True when complete."""
        deadline = time.monotonic() + limit
        last_n, last_change = -1, time.monotonic()
        while True:
            n = self.unique_count(run)
            now = time.monotonic()
            if n >= expected:
                return True
            if n != last_n:
                last_n, last_change = n, now
            if now - last_change > stall or now > deadline:
                return False
            time.sleep(0.02)


def _sink_main(conn, host: str, port: int, client_id: str) -> None:
    """Body of SinkProcess: a Sink served over a pipe (commands: count, records, junk, stop)."""
    sink = Sink(host, port, client_id)
    try:
        sink.start()
    except Exception as e:  # noqa: BLE001 - reported to the parent
        conn.send(("error", str(e)))
        return
    conn.send(("ok", None))
    uniq: dict[int, set] = {}
    done = 0  # records already folded into uniq
    while True:
        cmd, arg = conn.recv()
        if cmd == "count":
            with sink._lock:
                new = sink.records[done:]
                done = len(sink.records)
            for r in new:
                uniq.setdefault(r[0], set()).add(r[1])
            conn.send(len(uniq.get(arg, ())))
        elif cmd == "records":
            conn.send(sink.of_run(arg))
        elif cmd == "junk":
            conn.send(sink.junk)
        elif cmd == "stop":
            sink.stop()
            conn.send(None)
            return


class SinkProcess:
    """The Sink in its own process: paho's per-message Python work would otherwise share one GIL
    with the publisher and cap the flood run near 10 000 msg/s on any bridge."""

    def __init__(self, host: str, port: int, client_id: str = "bench-sink"):
        import multiprocessing
        self.host, self.port, self.client_id = host, port, client_id
        ctx = multiprocessing.get_context("spawn")  # no fork of a process running paho threads
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_sink_main, args=(child, host, port, client_id), daemon=True)
        self._lock = threading.Lock()

    def _ask(self, cmd: str, arg=None):
        with self._lock:
            self._conn.send((cmd, arg))
            return self._conn.recv()

    def start(self, timeout: float = 20) -> "SinkProcess":
        self._proc.start()
        if not self._conn.poll(timeout):
            self._proc.kill()
            raise TimeoutError("sink process did not start")
        try:
            status, err = self._conn.recv()
        except EOFError:
            raise RuntimeError(f"sink process exited with {self._proc.exitcode}") from None
        if status != "ok":
            raise RuntimeError(f"sink: {err}")
        return self

    def stop(self) -> None:
        if self._proc.is_alive():
            try:
                self._ask("stop")
            except (EOFError, OSError):
                pass
            self._proc.join(5)
        if self._proc.is_alive():
            self._proc.kill()

    @property
    def junk(self) -> int:
        return self._ask("junk")

    def of_run(self, run: int) -> list[tuple[int, int, int, int]]:
        return self._ask("records", run)

    def unique_count(self, run: int) -> int:
        return self._ask("count", run)

    wait_run = Sink.wait_run


class Publisher:
    """QoS 1 publisher on the local broker; counts PUBACKs so a phase knows the broker has it all."""

    def __init__(self, host: str, port: int, payload_size: int, inflight: int = 100,
                 client_id: str = "bench-pub"):
        self.host, self.port = host, port
        self.payload_size = payload_size
        self.acked = 0
        self.sent = 0
        self._lock = threading.Lock()
        self.c = mqtt.Client(client_id=client_id, clean_session=True)
        self.c.max_inflight_messages_set(inflight)
        self.c.max_queued_messages_set(0)
        self.c.on_publish = self._on_publish

    def _on_publish(self, c, userdata, mid):
        with self._lock:
            self.acked += 1

    def start(self, timeout: float = 10) -> "Publisher":
        _connect(self.c, self.host, self.port, timeout)
        return self

    def stop(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()

    def publish(self, run: int, seq: int) -> None:
        head = b"%d %d %d " % (run, seq, time.monotonic_ns())
        pad = max(0, self.payload_size - len(head))
        self.c.publish(TOPIC, head + b"x" * pad, qos=1)
        self.sent += 1

    def send(self, run: int, count: int, rate: float | None) -> tuple[float, float]:
        """Publishes seq 0..count-1 of `run`, paced at `rate` msg/s (None: as fast as paho goes).
        Returns (monotonic start, monotonic end of the publish calls)."""
        t0 = time.monotonic()
        for seq in range(count):
            if rate:
                ahead = t0 + seq / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            self.publish(run, seq)
        return t0, time.monotonic()

    def wait_acked(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.acked >= self.sent:
                    return True
            time.sleep(0.01)
        return False


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


def account(records: list[tuple[int, int, int, int]], expected: int) -> dict:
    """Delivery accounting of one run, records in arrival order."""
    seen: set[int] = set()
    dups = reordered = 0
    high = -1
    for _, seq, _, _ in records:
        if seq in seen:
            dups += 1
            continue
        seen.add(seq)
        if seq < high:
            reordered += 1  # a first arrival behind a later seq: out of order
        high = max(high, seq)
    lat = sorted((r[3] - r[2]) / 1e6 for r in records)
    return dict(expected=expected, received=len(records), unique=len(seen),
                lost=expected - len(seen & set(range(expected))), duplicates=dups,
                out_of_order=reordered,
                p50_ms=percentile(lat, 50), p99_ms=percentile(lat, 99),
                max_ms=lat[-1] if lat else float("nan"),
                first_recv=min((r[3] for r in records), default=0) / 1e9,
                last_recv=max((r[3] for r in records), default=0) / 1e9)
