"""Decisions asked for, through Slack's doors: raised from a risk, an issue or a Red check-in's
"help needed", recorded by the decider with one button, listed with their age, and in the pack."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import datepicker, plain_input, static_select
from bot.services import decisions
from handlers.blocks.risks import DecisionSubject, pack_decisions_section
from storage.models import Decision, DecisionRequest, SkipDate
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, TEAM_ID
from tests.factories import LEAD, SPONSOR, STRANGER, add_project
from tests.test_risks import OWNER, add_issue, add_risk, controls_of, risk_list
from tests.test_status import shown_text, status_reply


@pytest.fixture
def app_context(app_context, clock):
    return replace(app_context, clock=clock)


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, OWNER))
    for person in (LEAD, SPONSOR, OWNER, STRANGER, PMO_ADMIN):
        fake_slack.add_user(person)
    add_project(session_factory, channels=("C0CRM",))


def ask(slack, fake_slack, listeners, message, *, block_id=None, user_id=LEAD, due="2026-11-30") -> dict:
    """Click "Decision needed" on `message`, check the form, and submit it as it was filled in."""
    before = len(fake_slack.calls_to("views.open"))
    slack.block_action("decision.needed", user_id=user_id, message=message, channel_id="C0CRM", block_id=block_id)
    listeners.wait_idle()
    view = fake_slack.calls_to("views.open")[before].args["view"]
    assert view["callback_id"] == "decision.needed" and view_problems(view) == []
    question = next(block for block in view["blocks"] if block.get("block_id") == "question")
    decider = next(block for block in view["blocks"] if block.get("block_id") == "decider")
    values = {
        "question": {"question": plain_input(question["element"]["initial_value"])},
        "decider": {"decider": {"type": "users_select", "selected_user": decider["element"].get("initial_user")}},
        "due": {"due": datepicker(due)},
    }
    response = slack.view_submission(
        "decision.needed", values, user_id=user_id, private_metadata=view["private_metadata"]
    )
    listeners.wait_idle()
    return response.json()


def test_a_risk_raised_as_a_decision_is_recorded_by_the_sponsor(
    slack, fake_slack, clock, crm, session_factory, listeners
):
    add_risk(session_factory, "Supplier may go bust")
    listed = risk_list(slack, fake_slack, listeners)
    block_id = controls_of(listed["blocks"], "Supplier may go bust")

    asked = ask(slack, fake_slack, listeners, listed, block_id=block_id)

    assert asked["response_action"] == "update" and f"Asked <@{SPONSOR}>" in str(asked["view"])
    [dm] = fake_slack.messages_in(SPONSOR)
    assert "asks you for a decision on CRM-2" in dm["text"] and "Supplier may go bust" in dm["text"]
    assert "Record decision" in str(dm["blocks"]) and message_problems(dm["blocks"]) == []

    clock.at = NOW + timedelta(days=3)
    slack.command("decisions CRM-2", user_id=SPONSOR, channel_id="C0CRM")
    listed_open = fake_slack.wait_for_response(lambda response: "decisions needed" in response.get("text", ""))
    assert "Supplier may go bust" in str(listed_open["blocks"]) and "open 3 days" in str(listed_open["blocks"])

    slack.block_action("decision.record", user_id=SPONSOR, message=dm, channel_id=f"D{SPONSOR}")
    form = fake_slack.wait_for("views.open", lambda call: call.args["view"]["callback_id"] == "decision.record")
    recorded = slack.view_submission(
        "decision.record",
        {"outcome": {"outcome": plain_input("Keep the supplier; review in January")}},
        user_id=SPONSOR,
        private_metadata=form.args["view"]["private_metadata"],
    )
    listeners.wait_idle()

    assert recorded.json()["response_action"] == "update"
    with unit_of_work(session_factory) as session:
        [decision] = session.scalars(select(Decision)).all()
        [request] = session.scalars(select(DecisionRequest)).all()
        assert (decision.outcome, decision.note, request.decision_id) == (
            "decided",
            "Keep the supplier; review in January",
            decision.id,
        )
    updated = fake_slack.messages_in(SPONSOR)[-1]
    assert "decided by" in str(updated["blocks"]) and "Record decision" not in str(updated["blocks"])
    slack.command("decisions CRM-2", user_id=SPONSOR, channel_id="C0CRM")
    assert "None open" in str(fake_slack.wait_for_response(lambda r: "none open" in r.get("text", ""))["blocks"])


def test_only_the_decider_or_the_pmo_records_it(slack, fake_slack, crm, session_factory, listeners):
    add_issue(session_factory, "Data feed is late")
    slack.command("issues CRM-2", user_id=LEAD, channel_id="C0CRM")
    issues = {"ts": "1700000000.000100", **fake_slack.wait_for_response(lambda r: "open issues" in r.get("text", ""))}
    ask(slack, fake_slack, listeners, issues)
    with unit_of_work(session_factory) as session:
        request_id = session.scalars(select(DecisionRequest.id)).one()

    refused = slack.view_submission(
        "decision.record",
        {"outcome": {"outcome": plain_input("Ship it anyway")}},
        user_id=STRANGER,
        private_metadata=f'{{"request_id":{request_id}}}',
    )

    assert refused.json()["errors"]["outcome"].startswith(f"Only <@{SPONSOR}>, who was asked, and PMO admins")
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(Decision)).all() == []


def test_a_red_checkin_asking_for_help_can_be_raised_as_a_decision(slack, fake_slack, crm, session_factory, listeners):
    slack.command("checkin CRM-2", user_id=LEAD, channel_id="C0CRM")
    view = fake_slack.wait_for("views.open").args["view"]
    values = {
        "overall": {"overall": static_select("red")},
        "help": {"help": plain_input("Approve the extra budget")},
        "path_to_green": {"path_to_green": plain_input("Budget, then a new supplier")},
        "path_to_green_date": {"path_to_green_date": datepicker("2026-12-31")},
    }
    slack.view_submission("checkin.submit", values, user_id=LEAD, private_metadata=view["private_metadata"])
    listeners.wait_idle()
    summary = next(m for m in fake_slack.messages_in("C0CRM") if "Raise a decision needed" in str(m.get("blocks")))

    asked = ask(slack, fake_slack, listeners, summary)

    assert asked["response_action"] == "update"
    with unit_of_work(session_factory) as session:
        [request] = session.scalars(select(DecisionRequest)).all()
        assert (request.question, request.decider.slack_user_id) == ("Approve the extra budget", SPONSOR)
        assert request.subject_key.startswith("checkin:")


def test_the_pack_lists_open_decisions_with_their_age(slack, fake_slack, clock, crm, session_factory, listeners):
    add_risk(session_factory, "Supplier may go bust")
    listed = risk_list(slack, fake_slack, listeners)
    ask(slack, fake_slack, listeners, listed, block_id=controls_of(listed["blocks"], "Supplier may go bust"))

    with unit_of_work(session_factory) as session:
        blocks = pack_decisions_section(decisions.open_lines(session), today=NOW.date() + timedelta(days=8))

    assert message_problems(blocks) == []
    assert "Decisions asked for, still open (1)" in str(blocks)
    assert "Supplier may go bust" in str(blocks) and "open 8 days" in str(blocks)


def test_a_decision_subject_that_is_gone_is_told_as_such(slack, fake_slack, crm, listeners):
    message = {
        "ts": "1700000000.000100",
        "blocks": [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "decision.needed",
                        "text": {"type": "plain_text", "text": "Decision needed"},
                        "value": DecisionSubject("risk:999999").to_json(),
                    }
                ],
            }
        ],
    }

    slack.block_action("decision.needed", user_id=LEAD, message=message, channel_id="C0CRM")

    assert "no longer there" in fake_slack.wait_for_response()["text"]


def _section(shown: str, heading: str) -> str:
    """The lines of one of the status's RAID sections, up to the next heading."""
    start = shown.index(f"*{heading}*")
    end = shown.find("\n*", start + 1)
    return shown[start : end if end != -1 else None]


