"""The nudge ladder: when an overdue action's owner, its sponsor and the PMO hear about it.

The ladder chases two kinds of item the same way (`Chased`): an action past its due date,
and a risk past its next review date (its owner is the one to review it).

An action's age is counted in working days after its due date. A day counts when it is a
weekday, not one of the workspace's skip dates, not a day the project was paused by a live
incident, and not a day the owner was away; so the clock stops for all of those. Ages are
counted on calendar dates, and each recipient's own timezone only decides when their
"today" starts and when, that day, the nudge pass reaches them.

A ladder step is reached on the day that brings the age to the step's number, so each step
happens once however often the pass runs. The PMO's alert is the exception: it is raised at
the PMO step and refreshed as the action ages (the caller compares the alert's wording).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session, aliased

from bot.errors import UserError
from bot.services import incidents, people
from bot.services.calendar import WorkingCalendar, calendar_between
from storage.distinct import distinct_values
from storage.models import (
    Absence,
    Action,
    ActionStatus,
    Incident,
    IncidentImpact,
    Person,
    Project,
    ProjectStatus,
    RaidStatus,
    Risk,
)

PASS_WINDOW = timedelta(hours=2)  # how long after NUDGE_TIME a tick still nudges for the day
# The furthest ahead of UTC any timezone's calendar runs (UTC+14, Kiribati).
MAX_UTC_OFFSET = timedelta(hours=14)

DateRange = tuple[date, date]  # first and last day, both included


# --- the ladder ------------------------------------------------------------------------


class Recipient(enum.StrEnum):
    OWNER = "owner"
    SPONSOR = "sponsor"
    PMO = "pmo"


@dataclass(frozen=True)
class Step:
    day: int  # working days overdue
    recipients: frozenset[Recipient]


LADDER_EXAMPLE = "1:owner,3:owner+sponsor,7:pmo"


def parse_ladder(text: str) -> tuple[Step, ...]:
    """Steps written DAY:WHO[+WHO], comma-separated, e.g. "1:owner,3:owner+sponsor,7:pmo"."""
    steps: list[Step] = []
    for part in (part.strip() for part in text.split(",")):
        day_text, colon, names = part.partition(":")
        if not colon or not day_text.strip().isdigit() or int(day_text) < 1:
            raise UserError(f"'{part}' is not a step: write DAY:WHO with DAY a number of working days, e.g. 3:owner")
        recipients = set()
        for name in (name.strip().lower() for name in names.split("+")):
            if name not in {recipient.value for recipient in Recipient}:
                raise UserError(f"'{name}' in '{part}' is not someone to tell: use owner, sponsor or pmo")
            recipients.add(Recipient(name))
        steps.append(Step(int(day_text), frozenset(recipients)))
    days = [step.day for step in steps]
    if days != sorted(set(days)):
        raise UserError(f"give the steps in order of day, each day once, e.g. {LADDER_EXAMPLE}")
    if sum(Recipient.PMO in step.recipients for step in steps) > 1:
        raise UserError("name pmo in one step only: the PMO gets one alert per action, updated as it ages")
    return tuple(steps)


@dataclass(frozen=True)
class Ladder:
    steps: tuple[Step, ...]
    # After the owner's last step, the owner again every this many working days (0: never).
    repeat_owner_every: int = 0
    # When the owner is the project's sponsor there is nobody above them to tell but the PMO,
    # so the PMO hears sooner (None: at the ladder's own PMO step).
    sponsor_owned_pmo_day: int | None = None

    def _days(self, recipient: Recipient) -> list[int]:
        return [step.day for step in self.steps if recipient in step.recipients]

    @cached_property
    def _owner_days(self) -> frozenset[int]:
        return frozenset(self._days(Recipient.OWNER))

    @cached_property
    def _sponsor_days(self) -> frozenset[int]:
        return frozenset(self._days(Recipient.SPONSOR))

    def tells_owner(self, age: int) -> bool:
        if age in self._owner_days:
            return True
        if not self._owner_days or not self.repeat_owner_every:
            return False
        since_last = age - max(self._owner_days)
        return since_last > 0 and since_last % self.repeat_owner_every == 0

    def tells_sponsor(self, age: int, *, owner_is_sponsor: bool) -> bool:
        return not owner_is_sponsor and age in self._sponsor_days

    def pmo_day(self, *, owner_is_sponsor: bool) -> int | None:
        if owner_is_sponsor and self.sponsor_owned_pmo_day:
            return self.sponsor_owned_pmo_day
        return next(iter(self._days(Recipient.PMO)), None)


# --- overdue clocks ----------------------------------------------------------------------


def _merged(ranges: Iterable[DateRange]) -> tuple[DateRange, ...]:
    merged: list[DateRange] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


@dataclass(frozen=True)
class ActionClock:
    """An action's overdue clock: its due date and the days that do not count."""

    due: date
    calendar: WorkingCalendar
    stopped: tuple[DateRange, ...] = ()  # incident pauses of its project, its owner's time away

    @classmethod
    def of(cls, due: date, calendar: WorkingCalendar, stopped: Iterable[DateRange]) -> ActionClock:
        return cls(due, calendar, _merged(stopped))

    def counts(self, day: date) -> bool:
        return (
            day > self.due
            and self.calendar.is_working_day(day)
            and not any(first <= day <= last for first, last in self.stopped)
        )

    def age(self, on: date) -> int:
        """Working days overdue on `on` (that day included); 0 until the first one counts."""
        first = self.due + timedelta(days=1)
        stopped = sum(
            self.calendar.working_days(max(start, first), min(end, on)) for start, end in self.stopped
        )  # the ranges are merged, so no day is taken off twice
        return self.calendar.working_days(first, on) - stopped


