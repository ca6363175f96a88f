"""Leads, sponsors and PMO admins as insiders: commands that know the channel they are typed
in, the PMO admin's Home tab, editing, archiving and reopening projects, an action's history,
the service team's user group and an export that gives back what was imported."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import plain_input, static_select
from bot.services import actions, escalations, portfolio
from bot.services.access import Actor
from bot.services.actions import ActionLine, HistoryEntry
from bot.services.escalations import Cause
from handlers.blocks.actions import action_history
from handlers.blocks.common import slack_date
from handlers.jobs import run_due_work
from storage.models import EscalationKind, ProjectStatus, Rag
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN
from tests.factories import ACTION_OWNER, LEAD, SPONSOR, STRANGER, TODAY, add_action, add_project, load_project
from tests.test_status import add_checkin, shown_text


def _next_response(fake_slack, send) -> dict:  # type: ignore[no-untyped-def]
    answered = {response["url"] for response in fake_slack.responses}
    send()
    return fake_slack.wait_for_response(lambda response: response["url"] not in answered)


def test_status_in_a_linked_channel_means_that_channels_project(slack, fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    add_project(session_factory, "CRM-2", "Customer records", channels=("C0CRM",))
    add_project(session_factory, "HR-1", "HR system")

    here = _next_response(fake_slack, lambda: slack.command("status", user_id=SPONSOR, channel_id="C0CRM"))
    elsewhere = _next_response(fake_slack, lambda: slack.command("status", user_id=SPONSOR, channel_id="C0PMO"))

    assert here["text"].startswith("CRM-2") and "HR-1" not in here["text"]
    assert elsewhere["text"].startswith("Projects you sponsor or lead: 2 projects")  # the table, as before


def test_checkin_in_a_linked_channel_opens_that_projects_form(slack, fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    add_project(session_factory, "CRM-2", "Customer records", channels=("C0CRM",))

    slack.command("checkin", user_id=LEAD, channel_id="C0CRM")

    assert json.loads(fake_slack.wait_for("views.open").args["view"]["private_metadata"])["project_key"] == "CRM-2"


def test_checkin_without_a_key_in_an_unlinked_channel_asks_for_one(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    reply = _next_response(fake_slack, lambda: slack.command("checkin", user_id=PMO_ADMIN, channel_id="C0PMO"))

    assert reply["text"].startswith("This channel is not linked to a project: give its key.")


# --- an action's history ----------------------------------------------------------------------


def _action_with_history(fake_slack, session_factory) -> int:
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, ACTION_OWNER))
    for person in (LEAD, SPONSOR, ACTION_OWNER):
        fake_slack.add_user(person)
    add_project(session_factory, "CRM-2", "Customer records", channels=("C0CRM",))
    action_id = add_action(session_factory, owner=LEAD)
    with unit_of_work(session_factory) as session:
        actions.add_note(session, Actor(SPONSOR, False), action_id, "Legal have the draft <!here>", now=NOW)
        actions.reassign(session, Actor(LEAD, False), action_id, ACTION_OWNER, now=NOW + timedelta(hours=1))
    return action_id


def test_action_show_lists_its_notes_and_history_oldest_first(slack, fake_slack, session_factory):
    action_id = _action_with_history(fake_slack, session_factory)

    reply = _next_response(
        fake_slack, lambda: slack.command(f"action show {action_id}", user_id=SPONSOR, channel_id="C0CRM")
    )

    shown = "\n".join(block["text"]["text"] for block in reply["blocks"] if block["type"] == "section")
    assert f"History of action {action_id}" in shown
    recorded = shown.index(f"<@{LEAD}> recorded it for <@{LEAD}>, due {slack_date(TODAY)}")
    noted = shown.index(f"<@{SPONSOR}> noted: Legal have the draft &lt;!here&gt;")
    moved = shown.index(f"<@{LEAD}> reassigned it from <@{LEAD}> to <@{ACTION_OWNER}>")
    assert recorded < noted < moved
    assert message_problems(reply["blocks"]) == []


def test_the_history_button_on_an_action_card_shows_it_only_to_the_clicker(slack, fake_slack, session_factory):
    action_id = _action_with_history(fake_slack, session_factory)
    listing = _next_response(fake_slack, lambda: slack.command("actions", user_id=ACTION_OWNER, channel_id="C0CRM"))

    history = _next_response(
        fake_slack,
        lambda: slack.block_action(
            "action.history", user_id=ACTION_OWNER, message={"ts": "1.2", **listing}, channel_id="C0CRM"
        ),
    )

    assert history["text"].startswith(f"History of action {action_id}")
    assert "noted: Legal have the draft" in str(history["blocks"])
    assert history.get("response_type", "ephemeral") == "ephemeral" and history.get("replace_original") is False


def test_action_show_with_an_unknown_number_says_what_to_type(slack, fake_slack, session_factory):
    reply = _next_response(fake_slack, lambda: slack.command("action show 999", user_id=SPONSOR, channel_id="C0PMO"))

    assert reply["text"] == "No action has the number 999. `/pmo actions` lists yours, with their history."


def test_the_longest_history_stays_within_slacks_limits():
    line = ActionLine(7, "CRM-2", "Customer records", "T" * 500, LEAD, None, TODAY, "open", TODAY, 0, None)
    entries = [HistoryEntry(NOW, "note", SPONSOR, {"text": "<&>" * 1000}) for _ in range(200)]

    text, blocks = action_history(line, entries)

    assert message_problems(blocks) == []
    assert "155 earlier entries are not shown" in str(blocks)


# --- archiving without lessons, and reopening ---------------------------------------------------


def _prompts(fake_slack) -> list[dict]:
    return [message for message in fake_slack.messages_in("C0CRM") if "weekly check-in" in message["text"]]


def test_close_archive_closes_without_the_form_and_reopen_undoes_it(
    slack, fake_slack, session_factory, app_context, listeners
):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    add_project(session_factory, "CRM-2", "Customer records", channels=("C0CRM",))

    archived = _next_response(fake_slack, lambda: slack.command("close crm-2 archive", user_id=LEAD, channel_id="C0X"))

    assert archived["text"].startswith("CRM-2 · Customer records is archived: no more check-in prompts")
    assert fake_slack.calls_to("views.open") == []
    assert load_project(session_factory, "CRM-2").status is ProjectStatus.CLOSED
    listeners.wait_idle()
    [note] = fake_slack.messages_in("C0CRM")
    assert "Archived without lessons" in str(note["blocks"]) and "/pmo reopen CRM-2" in str(note["blocks"])
    run_due_work(app_context, NOW + timedelta(minutes=30))  # Monday 09:30: the default check-in time
    assert _prompts(fake_slack) == []

    reopened = _next_response(fake_slack, lambda: slack.command("reopen CRM-2", user_id=SPONSOR, channel_id="C0X"))

    assert reopened["text"].startswith("CRM-2 · Customer records is open again")
    assert load_project(session_factory, "CRM-2").status is ProjectStatus.ACTIVE
    run_due_work(app_context, NOW + timedelta(days=7, minutes=30))
    assert len(_prompts(fake_slack)) == 1  # next Monday's prompt goes out again


def test_reopen_needs_the_rights_to_close_and_a_closed_project(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    open_already = _next_response(fake_slack, lambda: slack.command("reopen CRM-2", user_id=LEAD, channel_id="C0X"))
    _next_response(fake_slack, lambda: slack.command("close CRM-2 archive", user_id=LEAD, channel_id="C0X"))
    stranger = _next_response(fake_slack, lambda: slack.command("reopen CRM-2", user_id=STRANGER, channel_id="C0X"))

    assert open_already["text"] == "CRM-2 is not closed (it is active), so there is nothing to reopen."
    assert "reopen it" in stranger["text"]
    assert load_project(session_factory, "CRM-2").status is ProjectStatus.CLOSED


# --- the PMO admin's Home tab ----------------------------------------------------------------


def test_a_pmo_admins_home_tab_shows_the_portfolio_summary(slack, fake_slack, listeners, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system")
    add_project(session_factory, "WEB-1", "Website")
    add_checkin(session_factory, "CRM-2", "2026-W47", Rag.RED, at=NOW - timedelta(days=7))
    add_checkin(session_factory, "HR-1", "2026-W47", Rag.GREEN, at=NOW - timedelta(days=7))
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, "CRM-2")
        escalations.raise_or_update(
            session, Cause(
                key="red:CRM-2:2026-W47",
                kind=EscalationKind.CHECKIN_ATTENTION,
                facts={"period": "2026-W47", "red": True, "rag": "red"},
            ), project=project, now=NOW
        )

    slack.event({"type": "app_home_opened", "user": PMO_ADMIN, "channel": "D0ADMIN", "tab": "home"})
    listeners.wait_idle()

    view = fake_slack.home_views[PMO_ADMIN]
    shown = "\n".join(block["text"]["text"] for block in view["blocks"] if "text" in block)
    assert "3 open projects: 1 Red, 0 Amber, 1 Green, 1 without a status. 1 PMO alert not yet picked up." in shown
    assert shown.index("*CRM-2* · Customer records") < shown.index("*HR-1* · HR system")
    assert "You don't sponsor or lead any project" not in shown
    assert view_problems(view) == []


def test_a_pmo_admin_who_sponsors_projects_gets_the_portfolio_and_their_own_counted_apart(
    slack, fake_slack, listeners, session_factory
):
    """Both tables are counted in one read: the portfolio's colours and the admin's own total
    must each come from their own scope."""
    for number in range(42):
        add_project(session_factory, f"OWN-{number}", f"Own project {number}", sponsor=PMO_ADMIN)
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system")
    add_project(session_factory, "OLD-1", "Closed one", sponsor=PMO_ADMIN)
    add_checkin(session_factory, "CRM-2", "2026-W47", Rag.RED, at=NOW - timedelta(days=7))
    add_checkin(session_factory, "HR-1", "2026-W47", Rag.GREEN, at=NOW - timedelta(days=7))
    with unit_of_work(session_factory) as session:
        portfolio.get_project(session, "OLD-1").status = ProjectStatus.CLOSED

    slack.event({"type": "app_home_opened", "user": PMO_ADMIN, "channel": "D0ADMIN", "tab": "home"})
    listeners.wait_idle()

    view = fake_slack.home_views[PMO_ADMIN]
    shown = shown_text(view)
    assert "44 open projects: 1 Red, 0 Amber, 1 Green, 42 without a status." in shown
    own = shown.split("Your projects", 1)[1]
    assert own.count("*OWN-") == 40 and "…and 2 more, healthier ones." in own
    assert "CRM-2" not in own and "OLD-1" not in shown
    assert view_problems(view) == []


def test_someone_else_sees_no_portfolio_summary(slack, fake_slack, listeners, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    slack.event({"type": "app_home_opened", "user": SPONSOR, "channel": "D0SPONSOR", "tab": "home"})
    listeners.wait_idle()

    assert "Portfolio" not in str(fake_slack.home_views[SPONSOR])


# --- /pmo project edit ------------------------------------------------------------------------


def _edit_values(**changes) -> dict:
    fields = {"name": "Customer records v2", "sponsor": SPONSOR, "lead": ACTION_OWNER, "status": "paused"}
    fields.update(changes)
    return {
        "name": {"name": plain_input(fields["name"])},
        "sponsor": {"sponsor": {"type": "users_select", "selected_user": fields["sponsor"]}},
        "lead": {"lead": {"type": "users_select", "selected_user": fields["lead"]}},
        "objective_picked": {"objective_picked": {"type": "static_select", "selected_option": None}},
        "objective": {"objective": plain_input(fields.get("objective", "Residents can do more online"))},
        "programme": {"programme": plain_input(fields.get("programme"))},
        "status": {"status": static_select(fields["status"])},
        "cadence": {"cadence": plain_input(fields.get("cadence", "tue 10:00 Europe/Paris"))},
    }


def test_project_edit_opens_a_form_on_the_project_and_saves_every_field(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    slack.command("project edit crm-2", user_id=LEAD, channel_id="C0X")
    view = fake_slack.wait_for("views.open").args["view"]
    saved = slack.view_submission(
        "project.edit", _edit_values(), user_id=LEAD, private_metadata=view["private_metadata"]
    )

    assert view_problems(view) == []
    initial = {block["block_id"]: block["element"] for block in view["blocks"] if block["type"] == "input"}
    assert initial["name"]["initial_value"] == "Customer records"
    assert (initial["sponsor"]["initial_user"], initial["lead"]["initial_user"]) == (SPONSOR, LEAD)
    assert initial["objective_picked"]["initial_option"]["text"]["text"] == "Better services online"
    assert saved.json()["response_action"] == "update"
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, "CRM-2")
        stored = (
            project.name,
            project.lead.slack_user_id,
            project.status,
            project.objective.name,
            project.checkin_day,
            project.checkin_time,
            project.timezone,
        )
    assert stored == (
        "Customer records v2",
        ACTION_OWNER,
        ProjectStatus.PAUSED,
        "Residents can do more online",
        1,
        "10:00",
        "Europe/Paris",
    )


def test_project_edit_needs_the_rights_to_link_and_says_what_to_fix(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    metadata = '{"project_key":"CRM-2"}'

    refused = _next_response(
        fake_slack, lambda: slack.command("project edit CRM-2", user_id=STRANGER, channel_id="C0X")
    )
    bad = slack.view_submission(
        "project.edit", _edit_values(cadence="someday", name=""), user_id=LEAD, private_metadata=metadata
    )
    stranger = slack.view_submission("project.edit", _edit_values(), user_id=STRANGER, private_metadata=metadata)

    assert "Only PMO admins and CRM-2's sponsor or lead can edit it" in refused["text"]
    assert set(bad.json()["errors"]) == {"name", "cadence"}
    assert "sponsor or lead can edit it" in stranger.json()["errors"]["name"]
    with unit_of_work(session_factory) as session:
        assert portfolio.get_project(session, "CRM-2").name == "Customer records"
