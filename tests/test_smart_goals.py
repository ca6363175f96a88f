"""SMART goals: a benefit recorded before it is measurable, shown as "not yet measurable" on the
record, in status and in the digest, completed through its button, and counted in the pack."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.context import AppContext
from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import datepicker, plain_input
from bot.services import benefits
from bot.services.access import Actor
from bot.services.benefits import UnmeasurableBenefit
from bot.services.portfolio import BenefitLine, ProjectRecord
from handlers.blocks.benefits import MAX_COMPLETE_BUTTONS, NewBenefitMetadata, not_measurable_section
from handlers.blocks.common import slack_date
from handlers.blocks.projects import project_record_blocks
from handlers.jobs import run_due_work
from storage.models import Benefit
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL, make_test_client
from tests.factories import BENEFIT_OWNER, LEAD, SPONSOR, STRANGER, add_benefit, add_project
from tests.portfolio_history import checkin

TODAY = NOW.date()
NOT_MEASURABLE = "not yet measurable (no measure, no unit, no baseline, no target, no target date)"


@pytest.fixture
def app_context(settings, session_factory) -> AppContext:
    """The digest and pack switched on; requests see the clock at NOW (Monday 2026-11-23)."""
    switched_on = settings.model_copy(update={"digest_enabled": True})
    return AppContext(
        settings=switched_on, session_factory=session_factory, client=make_test_client(switched_on), clock=lambda: NOW
    )


def _owner(user_id: str = BENEFIT_OWNER) -> dict:
    return {"owner": {"type": "users_select", "selected_user": user_id}}


def _number(value: str) -> dict:
    return {"type": "number_input", "value": value}


def _add_name_only(slack, name: str = "Fewer complaints"):
    """The benefit form submitted with only a name and an owner."""
    return slack.view_submission(
        "benefit.new",
        {"name": {"name": plain_input(name)}, "owner": _owner()},
        user_id=SPONSOR,
        private_metadata=NewBenefitMetadata("CRM-2").to_json(),
    )


COMPLETED = {
    "measure": {"measure": plain_input("Complaints about address changes")},
    "unit": {"unit": plain_input("complaints/month")},
    "baseline": {"baseline": _number("200")},
    "target": {"target": _number("50")},
    "target_date": {"target_date": datepicker("2027-05-23")},
}


def _reply(slack, fake_slack, text: str, user_id: str) -> dict:
    """The reply to `/pmo text`: the first response posted after it (earlier ones are passed over)."""
    earlier = fake_slack.responses
    slack.command(text, user_id=user_id, channel_id="C0PMO")
    reply = fake_slack.wait_for_response(lambda r: r not in earlier)
    assert message_problems(reply["blocks"]) == []
    return reply


def _record(slack, fake_slack) -> dict:
    return _reply(slack, fake_slack, "project CRM-2", SPONSOR)


def _status(slack, fake_slack) -> str:
    return str(_reply(slack, fake_slack, "status CRM-2", SPONSOR)["blocks"])


def _digest(slack, fake_slack) -> str:
    return str(_reply(slack, fake_slack, "digest", PMO_ADMIN)["blocks"])


def _complete_buttons(blocks: list[dict]) -> list[dict]:
    return [block["accessory"] for block in blocks if block.get("accessory", {}).get("action_id") == "benefit.complete"]


def test_a_benefit_with_only_a_name_and_owner_is_added_and_shown_not_yet_measurable(slack, fake_slack, session_factory):
    add_project(session_factory)

    added = _add_name_only(slack)

    assert added.json()["response_action"] == "update"
    assert NOT_MEASURABLE in str(added.json()["view"])
    record = _record(slack, fake_slack)
    assert f"*Fewer complaints*: no value yet, :grey_question: {NOT_MEASURABLE}" in str(record["blocks"])
    assert [button["text"]["text"] for button in _complete_buttons(record["blocks"])] == ["Complete it"]
    assert NOT_MEASURABLE in _status(slack, fake_slack)
    digest = _digest(slack, fake_slack)
    assert "*Benefits not yet measurable* (1)" in digest
    assert f"CRM-2 · Customer records: *Fewer complaints*, {NOT_MEASURABLE}, owner <@{BENEFIT_OWNER}>" in digest


def test_the_owner_completes_it_through_the_button_and_it_gets_a_trajectory(slack, fake_slack, session_factory):
    add_project(session_factory)
    _add_name_only(slack)
    record = _record(slack, fake_slack)

    slack.block_action("benefit.complete", user_id=BENEFIT_OWNER, channel_id="C0PMO", message={"ts": "1.1", **record})
    form = fake_slack.wait_for("views.open").args["view"]
    assert view_problems(form) == []
    assert "'initial_value': 'Fewer complaints'" in str(form["blocks"])
    assert f"'initial_user': '{BENEFIT_OWNER}'" in str(form["blocks"])
    saved = slack.view_submission(
        "benefit.new",
        {"name": {"name": plain_input("Fewer complaints")}, "owner": _owner(), **COMPLETED},
        user_id=BENEFIT_OWNER,
        private_metadata=form["private_metadata"],
    )

    assert saved.json()["response_action"] == "update"
    assert "200 planned by now" in str(saved.json()["view"])
    shown = str(_record(slack, fake_slack)["blocks"])
    target_by = slack_date(date(2027, 5, 23))
    assert f"*Fewer complaints*: no value yet (baseline 200, target 50 by {target_by})" in shown
    assert "not yet measurable" not in shown and "benefit.complete" not in shown
    assert "not yet measurable" not in _digest(slack, fake_slack)


def test_benefit_edit_opens_the_form_prefilled_and_saves_the_changes(slack, fake_slack, session_factory):
    add_project(session_factory)
    add_benefit(session_factory, name="Calls avoided", target="1000")

    slack.command("benefit edit CRM-2 calls avoided", user_id=LEAD, channel_id="C0PMO")
    form = fake_slack.wait_for("views.open").args["view"]
    assert view_problems(form) == [] and "'initial_value': '1000'" in str(form["blocks"])
    values = {
        "name": {"name": plain_input("Calls avoided")},
        "unit": {"unit": plain_input("calls/month")},
        "target": {"target": _number("1500")},
        "target_date": {"target_date": datepicker("2027-05-23")},
        "owner": _owner(),
    }
    saved = slack.view_submission("benefit.new", values, user_id=LEAD, private_metadata=form["private_metadata"])

    assert saved.json()["response_action"] == "update"
    # Leaving the baseline and measure blank makes it not yet measurable again, until they are given.
    assert "not yet measurable (no measure, no baseline)" in str(_record(slack, fake_slack)["blocks"])
    with session_factory() as session:
        [benefit] = session.query(Benefit).all()
        assert (benefit.target, benefit.baseline, benefit.measure) == (Decimal(1500), None, None)


def test_a_benefit_not_yet_measurable_is_never_off_trajectory_even_with_values(slack, fake_slack, session_factory):
    add_project(session_factory)
    _add_name_only(slack)
    with unit_of_work(session_factory) as session:
        benefit_id = session.query(Benefit).one().id
        admin = Actor(PMO_ADMIN, is_pmo_admin=True)
        benefits.report_value(session, admin, benefit_id, Decimal(7), TODAY, now=NOW, today=TODAY)

    shown = str(_record(slack, fake_slack)["blocks"])
    table = str(_reply(slack, fake_slack, "status", SPONSOR)["blocks"])

    assert f"*Fewer complaints*: 7, :grey_question: {NOT_MEASURABLE}" in shown
    assert "off trajectory (" not in shown
    assert "0 benefits off trajectory" in table


def test_a_stranger_cannot_complete_a_benefit_and_nothing_changes(slack, fake_slack, session_factory, listeners):
    add_project(session_factory)
    _add_name_only(slack)
    record = _record(slack, fake_slack)

    slack.block_action("benefit.complete", user_id=STRANGER, channel_id="C0PMO", message={"ts": "1.1", **record})
    listeners.wait_idle()
    with session_factory() as session:
        benefit_id = session.query(Benefit).one().id
    refused = slack.view_submission(
        "benefit.new",
        {"name": {"name": plain_input("Mine")}, "owner": _owner(STRANGER), **COMPLETED},
        user_id=STRANGER,
        private_metadata=NewBenefitMetadata("CRM-2", benefit_id=benefit_id).to_json(),
    )

    assert fake_slack.calls_to("views.open") == []
    assert "Only the owner of CRM-2 · Fewer complaints" in fake_slack.responses[-1]["text"]
    assert "Only the owner of CRM-2 · Fewer complaints" in str(refused.json())
    with session_factory() as session:
        assert [(b.name, b.baseline) for b in session.query(Benefit)] == [("Fewer complaints", None)]


def test_the_pack_counts_measurable_benefits_per_objective(app_context, slack, fake_slack, session_factory):
    add_project(session_factory, created_at=NOW - timedelta(days=60))
    add_project(session_factory, "HR-1", "People system", objective=None)
    checkin(session_factory, "CRM-2", "2026-W40", "green")  # the pack waits for a month of check-ins
    add_benefit(session_factory, name="Calls avoided", target_date=date(2027, 5, 23))
    _add_name_only(slack)
    add_benefit(session_factory, "HR-1", "Hours saved", target_date=TODAY + timedelta(days=200))

    run_due_work(app_context, NOW.replace(month=12, day=1))

    [pack] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if m["text"].startswith("Governance pack for")]
    assert message_problems(pack["blocks"]) == []
    shown = str(pack["blocks"])
    assert "*Benefits measurable (SMART), by objective*" in shown
    assert "*Better services online*: 1 of 2 measurable" in shown
    assert "*(no objective)*: 1 of 1 measurable" in shown


# --- Block Kit limits, for the largest realistic input -------------------------------------


def test_a_record_with_hundreds_of_benefits_not_yet_measurable_stays_within_slacks_limits():
    everything_missing = ("measure", "unit", "baseline", "target", "target date", "owner")
    lines = [
        BenefitLine("B" * 200, None, None, None, None, None, None, False, n, everything_missing) for n in range(300)
    ]
    record = ProjectRecord("K" * 32, "N" * 200, "active", None, None, None, None, None, None, "Mon", benefits=lines)

    blocks = project_record_blocks(record, shareable=True)

    assert message_problems(blocks) == []
    assert len(_complete_buttons(blocks)) == MAX_COMPLETE_BUTTONS
    assert "more" in str(blocks)  # the rest are listed, and what does not fit is counted


def test_the_digests_list_of_benefits_not_yet_measurable_is_capped_and_counted():
    found = tuple(
        UnmeasurableBenefit("K" * 32, "N" * 200, "B" * 200, ("baseline", "target date"), "U0OWNER") for _ in range(500)
    )

    blocks = not_measurable_section(found)

    assert message_problems(blocks) == []
    assert "*Benefits not yet measurable* (500)" in str(blocks) and "…and 490 more" in str(blocks)
