"""Governance rules the PMO reads in the weekly digest, each finding with its evidence.

- Watermelon (Green outside, red inside): a project whose latest status is Green while it
  has actions overdue by more than a week, benefits off trajectory, or a recently missed
  check-in.
- Stuck: Amber for 4 or more consecutive periods, or a path-to-green date that moved later
  in two successive check-ins.
- Fair compliance: the share of owed check-ins that were answered, per project, programme
  and sponsor, where a period is not owed when an incident took the team, a skip date fell
  on it, or the lead was away.

The loaders read the facts in a few bulk queries, because the digest covers the whole
portfolio; the rules are pure functions of those facts. No Slack here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.orm import Session, aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from bot.services import benefits, health, nudges
from bot.services.cadence import Cadence, period_of
from bot.services.calendar import calendar_between
from storage.models import (
    Absence,
    Action,
    ActionStatus,
    Benefit,
    BenefitValue,
    Checkin,
    CheckinPeriod,
    Incident,
    IncidentImpact,
    Person,
    Programme,
    Project,
    ProjectHealth,
    ProjectStatus,
    Rag,
    SkipDate,
)

# Overdue by more than this many days, an action makes a Green report suspicious.
WATERMELON_OVERDUE_DAYS = 5  # working days: more than a week
# A missed check-in this recent makes a Green report suspicious.
WATERMELON_MISSED_LOOKBACK = timedelta(weeks=4)
STUCK_AMBER_PERIODS = 4
# Two slips need three dated check-ins in a row.
SLIPS_FOR_STUCK = 2
# How far back the rules read check-ins; a longer Amber run is reported as this long.
HISTORY_WEEKS = 26
COMPLIANCE_WEEKS = 13

# A condition on Project that every project meets: the whole portfolio, for the PMO.
EVERY_PROJECT: ColumnElement[bool] = true()
NO_PROGRAMME = "(no programme)"
NO_SPONSOR = "(no sponsor)"
# Why a period is not owed, besides the reason the check-in cycle itself recorded.
EXCUSED_INCIDENT = "incident"
EXCUSED_SKIP_DATE = "skip date"
EXCUSED_LEAD_AWAY = "lead away"


# --- the facts ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    key: str
    name: str
    programme: str | None
    sponsor_user_id: str | None
    lead_user_id: str | None
    timezone: str  # the project's cadence timezone: due dates are local dates there
    lead_away: tuple[nudges.DateRange, ...]  # the lead's absences


def active_projects(
    session: Session, *, default_cadence: Cadence, scope: ColumnElement[bool] = EVERY_PROJECT
) -> dict[int, ProjectInfo]:
    """Active projects by id, in key order; `scope` narrows them (e.g. to what a partner may see)."""
    sponsor, lead = aliased(Person), aliased(Person)
    rows = session.execute(
        select(
            Project.id,
            Project.key,
            Project.name,
            Programme.name,
            sponsor.slack_user_id,
            lead.slack_user_id,
            Project.timezone,
            lead.id,
        )
        .outerjoin(Programme, Programme.id == Project.programme_id)
        .outerjoin(sponsor, sponsor.id == Project.sponsor_id)
        .outerjoin(lead, lead.id == Project.lead_id)
        .where(Project.status == ProjectStatus.ACTIVE, scope)
        .order_by(Project.key)
    ).all()
    away = nudges.absences_by_person(session, {row[7] for row in rows if row[7] is not None})
    return {
        row[0]: ProjectInfo(
            id=row[0],
            key=row[1],
            name=row[2],
            programme=row[3],
            sponsor_user_id=row[4],
            lead_user_id=row[5],
            timezone=row[6] or default_cadence.timezone,
            lead_away=away.get(row[7], ()),
        )
        for row in rows
    }


@dataclass(frozen=True, slots=True)  # slots: one per check-in of the last half year
class CheckinFact:
    checkin_id: int
    project_id: int
    period: str
    revision: int
    submitted_at: datetime
    overall: Rag
    path_to_green_date: date | None
    confidence: str | None = None  # the level given on a dca scale, as stored


def checkin_history(
    session: Session, *, since_period: str, now: datetime, compared_with: datetime | None = None
) -> dict[int, list[CheckinFact]]:
    """The check-in revisions of active projects the rules read at `now`, by project, oldest first.

    From `since_period` on, and only from a project's last Green period on when that period
    is Green at `now` and was reported by `compared_with` (a week ago, for the digest; default
    `now`). The rules read no further back than the last Green (an Amber run and a spell of
    slipping dates both end there), and the status known at `compared_with` is in that
    period or a later one, so `status_as_of(history, compared_with)` reads what it would
    from the whole history. Most projects were Green recently: a few weeks each, not 26.
    """
    reported_by = min(now, compared_with or now)
    later = aliased(Checkin)
    amended = (
        select(later.id)
        .where(
            later.project_id == Checkin.project_id,
            later.period == Checkin.period,
            later.revision > Checkin.revision,
            later.submitted_at <= now,
        )
        .exists()
    )
    last_green = (
        select(Checkin.project_id, func.max(Checkin.period).label("period"))
        .where(
            Checkin.period >= since_period,
            Checkin.overall_rag == Rag.GREEN,
            Checkin.submitted_at <= reported_by,
            ~amended,
        )
        .group_by(Checkin.project_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Checkin.id,
            Checkin.project_id,
            Checkin.period,
            Checkin.revision,
            Checkin.submitted_at,
            Checkin.overall_rag,
            Checkin.path_to_green_date,
            Checkin.confidence,
        )
        .join(Project, Project.id == Checkin.project_id)
        .outerjoin(last_green, last_green.c.project_id == Checkin.project_id)
        .where(
            Project.status == ProjectStatus.ACTIVE, Checkin.period >= func.coalesce(last_green.c.period, since_period)
        )
        .order_by(Checkin.project_id, Checkin.period, Checkin.revision)
    )
    history: dict[int, list[CheckinFact]] = defaultdict(list)
    for row in rows:
        history[row[1]].append(CheckinFact(*row))
    return dict(history)


def statuses_as_of(history: Sequence[CheckinFact], instant: datetime) -> list[CheckinFact]:
    """Each period's latest revision submitted by `instant`, oldest period first.

    An amendment made later does not rewrite what was known at `instant`.
    """
    by_period: dict[str, CheckinFact] = {}
    for fact in history:  # ordered by period, then revision
        if fact.submitted_at <= instant:
            by_period[fact.period] = fact
    return list(by_period.values())


def status_as_of(history: Sequence[CheckinFact], instant: datetime) -> CheckinFact | None:
    """The status a project showed at `instant`: its latest period's latest revision by then."""
    known = statuses_as_of(history, instant)
    return known[-1] if known else None