def project_ids_paused_by_incidents(session: Session) -> set[int]:
    """Projects whose team is diverted by an incident that is still open."""
    return set(session.scalars(incidents.paused_project_ids()))


def incident_pauses(session: Session, *, zone: ZoneInfo) -> dict[int, list[DateRange]]:
    """Per project, the days an incident paused it: from the impact's start to the incident's resolution.

    Both end days count as paused, in the workspace's calendar; an open incident pauses every
    day from its start on. Pausing impacts are few, so they are read whole.
    """
    pauses: dict[int, list[DateRange]] = defaultdict(list)
    rows = session.execute(
        select(IncidentImpact.project_id, IncidentImpact.created_at, Incident.resolved_at)
        .join(Incident, Incident.id == IncidentImpact.incident_id)
        .where(*incidents.PAUSING_IMPACT)
    )
    for project_id, started, resolved in rows:
        last = resolved.astimezone(zone).date() if resolved else date.max
        pauses[project_id].append((started.astimezone(zone).date(), last))
    return pauses


def absence_on(absences: Iterable[DateRange], day: date) -> DateRange | None:
    """The absence `day` falls in, if any."""
    return next(((first, last) for first, last in absences if first <= day <= last), None)


def away_on(absences: Iterable[DateRange], day: date) -> bool:
    """Whether someone with these absences is away on `day`: the one rule every feature asks."""
    return absence_on(absences, day) is not None


def absences_of(person: Person) -> tuple[DateRange, ...]:
    return tuple((absence.first_day, absence.last_day) for absence in person.absences)


def is_away(person: Person, day: date) -> bool:
    return away_on(absences_of(person), day)


def absences_by_person(session: Session, person_ids: Iterable[int]) -> dict[int, tuple[DateRange, ...]]:
    """Every absence of these people, first day first, read at once."""
    ids = set(person_ids)
    found: dict[int, list[DateRange]] = defaultdict(list)
    if ids:
        rows = session.execute(
            select(Absence.person_id, Absence.first_day, Absence.last_day)
            .where(Absence.person_id.in_(ids))
            .order_by(Absence.first_day)
        )
        for person_id, first, last in rows:
            found[person_id].append((first, last))
    return {person_id: tuple(ranges) for person_id, ranges in found.items()}