def test_status_picks_the_high_risks_and_issues_from_its_own_open_ones_and_dates_a_late_review(
    slack, fake_slack, crm, session_factory
):
    """Which risks and issues count as high is chosen in the query, and a review's lateness is
    only worked out when some review is past its date."""
    add_project(session_factory, "HR-1", "HR system")
    add_risk(session_factory, "Exactly fifteen", probability=3, impact=5)
    add_risk(session_factory, "Review missed", probability=4, impact=4, next_review=NOW.date() - timedelta(days=7))
    add_risk(session_factory, "Twelve is not high", probability=4, impact=3)
    add_risk(session_factory, "Another project's", probability=5, impact=5, key="HR-1")
    add_issue(session_factory, "Data feed is late", severity="high")
    add_issue(session_factory, "Printer jams", severity="medium")
    with unit_of_work(session_factory) as session:
        session.add(SkipDate(team_id=TEAM_ID, day=NOW.date() - timedelta(days=5), note="Staff day"))  # a Wednesday

    shown = shown_text(status_reply(slack, fake_slack, "status CRM-2"))

    high_risks = _section(shown, "Open risks scoring 15+")
    assert "(2)" in high_risks and "Exactly fifteen · score 15" in high_risks
    assert "Review missed · score 16 · :hourglass: review was due" in high_risks and "4 working days late" in high_risks
    assert "Twelve is not high" not in shown and "Another project's" not in shown
    issues_shown = _section(shown, "Open high and critical issues")
    assert "(1)" in issues_shown and "Data feed is late" in issues_shown and "Printer jams" not in shown
    assert "*Decisions needed* (0)\n_none_" in shown


