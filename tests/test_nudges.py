"""The nudge ladder: working-day arithmetic, then whole fortnights driven through `tick`.

NOW (conftest) is Monday 2026-11-23 09:00 UTC; Europe/London is on UTC then, so the
default NUDGE_TIME of 09:30 is 09:30 UTC for Londoners and 14:30 UTC for New Yorkers. Most
actions below are due on that Monday: Tuesday is their first working day overdue.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest

from bot.errors import UserError
from bot.services import nudges
from bot.services.nudges import ActionClock, Ladder, WorkingCalendar, parse_ladder
from bot.settings import ConfigError, load_settings
from handlers.blocks.common import slack_date
from handlers.jobs import run_due_work
from storage.models import (
    CheckinPeriod,
    Incident,
    IncidentImpact,
    IncidentSeverity,
    IncidentStatus,
    Person,
    Project,
    SkipDate,
)
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_CHANNEL, TEAM_ID
from tests.factories import ACTION_OWNER, LEAD, SPONSOR, add_action, add_project, load_project

OWNER = ACTION_OWNER
MONDAY = NOW.date()
# Instants each day of a scenario ticks at (UTC): around both pass times, and late at night.
TICKS = (time(0, 5), time(9, 29), time(9, 30), time(9, 31), time(14, 29), time(14, 30), time(23, 55))


def day(offset: int) -> date:
    return MONDAY + timedelta(days=offset)


# --- the ladder and working days, without Slack ---------------------------------------------------


def test_the_default_ladder_and_its_repeats():
    ladder = Ladder(parse_ladder("1:owner,3:owner+sponsor,7:pmo"), repeat_owner_every=5, sponsor_owned_pmo_day=5)

    assert [age for age in range(1, 30) if ladder.tells_owner(age)] == [1, 3, 8, 13, 18, 23, 28]
    assert [age for age in range(1, 30) if ladder.tells_sponsor(age, owner_is_sponsor=False)] == [3]
    assert not any(ladder.tells_sponsor(age, owner_is_sponsor=True) for age in range(1, 30))
    assert (ladder.pmo_day(owner_is_sponsor=False), ladder.pmo_day(owner_is_sponsor=True)) == (7, 5)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("3", "'3' is not a step: write DAY:WHO"),
        ("0:owner", "'0:owner' is not a step"),
        ("3:boss", "'boss' in '3:boss' is not someone to tell: use owner, sponsor or pmo"),
        ("3:owner,1:owner", "give the steps in order of day, each day once"),
        ("5:pmo,7:owner+pmo", "name pmo in one step only"),
    ],
)
def test_a_ladder_that_is_not_one_says_why(text, problem):
    with pytest.raises(UserError, match=problem):
        parse_ladder(text)


def test_bad_ladder_settings_stop_the_start_with_one_line_each():
    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None, nudge_ladder="1:owner,3:boss", nudge_time="9.30", nudge_repeat_days=-1)

    assert sorted(line.split(":")[0] for line in refused.value.lines) == [
        "NUDGE_LADDER",
        "NUDGE_REPEAT_DAYS",
        "NUDGE_TIME",
    ]


def test_working_days_skip_weekends_skip_dates_and_stopped_days():
    friday, christmas = date(2026, 12, 18), date(2026, 12, 25)
    calendar = WorkingCalendar({christmas, date(2026, 12, 28)})
    stopped = [(date(2026, 12, 22), date(2026, 12, 23)), (date(2026, 12, 23), date(2026, 12, 23))]
    clock = ActionClock.of(friday, calendar, stopped)

    days = [friday + timedelta(days=n) for n in range(0, 12)]

    assert [day_.isoformat() for day_ in days if clock.counts(day_)] == ["2026-12-21", "2026-12-24", "2026-12-29"]
    assert [clock.age(day_) for day_ in days] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3]
    assert calendar.add(date(2026, 12, 23), 2) == date(2026, 12, 29)
    assert calendar.on_or_after(date(2026, 12, 26)) == date(2026, 12, 29)
    assert calendar.working_days(date(2026, 12, 1), date(2026, 12, 31)) == 21


@pytest.mark.parametrize("due_offset", range(7))
def test_the_counted_age_matches_counting_day_by_day(due_offset):
    calendar = WorkingCalendar({date(2026, 12, 25), date(2027, 1, 1)})
    due = date(2026, 11, 23) + timedelta(days=due_offset)
    clock = ActionClock.of(
        due, calendar, [(date(2026, 12, 3), date(2026, 12, 9)), (date(2026, 12, 8), date(2026, 12, 15))]
    )

    for on in (due + timedelta(days=n) for n in range(60)):
        assert clock.age(on) == sum(clock.counts(due + timedelta(days=n)) for n in range(1, (on - due).days + 1))


def test_projects_paused_by_an_open_incident(session_factory):
    for key in ("CRM-2", "HR-1", "WEB-3"):
        add_project(session_factory, key, key)
    with unit_of_work(session_factory) as session:
        projects = {project.key: project.id for project in session.query(Project)}
        open_incident = Incident(key="INC-1", summary="Payments down", severity=IncidentSeverity.SEV1, declared_at=NOW)
        resolved = Incident(
            key="INC-2",
            summary="CRM slow",
            severity=IncidentSeverity.SEV2,
            status=IncidentStatus.RESOLVED,
            declared_at=NOW,
            resolved_at=NOW + timedelta(hours=1),
        )
        open_incident.impacts += [
            IncidentImpact(project_id=projects["CRM-2"], created_at=NOW),
            IncidentImpact(project_id=projects["HR-1"], not_affected=True, pauses_project=False, created_at=NOW),
        ]
        resolved.impacts.append(IncidentImpact(project_id=projects["WEB-3"], created_at=NOW))
        session.add_all([open_incident, resolved])

    with unit_of_work(session_factory) as session:
        assert nudges.project_ids_paused_by_incidents(session) == {projects["CRM-2"]}


# --- scenarios through tick ------------------------------------------------------------------------


@pytest.fixture
def app_context(app_context, clock):
    return replace(app_context, clock=clock)


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, OWNER))
    for person in (LEAD, SPONSOR, OWNER):
        fake_slack.add_user(person)
    add_project(session_factory, channels=("C0CRM",))


def run_days(app_context, clock, fake_slack, first: int, last: int, people=(OWNER, SPONSOR)) -> dict:
    """Tick through days `first`..`last` after MONDAY; each person's new DMs by the day they came."""
    seen = {person: len(fake_slack.messages_in(person)) for person in people}
    got: dict[str, dict[date, list[str]]] = {person: {} for person in people}
    for offset in range(first, last + 1):
        for moment in TICKS:
            clock.at = datetime.combine(day(offset), moment, tzinfo=timezone.utc)
            run_due_work(app_context, clock.at)
        for person in people:
            messages = fake_slack.messages_in(person)
            if len(messages) > seen[person]:
                got[person][day(offset)] = [message["text"] for message in messages[seen[person] :]]
            seen[person] = len(messages)
    return got