@dataclass(frozen=True)
class OverdueAction:
    action_id: int
    project_id: int
    title: str
    owner_user_id: str
    due_date: date
    days_overdue: int


def overdue_actions(session: Session, *, today: date, zone: ZoneInfo | None = None) -> list[OverdueAction]:
    """Open actions of active projects whose due date has passed, most overdue first.

    Days overdue are working days on the nudge ladder's own clock (nudges.ActionClock: skip
    dates, bank holidays, incident pauses and the owner's time away do not count), so the
    digest and the owner's DM give the same number on the same day. `zone` is the
    workspace's, which dates the incident pauses.
    """
    rows = session.execute(
        select(
            Action.id,
            Action.project_id,
            Action.title,
            Person.slack_user_id,
            Action.due_date,
            Action.owner_id,
        )
        .join(Project, Project.id == Action.project_id)
        .join(Person, Person.id == Action.owner_id)
        .where(Project.status == ProjectStatus.ACTIVE, Action.status == ActionStatus.OPEN, Action.due_date < today)
        .order_by(Action.due_date, Action.id)
    ).all()
    if not rows:
        return []
    working = calendar_between(session, min(row.due_date for row in rows), today)
    pauses = nudges.incident_pauses(session, zone=zone or ZoneInfo("UTC"))
    away = nudges.absences_by_person(session, {row.owner_id for row in rows})
    found = []
    for action_id, project_id, title, owner, due_date, owner_id in rows:
        stopped = [*pauses.get(project_id, []), *away.get(owner_id, ())]
        clock = nudges.ActionClock.of(due_date, working, stopped)
        found.append(OverdueAction(action_id, project_id, title, owner, due_date, clock.age(today)))
    return sorted(found, key=lambda action: (-action.days_overdue, action.due_date, action.action_id))


@dataclass(frozen=True)
class OffTrackBenefit:
    project_id: int
    name: str
    unit: str
    latest: Decimal
    expected: Decimal