def _clocks(
    session: Session, items: list[tuple[int, date, int, int]], *, until: date, zone: ZoneInfo
) -> dict[int, ActionClock]:
    """By id, the clock of each chased item (id, due, owner's id, project id), loading skip dates,
    pauses and absences at once."""
    if not items:
        return {}
    earliest = min(due for _, due, _, _ in items)
    if earliest >= until:
        # None is past its date by `until`, so no day counts on any clock up to then: no calendar,
        # pauses or absences to read.
        return {item_id: ActionClock.of(due, WorkingCalendar(), ()) for item_id, due, _, _ in items}
    calendar = calendar_between(session, earliest, until)
    pauses = incident_pauses(session, zone=zone)
    away = absences_by_person(session, {owner_id for _, _, owner_id, _ in items})
    result = {}
    for item_id, due, owner_id, project_id in items:
        stopped = [*pauses.get(project_id, []), *away.get(owner_id, ())]
        result[item_id] = ActionClock.of(due, calendar, stopped)
    return result


def clocks(
    session: Session, actions: list[tuple[Action, Project]], *, until: date, zone: ZoneInfo
) -> dict[int, ActionClock]:
    """The overdue clock of each action, with the skip dates and pauses up to `until` loaded at once."""
    items = [(action.id, action.due_date, action.owner_id, project.id) for action, project in actions]
    return _clocks(session, items, until=until, zone=zone)


def review_clocks(session: Session, risks: list[Risk], *, until: date, zone: ZoneInfo) -> dict[int, ActionClock]:
    """The clock of each risk's review: it runs from the next review date, as an action's from its due date."""
    items = [(risk.id, risk.next_review, risk.owner_id, risk.project_id) for risk in risks]
    return _clocks(session, items, until=until, zone=zone)


# --- away ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbsenceAdded:
    absence: DateRange  # as recorded: the days asked for, with any absences they overlapped or touched
    merged: tuple[DateRange, ...]  # those absences, now part of it


def add_absence(session: Session, user_id: str, first: date, last: date, *, today: date, now: datetime) -> AbsenceAdded:
    """Record days someone is away: no nudges reach them and their actions stop ageing.

    An absence that overlaps or touches ones already recorded becomes one with them, so a
    person's absences never overlap and each is known by its first day.
    """
    if first < today:
        raise UserError(f"{first.isoformat()} is in the past: give the first day you are away, today or later.")
    if last < first:
        raise UserError(f"{last.isoformat()} is before {first.isoformat()}: give the first day away, then the last.")
    person = people.get_or_create(session, user_id, now=now)
    touching = [
        absence
        for absence in person.absences
        if absence.first_day <= last + timedelta(days=1) and first <= absence.last_day + timedelta(days=1)
    ]
    merged = tuple((absence.first_day, absence.last_day) for absence in touching)
    first = min([first, *(absence.first_day for absence in touching)])
    last = max([last, *(absence.last_day for absence in touching)])
    for absence in touching:
        person.absences.remove(absence)
    person.absences.append(Absence(first_day=first, last_day=last, created_at=now))
    return AbsenceAdded((first, last), merged)


def upcoming_absences(session: Session, user_id: str, *, today: date, now: datetime) -> list[DateRange]:
    """Someone's absences that have not ended before `today`, first day first."""
    return [
        (absence.first_day, absence.last_day)
        for absence in people.get_or_create(session, user_id, now=now).absences
        if absence.last_day >= today
    ]


def _end_before(person: Person, absence: Absence, today: date) -> None:
    """Cancel an absence from `today` on. The days already spent away stay recorded (away until
    yesterday), so the actions that stopped ageing meanwhile do not jump up the ladder."""
    if absence.first_day < today:
        absence.last_day = today - timedelta(days=1)
    else:
        person.absences.remove(absence)


