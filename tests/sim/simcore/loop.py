"""A tiny single-threaded select() loop with timers, so every module delay is scaled by --speed."""
import heapq
import itertools
import select
import time


class Timer:
    __slots__ = ("when", "fn", "cancelled")

    def __init__(self, when, fn):
        self.when, self.fn, self.cancelled = when, fn, False

    def cancel(self):
        self.cancelled = True


class Loop:
    def __init__(self, speed=1.0):
        self.speed = max(float(speed), 0.01)
        self.start = time.monotonic()
        self._timers = []
        self._seq = itertools.count()
        self.readers = {}
        self.writers = {}
        self.stopping = False

    def now(self):
        """Seconds since start, in real time."""
        return time.monotonic() - self.start

    def later(self, module_seconds, fn):
        """Runs fn after a delay given in module time (divided by --speed)."""
        return self.later_real(module_seconds / self.speed, fn)

    def later_real(self, seconds, fn):
        t = Timer(time.monotonic() + max(seconds, 0.0), fn)
        heapq.heappush(self._timers, (t.when, next(self._seq), t))
        return t

    def run(self):
        while not self.stopping:
            timeout = 0.5
            if self._timers:
                timeout = min(timeout, max(0.0, self._timers[0][0] - time.monotonic()))
            try:
                r, w, _ = select.select(list(self.readers), list(self.writers), [], timeout)
            except InterruptedError:
                continue
            for fd in r:
                cb = self.readers.get(fd)
                if cb:
                    cb()
            for fd in w:
                cb = self.writers.get(fd)
                if cb:
                    cb()
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now and not self.stopping:
                _, _, t = heapq.heappop(self._timers)
                if not t.cancelled:
                    t.fn()
