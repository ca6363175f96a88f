"""`/pmo project`, sharing a record, and the "new project" modal."""

from __future__ import annotations

from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import plain_input
from tests.conftest import PMO_ADMIN
from tests.factories import SPONSOR, STRANGER, add_project, load_project


def _all_text(reply: dict) -> str:
    return str(reply.get("text", "")) + str(reply.get("blocks", ""))


def test_project_record_is_ephemeral_with_its_people_channels_and_objective(slack, fake_slack, session_factory):
    add_project(session_factory, channels=("C0CRM",))

    slack.command("project crm-2", user_id=STRANGER, channel_id="C0CRM")

    reply = fake_slack.wait_for_response()
    shown = _all_text(reply)
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert "CRM-2 · Customer records" in shown
    assert "<@U0SPONSOR>" in shown and "<@U0LEAD>" in shown
    assert "<#C0CRM> (primary)" in shown and "Better services online" in shown
    assert "Share in channel" in shown
    assert message_problems(reply["blocks"]) == []


def test_share_button_posts_the_record_in_channel_without_the_button(slack, fake_slack, session_factory):
    add_project(session_factory)
    slack.command("project CRM-2", user_id=STRANGER, channel_id="C0PMO")
    private_copy = {"type": "message", "ts": "1700000000.000100", "blocks": fake_slack.wait_for_response()["blocks"]}

    slack.block_action("project_record.share", user_id=STRANGER, channel_id="C0PMO", message=private_copy)

    reply = fake_slack.wait_for_response(lambda r: r.get("response_type") == "in_channel")
    assert reply["response_type"] == "in_channel"
    assert "CRM-2 · Customer records" in _all_text(reply) and "Share in channel" not in _all_text(reply)


def test_unknown_project_says_how_to_find_or_add_one(slack, fake_slack):
    slack.command("project XYZ-1", user_id=STRANGER, channel_id="C0PMO")

    assert "No project has the key XYZ-1" in fake_slack.wait_for_response()["text"]


def test_project_add_opens_a_valid_modal_for_pmo_admins(slack, fake_slack):
    slack.command("project add", user_id=PMO_ADMIN, channel_id="C0PMO")

    view = fake_slack.wait_for("views.open").args["view"]
    assert view["callback_id"] == "project.new" and view_problems(view) == []


def test_project_add_is_refused_for_non_admins(slack, fake_slack, listeners):
    slack.command("project add", user_id=STRANGER, channel_id="C0PMO")

    assert "Only PMO admins can add projects" in fake_slack.wait_for_response()["text"]
    listeners.wait_idle()
    assert fake_slack.calls_to("views.open") == []


def _new_project_values(key: str, name: str, sponsor: str | None = SPONSOR) -> dict:
    return {
        "key": {"key": plain_input(key)},
        "name": {"name": plain_input(name)},
        "sponsor": {"sponsor": {"type": "users_select", "selected_user": sponsor}},
        "lead": {"lead": {"type": "users_select", "selected_user": None}},
        "objective": {"objective": plain_input("Better services online")},
        "programme": {"programme": plain_input(None)},
        "description": {"description": plain_input(None)},
    }


def test_submitting_the_modal_creates_the_project(slack, session_factory):
    response = slack.view_submission("project.new", _new_project_values("hr-1", "HR system"), user_id=PMO_ADMIN)

    assert response.json()["response_action"] == "update"
    assert "/pmo link HR-1" in str(response.json()["view"])
    project = load_project(session_factory, "HR-1")
    assert project.name == "HR system" and project.sponsor.slack_user_id == SPONSOR


def test_modal_errors_are_shown_inline_and_nothing_is_created(slack, session_factory):
    add_project(session_factory, "HR-1", "HR system")

    duplicate = slack.view_submission("project.new", _new_project_values("HR-1", "Another"), user_id=PMO_ADMIN)
    missing = slack.view_submission("project.new", _new_project_values("bad key!", "", sponsor=None), user_id=PMO_ADMIN)

    assert duplicate.json() == {
        "response_action": "errors",
        "errors": {"key": "A project with the key HR-1 already exists. Choose another key."},
    }
    assert set(missing.json()["errors"]) == {"key", "name", "sponsor"}
    assert load_project(session_factory, "HR-1").name == "HR system"