def remove_absence(session: Session, user_id: str, first: date, *, today: date, now: datetime) -> DateRange:
    """Cancel the absence that starts on `first` (from today on, if it has begun); returns it as it was."""
    person = people.get_or_create(session, user_id, now=now)
    upcoming = [absence for absence in person.absences if absence.last_day >= today]
    found = next((absence for absence in upcoming if absence.first_day == first), None)
    if found is None:
        if not upcoming:
            raise UserError(f"You have no absence starting {first.isoformat()}: you have none recorded from today on.")
        starts = ", ".join(absence.first_day.isoformat() for absence in upcoming)
        raise UserError(f"You have no absence starting {first.isoformat()}. Yours start on: {starts}.")
    removed = (found.first_day, found.last_day)
    _end_before(person, found, today)
    return removed


def come_back(session: Session, user_id: str, *, today: date, now: datetime) -> DateRange | None:
    """End the absence someone is in today; None when they are not away today."""
    person = people.get_or_create(session, user_id, now=now)
    current = next((absence for absence in person.absences if absence.first_day <= today <= absence.last_day), None)
    if current is None:
        return None
    ended = (current.first_day, current.last_day)
    _end_before(person, current, today)
    return ended


# --- what the pass sends ---------------------------------------------------------------


class Chased(enum.StrEnum):
    """What the ladder chases: an overdue action, or a risk whose review date has passed."""

    ACTION = "action"
    RISK_REVIEW = "risk_review"


@dataclass(frozen=True)
class DueNudge:
    item_id: int  # an action's id, or a risk's
    age: int
    kind: Chased = Chased.ACTION


def ids_of(items: Iterable[DueNudge], kind: Chased) -> list[int]:
    return [item.item_id for item in items if item.kind is kind]


@dataclass(frozen=True)
class DailyNudge:
    """One recipient's DM for one of their days: every action and review that reached a step that day."""

    user_id: str
    local_day: date
    items: tuple[DueNudge, ...]

    @property
    def action_ids(self) -> list[int]:
        return ids_of(self.items, Chased.ACTION)

    @property
    def risk_ids(self) -> list[int]:
        return ids_of(self.items, Chased.RISK_REVIEW)


@dataclass(frozen=True)
class NudgePlan:
    owner_digests: list[DailyNudge]
    sponsor_digests: list[DailyNudge]
    # Actions and reviews at or past their PMO step on the PMO's day, with their age then.
    pmo_alerts: list[DueNudge]
    pmo_day: date | None
    # Owners and sponsors whose timezone the bot has not learnt from Slack yet: the plan
    # took them to be in the default one, so learn these and plan again.
    unknown_timezones: list[str]


@dataclass(frozen=True)
class PassTime:
    """When the daily pass reaches people: from a local time of day, in each one's own
    timezone, for PASS_WINDOW.

    The window lets a tick that runs late (a restart at 09:30) still nudge that day, while
    every other tick of the day skips the person without reading their actions. A scheduler
    down for the whole window skips that day's DMs; the ladder carries on the next working
    day, and the PMO's alert, raised at or past its step, is never skipped.
    """

    time_of_day: time
    default_zone: ZoneInfo
    window: timedelta = PASS_WINDOW

    def today_if_due(self, now: datetime, timezone_name: str | None) -> date | None:
        """The recipient's local date while the pass is open there, else None."""
        zone = ZoneInfo(timezone_name) if timezone_name else self.default_zone
        local = now.astimezone(zone)
        # The window opened today, or opened yesterday and runs past midnight.
        for day in (local.date(), local.date() - timedelta(days=1)):
            opens = datetime.combine(day, self.time_of_day, tzinfo=zone)
            if opens <= local < opens + self.window:
                return day
        return None

    def days_if_due(self, now: datetime) -> Callable[[str | None], date | None]:
        """`today_if_due` at `now`, worked out once per timezone."""
        days: dict[str | None, date | None] = {}

        def day_in(timezone_name: str | None) -> date | None:
            if timezone_name not in days:
                days[timezone_name] = self.today_if_due(now, timezone_name)
            return days[timezone_name]

        return day_in


