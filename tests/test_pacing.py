"""The shared send rate limiter (AIMD): on a clock the test moves (no sleeps, no Slack), and
once through the real client against the fake Slack with Slack's limits on.

`SimulatedSlack` answers like Slack's chat.postMessage limit (the fake Slack's sliding
window): at most `per_second` accepted calls within any second, 429 + Retry-After beyond.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import datetime, timezone

import pytest

from bot.pacing import DOUBLING_SECONDS, RECOVERY_SHARE, START_RATE, SendRateLimiter
from handlers.checkins import send_checkin_prompts
from tests.factories import add_project

DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # Monday 09:30 Europe/London: the default prompt time


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(clock: FakeClock, ceiling: float = 100.0) -> SendRateLimiter:
    return SendRateLimiter(ceiling, clock=clock, sleep=clock.sleep)


class SimulatedSlack:
    def __init__(self, clock: FakeClock, per_second: int) -> None:
        self.clock = clock
        self.per_second = per_second
        self.accepted: deque[float] = deque()
        self.calls = 0
        self.rate_limited = 0

    def post(self) -> float | None:
        """None when accepted, else the Retry-After in seconds."""
        self.calls += 1
        now = self.clock()
        while self.accepted and now - self.accepted[0] >= 1.0:
            self.accepted.popleft()
        if len(self.accepted) >= self.per_second:
            self.rate_limited += 1
            return max(1, math.ceil(self.accepted[0] + 1.0 - now))
        self.accepted.append(now)
        return None


def send_all(limiter: SendRateLimiter, slack: SimulatedSlack, messages: int, *, latency: float = 0.005) -> None:
    """One sender posting `messages`, each retried after a 429 as the client does."""
    for _ in range(messages):
        limiter.acquire()
        while (retry_after := slack.post()) is not None:
            slack.clock.sleep(latency)
            limiter.record_rate_limited(retry_after)
            limiter.acquire()
        slack.clock.sleep(latency)
        limiter.record_accepted()


def test_it_starts_at_the_safe_rate_and_doubles_while_slack_accepts():
    clock = FakeClock()
    pacing = limiter(clock)

    pacing.acquire()
    assert pacing.try_acquire() == pytest.approx(1 / START_RATE)

    started = clock.now
    while clock.now - started < DOUBLING_SECONDS:
        pacing.acquire()
        pacing.record_accepted()
    assert pacing.rate == pytest.approx(2 * START_RATE, rel=0.1)


def test_the_rate_never_exceeds_the_ceiling():
    clock = FakeClock()
    pacing = limiter(clock, ceiling=30)

    for _ in range(200):
        pacing.acquire()
        pacing.record_accepted()

    assert pacing.rate == 30
    started = clock.now
    for _ in range(30):
        pacing.acquire()
    assert clock.now - started == pytest.approx(1.0, abs=0.05)


def test_idle_time_does_not_raise_the_rate():
    clock = FakeClock()
    pacing = limiter(clock)
    pacing.acquire()

    clock.sleep(3600)
    pacing.acquire()

    assert pacing.rate < 1.25 * START_RATE  # an hour counts as two send intervals at most


def test_a_429_halves_what_slack_accepted_and_pauses_every_sender_for_retry_after():
    clock = FakeClock()
    pacing = limiter(clock)
    for _ in range(40):  # 40 accepted within the last second, at a rate that has grown past it
        pacing.acquire()
        pacing.record_accepted()
    assert pacing.rate > 40

    pacing.record_rate_limited(2.0)

    assert pacing.accepted_estimate == 40
    assert pacing.rate == pytest.approx(20)
    assert pacing.try_acquire() == pytest.approx(2.0)  # any thread, not just the one that got the 429


def test_429s_of_calls_already_in_flight_halve_the_rate_once():
    clock = FakeClock()
    pacing = limiter(clock)
    for _ in range(30):
        pacing.acquire()
        pacing.record_accepted()
    granted = threading.Semaphore(0)
    first_429_seen = threading.Event()
    rates_after: list[float] = []

    def in_flight() -> None:
        pacing.acquire()  # granted before the first 429 comes back...
        granted.release()
        first_429_seen.wait()
        pacing.record_rate_limited(1.0)  # ...so its own 429 is the same overload
        rates_after.append(pacing.rate)

    senders = [threading.Thread(target=in_flight) for _ in range(3)]
    for sender in senders:
        sender.start()
    pacing.acquire()
    for _ in senders:
        granted.acquire()
    pacing.record_rate_limited(1.0)
    halved = pacing.rate
    first_429_seen.set()
    for sender in senders:
        sender.join()

    assert rates_after == [halved] * 3
    assert halved == pytest.approx(15)


def test_after_a_429_it_returns_quickly_to_just_under_the_limit_then_probes_slowly():
    clock = FakeClock()
    pacing = limiter(clock)
    slack = SimulatedSlack(clock, per_second=50)

    send_all(pacing, slack, 300)
    assert slack.rate_limited >= 1
    assert pacing.accepted_estimate == pytest.approx(50, abs=1)
    assert pacing.rate == pytest.approx(RECOVERY_SHARE * pacing.accepted_estimate, rel=0.02)

    before = pacing.rate
    send_all(pacing, slack, 500)  # ten more seconds
    assert before < pacing.rate < before * 1.02


def test_a_429_while_slack_accepts_far_less_than_was_sent_is_not_taken_for_the_limit():
    clock = FakeClock()
    pacing = limiter(clock)
    for _ in range(100):
        pacing.acquire()
        pacing.record_accepted()
    clock.sleep(5)  # quiet; then one busy channel answers 429
    pacing.acquire()

    pacing.record_rate_limited(1.0)

    assert pacing.accepted_estimate is None
    assert pacing.rate >= START_RATE  # halved, and back to doubling from there


@pytest.mark.parametrize("limit", [5, 50, 90])
def test_a_burst_finds_the_limit_within_a_fifth_of_the_minimum_time_with_few_429s(limit):
    clock = FakeClock()
    pacing = limiter(clock)
    slack = SimulatedSlack(clock, per_second=limit)
    messages = 40 * limit  # the minimum is 40 s, as for Monday's 2,000 prompts at 50/s

    started = clock.now
    send_all(pacing, slack, messages)

    assert (clock.now - started) / (messages / limit) <= 1.2
    assert slack.rate_limited / slack.calls <= 0.02


# --- through the fake Slack, rate limits on -------------------------------------------------


def test_a_monday_burst_against_slacks_limits_is_delivered_whole_with_few_429s(
    app_context, fake_slack, session_factory
):
    projects = 150
    for number in range(projects):
        fake_slack.add_channel(f"C0B{number:04d}", f"burst-{number}")
        add_project(session_factory, f"B-{number}", f"Burst {number}", channels=(f"C0B{number:04d}",))
    fake_slack.set_rate_limit(per_channel_per_second=1, overall_per_second=50)

    send_checkin_prompts(app_context, DUE)

    delivered = [len(fake_slack.messages_in(f"C0B{number:04d}")) for number in range(projects)]
    assert delivered == [1] * projects  # none lost, none doubled
    calls = fake_slack.calls_to("chat.postMessage")
    assert sum(1 for call in calls if call.status == 429) <= 0.02 * len(calls)
    assert 45 <= app_context.client.limiter.accepted_estimate <= 52  # it found Slack's 50/s by itself