def controls_of(blocks: list[dict], title: str) -> str:
    """The block_id of the controls under the card whose text has `title`."""
    for card, following in zip(blocks, blocks[1:], strict=False):
        if card["type"] == "section" and title in card["text"]["text"] and following["type"] == "actions":
            return following["block_id"]
    raise AssertionError(f"no card with controls for {title!r}")


def alerts_about(fake_slack, title: str) -> list[dict]:
    return [message for message in fake_slack.messages_in(PMO_CHANNEL) if title in str(message.get("blocks"))]


def alert_updates(fake_slack, alert: dict) -> list[str]:
    return [call.args["text"] for call in fake_slack.ok_calls_to("chat.update") if call.args["ts"] == alert["ts"]]


def test_a_fortnight_of_the_ladder(app_context, clock, fake_slack, session_factory, crm):
    add_action(session_factory, "Agree the protocol")
    add_action(session_factory, "Book the room")
    add_action(session_factory, "Send the minutes", due=day(2))  # due Wednesday

    dms = run_days(app_context, clock, fake_slack, 0, 13)

    owner = dms[OWNER]
    assert list(owner) == [day(1), day(3), day(7), day(10)]  # Tue, Thu, next Mon, next Thu
    assert [len(texts) for texts in owner.values()] == [1, 1, 1, 1]  # one DM a day, however many ticks
    monday = slack_date(MONDAY)
    assert owner[day(1)][0].startswith(f"2 of your actions are overdue: 'Agree the protocol' (CRM-2, due {monday}")
    assert "3 of your actions are overdue" in owner[day(3)][0] and "'Send the minutes'" in owner[day(3)][0]
    assert "One of your actions is overdue: 'Send the minutes'" in owner[day(7)][0]
    assert f"'Agree the protocol' (CRM-2, due {monday}, 8 working days)" in owner[day(10)][0]
    assert list(dms[SPONSOR]) == [day(3), day(7)]
    assert "2 actions on projects you sponsor are overdue" in dms[SPONSOR][day(3)][0]
    [protocol] = alerts_about(fake_slack, "Agree the protocol")  # one alert, posted on day 7 ...
    [posted] = [c for c in fake_slack.ok_calls_to("chat.postMessage") if c.response["ts"] == protocol["ts"]]
    assert "Action overdue by 7 working days" in posted.args["text"]
    updates = alert_updates(fake_slack, protocol)  # ... and updated in place as it ages
    assert len(updates) == 2 and "by 8 working days" in updates[0] and "by 9 working days" in updates[1]
    assert "Acknowledge" in str(protocol["blocks"]) and "Offer coaching" in str(protocol["blocks"])
    [minutes] = alerts_about(fake_slack, "Send the minutes")
    assert "overdue by 7 working days" in str(minutes["blocks"]) and alert_updates(fake_slack, minutes) == []


