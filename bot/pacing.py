"""Pacing outgoing calls under a rate limit, shared by the threads of one fan-out."""

from __future__ import annotations

import threading
import time


class Pacer:
    """Hands out evenly spaced send slots: `wait()` returns when the caller's slot has come.

    Slack answers bursts with 429 and Retry-After; spacing sends at a rate below its limit
    keeps a Monday-morning fan-out of thousands of prompts close to the fastest possible.
    """

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next_slot = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            time.sleep(slot - now)
