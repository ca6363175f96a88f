"""Linking channels to projects, through signed slash commands and events."""

from __future__ import annotations

from tests.conftest import PMO_ADMIN
from tests.factories import LEAD, SPONSOR, STRANGER, add_project, linked_channels


def test_lead_links_a_public_channel_the_bot_is_not_in(slack, fake_slack, session_factory):
    add_project(session_factory)
    fake_slack.add_channel("C0CRM", "crm-team", bot_is_member=False)

    slack.command("link crm-2", user_id=LEAD, channel_id="C0CRM")

    reply = fake_slack.wait_for_response()
    assert "now linked to *CRM-2*" in reply["text"] and reply["response_type"] == "in_channel"
    assert fake_slack.ok_calls_to("conversations.join")[0].args["channel"] == "C0CRM"
    assert linked_channels(session_factory, "CRM-2") == [("C0CRM", True)]


def test_second_channel_is_linked_but_not_primary(slack, fake_slack, session_factory):
    add_project(session_factory, channels=("C0FIRST",))
    fake_slack.add_channel("C0SECOND", "crm-board")

    slack.command("link CRM-2", user_id=SPONSOR, channel_id="C0SECOND")

    assert "already has a primary channel" in fake_slack.wait_for_response()["text"]
    assert linked_channels(session_factory, "CRM-2") == [("C0FIRST", True), ("C0SECOND", False)]


def test_private_channel_without_the_bot_is_not_linked_and_says_how_to_invite(slack, fake_slack, session_factory):
    add_project(session_factory)
    fake_slack.add_channel("G0SECRET", "crm-private", is_private=True, bot_is_member=False)

    slack.command("link CRM-2", user_id=LEAD, channel_id="G0SECRET")

    reply = fake_slack.wait_for_response()
    assert "/invite @pmo-bot" in reply["text"] and "Nothing was linked" in reply["text"]
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert linked_channels(session_factory, "CRM-2") == []
    assert fake_slack.calls_to("conversations.join") == []


def test_channel_linked_elsewhere_is_refused_until_unlinked(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", channels=("C0CRM",))
    add_project(session_factory, "HR-1", "HR system")
    fake_slack.add_channel("C0CRM", "crm-team")

    slack.command("link HR-1", user_id=PMO_ADMIN, channel_id="C0CRM")

    assert "already linked to CRM-2" in fake_slack.wait_for_response()["text"]
    assert linked_channels(session_factory, "HR-1") == []


def test_someone_who_is_not_sponsor_lead_or_pmo_cannot_link(slack, fake_slack, session_factory):
    add_project(session_factory)
    fake_slack.add_channel("C0CRM", "crm-team", bot_is_member=False)

    slack.command("link CRM-2", user_id=STRANGER, channel_id="C0CRM")

    assert "Only PMO admins and CRM-2's sponsor or lead" in fake_slack.wait_for_response()["text"]
    assert linked_channels(session_factory, "CRM-2") == []
    assert fake_slack.calls_to("conversations.join") == []


def test_unknown_key_and_missing_key_get_usage(slack, fake_slack, session_factory):
    slack.command("link NOPE-9", user_id=PMO_ADMIN, channel_id="C0PMO")
    assert "No project has the key NOPE-9" in fake_slack.wait_for_response()["text"]

    slack.command("link", user_id=PMO_ADMIN, channel_id="C0PMO")
    assert "Usage:" in fake_slack.wait_for_response(lambda r: "Usage" in r["text"])["text"]


def test_unlink_promotes_the_next_channel_to_primary(slack, fake_slack, session_factory):
    add_project(session_factory, channels=("C0FIRST", "C0SECOND"))

    slack.command("unlink", user_id=LEAD, channel_id="C0FIRST")

    assert "no longer linked to *CRM-2*" in fake_slack.wait_for_response()["text"]
    assert linked_channels(session_factory, "CRM-2") == [("C0SECOND", True)]


def test_unlink_by_a_stranger_is_refused(slack, fake_slack, session_factory):
    add_project(session_factory, channels=("C0CRM",))

    slack.command("unlink", user_id=STRANGER, channel_id="C0CRM")

    assert "Only PMO admins" in fake_slack.wait_for_response()["text"]
    assert linked_channels(session_factory, "CRM-2") == [("C0CRM", True)]


def _bot_joined(channel_id: str) -> dict:
    return {"type": "member_joined_channel", "user": "U0BOT", "channel": channel_id, "team": "T0FAKE"}


def test_bot_joining_an_unlinked_channel_posts_the_link_hint_once_despite_retries(slack, fake_slack, listeners):
    fake_slack.add_channel("C0NEW", "new-project")

    slack.event(_bot_joined("C0NEW"), event_id="Ev1")
    slack.event(_bot_joined("C0NEW"), event_id="Ev1", retry_num=1)
    slack.event(_bot_joined("C0NEW"), event_id="Ev1", retry_num=2)
    listeners.wait_idle()

    posts = fake_slack.messages_in("C0NEW")
    assert len(posts) == 1 and "/pmo link KEY" in posts[0]["text"]


def test_bot_joining_an_already_linked_channel_stays_quiet(slack, fake_slack, session_factory, listeners):
    add_project(session_factory, channels=("C0CRM",))
    fake_slack.add_channel("C0CRM", "crm-team")

    response = slack.event(_bot_joined("C0CRM"), event_id="Ev2")
    listeners.wait_idle()

    assert response.status_code == 200
    assert fake_slack.messages_in("C0CRM") == []


def test_someone_else_joining_is_ignored(slack, fake_slack, listeners):
    fake_slack.add_channel("C0NEW", "new-project")

    slack.event({**_bot_joined("C0NEW"), "user": "U0HUMAN"}, event_id="Ev3")
    listeners.wait_idle()

    assert fake_slack.messages_in("C0NEW") == []


def test_a_rate_limited_join_is_retried_and_the_channel_linked(slack, fake_slack, session_factory):
    add_project(session_factory)
    fake_slack.add_channel("C0CRM", "crm-team", bot_is_member=False)
    fake_slack.fail_next("conversations.join", status=429, retry_after=0)

    slack.command("link CRM-2", user_id=LEAD, channel_id="C0CRM")

    assert "now linked" in fake_slack.wait_for_response()["text"]
    assert [call.status for call in fake_slack.calls_to("conversations.join")] == [429, 200]
    assert linked_channels(session_factory, "CRM-2") == [("C0CRM", True)]
