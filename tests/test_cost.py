"""Cost: the month's first check-in asks for it (prefilled), the variance suggests the cost RAG,
`/pmo status KEY` shows it and the pack sums it per programme.

NOW (conftest) is Monday 2026-11-23 09:00 UTC; the cadence is Monday 09:30.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.context import AppContext
from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import plain_input, static_select
from bot.services import cost_csv
from bot.services.cost import financial_year_of, suggested_rag
from bot.services.portfolio_csv import ImportRejected
from storage.models import CostReport, Rag
from storage.session import unit_of_work
from tests.conftest import make_test_client
from tests.factories import LEAD, STRANGER, add_project

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY)


@pytest.fixture
def app_context(settings, session_factory, clock) -> AppContext:
    return AppContext(
        settings=settings, session_factory=session_factory, client=make_test_client(settings), clock=clock
    )


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    fake_slack.add_user(LEAD)
    add_project(session_factory, channels=("C0CRM",))


def _open_form(slack, fake_slack, listeners) -> dict:
    before = len(fake_slack.calls_to("views.open"))
    slack.command("checkin CRM-2", user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()
    return fake_slack.calls_to("views.open")[before].args["view"]


def _inputs(view: dict) -> dict[str, dict]:
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


def _submit(slack, view: dict, **amounts: str):
    values = {"overall": {"overall": static_select("green")}, "progress": {"progress": plain_input("Fine")}}
    for name, typed in amounts.items():
        values[name] = {name: {"type": "number_input", "value": typed}}
    return slack.view_submission("checkin.submit", values, user_id=LEAD, private_metadata=view["private_metadata"])


def _reports(session_factory) -> list[tuple[str, str, Decimal | None, Decimal | None]]:
    with session_factory() as session:
        return [
            (r.month, r.financial_year, r.budget_whole_life, r.forecast_outturn)
            for r in session.scalars(select(CostReport).order_by(CostReport.month))
        ]


# --- the rules, without Slack -----------------------------------------------------------------------------


def test_the_financial_year_runs_from_its_start_month():
    assert financial_year_of(date(2027, 3, 31), 4) == "2026-27"
    assert financial_year_of(date(2027, 4, 1), 4) == "2027-28"
    assert financial_year_of(date(2026, 12, 1), 1) == "2026"


@pytest.mark.parametrize(
    ("forecast", "rag"),
    [("1050000", Rag.GREEN), ("1050001", Rag.AMBER), ("1100000", Rag.AMBER), ("1100001", Rag.RED), ("850000", Rag.RED)],
)
def test_the_variance_beyond_the_tolerance_suggests_amber_and_beyond_twice_red(forecast, rag):
    assert suggested_rag(Decimal(1_000_000), Decimal(forecast), 0.05) is rag


def test_without_a_budget_nothing_is_suggested():
    assert suggested_rag(None, Decimal(5), 0.05) is None


# --- through the check-in ----------------------------------------------------------------------------------


def test_the_first_check_in_of_the_month_asks_for_costs_and_status_shows_the_suggestion(
    slack, fake_slack, crm, session_factory, listeners
):
    view = _open_form(slack, fake_slack, listeners)
    assert view_problems(view) == []
    assert {"budget_whole_life", "budget_year", "actual_to_date", "forecast_outturn"} <= set(_inputs(view))
    assert _inputs(view)["budget_year"]["label"]["text"] == "Budget, this financial year (2026-27)"

    _submit(
        slack,
        view,
        budget_whole_life="1000000",
        budget_year="250000",
        actual_to_date="400000",
        forecast_outturn="1080000",
    )
    listeners.wait_idle()
    slack.command("status CRM-2", user_id=STRANGER, channel_id="C0ELSEWHERE")
    listeners.wait_idle()
    shown = fake_slack.responses[-1]

    assert _reports(session_factory) == [("2026-11", "2026-27", Decimal(1_000_000), Decimal(1_080_000))]
    assert message_problems(shown["blocks"]) == []
    text = str(shown["blocks"])
    assert "budget 1,000,000, 2026-27 budget 250,000, spent 400,000, forecast outturn 1,080,000" in text
    assert "variance +80,000 (+8.0%)" in text and "suggested cost RAG :large_orange_circle: Amber" in text


def test_an_amendment_asks_again_prefilled_but_the_next_week_of_the_month_does_not(
    app_context, clock, slack, fake_slack, crm, session_factory, listeners
):
    view = _open_form(slack, fake_slack, listeners)
    _submit(slack, view, budget_whole_life="1000000", forecast_outturn="1200000")
    listeners.wait_idle()

    amending = _open_form(slack, fake_slack, listeners)
    assert _inputs(amending)["forecast_outturn"]["element"]["initial_value"] == "1200000.00"
    assert "suggested cost RAG :red_circle: Red" in str(amending["blocks"])

    clock.at = MONDAY + timedelta(weeks=1)  # 30 November: a later check-in of the same month
    assert "budget_whole_life" not in _inputs(_open_form(slack, fake_slack, listeners))

    clock.at = MONDAY + timedelta(weeks=2)  # 7 December: the month's first again
    december = _open_form(slack, fake_slack, listeners)
    assert _inputs(december)["budget_whole_life"]["element"]["initial_value"] == "1000000.00"
    assert json.loads(december["private_metadata"])["period"] == "2026-W50"


def test_leaving_the_costs_blank_records_nothing_and_a_bad_amount_is_refused_next_to_its_field(
    slack, fake_slack, crm, session_factory, listeners
):
    view = _open_form(slack, fake_slack, listeners)

    refused = _submit(slack, view, budget_whole_life="-5", forecast_outturn="1.234")
    blank = _submit(slack, view)
    listeners.wait_idle()

    assert refused.json()["errors"] == {
        "budget_whole_life": "Use an amount from 0 up to 10,000,000,000,000,000.",
        "forecast_outturn": "Use at most 2 decimal places (pence).",
    }
    assert blank.status_code == 200 and _reports(session_factory) == []


# --- import and export ---------------------------------------------------------------------------------------

COSTS_CSV = (
    "project,month,financial_year,budget_whole_life,budget_year,actual_to_date,forecast_outturn\n"
    "crm-2,2026-10,2026-27,1000000,250000,300000,1000000\n"
    "CRM-2,2026-11,2026-27,1000000,250000,400000,1080000.50\n"
)


def test_cost_reports_import_and_round_trip_as_a_no_op(session_factory):
    add_project(session_factory)

    with unit_of_work(session_factory) as session:
        first = cost_csv.import_costs(session, COSTS_CSV, now=MONDAY)
        exported = cost_csv.export_costs(session)
        again = cost_csv.import_costs(session, exported, now=MONDAY)

    assert (first.describe(), again.describe()) == (
        "2 created, 0 updated, 0 unchanged",
        "0 created, 0 updated, 2 unchanged",
    )
    assert exported.splitlines()[2] == "CRM-2,2026-11,2026-27,1000000.00,250000.00,400000.00,1080000.50"
    assert _reports(session_factory)[-1] == ("2026-11", "2026-27", Decimal(1_000_000), Decimal("1080000.50"))


def test_a_bad_cost_file_imports_nothing_and_names_each_bad_line(session_factory):
    add_project(session_factory)
    bad = (
        "project,month,financial_year,budget_whole_life,budget_year,actual_to_date,forecast_outturn\n"
        "CRM-2,2026-11,2026-27,1000000,,,\n"
        "CRM-2,11/2026,2026-27,1000000,,,\n"
        "CRM-2,2026-12,2026-27,lots,,,\n"
    )

    with unit_of_work(session_factory) as session, pytest.raises(ImportRejected) as rejected:
        cost_csv.import_costs(session, bad, now=MONDAY)

    assert [str(problem) for problem in rejected.value.problems] == [
        "line 3: month '11/2026' is not a month: write it as YYYY-MM, e.g. 2026-11",
        "line 4: budget_whole_life: 'lots' is not an amount: write digits, e.g. 250000 or 1250.50.",
    ]
    assert _reports(session_factory) == []