@dataclass(frozen=True)
class _Someone:
    """What the pass needs of an owner or a sponsor: no ORM objects, so a tick stays cheap."""

    person_id: int
    user_id: str
    timezone: str | None
    away: tuple[DateRange, ...]

    def is_away(self, day: date) -> bool:
        return away_on(self.away, day)


@dataclass(frozen=True)
class _Overdue:
    kind: Chased
    item_id: int
    due: date
    project_id: int
    owner: _Someone
    sponsor: _Someone | None


# Per kind of chased item: its id, the date its clock runs from, its owner, its project, and "still open".
_CHASED_COLUMNS = {
    Chased.ACTION: (Action.id, Action.due_date, Action.owner_id, Action.project_id, Action.status == ActionStatus.OPEN),
    Chased.RISK_REVIEW: (Risk.id, Risk.next_review, Risk.owner_id, Risk.project_id, Risk.status == RaidStatus.OPEN),
}


_PERSON_COLUMNS = ("id", "slack_user_id", "timezone")


def _someone(columns: Sequence[Any], away: dict[int, tuple[DateRange, ...]]) -> _Someone:
    person_id, user_id, timezone_name = columns
    return _Someone(person_id, user_id, timezone_name, away.get(person_id, ()))


def _overdue(session: Session, *, before: date, zones: set[str] | None) -> list[_Overdue]:
    """Open actions due, and open risks to review, before `before`, of active projects not paused right now.

    With `zones`, only those whose owner or sponsor is in one of these timezones.
    """
    owner, sponsor = aliased(Person), aliased(Person)
    in_zones = or_(owner.timezone.in_(zones), sponsor.timezone.in_(zones)) if zones is not None else true()
    chased = []
    for kind, (item_id, due, owner_id, project_id, is_open) in _CHASED_COLUMNS.items():
        # Through the connection: plain rows, without the ORM's per-row work, as a tick reads them all.
        rows = session.connection().execute(
            select(
                item_id,
                due,
                Project.id,
                *(getattr(owner, name) for name in _PERSON_COLUMNS),
                *(getattr(sponsor, name) for name in _PERSON_COLUMNS),
            )
            .join(Project, Project.id == project_id)
            .join(owner, owner.id == owner_id)
            .outerjoin(sponsor, sponsor.id == Project.sponsor_id)
            .where(
                is_open,
                Project.status == ProjectStatus.ACTIVE,
                due < before,
                # Paused right now: they age no further today, whoever's "today" it is.
                Project.id.not_in(incidents.paused_project_ids()),
                in_zones,
            )
        )
        chased += [(kind, row) for row in rows.all()]
    people = {row[column] for _, row in chased for column in (3, 6) if row[column] is not None}
    away = absences_by_person(session, people)
    found = []
    for kind, row in chased:
        project_sponsor = _someone(row[6:9], away) if row[6] is not None else None  # a project may have none
        found.append(_Overdue(kind, row[0], row[1], row[2], _someone(row[3:6], away), project_sponsor))
    return found


def _zones_in_window(session: Session, local_day: Callable[[str | None], date | None]) -> set[str] | None:
    """The timezones whose pass is open now; None for all of them (the PMO's own is open)."""
    if local_day(None) is not None:
        return None
    return {name for name in distinct_values(session, Person.timezone) if local_day(name) is not None}


def latest_local_day(now: datetime) -> date:
    """The latest date it is anywhere on Earth at `now`: no one's "today" is later."""
    return (now.astimezone(timezone.utc) + MAX_UTC_OFFSET).date()


