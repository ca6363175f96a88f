"""Actions: recording them (command, form, message shortcut, check-in help), listing them,
and the Done / Snooze / Reassign / Add note controls, through signed requests and the fake Slack.

The app's clock is NOW (conftest): Monday 2026-11-23 09:00 UTC, 09:00 in Europe/London.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import datepicker, plain_input, static_select
from bot.services import actions, message_keys
from bot.services.actions import ActionLine
from bot.services.escalations import Cause
from handlers.blocks.actions import (
    DM,
    MAX_CARDS,
    ActionRef,
    NewActionMetadata,
    action_list,
    new_action_modal,
    note_modal,
    overdue_digest,
    sponsor_digest,
)
from handlers.blocks.common import slack_date
from handlers.delivery import escalate
from storage.models import Action, ActionStatus, EscalationKind, Person, Project, ProjectStatus
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL
from tests.factories import ACTION_OWNER, LEAD, SPONSOR, STRANGER, add_action, add_project

TODAY = NOW.date()  # Monday
OWNER = ACTION_OWNER
NEW_OWNER = "U0NEWOWNER"


@pytest.fixture
def app_context(app_context, clock):
    return replace(app_context, clock=clock)


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, OWNER))
    for person in (LEAD, SPONSOR, OWNER, NEW_OWNER, STRANGER, PMO_ADMIN):
        fake_slack.add_user(person)
    add_project(session_factory, channels=("C0CRM",))


def stored(session_factory) -> list[Action]:
    with unit_of_work(session_factory) as session:
        rows = session.query(Action).order_by(Action.id).all()
        for row in rows:
            _ = row.owner, [event.kind for event in row.events]
        return rows


def reply(fake_slack, words: str) -> dict:
    return fake_slack.wait_for_response(lambda response: words in response.get("text", ""))


def controls_of(blocks: list[dict], title: str) -> str:
    """The block_id of the controls under the card whose text has `title`."""
    for card, following in zip(blocks, blocks[1:], strict=False):
        if card["type"] == "section" and title in card["text"]["text"] and following["type"] == "actions":
            return following["block_id"]
    raise AssertionError(f"no card with controls for {title!r}")


def click(slack, action_id: str, message: dict, title: str, *, user_id: str, channel_id: str = "C0CRM", **chosen):
    return slack.block_action(
        action_id,
        user_id=user_id,
        message=message,
        channel_id=channel_id,
        block_id=controls_of(message["blocks"], title),
        **chosen,
    )


def my_list(slack, fake_slack, listeners, *, user_id: str = OWNER, key: str = "") -> dict:
    slack.command(f"actions {key}".strip(), user_id=user_id, channel_id="C0CRM")
    listeners.wait_idle()
    response = fake_slack.responses[-1]
    return {"ts": "1700000000.000100", **response}


# --- due dates, without Slack --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "due"),
    [
        ("today", date(2026, 11, 23)),
        ("tomorrow", date(2026, 11, 24)),
        ("fri", date(2026, 11, 27)),
        ("Friday", date(2026, 11, 27)),
        ("mon", date(2026, 11, 30)),  # a weekday name is never today
        ("+3d", date(2026, 11, 26)),
        ("2026-12-01", date(2026, 12, 1)),
    ],
)
def test_due_dates_are_read_as_people_type_them(typed, due):
    assert actions.parse_due(typed, today=TODAY) == due


@pytest.mark.parametrize("typed", ["2026-02-30", "someday", "20261201", "+d", "1/12"])
def test_a_date_that_is_not_one_says_what_to_type(typed):
    with pytest.raises(actions.UserError, match="YYYY-MM-DD, today, tomorrow, a weekday such as fri, or \\+3d"):
        actions.parse_due(typed, today=TODAY)


# --- builders within Slack's limits ----------------------------------------------------------------


def _line(number: int, **changes) -> ActionLine:
    line = ActionLine(
        action_id=number,
        project_key=f"P-{number}",
        project_name="A project with a long name " * 5,
        title=f"Action {number} " + "with a very long title " * 25,
        owner_user_id=OWNER,
        owner_away_until=date(2026, 12, 4),
        due=date(2026, 11, 2),
        status="open",
        as_of=TODAY,
        overdue_days=15,
        source_link="https://fake-workspace.slack.com/archives/C0CRM/p1700000000000100",
    )
    return replace(line, **changes)


def test_a_list_of_200_actions_stays_within_slacks_limits_and_counts_the_rest():
    lines = [_line(number) for number in range(200)]

    text, blocks = action_list(lines, project=("CRM-2", "Customer records"))
    digest_text, digest_blocks = overdue_digest(lines, key="nudge:U0DOER:2026-11-23", recipient=OWNER)
    sponsor_text, sponsor_blocks = sponsor_digest(lines)

    for message in (blocks, digest_blocks, sponsor_blocks):
        assert message_problems(message) == []
    assert len(blocks) <= 50 and f"…and {200 - MAX_CARDS} more" in str(blocks)
    assert "more" in str(sponsor_blocks)
    assert max(len(text), len(digest_text), len(sponsor_text)) <= 3000


def test_the_forms_are_valid_views():
    shortcut_form = new_action_modal(
        NewActionMetadata(channel_id="C0CRM", message_ts="1.2"),
        project_heading=None,
        suggested_key="CRM-2",
        title="x" * 4000,
        from_channel="C0CRM",
    )
    command_form = new_action_modal(NewActionMetadata(project_key="CRM-2"), project_heading="CRM-2 · Customer records")

    for view in (shortcut_form, command_form, note_modal(ActionRef(1, DM, "nudge:U0DOER:2026-11-23"), "t" * 500)):
        assert view_problems(view) == []


def test_a_done_action_is_struck_through_and_loses_its_controls():
    _, blocks = overdue_digest([_line(1, status="done")], key="k", recipient=OWNER)

    assert "~Action 1" in str(blocks) and ":white_check_mark: done" in str(blocks)
    assert [block["type"] for block in blocks] == ["section", "section"]


# --- /pmo action ------------------------------------------------------------------------------------


def test_pmo_action_records_it_and_the_owner_gets_a_dm_with_its_controls(
    slack, fake_slack, crm, session_factory, listeners
):
    slack.command(
        f"action crm-2 <@{OWNER}|doer> fri Agree Sam's 'final' data-sharing protocol",
        user_id=LEAD,
        channel_id="C0CRM",
    )
    listeners.wait_idle()

    confirmation = reply(fake_slack, "Added")
    assert "Agree Sam's 'final' data-sharing protocol" in confirmation["text"]
    assert slack_date(date(2026, 11, 27)) in confirmation["text"]
    [action] = stored(session_factory)
    assert (action.title, action.due_date, action.owner.slack_user_id) == (
        "Agree Sam's 'final' data-sharing protocol",
        date(2026, 11, 27),
        OWNER,
    )
    assert [event.kind for event in action.events] == ["created"]
    [dm] = fake_slack.messages_in(OWNER)
    assert f"<@{LEAD}> assigned you an action on CRM-2" in dm["text"]
    assert [element["text"]["text"] for element in dm["blocks"][-1]["elements"] if element["type"] == "button"] == [
        "Done",
        "Add note",
        "History",
    ]
    assert message_problems(dm["blocks"]) == []
    with unit_of_work(session_factory) as session:
        assert session.query(Person).filter_by(slack_user_id=OWNER).one().timezone == "Europe/London"


@pytest.mark.parametrize(
    ("typed", "told"),
    [
        ("action CRM-2 <@U0NOBODY|nobody> fri Agree it", "<@U0NOBODY> is not in this workspace. Type @ and pick"),
        ("action CRM-2 <@U0GONE|gone> fri Agree it", "<@U0GONE>'s account is deactivated"),
        (f"action CRM-2 <@{OWNER}|doer> 2026-11-20 Agree it", "2026-11-20 is in the past: choose today or a later day"),
        (f"action NOPE-1 <@{OWNER}|doer> fri Agree it", "No project has the key NOPE-1. Check the spelling"),
        (f"action OLD-1 <@{OWNER}|doer> fri Agree it", "OLD-1 is closed, so it takes no new actions"),
        ("action CRM-2 doer fri Agree it", "'doer' is not a person: type @ and pick the owner"),
        (f"action CRM-2 <@{OWNER}|doer> someday Agree it", "'someday' is not a date: use YYYY-MM-DD"),
        (f"action CRM-2 <@{OWNER}|doer> fri", "Give the owner, the due date and what has to be done"),
        ("action", "Which project is the action for?"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_stored(slack, fake_slack, crm, session_factory, listeners, typed, told):
    fake_slack.add_user("U0GONE", deleted=True)
    add_project(session_factory, "OLD-1", "Old records")
    with unit_of_work(session_factory) as session:
        session.query(Project).filter_by(key="OLD-1").one().status = ProjectStatus.CLOSED

    slack.command(typed, user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()

    assert told in reply(fake_slack, told)["text"]
    assert stored(session_factory) == [] and fake_slack.calls_to("chat.postMessage") == []


def test_pmo_action_with_only_a_key_opens_the_form_and_the_form_records_it(
    slack, fake_slack, crm, session_factory, listeners
):
    slack.command("action CRM-2", user_id=LEAD, channel_id="C0CRM")
    view = fake_slack.wait_for("views.open").args["view"]
    values = {
        "title": {"title": plain_input("Book the training room")},
        "owner": {"owner": {"type": "users_select", "selected_user": OWNER}},
        "due": {"due": datepicker("2026-12-01")},
        "notes": {"notes": plain_input("Room 4 if free")},
    }

    in_the_past = slack.view_submission(
        "action.new",
        {**values, "due": {"due": datepicker("2026-11-01")}},
        user_id=LEAD,
        private_metadata=view["private_metadata"],
    )
    no_owner = slack.view_submission(
        "action.new",
        {**values, "owner": {"owner": {"type": "users_select", "selected_user": None}}},
        user_id=LEAD,
        private_metadata=view["private_metadata"],
    )
    assert stored(session_factory) == []
    accepted = slack.view_submission("action.new", values, user_id=LEAD, private_metadata=view["private_metadata"])
    listeners.wait_idle()

    assert "is in the past" in in_the_past.json()["errors"]["due"]
    assert set(no_owner.json()["errors"]) == {"owner"}
    assert accepted.json()["response_action"] == "update" and "Book the training room" in str(accepted.json()["view"])
    [action] = stored(session_factory)
    assert [event.kind for event in action.events] == ["created", "note"]
    assert "Book the training room" in fake_slack.messages_in(OWNER)[0]["text"]


def test_pmo_action_form_is_refused_for_an_unknown_key(slack, fake_slack, crm, listeners):
    slack.command("action NOPE-1", user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()

    assert "No project has the key NOPE-1" in reply(fake_slack, "NOPE-1")["text"]
    assert fake_slack.calls_to("views.open") == []


def test_the_message_shortcut_takes_the_text_and_links_back(slack, fake_slack, crm, session_factory, listeners):
    message = fake_slack.add_message("C0CRM", "Can someone agree the protocol with legal?", user_id=LEAD)

    slack.message_shortcut("action.from_message", user_id=LEAD, channel_id="C0CRM", message=message)
    view = fake_slack.wait_for("views.open").args["view"]
    assert view_problems(view) == []
    assert "Can someone agree the protocol with legal?" in str(view["blocks"]) and "CRM-2" in str(view["blocks"])
    values = {
        "project": {"project": plain_input("crm-2")},
        "title": {"title": plain_input("Agree the protocol with legal")},
        "owner": {"owner": {"type": "users_select", "selected_user": OWNER}},
        "due": {"due": datepicker("2026-11-30")},
        "notes": {"notes": plain_input("")},
    }
    unknown_key = slack.view_submission(
        "action.new",
        {**values, "project": {"project": plain_input("NOPE-1")}},
        user_id=LEAD,
        private_metadata=view["private_metadata"],
    )
    slack.view_submission("action.new", values, user_id=LEAD, private_metadata=view["private_metadata"])
    listeners.wait_idle()

    assert "No project has the key NOPE-1" in unknown_key.json()["errors"]["project"]
    [action] = stored(session_factory)
    assert action.source_link == f"https://fake-workspace.slack.com/archives/C0CRM/p{message['ts'].replace('.', '')}"
    assert action.source_link in str(fake_slack.messages_in(OWNER)[0]["blocks"])


def test_check_in_help_becomes_an_action_for_the_sponsor_with_one_button(
    slack, fake_slack, crm, session_factory, listeners
):
    slack.view_submission(
        "checkin.submit",
        {
            "overall": {"overall": static_select("amber")},
            "help": {"help": plain_input("Sign off the extra budget\nWe need £20k by December.")},
            "path_to_green": {"path_to_green": plain_input("Budget approved")},
            "path_to_green_date": {"path_to_green_date": datepicker("2026-12-18")},
        },
        user_id=LEAD,
        private_metadata='{"project_key": "CRM-2", "period": "2026-W48"}',
    )
    listeners.wait_idle()
    [summary] = [m for m in fake_slack.messages_in("C0CRM") if "Help needed" in str(m.get("blocks"))]

    slack.block_action("action.from_help", user_id=LEAD, message=summary, channel_id="C0CRM")
    listeners.wait_idle()
    slack.block_action("action.from_help", user_id=LEAD, message=summary, channel_id="C0CRM")
    listeners.wait_idle()

    [action] = stored(session_factory)
    assert (action.title, action.owner.slack_user_id) == ("Sign off the extra budget", SPONSOR)
    assert action.due_date == date(2026, 11, 30)  # five working days after Monday
    assert action.source_link and summary["ts"].replace(".", "") in action.source_link
    [note] = [event for event in action.events if event.kind == "note"]
    assert "£20k" in note.detail["text"]
    updated = fake_slack.ok_calls_to("chat.update")[-1].args
    assert "made this an action for" in str(updated["blocks"]) and "action.from_help" not in str(updated["blocks"])
    assert "assigned you an action" in fake_slack.messages_in(SPONSOR)[-1]["text"]
    assert "already an action" in reply(fake_slack, "already an action")["text"]


# --- listing and the controls ---------------------------------------------------------------------------


def test_my_actions_are_listed_most_overdue_first_and_a_projects_show_their_owners(
    slack, fake_slack, crm, session_factory, listeners
):
    add_action(session_factory, "Due next week", due=date(2026, 11, 30))
    add_action(session_factory, "Overdue since Tuesday", due=date(2026, 11, 17))
    add_action(session_factory, "Someone else's", owner=NEW_OWNER, due=date(2026, 11, 20))
    slack.command(f"away {TODAY} 2026-11-27", user_id=NEW_OWNER, channel_id="C0CRM")

    mine = my_list(slack, fake_slack, listeners)
    projects = my_list(slack, fake_slack, listeners, user_id=SPONSOR, key="crm-2")

    titles = [block["text"]["text"].split("\n")[0] for block in mine["blocks"] if block["type"] == "section"][1:]
    assert titles == ["*Overdue since Tuesday*", "*Due next week*"]
    assert f"due {slack_date(date(2026, 11, 17))}, 4 working days overdue" in str(mine["blocks"])
    assert f"owner <@{NEW_OWNER}> (away until {slack_date(date(2026, 11, 27))})" in str(projects["blocks"])
    assert message_problems(mine["blocks"]) == [] and message_problems(projects["blocks"]) == []


def test_done_from_the_list_completes_it_and_redraws_the_list(slack, fake_slack, crm, session_factory, listeners):
    add_action(session_factory, "Agree the protocol")
    listed = my_list(slack, fake_slack, listeners)

    click(slack, "action.done", listed, "Agree the protocol", user_id=OWNER)
    listeners.wait_idle()

    [action] = stored(session_factory)
    assert action.status is ActionStatus.DONE and [e.kind for e in action.events] == ["created", "done"]
    redrawn = fake_slack.responses[-1]
    assert redrawn["replace_original"] is True and "You have no open actions" in redrawn["text"]


def test_snooze_moves_the_due_date_from_today_and_records_it(slack, fake_slack, crm, session_factory, listeners):
    add_action(session_factory, "Agree the protocol", due=date(2026, 11, 16))
    listed = my_list(slack, fake_slack, listeners, user_id=SPONSOR, key="CRM-2")

    click(slack, "action.snooze", listed, "Agree the protocol", user_id=SPONSOR, selected_option="3")
    listeners.wait_idle()

    [action] = stored(session_factory)
    assert action.due_date == date(2026, 11, 26)  # Monday + 3 days, from today, not from the old due date
    snoozed = action.events[-1]
    assert (snoozed.kind, snoozed.detail) == (
        "snoozed",
        {"days": 3, "previous_due": "2026-11-16", "due": "2026-11-26"},
    )
    assert f"due {slack_date(date(2026, 11, 26))}" in str(fake_slack.responses[-1]["blocks"])


def test_plus_three_days_from_thursday_is_due_monday_and_says_so(
    slack, fake_slack, crm, session_factory, listeners, clock
):
    clock.at = NOW + timedelta(days=3)  # Thursday 26 Nov: +3d is Sunday

    slack.command(f"action CRM-2 <@{OWNER}|doer> +3d Book the room", user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()

    confirmation = reply(fake_slack, "Added")
    assert f"{slack_date(date(2026, 11, 29))} is not a working day, so it is due the next one." in confirmation["text"]
    [action] = stored(session_factory)
    assert action.due_date == date(2026, 11, 30)


def test_a_snooze_landing_on_a_weekend_moves_to_monday(slack, fake_slack, crm, session_factory, listeners, clock):
    clock.at = NOW + timedelta(days=4)  # Friday
    add_action(session_factory, "Agree the protocol", due=date(2026, 11, 26))
    listed = my_list(slack, fake_slack, listeners)

    click(slack, "action.snooze", listed, "Agree the protocol", user_id=OWNER, selected_option="1")
    listeners.wait_idle()

    assert stored(session_factory)[0].due_date == date(2026, 11, 30)


def test_an_action_you_give_yourself_is_not_announced_as_from_you(slack, fake_slack, crm, session_factory, listeners):
    slack.command(f"action CRM-2 <@{LEAD}|lee> fri Book the room", user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()

    [dm] = fake_slack.messages_in(LEAD)
    assert "assigned you" not in dm["text"]
    assert dm["text"].startswith("You recorded an action for yourself on CRM-2: 'Book the room'")


def test_reassign_tells_the_new_owner_and_records_it(slack, fake_slack, crm, session_factory, listeners):
    add_action(session_factory, "Agree the protocol")
    listed = my_list(slack, fake_slack, listeners)

    click(slack, "action.reassign", listed, "Agree the protocol", user_id=OWNER, selected_user=NEW_OWNER)
    listeners.wait_idle()

    [action] = stored(session_factory)
    assert action.owner.slack_user_id == NEW_OWNER
    assert action.events[-1].detail == {"previous_owner": OWNER, "owner": NEW_OWNER}
    [dm] = fake_slack.messages_in(NEW_OWNER)
    assert f"<@{OWNER}> assigned you an action on CRM-2: 'Agree the protocol'" in dm["text"]


def test_reassigning_to_a_deactivated_person_is_refused(slack, fake_slack, crm, session_factory, listeners):
    fake_slack.add_user("U0GONE", deleted=True)
    add_action(session_factory, "Agree the protocol")
    listed = my_list(slack, fake_slack, listeners)

    click(slack, "action.reassign", listed, "Agree the protocol", user_id=OWNER, selected_user="U0GONE")
    listeners.wait_idle()

    assert "deactivated" in reply(fake_slack, "deactivated")["text"]
    assert stored(session_factory)[0].owner.slack_user_id == OWNER


def test_only_the_owner_sponsor_lead_or_pmo_may_change_an_action_but_anyone_may_add_a_note(
    slack, fake_slack, crm, session_factory, listeners
):
    add_action(session_factory, "Agree the protocol")
    listed = my_list(slack, fake_slack, listeners, user_id=STRANGER, key="CRM-2")

    click(slack, "action.done", listed, "Agree the protocol", user_id=STRANGER)
    click(slack, "action.snooze", listed, "Agree the protocol", user_id=STRANGER, selected_option="7")
    click(slack, "action.reassign", listed, "Agree the protocol", user_id=STRANGER, selected_user=STRANGER)
    listeners.wait_idle()
    refusals = [r for r in fake_slack.responses if r["text"].startswith("Only the action's owner")]
    click(slack, "action.add_note", listed, "Agree the protocol", user_id=STRANGER)
    view = fake_slack.wait_for("views.open").args["view"]
    noted = slack.view_submission(
        "action.note",
        {"notes": {"notes": plain_input("Legal are back on Monday")}},
        user_id=STRANGER,
        private_metadata=view["private_metadata"],
    )
    click(slack, "action.done", listed, "Agree the protocol", user_id=PMO_ADMIN)
    listeners.wait_idle()

    assert len(refusals) == 3 and f"(<@{OWNER}>), CRM-2's sponsor or lead, and PMO admins" in refusals[0]["text"]
    assert noted.json()["response_action"] == "update"
    [action] = stored(session_factory)
    assert [event.kind for event in action.events] == ["created", "note", "done"]
    assert action.events[1].detail == {"text": "Legal are back on Monday"}


def test_done_updates_the_pmo_alert_about_the_action_in_place(
    app_context, slack, fake_slack, crm, session_factory, listeners
):
    action_id = add_action(session_factory, "Agree the protocol")
    escalate(
        app_context,
        Cause(
            message_keys.action_overdue_cause(action_id),
            EscalationKind.ACTION_OVERDUE,
            {"title": "Agree the protocol", "owner_user_id": OWNER, "due": "2026-11-12", "days_overdue": 7},
        ),
        project_id=None,
        now=NOW,
    )
    listed = my_list(slack, fake_slack, listeners)

    click(slack, "action.done", listed, "Agree the protocol", user_id=OWNER)
    listeners.wait_idle()

    [alert] = fake_slack.messages_in(PMO_CHANNEL)
    done_on = slack_date(date(2026, 11, 23))
    assert f"Done: “Agree the protocol” was marked done by <@{OWNER}> on {done_on}." in str(alert["blocks"])
    assert "Acknowledge" not in str(alert["blocks"])  # settled: nothing left for the PMO to pick up


def test_a_history_click_for_an_action_that_is_not_there_is_answered_only_to_the_clicker(
    slack, fake_slack, crm, session_factory, listeners
):
    add_action(session_factory, "Agree the protocol")
    listed = my_list(slack, fake_slack, listeners)
    # A card whose History button names an action the bot does not hold (a hand-made or foreign message).
    for block in listed["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "action.history":
                element["value"] = "999"

    slack.block_action("action.history", user_id=OWNER, message={"ts": "1.2", **listed}, channel_id="C0CRM")
    listeners.wait_idle()

    refusal = reply(fake_slack, "No action has the number 999")
    assert refusal.get("response_type", "ephemeral") == "ephemeral" and refusal.get("replace_original") is False
