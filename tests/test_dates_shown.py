"""Every date and time a person reads is Slack's date markup, which each reader's client shows in
their own timezone: a fortnight of a project's life through the doors Slack uses, then every
text the fake Slack recorded is read for a clock time in UTC or a raw ISO 8601 instant or date.

NOW (conftest) is Monday 2026-11-23 09:00 UTC; the day's prompt goes out at 09:30.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from bot.demo.signed import checkboxes, datepicker, plain_input, static_select
from handlers.jobs import run_due_work
from storage.models import ServiceRelation
from tests.conftest import PMO_ADMIN
from tests.factories import ACTION_OWNER, LEAD, SPONSOR, add_project
from tests.test_escaping import _rendered_texts
from tests.test_incidents import add_service, declare, latest_key, relate

DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
# Slack replaces these with the date (and time) in the reader's timezone; what is left is ours.
SLACK_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|[^>]*>")
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# `/pmo history` shows a stored record's structured field (an action event's detail) as recorded.
STORED_RECORD = re.compile(r"\{'[^}]*\}")
SHOWN_BY = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish", "views.open", "views.update")


@pytest.fixture
def app_context(app_context, clock):
    return replace(app_context, clock=clock)


def texts_people_read(fake_slack) -> list[str]:
    sent = [call.args for method in SHOWN_BY for call in fake_slack.ok_calls_to(method)]
    sent += fake_slack.responses
    texts = []
    for args in sent:
        shown = {"text": args.get("text"), "blocks": args.get("blocks", []), "view": args.get("view", {})}
        texts += [text for text in _rendered_texts(shown) if text]
    return texts


def test_no_message_of_a_projects_fortnight_shows_a_utc_time_or_a_raw_iso_instant(
    app_context, slack, clock, fake_slack, session_factory, listeners
):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, ACTION_OWNER))
    for person in (LEAD, SPONSOR, ACTION_OWNER, PMO_ADMIN):
        fake_slack.add_user(person)
    add_project(session_factory, channels=("C0CRM",), created_at=DUE - timedelta(days=1))
    add_service(session_factory, "PAY", "Payments platform")
    relate(session_factory, "CRM-2", ServiceRelation.DEPENDS_ON, "PAY")

    def command(words: str, user_id: str = LEAD) -> None:
        slack.command(words, user_id=user_id, channel_id="C0CRM")
        listeners.wait_idle()

    run_due_work(app_context, DUE)
    slack.view_submission(
        "checkin.submit",
        {
            "overall": {"overall": static_select("red")},
            "progress": {"progress": plain_input("Records loaded")},
            "help": {"help": plain_input("A decision on the supplier")},
            "escalate": {"escalate": checkboxes(["escalate"])},
            "path_to_green": {"path_to_green": plain_input("Agreement signed")},
            "path_to_green_date": {"path_to_green_date": datepicker("2027-01-15")},
        },
        user_id=LEAD,
        private_metadata='{"project_key": "CRM-2", "period": "2026-W48"}',
    )
    listeners.wait_idle()
    command(f"action CRM-2 <@{ACTION_OWNER}|doer> 2026-11-24 Agree the data-sharing protocol")
    command("away 2026-12-14 2026-12-18", user_id=ACTION_OWNER)
    command("away", user_id=ACTION_OWNER)
    for offset in range(1, 12):  # the ladder climbs to the PMO's alert; the next week's prompt
        clock.at = DUE + timedelta(days=offset)
        run_due_work(app_context, clock.at)
    declare(slack, listeners, user_id=LEAD)
    incident = latest_key(session_factory)
    command(f"incident update {incident} Failover under way")
    command("incidents")
    command("status CRM-2")
    clock.at += timedelta(hours=3)
    command(f"incident resolve {incident}")
    run_due_work(app_context, clock.at)
    command("status CRM-2")
    command("actions CRM-2")
    command("action show 1")
    command("cadence CRM-2")
    command("history CRM-2")
    command("digest", user_id=PMO_ADMIN)
    for person in (LEAD, SPONSOR, PMO_ADMIN):
        slack.event({"type": "app_home_opened", "user": person, "channel": f"D0{person}", "tab": "home"})
    listeners.wait_idle()

    texts = texts_people_read(fake_slack)
    assert len(texts) > 30 and any(SLACK_DATE.search(text) for text in texts)
    assert any("Service restored" in text for text in texts) and any("History of CRM-2" in text for text in texts)
    leftover = [SLACK_DATE.sub("", text) for text in texts]
    assert [text for text in leftover if "UTC" in text] == []
    assert [text for text in leftover if ISO_INSTANT.search(text)] == [], json.dumps(leftover, indent=1)
    assert [text for text in leftover if ISO_DATE.search(STORED_RECORD.sub("", text))] == []