def benefits_with_latest_value(session: Session, *project_conditions: ColumnElement[bool], on: date) -> list[Benefit]:
    """Active benefits of the projects meeting `project_conditions`, in project key order, each
    loaded with only its latest value measured by `on`.

    That one value is all `benefits.trajectory(benefit, on=on, ...)` reads, and it spares
    loading a year of values per benefit across the portfolio. The benefits' `values` are
    therefore partial: read them, never change them.
    """
    wanted = (
        select(Benefit.id).join(Project, Project.id == Benefit.project_id).where(Benefit.is_active, *project_conditions)
    )
    ranked = (
        select(
            BenefitValue.id,
            benefits.latest_value_rank(),
        )
        .where(BenefitValue.measured_on <= on, BenefitValue.benefit_id.in_(wanted))
        .subquery()
    )
    latest = {
        value.benefit_id: value
        for value in session.scalars(
            select(BenefitValue).join(ranked, ranked.c.id == BenefitValue.id).where(ranked.c.recency == 1)
        )
    }
    found = list(
        session.scalars(
            select(Benefit)
            .join(Project, Project.id == Benefit.project_id)
            .where(Benefit.is_active, *project_conditions)
            .options(joinedload(Benefit.project).joinedload(Project.objective))
            .order_by(Project.key, Benefit.id)
        )
    )
    for benefit in found:
        # Set as if loaded, before anything reads the collection (which would load all values).
        set_committed_value(benefit, "values", [latest[benefit.id]] if benefit.id in latest else [])
    return found


def off_track_benefits(session: Session, *, today: date, tolerance: float) -> list[OffTrackBenefit]:
    """Active benefits of active projects whose latest value trails the plan (benefits.trajectory).

    Only the projects whose health summary counts a benefit off trajectory are read (the
    summary applies the same rule, and is brought up to date first): a handful, not the
    whole portfolio's benefits.
    """
    health.refresh(session, today=today, tolerance=tolerance)
    flagged = Project.id.in_(select(ProjectHealth.project_id).where(ProjectHealth.benefits_off_trajectory > 0))
    found = []
    for benefit in benefits_with_latest_value(session, Project.status == ProjectStatus.ACTIVE, flagged, on=today):
        path = benefits.trajectory(benefit, on=today, tolerance=tolerance)
        if path is not None and path.is_off_track and path.latest is not None:
            found.append(OffTrackBenefit(benefit.project_id, benefit.name, benefit.unit, path.latest, path.expected))
    return found


@dataclass(frozen=True)
class MissedPeriod:
    project_id: int
    period: str
    due_at: datetime
    missed_at: datetime


def missed_periods(session: Session, *, due_since: datetime) -> list[MissedPeriod]:
    """Periods due since `due_since` recorded as missed and still unanswered, oldest first."""
    answered = select(Checkin.id).where(
        Checkin.project_id == CheckinPeriod.project_id, Checkin.period == CheckinPeriod.period
    )
    rows = session.execute(
        select(CheckinPeriod.project_id, CheckinPeriod.period, CheckinPeriod.due_at, CheckinPeriod.missed_at)
        .join(Project, Project.id == CheckinPeriod.project_id)
        .where(
            Project.status == ProjectStatus.ACTIVE,
            CheckinPeriod.due_at >= due_since,
            CheckinPeriod.missed_at.is_not(None),
            CheckinPeriod.excused_reason.is_(None),
            ~answered.exists(),
        )
        .order_by(CheckinPeriod.due_at, CheckinPeriod.project_id)
    )
    return [MissedPeriod(*row) for row in rows]


# --- the rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A project a rule flags, and why, in plain words (one line per piece of evidence)."""

    project_id: int
    evidence: tuple[str, ...]


Fact = TypeVar("Fact", OverdueAction, OffTrackBenefit, MissedPeriod)


def _by_project(items: Iterable[Fact]) -> dict[int, list[Fact]]:
    grouped: dict[int, list[Fact]] = defaultdict(list)
    for item in items:
        grouped[item.project_id].append(item)
    return grouped


