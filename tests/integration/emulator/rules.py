"""What the platforms' rules have in common: a refused CONNECT, and the checks of a post's fields."""

from __future__ import annotations

import time

# Aliyun's thing-model document ("Device properties, events and services"): a post's time is in
# milliseconds and at most 24 h ahead. OneNET's OneJSON is checked the same way.
MAX_AHEAD_MS = 24 * 3600 * 1000


class Refusal(Exception):
    """A CONNECT the platform refuses: rc is the CONNACK code, or None to drop without CONNACK."""

    def __init__(self, rc: int | None, reason: str):
        super().__init__(reason)
        self.rc = rc
        self.reason = reason


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def time_problem(v) -> str:
    if not is_int(v):
        return f"time {v!r} is not an integer (milliseconds)"
    if v < 10 ** 12:
        return f"time {v} is not in milliseconds"
    if v > time.time() * 1000 + MAX_AHEAD_MS:
        return f"time {v} is more than 24 h in the future"
    return ""


def scalar(v) -> bool:
    return isinstance(v, (int, float, str)) and v is not None
