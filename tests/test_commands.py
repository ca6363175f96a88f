"""The `/pmo` dispatcher: help, unknown subcommands, and our own errors."""

from __future__ import annotations

from bot.demo.blockkit import message_problems
from handlers import SUBCOMMANDS
from tests.conftest import PMO_ADMIN
from tests.factories import STRANGER, add_project, linked_channels


def test_help_lists_every_subcommand(slack, fake_slack):
    slack.command("help", user_id=STRANGER, channel_id="C0PMO")

    reply = fake_slack.wait_for_response()
    for subcommand in SUBCOMMANDS:
        for usage in subcommand.usages:
            assert usage.syntax in reply["text"]
    assert message_problems(reply["blocks"]) == []


def test_empty_command_shows_help(slack, fake_slack):
    slack.command("", user_id=STRANGER, channel_id="C0PMO")

    assert "/pmo link KEY" in fake_slack.wait_for_response()["text"]


def test_unknown_subcommand_gets_the_list_not_silence(slack, fake_slack):
    slack.command("frobnicate now", user_id=STRANGER, channel_id="C0PMO")

    reply = fake_slack.wait_for_response()
    assert reply["text"].startswith("I don't know `/pmo frobnicate`")
    assert reply.get("response_type", "ephemeral") == "ephemeral"


def test_slack_failing_on_our_side_gets_an_apology_and_links_nothing(slack, fake_slack, session_factory):
    add_project(session_factory)
    fake_slack.add_channel("C0CRM", "crm", bot_is_member=False)
    fake_slack.fail_next("conversations.info", status=500, error="internal_error", times=5)

    slack.command("link CRM-2", user_id=PMO_ADMIN, channel_id="C0CRM")

    assert "something went wrong on my side" in fake_slack.wait_for_response()["text"]
    assert linked_channels(session_factory, "CRM-2") == []
