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


def _texts(blocks: list[dict]) -> str:
    return "\n".join(
        [block["text"]["text"] for block in blocks if "text" in block]
        + [element["text"] for block in blocks for element in block.get("elements", [])]
    )


def test_help_shows_every_form_in_blocks_grouped_by_who_uses_it(slack, fake_slack):
    slack.command("help", user_id=STRANGER, channel_id="C0PMO")

    blocks = fake_slack.wait_for_response()["blocks"]
    shown = _texts(blocks)
    for subcommand in SUBCOMMANDS:
        for usage in subcommand.usages:
            assert f"`{usage.syntax}`" in shown, usage.syntax  # nothing is cut off at Slack's 3,000 characters
    headings = [line for line in shown.splitlines() if line.startswith("*") and line.endswith("*")]
    assert headings == ["*Everyone*", "*Project teams (leads, deputies, members)*", "*Sponsors*", "*PMO admins*"]
    assert shown.index("`/pmo project add`") > shown.index("*PMO admins*")
    assert shown.index("`/pmo link KEY`") < shown.index("*Sponsors*")
    assert message_problems(blocks) == []


def test_help_for_one_subcommand_shows_its_forms_with_an_example(slack, fake_slack):
    slack.command("help Action", user_id=STRANGER, channel_id="C0PMO")

    reply = fake_slack.wait_for_response()
    assert "`/pmo action KEY @owner DATE title`" in reply["text"]
    assert "`/pmo action KEY`: the same, in a form" in reply["text"]
    assert "e.g. `/pmo action CRM-2 @sam fri Agree the data-sharing protocol`" in reply["text"]
    assert "/pmo incidents" not in reply["text"]
    assert message_problems(reply["blocks"]) == []


def test_a_mistyped_subcommand_gets_a_guess_and_a_short_list(slack, fake_slack):
    slack.command("stauts CRM-2", user_id=STRANGER, channel_id="C0PMO")

    reply = fake_slack.wait_for_response()
    assert reply["text"].startswith("I don't know `/pmo stauts`. Did you mean `/pmo status`?")
    assert "`incidents`" in reply["text"]
    assert "one project: its last 8 weeks" not in reply["text"]  # not the whole help
    assert len(reply["text"]) < 1000


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