def watermelons(
    projects: Mapping[int, ProjectInfo],
    statuses_now: Mapping[int, CheckinFact | None],
    overdue: Sequence[OverdueAction],
    off_track: Sequence[OffTrackBenefit],
    misses: Sequence[MissedPeriod],
    *,
    now: datetime,
) -> list[Finding]:
    """Projects reporting Green with a warning sign underneath, each sign as evidence."""
    long_overdue = _by_project(a for a in overdue if a.days_overdue > WATERMELON_OVERDUE_DAYS)
    behind = _by_project(off_track)
    recent_misses = _by_project(m for m in misses if m.due_at >= now - WATERMELON_MISSED_LOOKBACK)
    found = []
    for project_id in projects:
        status = statuses_now.get(project_id)
        if status is None or status.overall is not Rag.GREEN:
            continue
        evidence = [f"Reported Green in {status.period}."]
        evidence += [
            f"Action “{action.title}” is {action.days_overdue} working days overdue "
            f"(due {action.due_date.isoformat()})."
            for action in long_overdue.get(project_id, [])
        ]
        evidence += [
            f"Benefit “{benefit.name}” is off trajectory: {benefit.latest.normalize():f} {benefit.unit}, "
            f"plan {benefit.expected.quantize(Decimal(1)):f} by now."
            for benefit in behind.get(project_id, [])
        ]
        evidence += [f"Missed the check-in for {miss.period}." for miss in recent_misses.get(project_id, [])]
        if len(evidence) > 1:
            found.append(Finding(project_id, tuple(evidence)))
    return found


def _weeks_between(first_period: str, last_period: str) -> int:
    def monday(period: str) -> date:
        return date.fromisocalendar(int(period[:4]), int(period[6:]), 1)

    return (monday(last_period) - monday(first_period)).days // 7


def amber_run(statuses: Sequence[CheckinFact]) -> tuple[str, int] | None:
    """(first period, number of periods) of the Amber run the statuses end with.

    Periods without a check-in inside the run count: the last known status was still Amber.
    """
    if not statuses or statuses[-1].overall is not Rag.AMBER:
        return None
    start = statuses[-1]
    for status in reversed(statuses):
        if status.overall is not Rag.AMBER:
            break
        start = status
    return start.period, _weeks_between(start.period, statuses[-1].period) + 1


def slips(statuses: Sequence[CheckinFact]) -> list[tuple[str, date]] | None:
    """(period, date) of successive check-ins in the current non-Green spell whose path-to-green
    date moved later each time, twice in a row; None if it never did. A Green report, or one
    without a date, ends a spell."""
    spell: list[tuple[str, date]] = []
    for status in statuses:
        if status.overall is Rag.GREEN or status.path_to_green_date is None:
            spell = []
        else:
            spell.append((status.period, status.path_to_green_date))
    for end in range(len(spell) - 1, SLIPS_FOR_STUCK - 1, -1):
        window = spell[end - SLIPS_FOR_STUCK : end + 1]
        if all(earlier[1] < later[1] for earlier, later in zip(window, window[1:], strict=False)):
            return window
    return None


def stuck(projects: Mapping[int, ProjectInfo], statuses: Mapping[int, Sequence[CheckinFact]]) -> list[Finding]:
    """Projects Amber for too long, or whose date to be Green again keeps moving away."""
    found = []
    for project_id in projects:
        history = statuses.get(project_id, [])
        evidence = []
        run = amber_run(history)
        if run is not None and run[1] >= STUCK_AMBER_PERIODS:
            evidence.append(f"Amber for {run[1]} consecutive periods, since {run[0]}.")
        slipped = slips(history)
        if slipped is not None:
            moves = " → ".join(f"{day.isoformat()} ({period})" for period, day in slipped)
            evidence.append(f"Path-to-green date slipped twice in a row: {moves}.")
        if evidence:
            found.append(Finding(project_id, tuple(evidence)))
    return found


# --- fair compliance ---------------------------------------------------------------------


@dataclass(frozen=True)
class ComplianceRate:
    """Check-ins answered out of those owed, for a project, a programme or a sponsor."""

    name: str  # a project key, a programme name, a sponsor's Slack user ID, or a "(no ...)" label
    answered: int
    owed: int
    # Periods left out, by reason (an incident, a skip date, the lead away, or what the cycle recorded).
    excused: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.answered / self.owed if self.owed else None


@dataclass(frozen=True)
class ComplianceReport:
    since: date
    by_project: list[ComplianceRate]
    by_programme: list[ComplianceRate]
    by_sponsor: list[ComplianceRate]


@dataclass
class _Tally:
    answered: int = 0
    owed: int = 0
    excused: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: _Tally) -> None:
        self.answered += other.answered
        self.owed += other.owed
        for reason, count in other.excused.items():
            self.excused[reason] += count

    def rate(self, name: str) -> ComplianceRate:
        return ComplianceRate(name, self.answered, self.owed, dict(self.excused))


