"""First impressions for the board and the teams: no governance pack before a month of
check-ins, no chart without data, benefit plans that start when the benefit does, and no
prompt sent long after its time (the first tick after an outage or an import)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.context import AppContext
from bot.slack_client import make_web_client
from handlers.jobs import run_due_work
from storage.models import CheckinPeriod, Rag
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_CHANNEL
from tests.factories import LEAD, add_project
from tests.test_status import add_checkin

FIRST_OF_DECEMBER = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # a Tuesday, 09:00 in London


@pytest.fixture
def board_context(settings, session_factory) -> AppContext:
    switched_on = settings.model_copy(update={"digest_enabled": True})
    return AppContext(
        settings=switched_on, session_factory=session_factory, client=make_web_client(switched_on), clock=lambda: NOW
    )


def _packs(fake_slack) -> list[dict]:
    return [m for m in fake_slack.messages_in(PMO_CHANNEL) if m["text"].startswith("Governance pack for")]


def test_no_pack_before_the_bot_has_a_month_of_check_ins(board_context, fake_slack, session_factory):
    add_project(session_factory, created_at=NOW - timedelta(days=3))
    add_checkin(session_factory, "CRM-2", "2026-W48", Rag.GREEN, at=NOW + timedelta(hours=1))

    run_due_work(board_context, FIRST_OF_DECEMBER)

    assert _packs(fake_slack) == []
    assert fake_slack.calls_to("files.getUploadURLExternal") == []


def test_a_chart_without_data_is_not_drawn_and_the_pack_says_so(board_context, fake_slack, session_factory):
    add_project(session_factory, created_at=NOW - timedelta(days=60))  # no benefits measured
    add_checkin(session_factory, "CRM-2", "2026-W44", Rag.AMBER, at=datetime(2026, 10, 26, 10, tzinfo=timezone.utc))

    run_due_work(board_context, FIRST_OF_DECEMBER)

    assert len(_packs(fake_slack)) == 1
    assert [call.args["filename"] for call in fake_slack.ok_calls_to("files.getUploadURLExternal")] == [
        "portfolio-health-2026-12.png"
    ]
    [charts] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if m.get("upload")]
    assert "Benefits realised against plan, by objective: not enough data yet." in charts["text"]


# --- prompts long after their time ---------------------------------------------------------------

DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # the default cadence: Monday 09:30 London


def _prompts(fake_slack) -> list[dict]:
    return [m for m in fake_slack.messages_in("C0CRM") if "weekly check-in" in m["text"]]


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    fake_slack.add_user(LEAD)
    add_project(session_factory, channels=("C0CRM",), created_at=NOW - timedelta(days=30))


def test_a_prompt_later_than_the_missed_hours_is_not_sent_and_the_week_is_excused(
    app_context, fake_slack, session_factory, crm
):
    first_tick = DUE + timedelta(hours=48, minutes=1)  # the bot was down from Monday to Wednesday

    run_due_work(app_context, first_tick)
    run_due_work(app_context, first_tick + timedelta(days=2))  # reminders and misses would be due by now

    assert _prompts(fake_slack) == []
    assert fake_slack.messages_in(PMO_CHANNEL) == []  # no "No check-in" alert
    with unit_of_work(session_factory) as session:
        period = session.scalars(select(CheckinPeriod)).one()
        assert (period.period, period.excused_reason, period.missed_at) == ("2026-W48", "prompt_too_late", None)
    run_due_work(app_context, DUE + timedelta(days=7))
    assert len(_prompts(fake_slack)) == 1  # next week's prompt goes out on time


def test_a_prompt_within_the_missed_hours_is_still_sent(app_context, fake_slack, crm):
    run_due_work(app_context, DUE + timedelta(hours=47))

    assert len(_prompts(fake_slack)) == 1