def test_the_first_nudge_is_at_0930_on_the_first_working_day_overdue(
    app_context, clock, fake_slack, session_factory, crm
):
    add_action(session_factory, "Agree the protocol")

    for at in (day(0), day(1)):
        for moment in (time(9, 29), time(9, 30)):
            run_due_work(app_context, datetime.combine(at, moment, tzinfo=timezone.utc))
            if (at, moment) != (day(1), time(9, 30)):
                assert fake_slack.messages_in(OWNER) == []

    assert len(fake_slack.messages_in(OWNER)) == 1


def test_a_tick_late_by_less_than_the_window_still_nudges_and_a_later_one_does_not(
    app_context, clock, fake_slack, session_factory, crm
):
    add_action(session_factory, "Agree the protocol")

    run_due_work(app_context, datetime(2026, 11, 24, 11, 29, tzinfo=timezone.utc))  # the first tick on Tuesday
    run_due_work(app_context, datetime(2026, 11, 26, 11, 31, tzinfo=timezone.utc))  # the first on Thursday

    assert [message["text"][:40] for message in fake_slack.messages_in(OWNER)] == [
        "One of your actions is overdue: 'Agree t"
    ]


def test_an_owner_in_new_york_is_nudged_at_0930_new_york_time(app_context, clock, fake_slack, session_factory, crm):
    fake_slack.add_user(OWNER, tz="America/New_York")
    add_action(session_factory, "Agree the protocol")

    run_due_work(app_context, datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc))
    run_due_work(app_context, datetime(2026, 11, 24, 14, 29, tzinfo=timezone.utc))
    assert fake_slack.messages_in(OWNER) == []
    run_due_work(app_context, datetime(2026, 11, 24, 14, 30, tzinfo=timezone.utc))  # 09:30 in New York

    assert len(fake_slack.messages_in(OWNER)) == 1
    with unit_of_work(session_factory) as session:
        assert session.query(Person).filter_by(slack_user_id=OWNER).one().timezone == "America/New_York"


