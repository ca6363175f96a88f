"""`GET /metrics` on the running app, scraped over HTTP as Prometheus would, after real ticks."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.services import outbox
from bot.services.outbox import OutgoingRequest
from handlers.jobs import run_due_work
from storage.session import unit_of_work
from tests.factories import LEAD, add_project

DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # Monday 09:30 Europe/London: the default prompt time


@pytest.fixture
def three_projects(fake_slack, session_factory):
    fake_slack.add_channel("C0ONE", "one")
    fake_slack.add_channel("C0TWO", "two")
    fake_slack.add_channel("C0GONE", "gone", is_archived=True)
    add_project(session_factory, "ONE-1", "One", channels=("C0ONE",))
    add_project(session_factory, "TWO-1", "Two", channels=("C0TWO",))
    add_project(session_factory, "GONE-1", "Gone", channels=("C0GONE",))


def scrape(app_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{app_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_after_a_tick_the_page_shows_what_was_sent_failed_and_rate_limited(
    app_url, app_context, fake_slack, three_projects
):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0)

    run_due_work(app_context, DUE)
    page = scrape(app_url)

    assert page[("pmo_bot_messages_sent_total", (("kind", "checkin-prompt"),))] == 2
    assert page[("pmo_bot_messages_failed_total", (("kind", "checkin-prompt"),))] == 1  # the archived channel
    assert page[("pmo_bot_messages_sent_total", (("kind", "escalation"),))] == 1  # the PMO hears of the channel
    assert page[("pmo_bot_slack_rate_limited_total", (("method", "chat.postMessage"),))] == 1
    assert page[("pmo_bot_ledger_rows", (("status", "undeliverable"),))] == 1
    assert page[("pmo_bot_ledger_rows", (("status", "pending"),))] == 0
    assert page[("pmo_bot_tick_duration_seconds_count", ())] == 1
    assert page[("pmo_bot_job_duration_seconds_count", (("job", "send_checkin_prompts"),))] == 1
    assert page[("pmo_bot_last_tick_timestamp_seconds", ())] == pytest.approx(datetime.now().timestamp(), abs=60)


def test_a_message_the_retry_job_sends_later_counts_as_failed_then_retried_and_sent(
    app_url, app_context, fake_slack, three_projects
):
    # More 503s than the client retries, so the ledger keeps the prompts for the retry job.
    fake_slack.fail_next("chat.postMessage", status=503, error="service_unavailable", times=9)
    run_due_work(app_context, DUE)
    failed_first = scrape(app_url)

    run_due_work(app_context, DUE + timedelta(minutes=5))
    page = scrape(app_url)

    assert failed_first[("pmo_bot_ledger_rows", (("status", "failed"),))] >= 1
    assert page[("pmo_bot_messages_retried_total", (("kind", "checkin-prompt"),))] >= 1
    assert page[("pmo_bot_messages_sent_total", (("kind", "checkin-prompt"),))] == 2
    assert page[("pmo_bot_ledger_rows", (("status", "failed"),))] == 0
    assert page[("pmo_bot_tick_duration_seconds_count", ())] == 2


def test_a_message_claimed_but_never_confirmed_shows_as_an_old_pending_row(app_url, session_factory):
    claimed_at = datetime.now(timezone.utc) - timedelta(minutes=15)
    with unit_of_work(session_factory) as session:
        request = OutgoingRequest("checkin-prompt:1:2026-W48", "chat.postMessage", "C0ONE", {"text": "hi"})
        outbox.claim(session, request, now=claimed_at)

    page = scrape(app_url)

    assert page[("pmo_bot_ledger_rows", (("status", "pending"),))] == 1
    assert 15 * 60 <= page[("pmo_bot_ledger_oldest_pending_age_seconds", ())] < 16 * 60


def test_each_tick_logs_one_line_with_what_it_sent(app_context, fake_slack, three_projects, caplog):
    with caplog.at_level(logging.INFO, logger="bot.metrics"):
        run_due_work(app_context, DUE)

    [line] = [record.getMessage() for record in caplog.records if record.name == "bot.metrics"]
    assert line.startswith(f"tick {DUE.isoformat()} done in ")
    assert "sent 3 (checkin-prompt 2, escalation 1)" in line
    assert "failed 1 (checkin-prompt 1)" in line


def test_what_listeners_send_goes_through_the_apps_own_client(app_url, slack, fake_slack, listeners, three_projects):
    slack.command("action ONE-1", user_id=LEAD, channel_id="C0ONE")
    fake_slack.wait_for("views.open")
    listeners.wait_idle()

    page = scrape(app_url)

    assert page[("pmo_bot_slack_requests_total", (("method", "views.open"), ("outcome", "ok")))] == 1
