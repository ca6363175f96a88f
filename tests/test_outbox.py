"""The idempotency ledger: each triggered message is sent once, and failures are retried."""

from __future__ import annotations

from datetime import timedelta

from bot.services import outbox
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