def test_skip_dates_do_not_count_and_nobody_is_nudged_on_them(app_context, clock, fake_slack, session_factory, crm):
    add_action(session_factory, "Agree the protocol")
    with unit_of_work(session_factory) as session:
        session.add(SkipDate(team_id=TEAM_ID, day=day(1), note="Staff day"))

    dms = run_days(app_context, clock, fake_slack, 0, 6)

    assert list(dms[OWNER]) == [day(2), day(4)]  # day 1 on Wednesday, day 3 on Friday
    assert list(dms[SPONSOR]) == [day(4)]


def test_an_away_owner_is_not_nudged_and_their_actions_do_not_climb(
    app_context, slack, clock, fake_slack, session_factory, crm, listeners
):
    add_action(session_factory, "Agree the protocol")
    slack.command("away 2026-11-24 2026-11-27", user_id=OWNER, channel_id="C0CRM")
    listeners.wait_idle()
    reply = fake_slack.responses[-1]["text"]
    assert "you are away <!date^" in reply and "|Tue 24 Nov 2026> to <!date^" in reply and "|Fri 27 Nov 2026>" in reply

    dms = run_days(app_context, clock, fake_slack, 0, 9)

    assert list(dms[OWNER]) == [day(7), day(9)]  # back on Monday: day 1, then day 3 on Wednesday
    assert list(dms[SPONSOR]) == [day(9)]


def test_coming_back_early_keeps_the_days_already_away(
    app_context, slack, clock, fake_slack, session_factory, crm, listeners
):
    add_action(session_factory, "Agree the protocol")
    slack.command("away until 2026-12-04", user_id=OWNER, channel_id="C0CRM")
    listeners.wait_idle()
    run_days(app_context, clock, fake_slack, 0, 1)
    clock.at = datetime.combine(day(2), time(8), tzinfo=timezone.utc)
    slack.command("back", user_id=OWNER, channel_id="C0CRM")  # Wednesday morning
    listeners.wait_idle()
    assert "Welcome back" in fake_slack.responses[-1]["text"]

    dms = run_days(app_context, clock, fake_slack, 2, 7)

    assert list(dms[OWNER]) == [day(2), day(4)]  # Wednesday is day 1 (Tuesday was away), Friday day 3
    with unit_of_work(session_factory) as session:
        owner = session.query(Person).filter_by(slack_user_id=OWNER).one()
        assert [(absence.first_day, absence.last_day) for absence in owner.absences] == [(day(0), day(1))]


def test_away_with_a_start_in_the_past_is_refused(slack, fake_slack, crm, listeners):
    slack.command("away 2026-11-20 2026-11-27", user_id=OWNER, channel_id="C0CRM")
    listeners.wait_idle()

    assert "2026-11-20 is in the past" in fake_slack.responses[-1]["text"]


def test_an_action_owned_by_the_sponsor_goes_to_the_pmo_at_day_5(app_context, clock, fake_slack, session_factory, crm):
    add_action(session_factory, "Approve the budget", owner=SPONSOR)

    dms = run_days(app_context, clock, fake_slack, 0, 7)

    assert list(dms[SPONSOR]) == [day(1), day(3)]  # as the owner; never as the sponsor
    assert "projects you sponsor" not in str(dms[SPONSOR])
    [alert] = alerts_about(fake_slack, "Approve the budget")
    assert "overdue by 5 working days" in str(alert["blocks"])  # Monday, day 5


def test_an_incident_stops_the_clock_while_it_is_open(app_context, clock, fake_slack, session_factory, crm):
    add_action(session_factory, "Agree the protocol")
    with unit_of_work(session_factory) as session:
        project = session.query(Project).filter_by(key="CRM-2").one()
        incident = Incident(
            key="INC-7",
            summary="Payments down",
            severity=IncidentSeverity.SEV1,
            declared_at=datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc),
        )
        incident.impacts.append(
            IncidentImpact(project_id=project.id, created_at=datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc))
        )
        session.add(incident)
    first_days = run_days(app_context, clock, fake_slack, 0, 2)
    with unit_of_work(session_factory) as session:
        incident = session.query(Incident).one()
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at = datetime(2026, 11, 26, 16, 0, tzinfo=timezone.utc)

    later = run_days(app_context, clock, fake_slack, 3, 9)

    assert first_days[OWNER] == {}
    assert list(later[OWNER]) == [day(4), day(8)]  # Tue-Thu paused: Friday is day 1, Tuesday day 3


