"""The idempotency ledger: each triggered message is sent once, and failures are retried."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import text

from bot.services import job_runs, outbox
from bot.services.outbox import OutgoingRequest
from handlers.delivery import retry_failed_messages, send_once
from handlers.jobs import run_due_work
from storage.models import DeliveryStatus
from storage.session import unit_of_work
from tests.conftest import NOW


def _hello(key: str = "hello:1", channel: str = "C0TEAM") -> OutgoingRequest:
    return OutgoingRequest(key, "chat.postMessage", channel, {"channel": channel, "text": "hello"})


def test_a_key_is_claimed_once(session):
    assert outbox.claim(session, _hello(), now=NOW) is not None
    session.commit()

    assert outbox.claim(session, _hello(), now=NOW) is None


def test_sending_twice_posts_once(app_context, fake_slack):
    fake_slack.add_channel("C0TEAM", "team")

    first = send_once(app_context, _hello(), now=NOW)
    second = send_once(app_context, _hello(), now=NOW)

    assert first is not None and first.status is DeliveryStatus.SENT and second is None
    assert len(fake_slack.messages_in("C0TEAM")) == 1


def test_a_passing_failure_is_retried_by_the_tick_and_then_sent_once(app_context, fake_slack, session_factory):
    fake_slack.add_channel("C0TEAM", "team")
    fake_slack.fail_next("chat.postMessage", status=503, error="service_unavailable", times=3)

    failed = send_once(app_context, _hello(), now=NOW)
    run_due_work(app_context, NOW + timedelta(seconds=30))  # too early for the first retry
    run_due_work(app_context, NOW + timedelta(minutes=1))
    run_due_work(app_context, NOW + timedelta(minutes=5))

    assert failed is not None and failed.status is DeliveryStatus.FAILED
    assert len(fake_slack.messages_in("C0TEAM")) == 1
    with unit_of_work(session_factory) as session:
        row = outbox.find(session, "hello:1")
        assert row is not None and row.status is DeliveryStatus.SENT and row.attempts == 2


def test_a_permanent_failure_is_not_retried(app_context, fake_slack, session_factory):
    fake_slack.add_channel("C0GONE", "gone", is_archived=True)

    delivery = send_once(app_context, _hello(channel="C0GONE"), now=NOW)
    retry_failed_messages(app_context, NOW + timedelta(hours=1))

    assert delivery is not None and delivery.status is DeliveryStatus.UNDELIVERABLE
    assert delivery.error == "is_archived"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def _ledger_text(session_factory, key: str) -> str | None:
    with unit_of_work(session_factory) as session:
        row = outbox.find(session, key)
        return row.payload["text"] if row is not None else None


def _claim_loop(session, keys: list[str], text: str) -> list[str]:
    """A caller's transaction: its own work first, then one claim per key; the keys it lost."""
    job_runs.mark_done(session, f"caller-work:{text}", now=NOW)
    request = lambda key: OutgoingRequest(key, "chat.postMessage", "C0TEAM", {"channel": "C0TEAM", "text": text})  # noqa: E731
    return [key for key in keys if outbox.claim(session, request(key), now=NOW) is None]


def test_a_claim_lost_to_another_session_keeps_the_callers_earlier_work(session_factory, engine):
    """Two sessions claim the same key in multi-claim loops; the loser's other rows all survive."""
    first, second = session_factory(), session_factory()
    lost: dict[str, list[str]] = {}
    if engine.dialect.name == "postgresql":
        # The second session inserts the shared key and holds it uncommitted; the first then
        # claims it and waits on that row lock until the second commits: the lost race itself.
        lost["second"] = _claim_loop(second, ["race:shared"], "second")
        loser = threading.Thread(
            target=lambda: lost.update(first=_claim_loop(first, ["race:a1", "race:shared", "race:a2"], "first"))
        )
        loser.start()
        _wait_for_a_lock_wait(engine)
        second.commit()
        loser.join(timeout=10)
        first.commit()
    else:
        # SQLite has one writer: the first session holds the lock, the second waits for it and
        # then finds the shared key taken.
        lost["first"] = _claim_loop(first, ["race:a1", "race:shared", "race:a2"], "first")
        waiter = threading.Thread(
            target=lambda: lost.update(second=_claim_loop(second, ["race:shared", "race:b1"], "second"))
        )
        waiter.start()
        first.commit()
        waiter.join(timeout=40)
        second.commit()
    first.close()
    second.close()

    assert sorted(lost["first"] + lost["second"]) == ["race:shared"]
    winner = "second" if lost["first"] else "first"
    assert _ledger_text(session_factory, "race:shared") == winner
    assert _ledger_text(session_factory, "race:a1") == "first" and _ledger_text(session_factory, "race:a2") == "first"
    with unit_of_work(session_factory) as session:
        assert job_runs.is_done(session, "caller-work:first") and job_runs.is_done(session, "caller-work:second")


def _wait_for_a_lock_wait(engine) -> None:
    """Until some PostgreSQL session waits on a row lock (the first session's insert)."""
    deadline = time.monotonic() + 10
    with engine.connect() as connection:
        while not connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
            assert time.monotonic() < deadline, "the first session never waited on the second's row"
            time.sleep(0.01)  # polling the server's lock table
            connection.rollback()
