"""Benefits: the trajectory rule, `/pmo benefit add`, `/pmo benefit report`, and the record's warning."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.context import AppContext
from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import datepicker, plain_input, static_select
from bot.services import benefits
from bot.services.access import Actor
from bot.services.benefits import trajectory
from bot.services.portfolio import BenefitLine
from handlers.blocks.benefits import (
    BenefitChoice,
    BenefitForm,
    NewBenefitMetadata,
    benefit_form_modal,
    benefit_saved_modal,
    report_value_modal,
    value_reported_modal,
)
from handlers.blocks.common import slack_date
from storage.models import Benefit, BenefitValue, Person, Project
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, make_test_client
from tests.factories import BENEFIT_OWNER, SPONSOR, STRANGER, add_benefit, add_project

TODAY = NOW.date()


@pytest.fixture
def app_context(settings, session_factory) -> AppContext:
    """The app at NOW, so "today", target dates and trajectories are the same on every run."""
    return AppContext(
        settings=settings, session_factory=session_factory, client=make_test_client(settings), clock=lambda: NOW
    )


# --- the trajectory, without Slack ------------------------------------------------------

START = date(2026, 1, 1)
TARGET_DATE = START + timedelta(days=100)  # baseline 0 -> target 1000 is 10 a day
DAY_50 = START + timedelta(days=50)  # where the plan expects 500


def _benefit(
    *,
    baseline: str = "0",
    target: str = "1000",
    start_date: date | None = START,
    created_on: date = START,
    values: tuple[tuple[str, date], ...] = (),
) -> Benefit:
    benefit = Benefit(
        project=Project(key="CRM-2", name="Customer records", start_date=start_date),
        name="Calls avoided",
        measure="Calls about address changes",
        unit="calls/month",
        baseline=Decimal(baseline),
        target=Decimal(target),
        target_date=TARGET_DATE,
        created_at=datetime.combine(created_on, time(9), tzinfo=timezone.utc),
        owner_id=1,  # an owner, so the benefit is measurable; nothing here reads who
    )
    for index, (value, measured_on) in enumerate(values):
        reported_at = datetime.combine(START, time(9), tzinfo=timezone.utc) + timedelta(minutes=index)
        benefit.values.append(BenefitValue(value=Decimal(value), measured_on=measured_on, reported_at=reported_at))
    return benefit


@pytest.mark.parametrize(
    ("latest", "off_track"),
    [("700", False), ("500", False), ("420", False), ("400", False), ("399", True), ("100", True)],
)
def test_a_value_is_off_trajectory_only_when_behind_the_line_by_more_than_the_tolerance(latest, off_track):
    path = trajectory(_benefit(values=((latest, DAY_50),)), on=DAY_50, tolerance=0.10)

    assert path.expected == Decimal(500)
    assert path.is_off_track is off_track


def test_how_far_behind_is_a_share_of_the_distance_and_zero_when_ahead():
    behind = trajectory(_benefit(values=(("350", DAY_50),)), on=DAY_50, tolerance=0.10)
    ahead = trajectory(_benefit(values=(("900", DAY_50),)), on=DAY_50, tolerance=0.10)

    assert behind.behind_by == pytest.approx(0.15)
    assert ahead.behind_by == 0


def test_when_lower_is_better_being_above_the_line_is_behind():
    def off_track(latest: str) -> bool:
        benefit = _benefit(baseline="1000", target="0", values=((latest, DAY_50),))
        return trajectory(benefit, on=DAY_50, tolerance=0.10).is_off_track

    assert (off_track("620"), off_track("380")) == (True, False)


def test_after_the_target_date_the_plan_stays_at_the_target():
    later = TARGET_DATE + timedelta(days=30)

    path = trajectory(_benefit(values=(("850", later),)), on=later, tolerance=0.10)

    assert (path.expected, path.is_off_track) == (Decimal(1000), True)


def test_a_benefit_without_values_is_not_off_trajectory():
    path = trajectory(_benefit(), on=DAY_50, tolerance=0.10)

    assert (path.latest, path.is_off_track) == (None, False)


def test_the_plan_starts_at_the_project_start_or_else_when_the_benefit_was_added():
    with_start = _benefit(start_date=START, created_on=DAY_50)
    without_start = _benefit(start_date=None, created_on=DAY_50)

    assert trajectory(with_start, on=DAY_50, tolerance=0.10).expected == Decimal(500)
    assert trajectory(without_start, on=DAY_50, tolerance=0.10).expected == Decimal(0)


def test_the_latest_value_is_the_one_measured_last_not_reported_last():
    backdated_later = _benefit(values=(("480", DAY_50), ("100", START + timedelta(days=10))))

    assert trajectory(backdated_later, on=DAY_50, tolerance=0.10).latest == Decimal(480)


# --- adding a benefit through Slack -----------------------------------------------------


def _number(value: str) -> dict:
    return {"type": "number_input", "value": value}


def _new_benefit_values(
    name: str = "Calls avoided",
    *,
    baseline: str = "0",
    target: str = "1000",
    target_date: str = "2027-05-23",
    owner: str | None = BENEFIT_OWNER,
) -> dict:
    return {
        "name": {"name": plain_input(name)},
        "measure": {"measure": plain_input("Calls about address changes")},
        "unit": {"unit": plain_input("calls/month")},
        "baseline": {"baseline": _number(baseline)},
        "target": {"target": _number(target)},
        "target_date": {"target_date": datepicker(target_date)},
        "owner": {"owner": {"type": "users_select", "selected_user": owner}},
    }


def _submit_new_benefit(slack, values: dict, *, user_id: str = SPONSOR, key: str = "CRM-2"):
    metadata = NewBenefitMetadata(key).to_json()
    return slack.view_submission("benefit.new", values, user_id=user_id, private_metadata=metadata)


def _record_text(slack, fake_slack) -> str:
    slack.command("project CRM-2", user_id=SPONSOR, channel_id="C0PMO")
    reply = fake_slack.wait_for_response(lambda r: "CRM-2 · Customer records" in str(r.get("blocks")))
    assert message_problems(reply["blocks"]) == []
    return str(reply["blocks"])


def test_the_sponsor_opens_the_new_benefit_form_for_their_project(slack, fake_slack, session_factory):
    add_project(session_factory)

    slack.command("benefit add crm-2", user_id=SPONSOR, channel_id="C0PMO")

    view = fake_slack.wait_for("views.open").args["view"]
    assert view["callback_id"] == "benefit.new" and view_problems(view) == []
    assert "CRM-2 · Customer records" in str(view["blocks"])


def test_a_stranger_is_told_who_can_add_benefits_and_no_form_opens(slack, fake_slack, session_factory, listeners):
    add_project(session_factory)

    slack.command("benefit add CRM-2", user_id=STRANGER, channel_id="C0PMO")

    assert "Only PMO admins and CRM-2's sponsor or lead can add benefits" in fake_slack.wait_for_response()["text"]
    listeners.wait_idle()
    assert fake_slack.calls_to("views.open") == []


def test_the_form_says_what_to_fix_next_to_each_field(slack, session_factory):
    add_project(session_factory)
    add_benefit(session_factory, name="Calls avoided")

    incomplete = _submit_new_benefit(slack, _new_benefit_values("", baseline="lots", owner=None))
    breaks_rules = _submit_new_benefit(
        slack, _new_benefit_values("calls AVOIDED", target="0", target_date="2026-11-23")
    )

    assert set(incomplete.json()["errors"]) == {"name", "baseline", "owner"}
    assert "'lots' is not a number" in incomplete.json()["errors"]["baseline"]
    assert breaks_rules.json()["errors"] == {
        "name": "CRM-2 already has a benefit called “Calls avoided”. Choose another name.",
        "target": "The target must differ from the baseline: say what the project will change.",
        "target_date": "The target date must be after today.",
    }


def test_a_valid_benefit_is_added_and_the_record_shows_it(slack, fake_slack, session_factory):
    add_project(session_factory)

    response = _submit_new_benefit(slack, _new_benefit_values(target="1200"))

    assert response.json()["response_action"] == "update"
    assert f"owned by <@{BENEFIT_OWNER}>" in str(response.json()["view"])
    target_by = slack_date(date(2027, 5, 23))
    assert f"*Calls avoided*: no value yet (baseline 0, target 1,200 by {target_by})" in _record_text(slack, fake_slack)


# --- reporting a value through Slack ----------------------------------------------------


def _open_report(slack, fake_slack, text: str, user_id: str) -> dict:
    slack.command(text, user_id=user_id, channel_id="C0PMO")
    return fake_slack.wait_for("views.open").args["view"]


def _option_texts(view: dict) -> list[str]:
    select = next(block["element"] for block in view["blocks"] if block.get("block_id") == "benefit")
    return [option["text"]["text"] for option in select["options"]]


def _report(slack, benefit_id: int, value: str, *, user_id: str = BENEFIT_OWNER, measured_on: str = "2026-11-23"):
    values = {
        "benefit": {"benefit": static_select(str(benefit_id))},
        "value": {"value": _number(value)},
        "measured_on": {"measured_on": datepicker(measured_on)},
    }
    return slack.view_submission("benefit.report", values, user_id=user_id)


def _stored_values(session_factory) -> list[tuple[Decimal, date, str | None, str]]:
    with session_factory() as session:
        rows = session.execute(
            select(BenefitValue, Person.slack_user_id).join(Person, Person.id == BenefitValue.reported_by_id)
        )
        return [(entry.value, entry.measured_on, entry.period, user_id) for entry, user_id in rows]


def test_the_report_form_lists_the_benefits_you_own(slack, fake_slack, session_factory):
    add_project(session_factory)
    add_project(session_factory, "HR-1", "HR system")
    add_benefit(session_factory, "CRM-2", "Calls avoided")
    add_benefit(session_factory, "CRM-2", "Letters avoided", owner="U0SOMEONE")
    add_benefit(session_factory, "HR-1", "Hours saved")

    view = _open_report(slack, fake_slack, "benefit report", BENEFIT_OWNER)

    assert view_problems(view) == []
    assert _option_texts(view) == ["CRM-2 · Calls avoided", "HR-1 · Hours saved"]
    assert "'initial_date': '2026-11-23'" in str(view["blocks"])


def test_someone_who_owns_no_benefit_is_told_how_to_get_one(slack, fake_slack, session_factory, listeners):
    add_project(session_factory)
    add_benefit(session_factory)

    slack.command("benefit report", user_id=STRANGER, channel_id="C0PMO")

    assert "You don't own any benefits" in fake_slack.wait_for_response()["text"]
    listeners.wait_idle()
    assert fake_slack.calls_to("views.open") == []


def test_with_a_key_the_sponsor_can_report_any_of_the_projects_benefits(slack, fake_slack, session_factory):
    add_project(session_factory)
    add_benefit(session_factory, "CRM-2", "Calls avoided")
    add_benefit(session_factory, "CRM-2", "Letters avoided", owner="U0SOMEONE")

    view = _open_report(slack, fake_slack, "benefit report crm-2", SPONSOR)

    assert _option_texts(view) == ["CRM-2 · Calls avoided", "CRM-2 · Letters avoided"]


def test_a_reported_value_is_stored_and_the_record_warns_it_is_off_trajectory(slack, fake_slack, session_factory):
    add_project(session_factory)
    # 60 days into a 120-day plan from 0 to 1000: 500 expected today.
    benefit_id = add_benefit(
        session_factory, created_at=NOW - timedelta(days=60), target_date=TODAY + timedelta(days=60)
    )

    response = _report(slack, benefit_id, "300")

    assert response.json()["response_action"] == "update"
    assert "Off trajectory" in str(response.json()["view"])
    assert _stored_values(session_factory) == [(Decimal(300), TODAY, "2026-W48", BENEFIT_OWNER)]
    shown = _record_text(slack, fake_slack)
    assert "*Calls avoided*: 300 calls/month" in shown
    assert ":warning: off trajectory (expected 500 by now)" in shown


def test_only_the_owner_sponsor_lead_or_pmo_may_report_a_value(slack, session_factory):
    add_project(session_factory)
    benefit_id = add_benefit(session_factory)

    refused = _report(slack, benefit_id, "300", user_id=STRANGER)
    by_pmo = _report(slack, benefit_id, "350", user_id=PMO_ADMIN)

    assert "Only the owner of CRM-2 · Calls avoided" in refused.json()["errors"]["benefit"]
    assert by_pmo.json()["response_action"] == "update"
    assert [value for value, *_ in _stored_values(session_factory)] == [Decimal(350)]


def test_a_value_cannot_be_measured_in_the_future(slack, session_factory):
    add_project(session_factory)
    benefit_id = add_benefit(session_factory)

    response = _report(slack, benefit_id, "300", measured_on="2026-11-24")

    assert "cannot be measured in the future" in response.json()["errors"]["measured_on"]
    assert _stored_values(session_factory) == []


# --- builders within Slack's limits -----------------------------------------------------


def test_the_report_form_lists_at_most_100_benefits_and_says_how_many_are_left_out():
    choices = [BenefitChoice(n, "K" * 32, "N" * 200) for n in range(130)]

    view = report_value_modal(choices, today=TODAY)

    assert view_problems(view) == []
    assert len(_option_texts(view)) == 100
    assert "You can report 130 benefits; this list shows the first 100" in str(view["blocks"])


def test_the_benefit_modals_stay_valid_with_the_longest_values():
    huge = Decimal("-99999999999999.9999")
    line = BenefitLine("N" * 200, "u" * 40, huge, -huge, "2027-05-23", huge, Decimal("1.23456789"), True, 1)
    unmeasurable = BenefitLine("N" * 200, None, None, None, None, huge, None, False, 1, ("measure", "unit", "owner"))
    filled = BenefitForm(1, "N" * 200, "M" * 200, "u" * 40, huge, -huge, TODAY, TODAY, "U0OWNER")

    assert view_problems(benefit_form_modal("K" * 32, "N" * 200)) == []
    assert view_problems(benefit_form_modal("K" * 32, "N" * 200, filled)) == []
    for shown in (line, unmeasurable):
        assert view_problems(benefit_saved_modal("K" * 32, shown, "U0OWNER", is_new=True)) == []
        assert view_problems(value_reported_modal("K" * 32, shown, value=huge, measured_on=TODAY)) == []


@pytest.mark.parametrize(("typed", "advice"), [("12O0", "not a number"), ("1e15", "between"), ("0.12345", "4 decimal")])
def test_values_that_cannot_be_stored_are_refused_with_what_to_type(slack, session_factory, typed, advice):
    add_project(session_factory)
    benefit_id = add_benefit(session_factory)

    response = _report(slack, benefit_id, typed)

    assert advice in response.json()["errors"]["value"]


def test_benefit_without_add_or_report_shows_its_usage(slack, fake_slack):
    slack.command("benefit", user_id=SPONSOR, channel_id="C0PMO")

    assert "`/pmo benefit report [KEY]`" in fake_slack.wait_for_response()["text"]


# --- one latest value, wherever it is shown -------------------------------------------------


def test_the_record_status_and_digest_agree_on_the_latest_of_two_values_measured_the_same_day(
    slack, fake_slack, session_factory
):
    # 60 days into a 120-day plan from 0 to 1000, 500 is expected.
    add_project(session_factory)
    benefit_id = add_benefit(session_factory, created_at=NOW - timedelta(days=60), target_date=TODAY + timedelta(60))
    yesterday = TODAY - timedelta(days=1)
    admin = Actor(PMO_ADMIN, is_pmo_admin=True)
    # The later report has the lower id: the latest is the one reported last, not the newest row.
    with unit_of_work(session_factory) as session:
        benefits.report_value(session, admin, benefit_id, Decimal(100), yesterday, now=NOW, today=TODAY)
    with unit_of_work(session_factory) as session:
        earlier = NOW - timedelta(hours=1)
        benefits.report_value(session, admin, benefit_id, Decimal(600), yesterday, now=earlier, today=TODAY)

    record = _record_text(slack, fake_slack)
    slack.command("status", user_id=SPONSOR, channel_id="C0PMO")
    status = str(fake_slack.wait_for_response(lambda r: "Projects you sponsor or lead" in r["text"])["blocks"])
    slack.command("digest", user_id=PMO_ADMIN, channel_id="C0PMO")
    digest = str(fake_slack.wait_for_response(lambda r: r["text"].startswith("PMO digest"))["blocks"])

    assert "100 calls/month" in record and "off trajectory" in record
    assert "1 benefit off trajectory" in status
    assert "Calls avoided 100 calls/month, plan 500 by now" in digest
