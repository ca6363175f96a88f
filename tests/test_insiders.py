"""Leads, sponsors and PMO admins as insiders: commands that know the channel they are typed
in, the PMO admin's Home tab, editing, archiving and reopening projects, an action's history,
the service team's user group and an export that gives back what was imported."""

from __future__ import annotations

import json

from tests.conftest import PMO_ADMIN
from tests.factories import LEAD, SPONSOR, add_project


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