def test_an_unreachable_owner_is_recorded_and_escalated_once(app_context, clock, fake_slack, session_factory, crm):
    fake_slack.add_user(OWNER, deleted=True)
    add_action(session_factory, "Agree the protocol")

    run_days(app_context, clock, fake_slack, 0, 3)

    [alert] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if "can't be reached" in m["text"]]
    assert f"<@{OWNER}> can't be reached by direct message (account_inactive)" in str(alert["blocks"])
    assert "Agree the protocol" in str(alert["blocks"]) and alert_updates(fake_slack, alert) == []
    with unit_of_work(session_factory) as session:
        assert session.query(Person).filter_by(slack_user_id=OWNER).one().unreachable_since is not None


def test_done_in_the_nudge_updates_it_and_the_pmo_alert_in_place(
    app_context, slack, clock, fake_slack, session_factory, crm, listeners
):
    add_action(session_factory, "Agree the protocol")
    add_action(session_factory, "Book the room")
    run_days(app_context, clock, fake_slack, 0, 9)  # to next Wednesday: day 7, the PMO has been told
    nudge = fake_slack.messages_in(OWNER)[-1]  # Thursday's, day 3
    [alert] = alerts_about(fake_slack, "Agree the protocol")

    block_id = controls_of(nudge["blocks"], "Agree the protocol")
    slack.block_action("action.done", user_id=OWNER, message=nudge, channel_id=f"D{OWNER}", block_id=block_id)
    listeners.wait_idle()
    later = run_days(app_context, clock, fake_slack, 10, 13)

    redrawn = next(m for m in fake_slack.messages_in(OWNER) if m["ts"] == nudge["ts"])
    assert "~Agree the protocol~" in str(redrawn["blocks"]) and "One of your actions is overdue" in redrawn["text"]
    updated = next(m for m in fake_slack.messages_in(PMO_CHANNEL) if m["ts"] == alert["ts"])
    done_on = slack_date(day(9))
    assert f"Done: “Agree the protocol” was marked done by <@{OWNER}> on {done_on}." in str(updated["blocks"])
    assert "Agree the protocol" not in str(later[OWNER])  # Thursday's day-8 DM lists only the other
    assert list(later[OWNER]) == [day(10)]


def test_snooze_in_the_nudge_counts_from_today(app_context, slack, clock, fake_slack, session_factory, crm, listeners):
    add_action(session_factory, "Agree the protocol")
    run_days(app_context, clock, fake_slack, 0, 1)
    [nudge] = fake_slack.messages_in(OWNER)
    [controls] = [block for block in nudge["blocks"] if block["type"] == "actions"]

    slack.block_action(
        "action.snooze", user_id=OWNER, message=nudge, channel_id=f"D{OWNER}", selected_option="3"
    )  # on Tuesday: to Friday
    listeners.wait_idle()
    later = run_days(app_context, clock, fake_slack, 2, 9)

    redrawn = fake_slack.messages_in(OWNER)[0]
    assert f"due {slack_date(day(4))}" in str(redrawn["blocks"]) and controls["block_id"] in str(redrawn["blocks"])
    assert list(later[OWNER]) == [day(7), day(9)]  # day 1 is the Monday after the new due date


def test_reassigning_an_overdue_action_from_the_nudge_does_not_thank_the_old_owner(
    app_context, slack, clock, fake_slack, session_factory, crm, listeners
):
    add_action(session_factory, "Agree the protocol")
    run_days(app_context, clock, fake_slack, 0, 1)
    [nudge] = fake_slack.messages_in(OWNER)
    fake_slack.add_user("U0NEWOWNER")

    block_id = controls_of(nudge["blocks"], "Agree the protocol")
    slack.block_action(
        "action.reassign",
        user_id=OWNER,
        message=nudge,
        channel_id=f"D{OWNER}",
        block_id=block_id,
        selected_user="U0NEWOWNER",
    )
    listeners.wait_idle()

    redrawn = next(m for m in fake_slack.messages_in(OWNER) if m["ts"] == nudge["ts"])
    assert "Thank you" not in redrawn["text"]
    assert "Nothing on this list is yours to chase any more: 1 action now with someone else." in redrawn["text"]
    assert "<@U0NEWOWNER>" in str(redrawn["blocks"])


