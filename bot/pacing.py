"""One send rate for the whole process, that finds Slack's limit by itself (AIMD).

Slack does not publish the workspace-wide limit on posting messages; it answers calls over
it with HTTP 429 and `Retry-After`. Every message-sending call in the process waits for a
slot from one `SendRateLimiter`, so a Monday fan-out, an incident announcement, DMs and
updates share the budget instead of each assuming it is alone.

The rate starts at a safe value and doubles every half second that Slack accepts without 429.
A 429 halves the rate (of what Slack was actually accepting in the last second, which is
the best estimate of the limit) and pauses every sender until `Retry-After` has passed.
After that the rate climbs quickly back to just under the rate Slack accepted, and from
there only slowly, so the limit is probed again now and then without paying a pause each
time. The rate never exceeds the ceiling (`SLACK_MESSAGES_PER_SECOND`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

START_RATE = 20.0  # messages/second before anything is known: the bot's former fixed pace, safe for years
MIN_RATE = 1.0
DOUBLING_SECONDS = 0.5  # before the first 429, and when recovering from one
# After a 429 the rate returns quickly to this share of what Slack accepted, then creeps up.
RECOVERY_SHARE = 0.94
# Above it the rate grows by this share of what Slack accepted per second of sending: from
# 94% it takes a minute to reach the limit again, so probing costs one pause a minute at most.
PROBE_SHARE_PER_SECOND = 0.001
ACCEPTED_WINDOW_SECONDS = 1.0  # what Slack accepted over this long is the estimate of its limit
# Before a 429 is seen, the rate can run ahead of what Slack accepts by up to this factor.
ESTIMATE_MIN_SHARE_OF_RATE = 4
# A sender that woke late may take one slot early, so a busy machine does not lose throughput.
CATCH_UP_SLOTS = 1


class SendRateLimiter:
    """Hands out send slots at the current rate. Thread-safe; time comes from `clock`."""

    def __init__(
        self,
        ceiling: float,
        *,
        start: float = START_RATE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling = ceiling
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate = min(start, ceiling)
        self._next_slot = clock()
        self._paused_until = self._next_slot
        self._last_grant: float | None = None
        self._decreased_at = float("-inf")
        self._accepted_estimate: float | None = None
        self._accepted: deque[float] = deque()
        self._granted_at = threading.local()

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def accepted_estimate(self) -> float | None:
        """The rate Slack accepted when it last answered 429, or None before the first."""
        return self._accepted_estimate

    def acquire(self) -> None:
        """Block until this thread may send one message."""
        while (wait := self.try_acquire()) > 0:
            self._sleep(wait)

    def try_acquire(self) -> float:
        """Take a slot now and return 0, or return how many seconds to wait before asking again."""
        with self._lock:
            now = self._clock()
            opens = max(self._next_slot, self._paused_until)
            if now < opens:
                return opens - now
            self._grow(now)
            interval = 1.0 / self._rate
            self._next_slot = max(opens, now - CATCH_UP_SLOTS * interval) + interval
            self._granted_at.value = now
            return 0.0

    def record_accepted(self) -> None:
        """Slack answered a paced call without 429 (an error like channel_not_found counts too)."""
        with self._lock:
            now = self._clock()
            self._accepted.append(now)
            self._forget_old(now)

    def record_rate_limited(self, retry_after: float) -> None:
        """Slack answered 429: halve the rate and pause every sender for `retry_after` seconds.

        The calls already in flight when the first 429 came back get 429 too; they belong to
        the same overload, so only the first of them halves the rate.
        """
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + retry_after)
            granted_at = getattr(self._granted_at, "value", now)
            if granted_at < self._decreased_at:
                return
            self._forget_old(now)
            accepted = len(self._accepted) / ACCEPTED_WINDOW_SECONDS
            # Slack accepting far less than we were sending means this 429 is about something
            # else (one busy channel, a quiet moment): it says nothing about the overall limit.
            if accepted >= max(MIN_RATE, self._rate / ESTIMATE_MIN_SHARE_OF_RATE):
                self._accepted_estimate = accepted
            self._rate = max(MIN_RATE, min(self._rate, accepted or self._rate) / 2)
            self._decreased_at = now
            self._last_grant = None

    def _grow(self, now: float) -> None:
        # Only time spent sending counts: an idle process learns nothing about the limit.
        elapsed = 0.0 if self._last_grant is None else min(now - self._last_grant, 2.0 / self._rate)
        self._last_grant = now
        if elapsed <= 0:
            return
        recovered = None if self._accepted_estimate is None else RECOVERY_SHARE * self._accepted_estimate
        if recovered is None or self._rate < recovered:
            grown = self._rate * 2 ** (elapsed / DOUBLING_SECONDS)
            self._rate = grown if recovered is None else min(grown, recovered)
        else:
            self._rate += PROBE_SHARE_PER_SECOND * self._accepted_estimate * elapsed
        self._rate = min(self._rate, self.ceiling)

    def _forget_old(self, now: float) -> None:
        while self._accepted and now - self._accepted[0] > ACCEPTED_WINDOW_SECONDS:
            self._accepted.popleft()
