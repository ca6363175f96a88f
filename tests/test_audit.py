"""The audit trail: every change through Slack's doors, the CLI, the scheduler and webhooks, append-only."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.demo.blockkit import message_problems
from bot.demo.signed import datepicker, plain_input
from handlers.jobs import run_due_work
from storage import audit
from storage.models import AuditEvent, Person
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN
from tests.factories import ACTION_OWNER, LEAD, SPONSOR, STRANGER, add_action, add_project
from tests.test_risks import add_issue, click, issue_list, risk_list, risk_values, submit_risk

OWNER = ACTION_OWNER


@pytest.fixture
def app_context(app_context, clock):
    return replace(app_context, clock=clock)


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, OWNER))
    for person in (LEAD, SPONSOR, OWNER, STRANGER, PMO_ADMIN):
        fake_slack.add_user(person)
    add_project(session_factory, channels=("C0CRM",))
    with unit_of_work(session_factory) as session:
        session.query(Person).filter_by(slack_user_id=SPONSOR).one().display_name = "Sam Sponsor"


def trail(session_factory, record_type: str | None = None) -> list[AuditEvent]:
    with unit_of_work(session_factory) as session:
        query = session.query(AuditEvent).order_by(AuditEvent.id)
        if record_type:
            query = query.filter_by(record_type=record_type)
        return query.all()


def reply(fake_slack, words: str) -> dict:
    return fake_slack.wait_for_response(lambda response: words in response.get("text", ""))


def test_a_snooze_by_button_is_recorded_with_who_which_door_and_the_old_and_new_due_date(
    slack, fake_slack, crm, session_factory, listeners
):
    action_id = add_action(session_factory, "Agree the protocol", due=date(2026, 11, 16))
    slack.command("actions CRM-2", user_id=SPONSOR, channel_id="C0CRM")
    listeners.wait_idle()
    listed = {"ts": "1700000000.000100", **fake_slack.responses[-1]}
    controls = next(
        following["block_id"]
        for card, following in zip(listed["blocks"], listed["blocks"][1:], strict=False)
        if card["type"] == "section" and "Agree the protocol" in card["text"]["text"] and following["type"] == "actions"
    )

    slack.block_action(
        "action.snooze", user_id=SPONSOR, message=listed, channel_id="C0CRM", block_id=controls, selected_option="3"
    )
    listeners.wait_idle()

    [changed] = [row for row in trail(session_factory, "actions") if row.operation == "updated"]
    assert (changed.actor, changed.door, changed.record_id, changed.at) == (SPONSOR, "button", action_id, NOW)
    assert changed.changes == {"due_date": ["2026-11-16", "2026-11-26"]}
    with unit_of_work(session_factory) as session:
        project_id = session.execute(text("SELECT id FROM projects WHERE key = 'CRM-2'")).scalar_one()
    [event] = [row for row in trail(session_factory, "action_events") if row.changes["kind"][1] == "snoozed"]
    assert event.project_id == project_id  # found through the action, for /pmo history


def test_commands_the_scheduler_and_the_cli_are_named_as_such(app_context, slack, fake_slack, crm, session_factory):
    slack.command("skip 2026-12-24 Office closed", user_id=LEAD, channel_id="C0PMO")
    reply(fake_slack, "now a skip date")
    [typed] = trail(session_factory, "skip_dates")
    assert (typed.actor, typed.door, typed.operation) == (LEAD, "command", "created")
    assert typed.changes["note"] == [None, "Office closed"]

    with audit.acting("import", audit.Door.CLI), unit_of_work(session_factory) as session:
        session.query(Person).filter_by(slack_user_id=LEAD).one().display_name = "Lee Lead"
    assert [(row.actor, row.door, row.changes) for row in trail(session_factory, "people")][-1] == (
        "import",
        "cli",
        {"display_name": [None, "Lee Lead"]},
    )

    run_due_work(
        replace(app_context, settings=app_context.settings.model_copy(update={"bank_holidays": "scotland"})), NOW
    )
    synced = [row for row in trail(session_factory, "skip_dates") if row.actor == "scheduler"]
    assert synced and {row.door for row in synced} == {"scheduler"}
    assert "Saint Andrew's Day" in [row.changes["note"][1] for row in synced]


def test_history_shows_the_latest_changes_paged_to_the_sponsor_and_refuses_a_stranger(
    slack, fake_slack, crm, session_factory, listeners
):
    with audit.acting(LEAD, audit.Door.COMMAND):
        for number in range(25):
            add_action(session_factory, f"Action {number}")

    slack.command("history CRM-2", user_id=STRANGER, channel_id="C0CRM")
    assert "Only PMO admins and CRM-2's sponsor or lead can read its history" in reply(fake_slack, "Only")["text"]

    slack.command("history CRM-2", user_id=SPONSOR, channel_id="C0CRM")
    first = reply(fake_slack, "History of CRM-2")
    assert message_problems(first["blocks"]) == []
    total = len([row for row in trail(session_factory) if row.project_id is not None])
    assert first["text"] == f"History of CRM-2: changes 1 to 20 of {total}, newest first."
    shown = str(first["blocks"])
    assert "action event" in shown and "title: – → Action 24" in shown and "<@U0LEAD>" in shown
    [older] = first["blocks"][-1]["elements"]
    assert older["action_id"] == "history.older"

    message = {"ts": "1700000000.000200", **first}
    slack.block_action("history.older", user_id=SPONSOR, value=older["value"], channel_id="C0CRM", message=message)
    listeners.wait_idle()
    second = fake_slack.responses[-1]
    assert second["text"].startswith("History of CRM-2: changes 21 to 40")
    assert [button["text"]["text"] for button in second["blocks"][-1]["elements"]] == ["Newer", "Older"]


def test_the_code_never_changes_an_audit_row_and_postgresql_refuses_to(session_factory, engine):
    with audit.acting(LEAD, audit.Door.COMMAND, at=NOW), unit_of_work(session_factory) as session:
        add_project_row = Person(slack_user_id="U0NEW", created_at=NOW)
        session.add(add_project_row)
    [row] = trail(session_factory)
    assert (row.actor, row.operation, row.changes["slack_user_id"]) == (LEAD, "created", [None, "U0NEW"])
    if engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's (SQLite has no such refusal); run with TEST_DATABASE_URL")
    for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="audit_events is append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert [(r.id, r.actor) for r in trail(session_factory)] == [(row.id, LEAD)]


def test_a_webhook_change_names_the_monitoring_tool(session_factory):
    at = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    with audit.acting("webhook:pagerduty", audit.Door.WEBHOOK, at=at), unit_of_work(session_factory) as session:
        session.add(Person(slack_user_id="U0ONCALL", created_at=at))
    [row] = trail(session_factory)
    assert (row.actor, row.door, row.at) == ("webhook:pagerduty", "webhook", at)


def test_the_trail_records_the_raid_logs_words_withheld_as_it_does_action_notes(
    slack, fake_slack, crm, session_factory, listeners
):
    submit_risk(slack, risk_values("Supplier may go bust"))  # mitigation: "Line up a second supplier"
    add_issue(session_factory, "Data feed is late")
    risks_listed = risk_list(slack, fake_slack, listeners)
    issues_listed = issue_list(slack, fake_slack)
    for action_id, listed, title, callback_id, words in (
        ("risk.add_note", risks_listed, "Supplier may go bust", "risk.note", "Heard they lost a contract"),
        ("issue.add_note", issues_listed, "Data feed is late", "issue.note", "Chased the supplier"),
    ):
        click(slack, action_id, listed, title, user_id=STRANGER)
        listeners.wait_idle()
        form = fake_slack.calls_to("views.open")[-1].args["view"]
        assert form["callback_id"] == callback_id
        note = {"note": {"note": plain_input(words)}}
        slack.view_submission(callback_id, note, user_id=STRANGER, private_metadata=form["private_metadata"])
    asked = {
        "question": {"question": plain_input("Fund a second supplier?")},
        "decider": {"decider": {"type": "users_select", "selected_user": SPONSOR}},
        "due": {"due": datepicker("2026-11-30")},
    }
    slack.view_submission("decision.needed", asked, user_id=LEAD, private_metadata='{"subject_key":"risk:1"}')
    listeners.wait_idle()

    [risk] = trail(session_factory, "risks")
    [risk_note] = [row for row in trail(session_factory, "risk_events") if row.changes["kind"][1] == "note"]
    [issue_note] = [row for row in trail(session_factory, "issue_events") if row.changes["kind"][1] == "note"]
    [question] = trail(session_factory, "decision_requests")
    assert (
        risk.changes["mitigation"] == [None, "(25 characters)"] and risk.changes["title"][1] == "Supplier may go bust"
    )
    assert risk_note.changes["detail"] == [None, {"text": "(26 characters)"}] and risk_note.actor == STRANGER
    assert issue_note.changes["detail"] == [None, {"text": "(19 characters)"}] and issue_note.project_id is not None
    assert question.changes["question"] == [None, "(23 characters)"]
    everything = json.dumps([row.changes for row in trail(session_factory)])
    for words in ("second supplier", "lost a contract", "Chased"):
        assert words not in everything
