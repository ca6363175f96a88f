"""What an operator watches: Prometheus metrics for `GET /metrics`, and one log line per tick.

Each process has one `Metrics` (built by the composition root, shared by the Slack client,
the delivery core and the scheduled work) with its own registry, so tests that build several
apps in one process never see each other's numbers. The ledger's backlog is read from the
database when scraped, so every instance reports the same, true figure.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.models import DeliveryStatus, OutgoingMessage
from storage.session import SessionFactory

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Ticks take well under a second when nothing is due and minutes on a Monday morning.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, float("inf"))
BACKLOG_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERABLE)


def message_kind(idempotency_key: str) -> str:
    """The kind of a ledger message: its key's prefix ("checkin-prompt", "escalation", ...)."""
    return idempotency_key.split(":", 1)[0]


@dataclass(frozen=True)
class LedgerBacklog:
    rows_by_status: dict[DeliveryStatus, int]
    oldest_pending_created_at: datetime | None


def ledger_backlog(session: Session) -> LedgerBacklog:
    """Rows not (yet) sent, by status, and when the oldest pending one was claimed.

    Served by the (status, next_attempt_at) index: it never reads the sent rows.
    """
    counts = dict(
        session.execute(
            select(OutgoingMessage.status, func.count())
            .where(OutgoingMessage.status.in_(BACKLOG_STATUSES))
            .group_by(OutgoingMessage.status)
        ).all()
    )
    oldest = session.scalar(
        select(func.min(OutgoingMessage.created_at)).where(OutgoingMessage.status == DeliveryStatus.PENDING)
    )
    return LedgerBacklog({status: counts.get(status, 0) for status in BACKLOG_STATUSES}, oldest)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_sent = Counter(
            "pmo_bot_messages_sent", "Ledger messages Slack accepted, by kind", ["kind"], registry=self.registry
        )
        self.messages_failed = Counter(
            "pmo_bot_messages_failed",
            "Ledger send attempts Slack or the network refused, by kind (retried later unless permanent)",
            ["kind"],
            registry=self.registry,
        )
        self.messages_retried = Counter(
            "pmo_bot_messages_retried",
            "Ledger send attempts after the first, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.slack_requests = Counter(
            "pmo_bot_slack_requests",
            "Web API calls, by method and outcome (ok, error, rate_limited, unreachable)",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.slack_rate_limited = Counter(
            "pmo_bot_slack_rate_limited",
            "Web API answers with HTTP 429, by method (each is waited out and retried)",
            ["method"],
            registry=self.registry,
        )
        self.send_rate = Gauge(
            "pmo_bot_slack_send_rate",
            "Messages per second the shared rate limiter currently allows",
            registry=self.registry,
        )
        self.tick_duration = Histogram(
            "pmo_bot_tick_duration_seconds",
            "How long one tick (all scheduled jobs) took",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.last_tick = Gauge(
            "pmo_bot_last_tick_timestamp_seconds",
            "Unix time at which the last tick finished",
            registry=self.registry,
        )
        self.job_duration = Histogram(
            "pmo_bot_job_duration_seconds",
            "How long each scheduled job took",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.ledger_rows = Gauge(
            "pmo_bot_ledger_rows",
            "Ledger rows not sent, by status (read from the database when scraped)",
            ["status"],
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "pmo_bot_ledger_oldest_pending_age_seconds",
            "Age of the oldest ledger row claimed but not confirmed sent (0 when none)",
            registry=self.registry,
        )
        self._lock = threading.Lock()
        self._sent: Tally[str] = Tally()
        self._failed: Tally[str] = Tally()
        self._rate_limited = 0

    def record_delivery(self, idempotency_key: str, *, sent: bool, attempts: int) -> None:
        """One ledger send attempt has been recorded; `attempts` counts it."""
        kind = message_kind(idempotency_key)
        (self.messages_sent if sent else self.messages_failed).labels(kind).inc()
        if attempts > 1:
            self.messages_retried.labels(kind).inc()
        with self._lock:
            (self._sent if sent else self._failed)[kind] += 1

    def record_slack_call(self, method: str, outcome: str) -> None:
        self.slack_requests.labels(method, outcome).inc()

    def record_rate_limited(self, method: str) -> None:
        self.slack_rate_limited.labels(method).inc()
        with self._lock:
            self._rate_limited += 1

    @contextmanager
    def tick(self, now: datetime) -> Iterator[TickRecorder]:
        """Time one tick and its jobs; log one line with what it sent when it ends."""
        with self._lock:
            before = (self._sent.copy(), self._failed.copy(), self._rate_limited)
        recorder = TickRecorder(self.job_duration)
        started = time.perf_counter()
        try:
            yield recorder
        finally:
            elapsed = time.perf_counter() - started
            self.tick_duration.observe(elapsed)
            self.last_tick.set(time.time())
            with self._lock:
                sent, failed = self._sent - before[0], self._failed - before[1]
                rate_limited = self._rate_limited - before[2]
            log.info(
                "tick %s done in %.2f s: sent %d%s, failed %d%s, 429s %d%s",
                now.isoformat(),
                elapsed,
                sent.total(),
                _by_kind(sent),
                failed.total(),
                _by_kind(failed),
                rate_limited,
                recorder.slowest(),
            )

    def exposition(self, session_factory: SessionFactory, clock: Callable[[], datetime]) -> bytes:
        """The Prometheus text page, with the ledger's backlog read now."""
        try:
            with session_factory() as session:
                backlog = ledger_backlog(session)
        except SQLAlchemyError:
            # The process's own figures are still worth serving; NaN says the backlog is unknown.
            log.warning("metrics: could not read the ledger backlog", exc_info=True)
            for status in BACKLOG_STATUSES:
                self.ledger_rows.labels(status.value).set(math.nan)
            self.oldest_pending_age.set(math.nan)
        else:
            for status, count in backlog.rows_by_status.items():
                self.ledger_rows.labels(status.value).set(count)
            oldest = backlog.oldest_pending_created_at
            self.oldest_pending_age.set(max(0.0, (clock() - oldest).total_seconds()) if oldest else 0.0)
        return generate_latest(self.registry)


class TickRecorder:
    def __init__(self, job_duration: Histogram) -> None:
        self._job_duration = job_duration
        self._durations: dict[str, float] = {}

    @contextmanager
    def job(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self._job_duration.labels(name).observe(elapsed)
            self._durations[name] = elapsed

    def slowest(self) -> str:
        if not self._durations:
            return ""
        name = max(self._durations, key=self._durations.__getitem__)
        return f", slowest job {name} {self._durations[name]:.2f} s"


def _by_kind(tally: Tally[str]) -> str:
    if not tally:
        return ""
    return " (" + ", ".join(f"{kind} {count}" for kind, count in tally.most_common()) + ")"
