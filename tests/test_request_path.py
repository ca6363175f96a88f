"""The one request path: state Slack carries back is validated, and a user's mistake is answered
on the surface they used, from one place. Through signed requests and the fake Slack."""

from __future__ import annotations

import threading
import time

import pytest

from storage.models import Action, ActionStatus, Checkin
from storage.session import unit_of_work
from tests.conftest import PMO_ADMIN, PMO_CHANNEL
from tests.factories import ACTION_OWNER, LEAD, STRANGER, add_action, add_project
from tests.test_checkins import values

OUT_OF_DATE = "This button is out of date; run `/pmo"
TAMPERED = ["{not json", '{"project_key": 7}', "[1, 2]", '{"v": 99, "project_key": "CRM-2", "period": "2026-W48"}', ""]


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, ACTION_OWNER))
    fake_slack.add_user(LEAD)
    fake_slack.add_user(ACTION_OWNER)
    add_project(session_factory, channels=("C0CRM",))


def _message(action_id: str, value: str, block_id: str = "b1") -> dict:
    button = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": "x"}, "value": value}
    return {"ts": "1700000000.000100", "blocks": [{"type": "actions", "block_id": block_id, "elements": [button]}]}


@pytest.mark.parametrize("value", TAMPERED)
def test_a_tampered_button_value_is_answered_out_of_date_at_once_and_opens_nothing(
    slack, fake_slack, crm, listeners, value
):
    started = time.monotonic()
    response = slack.block_action(
        "checkin.submit", user_id=LEAD, channel_id="C0CRM", message=_message("checkin.submit", value)
    )
    listeners.wait_idle()

    assert response.status_code == 200 and time.monotonic() - started < 2.5
    [reply] = fake_slack.responses
    assert reply["text"].startswith(OUT_OF_DATE) and reply["response_type"] == "ephemeral"
    assert fake_slack.calls_to("views.open") == []


def test_a_tampered_block_id_on_an_action_card_changes_nothing(slack, fake_slack, crm, session_factory, listeners):
    action_id = add_action(session_factory)

    slack.block_action(
        "action.done",
        user_id=ACTION_OWNER,
        channel_id="C0CRM",
        message=_message("action.done", str(action_id), block_id='{"action_id": "one", "shown_in": "dm"}'),
    )
    listeners.wait_idle()

    assert fake_slack.responses[-1]["text"] == "This button is out of date; run `/pmo actions` again."
    with unit_of_work(session_factory) as session:
        assert session.get(Action, action_id).status is ActionStatus.OPEN


@pytest.mark.parametrize("metadata", TAMPERED)
def test_a_tampered_form_is_answered_with_a_form_error_and_stores_nothing(
    slack, crm, session_factory, listeners, metadata
):
    response = slack.view_submission("checkin.submit", values(), user_id=LEAD, private_metadata=metadata)
    listeners.wait_idle()

    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert [text[: len(OUT_OF_DATE)] for text in answer["errors"].values()] == [OUT_OF_DATE]
    with unit_of_work(session_factory) as session:
        assert session.query(Checkin).count() == 0


def test_state_from_before_versions_were_written_still_works(slack, fake_slack, crm, session_factory, listeners):
    response = slack.view_submission(
        "checkin.submit",
        values(),
        user_id=LEAD,
        private_metadata='{"project_key": "CRM-2", "period": "2026-W48"}',
    )
    listeners.wait_idle()

    assert response.status_code == 200
    with unit_of_work(session_factory) as session:
        assert session.query(Checkin).count() == 1


def test_a_refusal_from_a_button_with_nowhere_to_reply_comes_by_dm(slack, fake_slack, crm, listeners):
    fake_slack.add_user(STRANGER)
    home = {"id": "V0HOME", **_message("checkin.submit", '{"project_key": "CRM-2", "period": "2026-W48"}')}

    slack.block_action("checkin.submit", user_id=STRANGER, view=home)
    listeners.wait_idle()

    [dm] = fake_slack.messages_in(STRANGER)
    assert "You can't update CRM-2" in dm["text"] and fake_slack.calls_to("views.open") == []


def test_a_tampered_alert_button_is_out_of_date_and_picks_nothing_up(slack, fake_slack, crm, listeners):
    slack.block_action(
        "escalation.acknowledge",
        user_id=PMO_ADMIN,
        channel_id=PMO_CHANNEL,
        message=_message("escalation.acknowledge", "1; drop table"),
    )
    listeners.wait_idle()

    assert fake_slack.responses[-1]["text"].startswith("This button is out of date")


def test_commands_and_clicks_are_answered_at_once_while_every_listener_thread_is_busy(
    slack, fake_slack, crm, listeners
):
    """Slack shows the person an error when the answer takes over 3 s: a Monday burst that keeps
    every listener thread rendering must not hold up the next request's answer."""
    busy = threading.Event()
    for _ in range(listeners._max_workers):
        listeners.submit(busy.wait)
    try:
        started = time.monotonic()
        command = slack.command("status CRM-2", user_id=LEAD, channel_id="C0CRM")
        click = slack.block_action(
            "action.done", user_id=ACTION_OWNER, channel_id="C0CRM", message=_message("action.done", "1")
        )
        answered_in = time.monotonic() - started
        assert fake_slack.responses == []  # nothing has run yet: the answers did not wait for it
    finally:
        busy.set()
    listeners.wait_idle()

    assert command.status_code == 200 and click.status_code == 200 and answered_in < 1.0
    assert any("CRM-2" in reply["text"] for reply in fake_slack.responses)
