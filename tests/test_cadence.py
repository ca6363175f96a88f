"""Check-in cadences and skip dates: the calendar maths, and `/pmo cadence` / `/pmo skip` in Slack."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.context import AppContext
from bot.demo.blockkit import message_problems
from bot.services import project_cadence, skip_dates
from bot.services.access import Actor
from bot.services.cadence import Cadence, period_of, previous_period
from handlers.blocks.cadence import skip_dates_message
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, TEAM_ID
from tests.factories import LEAD, SPONSOR, STRANGER, add_project, load_project

LONDON_MONDAY = Cadence(0, "09:30", "Europe/London")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# --- the calendar maths ------------------------------------------------------------------


def test_latest_due_is_this_weeks_instant_once_it_has_passed_and_last_weeks_before():
    assert LONDON_MONDAY.latest_due(utc(2026, 11, 23, 9, 30)) == (
        "2026-W48",
        date(2026, 11, 23),
        utc(2026, 11, 23, 9, 30),
    )
    assert LONDON_MONDAY.latest_due(utc(2026, 11, 23, 9, 29))[0] == "2026-W47"


def test_a_late_tick_finds_the_current_period_not_an_older_one():
    assert LONDON_MONDAY.latest_due(utc(2026, 11, 29, 23, 59))[0] == "2026-W48"


def test_next_due_is_strictly_after_now():
    assert LONDON_MONDAY.next_due(utc(2026, 11, 23, 9, 29))[2] == utc(2026, 11, 23, 9, 30)
    assert LONDON_MONDAY.next_due(utc(2026, 11, 23, 9, 30)) == (
        "2026-W49",
        date(2026, 11, 30),
        utc(2026, 11, 30, 9, 30),
    )


def test_london_keeps_half_past_nine_local_across_the_spring_change():
    thursday_before = utc(2027, 3, 25, 12, 0)

    assert LONDON_MONDAY.latest_due(thursday_before)[2] == utc(2027, 3, 22, 9, 30)  # GMT
    assert LONDON_MONDAY.next_due(thursday_before)[2] == utc(2027, 3, 29, 8, 30)  # BST


def test_on_the_day_the_clocks_go_forward_the_prompt_is_at_local_time():
    sunday = Cadence(6, "09:30", "Europe/London")
    quarter_to_ten_bst = utc(2027, 3, 28, 8, 45)

    assert sunday.latest_due(quarter_to_ten_bst) == ("2027-W12", date(2027, 3, 28), utc(2027, 3, 28, 8, 30))
    assert sunday.next_due(quarter_to_ten_bst)[1] == date(2027, 4, 4)


def test_sydney_periods_follow_the_local_date_across_its_autumn_change():
    sydney_monday = Cadence(0, "09:00", "Australia/Sydney")
    thursday = utc(2027, 4, 1, 0, 0)

    # 09:00 AEDT (+11) then, after clocks go back on 4 April, 09:00 AEST (+10): still Sunday in UTC.
    assert sydney_monday.latest_due(thursday) == ("2027-W13", date(2027, 3, 29), utc(2027, 3, 28, 22, 0))
    assert sydney_monday.next_due(thursday) == ("2027-W14", date(2027, 4, 5), utc(2027, 4, 4, 23, 0))


def test_iso_week_years_at_the_turn_of_the_year():
    assert period_of(date(2026, 12, 31)) == "2026-W53"
    assert period_of(date(2027, 1, 1)) == "2026-W53"
    assert period_of(date(2027, 1, 4)) == "2027-W01"
    assert previous_period("2027-W01") == "2026-W53"
    assert Cadence(3, "09:30", "Europe/London").latest_due(utc(2027, 1, 1, 12, 0))[0] == "2026-W53"


def test_skip_dates_belong_to_one_workspace(session_factory):
    add_project(session_factory)
    with unit_of_work(session_factory) as session:
        skip_dates.add_skip_date(session, Actor(LEAD, False), TEAM_ID, date(2026, 12, 25), None, date(2026, 11, 23))

    with unit_of_work(session_factory) as session:
        listed = {team: _days(session, team) for team in (TEAM_ID, "T0OTHER")}
    assert date(2026, 12, 25) in listed[TEAM_ID] and date(2026, 12, 26) not in listed[TEAM_ID]
    assert date(2026, 12, 25) not in listed["T0OTHER"]


def test_the_longest_skip_list_stays_within_slacks_limits_and_says_what_was_left_out():
    days = [(date(2027, 1, 1) + timedelta(days=n), "N" * 200) for n in range(500)]

    text, blocks = skip_dates_message(days)

    assert message_problems(blocks) == []
    assert "more" in text


# --- /pmo cadence ---------------------------------------------------------------------------


@pytest.fixture
def app_context(app_context: AppContext) -> AppContext:
    """Commands see the suite's fixed Monday 09:00 UTC, so "next prompt" and "in the past" hold still."""
    return replace(app_context, clock=lambda: NOW)