def _affected_by_incidents(since: datetime) -> Select[tuple[int, datetime, datetime | None]]:
    """(project, declared, resolved) of incidents open at some point since `since` that affected the project."""
    return (
        select(IncidentImpact.project_id, Incident.declared_at, Incident.resolved_at)
        .join(Incident, Incident.id == IncidentImpact.incident_id)
        .where(
            IncidentImpact.not_affected.is_(False),
            (Incident.resolved_at.is_(None)) | (Incident.resolved_at >= since),
        )
    )


def _incident_spells(session: Session, *, since: datetime) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """For each project, when incidents it was affected by were open (resolved ones included)."""
    spells: dict[int, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for project_id, declared_at, resolved_at in session.execute(_affected_by_incidents(since)):
        spells[project_id].append((declared_at, resolved_at))
    return spells


def _overlaps(spells: Iterable[tuple[datetime, datetime | None]], start: datetime, end: datetime) -> bool:
    return any(opened <= end and (closed is None or closed >= start) for opened, closed in spells)


def _ranked(rates: Iterable[ComplianceRate]) -> list[ComplianceRate]:
    """Lowest response rate first; nothing owed goes last."""
    return sorted(rates, key=lambda r: (r.rate is None, r.rate if r.rate is not None else 0.0, r.name))


def _judge(tally: _Tally, *, excused_reason: str | None, answered: bool, missed: bool, count: int = 1) -> None:
    """`count` periods the circumstances (incident, skip date, lead away) did not excuse."""
    if excused_reason:
        tally.excused[excused_reason.replace("_", " ")] += count
    elif answered:
        tally.answered += count
        tally.owed += count
    elif missed:
        tally.owed += count
    # else: still open (neither answered nor missed yet), so not judged


def fair_compliance(
    session: Session,
    projects: Mapping[int, ProjectInfo],
    *,
    now: datetime,
    answer_window: timedelta,
    weeks: int = COMPLIANCE_WEEKS,
) -> ComplianceReport:
    """Response rates over the last `weeks`, counting only periods the team could fairly answer.

    A period counts once it is settled: answered (even late), or recorded as missed. It is
    left out when the check-in cycle excused it, when an incident affecting the project was
    open during the `answer_window` after the prompt, when its local due date was a skip
    date, or when the lead was away that day.

    Only the periods such a circumstance might excuse (of projects an incident affected or
    whose lead has been away, or due within a day of a skip date) are read one by one; the
    database counts the rest, so the cost follows those few rather than the portfolio's weeks.
    """
    since = now - timedelta(weeks=weeks)
    answered = (
        select(Checkin.id)
        .where(Checkin.project_id == CheckinPeriod.project_id, Checkin.period == CheckinPeriod.period)
        .exists()
    )
    # The bot serves one workspace, so its skip list is every skip date recorded.
    skip_days = set(session.scalars(select(SkipDate.day).where(SkipDate.day >= since.date() - timedelta(days=1))))
    incidents = _incident_spells(session, since=since)
    # A local date is within 14 hours of the UTC one, so these ranges hold every due time a skip date could excuse.
    near_a_skip_date = [
        CheckinPeriod.due_at.between(_utc_midnight(day - timedelta(days=1)), _utc_midnight(day + timedelta(days=2)))
        for day in sorted(skip_days)
    ]
    lead_has_been_away = select(Project.id).where(Project.lead_id.in_(select(Absence.person_id)))
    may_be_excused = CheckinPeriod.excused_reason.is_(None) & or_(
        CheckinPeriod.project_id.in_(select(_affected_by_incidents(since).subquery().c.project_id)),
        CheckinPeriod.project_id.in_(lead_has_been_away),
        *near_a_skip_date,
    )
    in_window = (
        select()
        .select_from(CheckinPeriod)
        .join(Project, Project.id == CheckinPeriod.project_id)
        .where(Project.status == ProjectStatus.ACTIVE, CheckinPeriod.due_at >= since, CheckinPeriod.due_at <= now)
    )
    tallies: dict[int, _Tally] = {project_id: _Tally() for project_id in projects}
    is_missed = CheckinPeriod.missed_at.is_not(None)
    plain = (
        in_window.add_columns(
            CheckinPeriod.project_id,
            CheckinPeriod.excused_reason,
            answered.label("answered"),
            is_missed.label("missed"),
        )
        .where(~may_be_excused)
        .subquery()
    )
    grouped = (plain.c.project_id, plain.c.excused_reason, plain.c.answered, plain.c.missed)
    for project_id, excused_reason, was_answered, was_missed, count in session.execute(
        select(*grouped, func.count()).group_by(*grouped)
    ):
        if project_id in tallies:
            _judge(
                tallies[project_id],
                excused_reason=excused_reason,
                answered=was_answered,
                missed=was_missed,
                count=count,
            )
    one_by_one = in_window.add_columns(CheckinPeriod.project_id, CheckinPeriod.due_at, answered, is_missed).where(
        may_be_excused
    )
    for project_id, due_at, was_answered, was_missed in session.execute(one_by_one):
        project = projects.get(project_id)
        if project is None:
            continue
        tally = tallies[project_id]
        local_day = due_at.astimezone(ZoneInfo(project.timezone)).date()
        if _overlaps(incidents.get(project_id, ()), due_at, due_at + answer_window):
            tally.excused[EXCUSED_INCIDENT] += 1
        elif local_day in skip_days:
            tally.excused[EXCUSED_SKIP_DATE] += 1
        elif nudges.away_on(project.lead_away, local_day):
            tally.excused[EXCUSED_LEAD_AWAY] += 1
        else:
            _judge(tally, excused_reason=None, answered=was_answered, missed=was_missed)

    by_programme: dict[str, _Tally] = defaultdict(_Tally)
    by_sponsor: dict[str, _Tally] = defaultdict(_Tally)
    for project_id, tally in tallies.items():
        project = projects[project_id]
        by_programme[project.programme or NO_PROGRAMME].add(tally)
        by_sponsor[project.sponsor_user_id or NO_SPONSOR].add(tally)
    return ComplianceReport(
        since=since.date(),
        by_project=_ranked(tally.rate(projects[project_id].key) for project_id, tally in tallies.items()),
        by_programme=_ranked(tally.rate(name) for name, tally in by_programme.items()),
        by_sponsor=_ranked(tally.rate(name) for name, tally in by_sponsor.items()),
    )


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), timezone.utc)


