"""A PMO alert's count of working days overdue never goes down: an incident recorded later over
days the PMO was already shown stops the count growing, and takes nothing back.

NOW (conftest) is Monday 2026-11-23; the action is due that day, so Tuesday is its day 1 and
the PMO's alert is raised on Wednesday 2 Dec, day 7.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, time, timezone

import pytest

from storage.models import ServiceRelation
from tests.factories import ACTION_OWNER, LEAD, SPONSOR, add_action, add_project
from tests.test_incidents import add_service, declare, latest_key, relate
from tests.test_nudges import alerts_about, day, run_days


@pytest.fixture
def app_context(app_context, clock):
    return replace(app_context, clock=clock)


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, ACTION_OWNER))
    for person in (LEAD, SPONSOR, ACTION_OWNER):
        fake_slack.add_user(person)
    add_project(session_factory, channels=("C0CRM",))
    add_service(session_factory, "PAY", "Payments platform")
    relate(session_factory, "CRM-2", ServiceRelation.DEPENDS_ON, "PAY")


def shown_count(fake_slack, title: str) -> int:
    """The working days overdue the alert about `title` says now, after any updates in place."""
    [alert] = alerts_about(fake_slack, title)
    versions = [alert] + [call.args for call in fake_slack.ok_calls_to("chat.update") if call.args["ts"] == alert["ts"]]
    return int(re.search(r"overdue by (\d+) working day", str(versions[-1]["blocks"])).group(1))


def test_an_incident_recorded_over_counted_days_stops_the_count_and_takes_nothing_back(
    app_context, slack, clock, fake_slack, session_factory, crm, listeners
):
    add_action(session_factory, "Agree the protocol")
    counts = {}
    for offset in range(9, 18):  # Wed 2 Dec to Thu 10 Dec
        run_days(app_context, clock, fake_slack, offset, offset)
        if offset == 11:  # Friday 4 Dec, after that day's alert: an incident takes the team
            clock.at = datetime.combine(day(11), time(15), tzinfo=timezone.utc)
            declare(slack, listeners, user_id=LEAD)
        if offset == 13:  # resolved on Monday at 08:00, before that day's pass
            clock.at = datetime.combine(day(14), time(8), tzinfo=timezone.utc)
            slack.command(f"incident resolve {latest_key(session_factory)}", user_id=LEAD, channel_id="C0CRM")
            listeners.wait_idle()
        counts[day(offset).strftime("%a %d")] = shown_count(fake_slack, "Agree the protocol")

    assert counts == {
        "Wed 02": 7,
        "Thu 03": 8,
        "Fri 04": 9,  # shown before the incident, whose pause covers that Friday and the Monday
        "Sat 05": 9,
        "Sun 06": 9,
        "Mon 07": 9,  # not 8: the pause stops the count, it does not take back Friday
        "Tue 08": 10,
        "Wed 09": 11,
        "Thu 10": 12,
    }