def _stored_cadence(session_factory, key: str = "CRM-2") -> tuple[int | None, str | None, str | None]:
    project = load_project(session_factory, key)
    return project.checkin_day, project.checkin_time, project.timezone


def _days(session, team_id: str, since: date | None = None) -> set[date]:
    """The workspace's skip dates from `since`, as `/pmo skip` lists them."""
    return {skip.day for skip in skip_dates.upcoming_skip_dates(session, team_id, since or NOW.date())}


def _reply_to(fake_slack, words: str) -> dict:
    return fake_slack.wait_for_response(lambda response: words in response["text"])


def test_anyone_sees_a_cadence_and_which_parts_are_the_workspace_default(slack, fake_slack, session_factory):
    add_project(session_factory)

    slack.command("cadence crm-2", user_id=STRANGER, channel_id="C0PMO")

    reply = fake_slack.wait_for_response()
    assert "Mon 09:30 Europe/London (day, time and timezone from the workspace default)" in reply["text"]
    # Each reader sees the instant in their own timezone; the fallback says UTC.
    next_prompt = "<!date^1795426200^{date_short_pretty} {time}|23 Nov 2026 09:30 UTC>"
    assert f"Next prompt: {next_prompt} (2026-W48)" in reply["text"]
    assert reply.get("response_type", "ephemeral") == "ephemeral"


def test_lead_sets_day_time_and_timezone(slack, fake_slack, session_factory):
    add_project(session_factory)

    slack.command("cadence CRM-2 tue 10:00 Europe/Paris", user_id=LEAD, channel_id="C0PMO")

    reply = fake_slack.wait_for_response()
    assert "now Tue 10:00 Europe/Paris (set for this project)" in reply["text"]
    next_prompt = "<!date^1795510800^{date_short_pretty} {time}|24 Nov 2026 09:00 UTC>"  # 10:00 in Paris
    assert f"Next prompt: {next_prompt} (2026-W48)" in reply["text"]
    assert _stored_cadence(session_factory) == (1, "10:00", "Europe/Paris")


def test_sponsor_sets_day_and_time_and_the_timezone_stays_the_default(slack, fake_slack, session_factory):
    add_project(session_factory)

    slack.command("cadence CRM-2 Friday 9:00", user_id=SPONSOR, channel_id="C0PMO")

    assert "now Fri 09:00 Europe/London (timezone from the workspace default)" in fake_slack.wait_for_response()["text"]
    assert _stored_cadence(session_factory) == (4, "09:00", None)


def test_a_stranger_cannot_change_the_cadence(slack, fake_slack, session_factory):
    add_project(session_factory)

    slack.command("cadence CRM-2 tue 10:00", user_id=STRANGER, channel_id="C0PMO")

    assert "Only PMO admins and CRM-2's sponsor or lead" in fake_slack.wait_for_response()["text"]
    assert _stored_cadence(session_factory) == (None, None, None)


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        ("someday 10:00", "'someday' is not a day"),
        ("tue 25:00", "'25:00' is not a time"),
        ("tue 10:00 Mars/Olympus", "'Mars/Olympus' is not an IANA timezone"),
        ("tue", "Give a day and a time"),
    ],
)
def test_a_bad_cadence_gets_the_problem_and_the_usage(slack, fake_slack, session_factory, words, problem):
    add_project(session_factory)

    slack.command(f"cadence CRM-2 {words}", user_id=LEAD, channel_id="C0PMO")

    reply = fake_slack.wait_for_response()
    assert problem in reply["text"] and "/pmo cadence KEY DAY HH:MM [TIMEZONE]" in reply["text"]
    assert _stored_cadence(session_factory) == (None, None, None)