def test_status_shows_high_risks_high_issues_and_decisions_and_home_the_decisions_waiting(
    slack, fake_slack, crm, session_factory, listeners
):
    add_risk(session_factory, "Supplier may go bust", probability=5, impact=5)
    for number in range(1, 6):
        add_risk(session_factory, f"Licence risk {number}", probability=4, impact=4)
    add_risk(session_factory, "Minor slippage", probability=2, impact=2)
    add_issue(session_factory, "Data feed is late", severity="critical")
    add_issue(session_factory, "Typo on the form", severity="low")
    slack.command("issues CRM-2", user_id=LEAD, channel_id="C0CRM")
    issues = {"ts": "1700000000.000100", **fake_slack.wait_for_response(lambda r: "open issues" in r.get("text", ""))}
    ask(slack, fake_slack, listeners, issues, block_id=controls_of(issues["blocks"], "Data feed is late"))

    reply = status_reply(slack, fake_slack, "status CRM-2")

    assert message_problems(reply["blocks"]) == []
    shown = shown_text(reply)
    high_risks = _section(shown, "Open risks scoring 15+")
    assert "(6)" in high_risks and "Supplier may go bust · score 25" in high_risks
    assert "…and 1 more" in high_risks and "Minor slippage" not in shown
    issues_shown = _section(shown, "Open high and critical issues")
    assert "(1)" in issues_shown and "Data feed is late" in issues_shown and "Typo" not in shown
    decisions_shown = _section(shown, "Decisions needed")
    assert "(1)" in decisions_shown and "Data feed is late" in decisions_shown and f"<@{SPONSOR}>" in decisions_shown

    home = fake_slack.home_views[SPONSOR]  # refreshed when the decision was asked of them
    assert "Decisions waiting for you" in shown_text(home) and "Data feed is late" in shown_text(home)
    record = next(
        block["accessory"]
        for block in home["blocks"]
        if block.get("accessory", {}).get("text", {}).get("text") == "Record decision"
    )
    slack.block_action("decision.record", user_id=SPONSOR, value=record["value"], view=home)
    form = fake_slack.wait_for("views.open", lambda call: call.args["view"]["callback_id"] == "decision.record")
    slack.view_submission(
        "decision.record",
        {"outcome": {"outcome": plain_input("Pay for the faster feed")}},
        user_id=SPONSOR,
        private_metadata=form.args["view"]["private_metadata"],
    )
    listeners.wait_idle()

    assert "Decisions waiting for you" not in shown_text(fake_slack.home_views[SPONSOR])
    assert "*Decisions needed* (0)" in shown_text(status_reply(slack, fake_slack, "status CRM-2"))