def plan(session: Session, *, now: datetime, ladder: Ladder, pass_time: PassTime) -> NudgePlan:
    """Who hears about which overdue actions and reviews at `now`, before the ledger drops what was sent.

    Outside every pass window this reads nothing but the people's timezones. Inside one it
    reads plain columns and counts working days arithmetically, so its cost grows with the
    overdue actions of the people it reaches, not with the portfolio.
    """
    horizon = latest_local_day(now)
    local_day = pass_time.days_if_due(now)
    zones = _zones_in_window(session, local_day)
    overdue = _overdue(session, before=horizon, zones=zones) if zones != set() else []
    if not overdue:
        return NudgePlan([], [], [], None, [])
    calendar = calendar_between(session, min(item.due for item in overdue), horizon)
    pauses = incident_pauses(session, zone=pass_time.default_zone)
    owner_items: dict[tuple[str, date], list[DueNudge]] = defaultdict(list)
    sponsor_items: dict[tuple[str, date], list[DueNudge]] = defaultdict(list)
    pmo_day = local_day(None)
    pmo_alerts: list[DueNudge] = []
    unknown_timezones: set[str] = set()
    for item in overdue:
        owner, sponsor = item.owner, item.sponsor
        clock = ActionClock.of(item.due, calendar, [*pauses.get(item.project_id, []), *owner.away])
        owner_is_sponsor = sponsor is not None and sponsor.person_id == owner.person_id
        unknown_timezones |= {who.user_id for who in (owner, sponsor) if who is not None and who.timezone is None}
        owner_day = local_day(owner.timezone)
        if owner_day is not None and clock.counts(owner_day) and ladder.tells_owner(age := clock.age(owner_day)):
            owner_items[(owner.user_id, owner_day)].append(DueNudge(item.item_id, age, item.kind))
        if sponsor is not None and not owner_is_sponsor:
            sponsor_day = local_day(sponsor.timezone)
            if (
                sponsor_day is not None
                and not sponsor.is_away(sponsor_day)
                and clock.counts(sponsor_day)
                and ladder.tells_sponsor(age := clock.age(sponsor_day), owner_is_sponsor=False)
            ):
                sponsor_items[(sponsor.user_id, sponsor_day)].append(DueNudge(item.item_id, age, item.kind))
        step = ladder.pmo_day(owner_is_sponsor=owner_is_sponsor)
        if (
            step is not None
            and pmo_day is not None
            and calendar.is_working_day(pmo_day)
            and (age := clock.age(pmo_day)) >= step
        ):
            pmo_alerts.append(DueNudge(item.item_id, age, item.kind))
    return NudgePlan(
        owner_digests=[DailyNudge(user, day, tuple(items)) for (user, day), items in owner_items.items()],
        sponsor_digests=[DailyNudge(user, day, tuple(items)) for (user, day), items in sponsor_items.items()],
        pmo_alerts=pmo_alerts,
        pmo_day=pmo_day,
        unknown_timezones=sorted(unknown_timezones),
    )


def known_timezone(slack_tz: str | None, default_timezone: str) -> str:
    """The timezone Slack gives for someone (users.info's `tz`), or the default when it gives none we know."""
    try:
        ZoneInfo(slack_tz or "")
    except (ZoneInfoNotFoundError, ValueError):
        return default_timezone
    return slack_tz or default_timezone


def remember_timezone(session: Session, user_id: str, timezone_name: str, *, now: datetime) -> None:
    people.get_or_create(session, user_id, now=now).timezone = timezone_name


def mark_unreachable(session: Session, user_id: str, *, now: datetime) -> bool:
    """Record that Slack refuses DMs to this person; True only for the one caller that recorded it.

    The conditional UPDATE makes one instance (and one tick) the one that tells the PMO.
    """
    people.get_or_create(session, user_id, now=now)
    result = session.execute(
        update(Person)
        .where(Person.slack_user_id == user_id, Person.unreachable_since.is_(None))
        .values(unreachable_since=now)
    )
    return result.rowcount == 1