def test_default_hands_the_whole_cadence_back_to_the_workspace(slack, fake_slack, session_factory):
    add_project(session_factory)
    with unit_of_work(session_factory) as session:
        project_cadence.set_cadence(
            session, Actor(LEAD, False), "CRM-2", weekday=2, time_of_day="14:00", timezone="Asia/Tokyo", now=NOW
        )

    slack.command("cadence CRM-2 default", user_id=PMO_ADMIN, channel_id="C0PMO")

    assert "now Mon 09:30 Europe/London (day, time and timezone from" in fake_slack.wait_for_response()["text"]
    assert _stored_cadence(session_factory) == (None, None, None)


# --- /pmo skip ------------------------------------------------------------------------------


def test_a_lead_adds_lists_and_removes_a_skip_date(slack, fake_slack, session_factory):
    add_project(session_factory)

    slack.command("skip 2026-12-25 Christmas Day", user_id=LEAD, channel_id="C0PMO")
    assert "Fri 25 Dec 2026 (Christmas Day) is now a skip date" in _reply_to(fake_slack, "now a skip date")["text"]

    slack.command("skip", user_id=STRANGER, channel_id="C0PMO")
    listing = _reply_to(fake_slack, "*Skip dates*")
    assert "• Fri 25 Dec 2026 (2026-12-25): Christmas Day" in listing["text"]
    assert message_problems(listing["blocks"]) == []

    slack.command("skip remove 2026-12-25", user_id=LEAD, channel_id="C0PMO")
    assert "no longer a skip date" in _reply_to(fake_slack, "no longer")["text"]
    slack.command("skip", user_id=STRANGER, channel_id="C0PMO")
    assert _reply_to(fake_slack, "no upcoming")["text"].startswith("There are no upcoming skip dates")


def test_adding_a_skip_date_twice_changes_nothing(slack, fake_slack, session_factory):
    add_project(session_factory)
    slack.command("skip 2026-12-28 Boxing Day (substitute)", user_id=PMO_ADMIN, channel_id="C0PMO")
    _reply_to(fake_slack, "now a skip date")

    slack.command("skip 2026-12-28", user_id=PMO_ADMIN, channel_id="C0PMO")

    assert "Mon 28 Dec 2026 is already a skip date. Nothing changed." in _reply_to(fake_slack, "already")["text"]
    with unit_of_work(session_factory) as session:
        listed = skip_dates.upcoming_skip_dates(session, TEAM_ID, NOW.date())
        assert [(skip.day, skip.note) for skip in listed] == [(date(2026, 12, 28), "Boxing Day (substitute)")]


def test_a_past_date_is_refused(slack, fake_slack, session_factory):
    slack.command("skip 2026-11-20", user_id=PMO_ADMIN, channel_id="C0PMO")

    assert "2026-11-20 is in the past" in fake_slack.wait_for_response()["text"]
    with unit_of_work(session_factory) as session:
        assert date(2026, 11, 20) not in _days(session, TEAM_ID, since=date(2026, 11, 1))


def test_a_malformed_date_gets_the_usage(slack, fake_slack):
    slack.command("skip 25/12/2026", user_id=PMO_ADMIN, channel_id="C0PMO")

    reply = fake_slack.wait_for_response()
    assert "'25/12/2026' is not a date" in reply["text"] and "/pmo skip remove YYYY-MM-DD" in reply["text"]


def test_someone_who_leads_or_sponsors_no_project_cannot_change_skip_dates(slack, fake_slack, session_factory):
    add_project(session_factory)

    slack.command("skip 2026-12-25", user_id=STRANGER, channel_id="C0PMO")

    assert "Only PMO admins and projects' sponsors and leads" in fake_slack.wait_for_response()["text"]
    with unit_of_work(session_factory) as session:
        assert date(2026, 12, 25) not in _days(session, TEAM_ID)


def test_removing_a_date_that_is_not_listed_says_so(slack, fake_slack):
    slack.command("skip remove 2026-12-25", user_id=PMO_ADMIN, channel_id="C0PMO")

    assert "2026-12-25 is not on the skip list, so nothing changed" in fake_slack.wait_for_response()["text"]
