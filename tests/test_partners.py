"""Partner organisations see only what is shared with them, whatever they type."""

from __future__ import annotations

from tests.conftest import PMO_ADMIN
from tests.factories import LEAD, SPONSOR, add_project

PARTNER = "T0PARTNER"


def _shared_channel(fake_slack, channel_id: str = "C0JOINT", teams: tuple[str, ...] = (PARTNER,)) -> str:
    fake_slack.add_channel(channel_id, "joint-delivery", is_ext_shared=True, connected_team_ids=("T0FAKE", *teams))
    return channel_id


def _all_text(reply: dict) -> str:
    return str(reply.get("text", "")) + str(reply.get("blocks", ""))


def test_a_shared_channel_sees_only_projects_shared_with_its_partner(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system")
    joint = _shared_channel(fake_slack)

    slack.command(f"share CRM-2 {PARTNER}", user_id=SPONSOR, channel_id="C0PMO")
    assert "can now see CRM-2" in fake_slack.wait_for_response()["text"]

    slack.command("project CRM-2", user_id=PMO_ADMIN, channel_id=joint)
    assert "Customer records" in _all_text(fake_slack.wait_for_response(lambda r: "blocks" in r))
    slack.command("project HR-1", user_id=PMO_ADMIN, channel_id=joint)
    refusal = fake_slack.wait_for_response(lambda r: "HR-1" in r["text"])
    assert refusal["text"].startswith("No project has the key HR-1") and "HR system" not in _all_text(refusal)


def test_unshared_and_internal_behaviour(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    joint = _shared_channel(fake_slack)
    slack.command("share CRM-2", user_id=PMO_ADMIN, channel_id=joint)  # no team ID: this channel's partner
    assert f"Partner {PARTNER} can now see CRM-2" in fake_slack.wait_for_response()["text"]

    slack.command(f"unshare CRM-2 {PARTNER}", user_id=PMO_ADMIN, channel_id="C0PMO")
    assert "no longer sees CRM-2" in fake_slack.wait_for_response(lambda r: "no longer" in r["text"])["text"]

    slack.command("project CRM-2", user_id=PMO_ADMIN, channel_id=joint)
    assert "No project has the key CRM-2" in fake_slack.wait_for_response(lambda r: "No project" in r["text"])["text"]
    slack.command("project CRM-2", user_id=PMO_ADMIN, channel_id="C0PMO")  # internal channels see everything
    assert "Customer records" in _all_text(fake_slack.wait_for_response(lambda r: "blocks" in r))


def test_a_channel_with_two_partners_sees_only_what_both_may_see(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    joint = _shared_channel(fake_slack, teams=(PARTNER, "T0OTHER"))
    slack.command(f"share CRM-2 {PARTNER}", user_id=SPONSOR, channel_id="C0PMO")
    fake_slack.wait_for_response()

    slack.command("project CRM-2", user_id=PMO_ADMIN, channel_id=joint)

    assert "No project has the key CRM-2" in fake_slack.wait_for_response(lambda r: "No project" in r["text"])["text"]


def test_sharing_the_record_into_a_partner_channel_is_checked_too(slack, fake_slack, session_factory):
    add_project(session_factory, "HR-1", "HR system")
    joint = _shared_channel(fake_slack)
    slack.command("project HR-1", user_id=PMO_ADMIN, channel_id="C0PMO")
    private_copy = {"type": "message", "ts": "1700000000.000100", "blocks": fake_slack.wait_for_response()["blocks"]}

    slack.block_action("project_record.share", user_id=PMO_ADMIN, channel_id=joint, message=private_copy)

    reply = fake_slack.wait_for_response(lambda r: "HR-1" in r.get("text", "") and "No project" in r["text"])
    assert reply.get("response_type") != "in_channel"


def test_only_pmo_admins_and_the_sponsor_may_share(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    slack.command(f"share CRM-2 {PARTNER}", user_id=LEAD, channel_id="C0PMO")
    assert "Only PMO admins and CRM-2's sponsor" in fake_slack.wait_for_response()["text"]

    slack.command("share CRM-2 nonsense!", user_id=SPONSOR, channel_id="C0PMO")
    assert "is not a Slack team ID" in fake_slack.wait_for_response(lambda r: "team ID" in r["text"])["text"]
