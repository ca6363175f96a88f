"""First impressions for the board and the teams: no governance pack before a month of
check-ins, no chart without data, benefit plans that start when the benefit does, and no
prompt sent long after its time (the first tick after an outage or an import)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.context import AppContext
from bot.demo.signed import datepicker, plain_input
from bot.services import benefits, portfolio
from bot.services.access import Actor
from bot.slack_client import make_web_client
from handlers.blocks.benefits import NewBenefitMetadata
from handlers.jobs import run_due_work
from storage.models import Benefit, CheckinPeriod, Rag
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_CHANNEL
from tests.factories import BENEFIT_OWNER, LEAD, SPONSOR, TODAY, add_project
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


# --- a benefit's plan starts at its baseline -------------------------------------------------------


@pytest.fixture
def app_context(app_context, clock):
    return replace(app_context, clock=clock)


def _new_benefit(slack, name: str, *, baseline_date: str | None = None):
    values = {
        "name": {"name": plain_input(name)},
        "measure": {"measure": plain_input("Calls about address changes")},
        "unit": {"unit": plain_input("calls/month")},
        "baseline": {"baseline": {"type": "number_input", "value": "0"}},
        "target": {"target": {"type": "number_input", "value": "1000"}},
        "target_date": {"target_date": datepicker("2027-05-23")},
        "plan_start": {"plan_start": datepicker(baseline_date)},
        "owner": {"owner": {"type": "users_select", "selected_user": BENEFIT_OWNER}},
    }
    response = slack.view_submission(
        "benefit.new", values, user_id=SPONSOR, private_metadata=NewBenefitMetadata("CRM-2").to_json()
    )
    assert response.json()["response_action"] == "update"


def test_a_benefits_plan_runs_from_its_baseline_date_not_the_projects_start(slack, fake_slack, session_factory, clock):
    add_project(session_factory)
    with unit_of_work(session_factory) as session:
        portfolio.get_project(session, "CRM-2").start_date = TODAY - timedelta(days=300)  # a long-running project

    _new_benefit(slack, "Calls avoided")  # no baseline date: the plan starts today
    _new_benefit(slack, "Visits avoided", baseline_date=(TODAY - timedelta(days=100)).isoformat())
    clock.at = NOW + timedelta(days=14)
    with unit_of_work(session_factory) as session:
        for benefit in session.scalars(select(Benefit)):
            benefits.report_value(
                session,
                Actor(BENEFIT_OWNER, False),
                benefit.id,
                Decimal(60),
                TODAY + timedelta(days=14),
                now=clock.at,
                today=TODAY + timedelta(days=14),
            )

    slack.command("project CRM-2", user_id=SPONSOR, channel_id="C0PMO")
    record = str(fake_slack.wait_for_response(lambda r: "Calls avoided" in str(r.get("blocks")))["blocks"])

    calls, visits = record.split("Visits avoided")
    assert "off trajectory" not in calls  # 60 of the 77 planned two weeks in: within tolerance
    assert "off trajectory (expected 406 by now)" in visits  # 114 of 281 days into its plan