# --- all rules at once ------------------------------------------------------------------


@dataclass(frozen=True)
class GovernanceFindings:
    """What the rules found, with the facts they read (for reports that list those facts too)."""

    projects: dict[int, ProjectInfo]  # the active portfolio in scope, in key order
    # Each project's statuses known at `now`, oldest first, from its last Green (see `checkin_history`).
    statuses: dict[int, list[CheckinFact]]
    overdue: list[OverdueAction]  # most overdue first
    off_track: list[OffTrackBenefit]
    misses: list[MissedPeriod]  # missed since WATERMELON_MISSED_LOOKBACK
    watermelons: list[Finding]
    stuck: list[Finding]
    compliance: ComplianceReport

    def latest(self, project_id: int) -> CheckinFact | None:
        known = self.statuses.get(project_id)
        return known[-1] if known else None


def history_start(now: datetime) -> str:
    """The first period the rules read."""
    return period_of((now - timedelta(weeks=HISTORY_WEEKS)).date())


def evaluate(
    session: Session,
    *,
    now: datetime,
    today: date,
    tolerance: float,
    default_cadence: Cadence,
    answer_window: timedelta,
    scope: ColumnElement[bool] = EVERY_PROJECT,
    compared_with: datetime | None = None,
) -> GovernanceFindings:
    """Every rule over the active portfolio in `scope` as it stands at `now` (`today` is the workspace's date).

    `compared_with` is an earlier instant whose statuses the caller reads from the findings'
    (`status_as_of(found.statuses[...], compared_with)`): the digest's week ago.
    """
    projects = active_projects(session, default_cadence=default_cadence, scope=scope)
    history = checkin_history(session, since_period=history_start(now), now=now, compared_with=compared_with)
    statuses = {
        project_id: statuses_as_of(history[project_id], now) for project_id in projects if project_id in history
    }
    latest = {project_id: known[-1] if known else None for project_id, known in statuses.items()}
    overdue = [
        a
        for a in overdue_actions(session, today=today, zone=ZoneInfo(default_cadence.timezone))
        if a.project_id in projects
    ]
    off_track = [b for b in off_track_benefits(session, today=today, tolerance=tolerance) if b.project_id in projects]
    misses = [
        m for m in missed_periods(session, due_since=now - WATERMELON_MISSED_LOOKBACK) if m.project_id in projects
    ]
    return GovernanceFindings(
        projects=projects,
        statuses=statuses,
        overdue=overdue,
        off_track=off_track,
        misses=misses,
        watermelons=watermelons(projects, latest, overdue, off_track, misses, now=now),
        stuck=stuck(projects, statuses),
        compliance=fair_compliance(session, projects, now=now, answer_window=answer_window),
    )
