"""Watching the daemon's D-Bus properties: polls until a condition holds, and a background
sampler that keeps every change with its time (short transitions included)."""

from __future__ import annotations

import threading
import time

from .bus import CLOUD_IFACE, PrivateBus, cloud_path
from .run import wait_for


def cloud_props(bus: PrivateBus, name: str) -> dict:
    return bus.get_all(cloud_path(name), CLOUD_IFACE)


def wait_cloud(bus: PrivateBus, name: str, pred, timeout: float, what: str, daemon=None) -> dict:
    """Polls the session's properties until pred(props) holds; returns them. The error shows the
    last properties seen (and the log tail of `daemon`, a Daemon, when given)."""
    last = {}

    def check():
        if daemon is not None and daemon.proc.poll() is not None:
            raise AssertionError(f"cellgated exited with {daemon.proc.returncode}")
        last.clear()
        last.update(cloud_props(bus, name))
        return pred(last)

    try:
        wait_for(check, timeout, f"{name}: {what}", interval=0.05)
    except TimeoutError as e:
        tail = ("\n--- daemon log tail ---\n" + daemon.log()[-3000:]) if daemon is not None else ""
        raise AssertionError(f"{e}; last {name} properties: {last}{tail}") from None
    return dict(last)


class PropertySampler:
    """Samples properties in the background (every `interval` s, one GetAll per object and
    interface) and keeps the transitions: .seen = [(monotonic time, (v1, v2, ...)), ...], one
    entry per change.

        s = PropertySampler(bus, [(MODEM_PATH, MODEM_IFACE, "State"), (cloud_path("lab"), CLOUD_IFACE, "State")])
        ...; s.stop(); s.first_time(lambda v: v[1] == "connected", after=t0); s.values()
    """

    def __init__(self, bus: PrivateBus, props, interval: float = 0.05):
        self.bus, self.props, self.interval = bus, list(props), interval
        self.seen: list = []
        self.errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        wait_for(lambda: self.seen, 10, "first property sample")

    def _sample(self) -> tuple:
        objects = {}
        for path, iface, _ in self.props:
            if (path, iface) not in objects:
                objects[(path, iface)] = self.bus.get_all(path, iface)
        return tuple(objects[(path, iface)][name] for path, iface, name in self.props)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                values = self._sample()
                now = time.monotonic()
                with self._lock:
                    if not self.seen or self.seen[-1][1] != values:
                        self.seen.append((now, values))
            except Exception:  # noqa: BLE001 - a poll may fail while the daemon is busy
                self.errors += 1
            self._stop.wait(self.interval)

    def stop(self) -> list:
        self._stop.set()
        self._t.join(5)
        return self.seen

    def values(self) -> list:
        """The sampled values, one tuple per change, without their times."""
        with self._lock:
            return [v for _, v in self.seen]

    def current(self):
        with self._lock:
            return self.seen[-1][1]

    def first_time(self, pred, after: float = 0.0):
        """Monotonic time of the first sampled change at/after `after` whose values satisfy pred,
        or None. A state already holding at `after` counts from `after`."""
        with self._lock:
            seen = list(self.seen)
        prev = None
        for t, v in seen:
            if t < after:
                prev = v
                continue
            if prev is not None and pred(prev):
                return after
            prev = None
            if pred(v):
                return t
        if prev is not None and pred(prev):
            return after
        return None

    def wait(self, pred, timeout: float, what: str, after: float = 0.0) -> float:
        try:
            return wait_for(lambda: self.first_time(pred, after), timeout, what, interval=0.02)
        except TimeoutError as e:
            raise AssertionError(f"{e}; transitions: {self.describe()}") from None

    def describe(self, since: float | None = None) -> str:
        with self._lock:
            seen = list(self.seen)
        t0 = since if since is not None else (seen[0][0] if seen else 0)
        return "; ".join(f"{t - t0:+.2f}s {v}" for t, v in seen)