# --- check-in chasing while the lead is away -------------------------------------------------------

CHECKIN_DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


def test_a_lead_away_without_a_deputy_is_not_chased_and_the_week_is_excused(
    app_context, slack, fake_slack, crm, session_factory, listeners
):
    slack.command("away 2026-11-23 2026-12-04", user_id=LEAD, channel_id="C0CRM")
    assert "you are away" in fake_slack.wait_for_response(lambda r: "away" in r["text"])["text"]
    told = len(fake_slack.messages_in(LEAD))

    run_due_work(app_context, CHECKIN_DUE)
    run_due_work(app_context, CHECKIN_DUE + timedelta(hours=24))
    run_due_work(app_context, CHECKIN_DUE + timedelta(hours=48))

    assert len(fake_slack.messages_in(LEAD)) == told and fake_slack.messages_in(PMO_CHANNEL) == []
    with unit_of_work(session_factory) as session:
        [period] = session.query(CheckinPeriod).all()
        assert period.excused_reason == "lead_away" and period.missed_at is None


def test_a_lead_away_with_a_deputy_leaves_the_reminder_to_the_deputy(app_context, slack, fake_slack, crm, listeners):
    slack.command("deputy CRM-2 <@U0DEPUTY|dee>", user_id=SPONSOR, channel_id="C0CRM")
    fake_slack.wait_for_response(lambda r: "deputy lead" in r["text"])
    fake_slack.add_user("U0DEPUTY")
    slack.command("away until 2026-12-04", user_id=LEAD, channel_id="C0CRM")
    fake_slack.wait_for_response(lambda r: "you are away" in r["text"])
    told = len(fake_slack.messages_in(LEAD))

    run_due_work(app_context, CHECKIN_DUE)
    run_due_work(app_context, CHECKIN_DUE + timedelta(hours=24))

    assert len(fake_slack.messages_in(LEAD)) == told
    [reminder] = fake_slack.messages_in("U0DEPUTY")
    assert "no check-in for 2026-W48" in reminder["text"]


def test_pmo_link_in_a_broken_channel_repairs_it_and_settles_the_alert(
    app_context, slack, clock, fake_slack, session_factory, crm, listeners
):
    fake_slack.remove_bot("C0CRM")
    run_due_work(app_context, CHECKIN_DUE)
    clock.at = CHECKIN_DUE + timedelta(hours=2)
    [alert] = fake_slack.messages_in(PMO_CHANNEL)
    assert "not_in_channel" in alert["text"]

    slack.command("link CRM-2", user_id=LEAD, channel_id="C0CRM")
    reply = fake_slack.wait_for_response(lambda r: "Repaired" in r["text"])
    listeners.wait_idle()

    assert "weekly check-in prompts are posted here again" in reply["text"]
    assert load_project(session_factory, "CRM-2").channel_links[0].broken_at is None
    latest = [c.args for c in fake_slack.ok_calls_to("chat.update") if c.args["ts"] == alert["ts"]][-1]
    assert f"Fixed: <@{LEAD}> linked <#C0CRM> again" in str(latest["blocks"])
    assert "Acknowledge" not in str(latest["blocks"])
    # This week's prompt, which could not be posted, is sent now; next week's as usual.
    assert [
        prompt["text"][-8:] for prompt in [m for m in fake_slack.messages_in("C0CRM") if "weekly check-in" in m["text"]]
    ] == ["2026-W48"]
    run_due_work(app_context, CHECKIN_DUE + timedelta(days=7))
    assert [
        prompt["text"][-8:] for prompt in [m for m in fake_slack.messages_in("C0CRM") if "weekly check-in" in m["text"]]
    ] == ["2026-W48", "2026-W49"]
