"""Several spells away per person: `/pmo away` adds (merging overlaps), lists and removes them,
`/pmo back` ends the one under way, and the check-in chasing honours every one of them.

NOW (conftest) is Monday 2026-11-23 09:00 UTC, so "today" in Slack is Mon 23 Nov 2026.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command

from handlers.jobs import run_due_work
from storage.session import alembic_config, make_engine, upgrade_to_head
from tests.factories import ACTION_OWNER, LEAD, SPONSOR, add_project

DEPUTY = "U0DEPUTY"
CHECKIN_DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # Monday's prompt, week 2026-W48


@pytest.fixture
def app_context(app_context, clock):
    return replace(app_context, clock=clock)


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, ACTION_OWNER))
    for person in (LEAD, SPONSOR, ACTION_OWNER, DEPUTY):
        fake_slack.add_user(person)
    add_project(session_factory, channels=("C0CRM",))


def away(slack, fake_slack, words: str, user_id: str = LEAD) -> str:
    """`/pmo away ...` (or `/pmo back`) from `user_id`; the text of the reply."""
    seen = len(fake_slack.responses)
    slack.command(words, user_id=user_id, channel_id="C0CRM")
    fake_slack.wait_for_response(lambda _: len(fake_slack.responses) > seen)
    return fake_slack.responses[-1]["text"]


def shown_days(text: str) -> list[str]:
    """The dates a reply shows, as their fallbacks: each is Slack date markup, never a bare date."""
    return re.findall(r"<!date\^\d+\^\{date_short_pretty\}\|([^>]+)>", text)


def reminded_periods(fake_slack, user_id: str) -> list[str]:
    return [
        re.search(r"no check-in for (\d{4}-W\d\d)", message["text"]).group(1)
        for message in fake_slack.messages_in(user_id)
        if "no check-in for" in message["text"]
    ]


def test_reminders_go_to_the_deputy_during_both_absences_and_to_the_lead_between_them(
    app_context, slack, fake_slack, crm, listeners
):
    slack.command(f"deputy CRM-2 <@{DEPUTY}|dee>", user_id=SPONSOR, channel_id="C0CRM")
    fake_slack.wait_for_response(lambda r: "deputy lead" in r["text"])
    first = away(slack, fake_slack, "away 2026-11-23 2026-11-27")
    second = away(slack, fake_slack, "away 2026-12-07 2026-12-11")
    assert "overlaps" not in first + second  # two separate spells, the first one kept

    for week in range(3):  # W48 away, W49 here, W50 away again
        prompt = CHECKIN_DUE + timedelta(weeks=week)
        for hours in (0, 24, 48):
            run_due_work(app_context, prompt + timedelta(hours=hours))

    assert reminded_periods(fake_slack, LEAD) == ["2026-W49"]
    assert reminded_periods(fake_slack, DEPUTY) == ["2026-W48", "2026-W49", "2026-W50"]  # the deputy always is


def test_overlapping_time_away_joins_what_was_given_and_the_reply_says_so(slack, fake_slack, crm, listeners):
    away(slack, fake_slack, "away 2026-11-30 2026-12-04")

    reply = away(slack, fake_slack, "away 2026-12-03 2026-12-08")
    assert "you are away" in reply and "overlaps or touches time away you had already given" in reply
    assert shown_days(reply) == ["Mon 30 Nov 2026", "Tue 8 Dec 2026", "Mon 30 Nov 2026", "Fri 4 Dec 2026"]

    away(slack, fake_slack, "away until fri")
    listed = away(slack, fake_slack, "away")
    assert shown_days(listed) == ["Mon 23 Nov 2026", "Fri 27 Nov 2026", "Mon 30 Nov 2026", "Tue 8 Dec 2026"]


def test_removing_time_away_names_the_starts_when_none_matches(slack, fake_slack, crm, listeners):
    away(slack, fake_slack, "away 2026-12-21 2027-01-01")
    away(slack, fake_slack, "away 2027-02-15 2027-02-19")

    refused = away(slack, fake_slack, "away remove 2026-12-22")
    assert "You have no absence starting 2026-12-22. Yours start on: 2026-12-21, 2027-02-15." in refused

    removed = away(slack, fake_slack, "away remove 2026-12-21")
    assert removed.startswith("Cancelled: you are no longer away") and shown_days(removed) == [
        "Mon 21 Dec 2026",
        "Fri 1 Jan 2027",
    ]
    assert shown_days(away(slack, fake_slack, "away")) == ["Mon 15 Feb 2027", "Fri 19 Feb 2027"]


def test_back_ends_only_the_time_away_under_way(app_context, slack, clock, fake_slack, crm, listeners):
    away(slack, fake_slack, "away until 2026-11-27")
    away(slack, fake_slack, "away 2026-12-07 2026-12-11")
    clock.at = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)  # Wednesday, two days into the first

    assert away(slack, fake_slack, "back").startswith("Welcome back")
    assert shown_days(away(slack, fake_slack, "away")) == ["Mon 7 Dec 2026", "Fri 11 Dec 2026"]
    assert away(slack, fake_slack, "back").startswith("You are not marked as away today")


def test_with_no_time_away_the_list_says_how_to_add_some(slack, fake_slack, crm, listeners):
    assert "no time away recorded from today on" in away(slack, fake_slack, "away")


def test_help_for_away_shows_every_form(slack, fake_slack, crm, listeners):
    reply = away(slack, fake_slack, "help away")

    for form in ("/pmo away FIRST LAST", "/pmo away until LAST", "/pmo away remove FIRST"):
        assert f"`{form}`" in reply
    assert "e.g. `/pmo away 2026-12-21 2027-01-01`" in reply


def test_the_migration_keeps_the_absence_each_person_had(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'absences.sqlite3'}")
    config = alembic_config(engine)
    command.upgrade(config, "0009")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO people (slack_user_id, away_from, away_until, created_at) "
                "VALUES ('U0AWAY', '2026-12-21', '2027-01-01', '2026-11-01 00:00:00'), "
                "('U0HERE', NULL, NULL, '2026-11-01 00:00:00')"
            )
        )

    upgrade_to_head(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT slack_user_id, first_day, last_day FROM absences JOIN people ON people.id = absences.person_id"
            )
        ).all()
    assert [(user, str(first), str(last)) for user, first, last in rows] == [("U0AWAY", "2026-12-21", "2027-01-01")]

    command.downgrade(config, "0009")
    with engine.connect() as connection:
        restored = connection.execute(sa.text("SELECT slack_user_id, away_from, away_until FROM people")).all()
    assert [tuple(map(str, row)) for row in restored] == [
        ("U0AWAY", "2026-12-21", "2027-01-01"),
        ("U0HERE", "None", "None"),
    ]
