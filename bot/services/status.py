"""How the portfolio is doing, as sponsors, leads and the PMO see it: `/pmo status`,
`/pmo status KEY` and the App Home.

Plain functions over a session and the date and instant to report for. The status table
reads its whole scope in one query per measure (check-ins, overdue actions, benefits,
incidents), so it makes the same few round trips for five projects or five thousand.

Actions and incidents are read straight from their tables: an action is overdue when it
is open and its due date is before today; an incident counts against a project while it
is open and the project has not said it is unaffected.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, ScalarSelect, Select, and_, case, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement

from bot.services import checkins, cost, milestones, partners, portfolio
from bot.services.access import Actor
from bot.services.benefits import Plan, assess, latest_value_rank
from bot.services.cadence import Cadence, previous_period
from bot.services.checkins import RAG_ORDER
from bot.services.portfolio import BenefitLine
from storage.models import (
    Action,
    ActionStatus,
    Benefit,
    BenefitValue,
    Checkin,
    CheckinPeriod,
    Escalation,
    EscalationStatus,
    Incident,
    IncidentImpact,
    IncidentStatus,
    Person,
    Project,
    ProjectMember,
    ProjectRole,
    ProjectStatus,
    Rag,
    SkipDate,
)

HISTORY_PERIODS = 8
MAX_ACTIONS_SHOWN = 10
MAX_INCIDENTS_SHOWN = 10


class Trend(enum.StrEnum):
    """The latest status against the previous period's."""

    BETTER = "better"
    SAME = "same"
    WORSE = "worse"


def trend(latest: Rag | None, previous: Rag | None) -> Trend | None:
    """None when there is nothing to compare: no status yet, or only one period reported."""
    if latest is None or previous is None:
        return None
    if RAG_ORDER[latest] < RAG_ORDER[previous]:
        return Trend.BETTER
    if RAG_ORDER[latest] > RAG_ORDER[previous]:
        return Trend.WORSE
    return Trend.SAME


@dataclass(frozen=True)
class StatusRow:
    """One project in the status table."""

    key: str
    name: str
    rag: Rag | None  # the latest check-in of the latest period reported
    trend: Trend | None
    last_checkin_at: datetime | None
    overdue_actions: int
    benefits_off_trajectory: int
    open_incidents: int


# Worst first: Red, Amber, Green, then projects that never reported (they have no status
# to rank, and a missed week already reaches the PMO as its own alert). Within a colour:
# getting worse before steady before getting better, then more overdue actions, more
# benefits off trajectory, more open incidents, then the stalest check-in; the key last,
# so equal rows keep one order from page to page.
_RAG_RANK = {Rag.RED: 0, Rag.AMBER: 1, Rag.GREEN: 2}
_NO_STATUS_RANK = 3
_TREND_RANK = {Trend.WORSE: 0, Trend.SAME: 1, None: 1, Trend.BETTER: 2}


def worst_first(row: StatusRow) -> tuple[int, int, int, int, int, bool, datetime, str]:
    """Sort key for the status table; see the comment above for the order."""
    return (
        _RAG_RANK[row.rag] if row.rag else _NO_STATUS_RANK,
        _TREND_RANK[row.trend],
        -row.overdue_actions,
        -row.benefits_off_trajectory,
        -row.open_incidents,
        row.last_checkin_at is not None,
        row.last_checkin_at or datetime.min,
        row.key,
    )


# --- the status table -----------------------------------------------------------------------


def _person_ids(slack_user_id: str) -> Select[tuple[int]]:
    return select(Person.id).where(Person.slack_user_id == slack_user_id)


def sponsored_by(slack_user_id: str) -> ColumnElement[bool]:
    return Project.sponsor_id.in_(_person_ids(slack_user_id))


def led_by(slack_user_id: str) -> ColumnElement[bool]:
    """Projects this person leads, or deputises for the lead on."""
    deputy = ProjectMember.person_id.in_(_person_ids(slack_user_id)) & (ProjectMember.role == ProjectRole.DEPUTY)
    return Project.lead_id.in_(_person_ids(slack_user_id)) | Project.members.any(deputy)


def table_scope(actor: Actor) -> ColumnElement[bool]:
    """What `/pmo status` covers: the whole portfolio for PMO admins, else the projects they sponsor or lead."""
    return true() if actor.is_pmo_admin else sponsored_by(actor.slack_user_id) | led_by(actor.slack_user_id)


def status_table(session: Session, scope: ColumnElement[bool], *, today: date, tolerance: float) -> list[StatusRow]:
    """Every project in `scope` that is not closed, worst first."""
    # Never correlated: it is the same list of projects wherever it is used.
    in_scope = select(Project.id).where(scope, Project.status != ProjectStatus.CLOSED).correlate(None)
    overdue = _overdue_actions(session, in_scope, today)
    off_trajectory = _benefits_off_trajectory(session, in_scope, today, tolerance)
    incidents = _open_incidents(session, in_scope)
    rows = [
        StatusRow(
            key=key,
            name=name,
            rag=rag,
            trend=trend(rag, previous_rag),
            last_checkin_at=checked_in_at,
            overdue_actions=overdue.get(project_id, 0),
            benefits_off_trajectory=off_trajectory.get(project_id, 0),
            open_incidents=incidents.get(project_id, 0),
        )
        for project_id, key, name, rag, checked_in_at, previous_rag in _latest_statuses(session, in_scope)
    ]
    return sorted(rows, key=worst_first)


def _latest_checkin(column: ColumnElement[Any], *conditions: ColumnElement[bool]) -> ScalarSelect[Any]:
    """`column` of the project's latest check-in (latest period, then latest revision).

    Correlated per project, each is one seek on the (project_id, period, revision) unique
    index, so the cost follows the number of projects, not the length of their history.
    """
    return (
        select(column)
        .where(Checkin.project_id == Project.id, *conditions)
        .order_by(Checkin.period.desc(), Checkin.revision.desc())
        .limit(1)
        .correlate(Project)
        .scalar_subquery()
    )


def _latest_statuses(session: Session, in_scope: Select[tuple[int]]) -> Sequence[Row[Any]]:
    """Per project: id, key, name, latest status, when it was submitted, the previous period's status."""
    reported = aliased(Checkin)
    latest_period = (
        select(func.max(reported.period)).where(reported.project_id == Project.id).correlate(Project).scalar_subquery()
    )
    return session.execute(
        select(
            Project.id,
            Project.key,
            Project.name,
            _latest_checkin(Checkin.overall_rag),
            _latest_checkin(Checkin.submitted_at),
            _latest_checkin(Checkin.overall_rag, Checkin.period < latest_period),
        ).where(Project.id.in_(in_scope))
    ).all()


def _overdue_actions(session: Session, in_scope: Select[tuple[int]], today: date) -> dict[int, int]:
    rows = session.execute(
        select(Action.project_id, func.count())
        .where(Action.status == ActionStatus.OPEN, Action.due_date < today, Action.project_id.in_(in_scope))
        .group_by(Action.project_id)
    )
    return {project_id: count for project_id, count in rows}


def _open_incidents(session: Session, in_scope: Select[tuple[int]]) -> dict[int, int]:
    rows = session.execute(
        select(IncidentImpact.project_id, func.count())
        .join(Incident, Incident.id == IncidentImpact.incident_id)
        .where(
            Incident.status == IncidentStatus.OPEN,
            IncidentImpact.not_affected.is_(false()),
            IncidentImpact.project_id.in_(in_scope),
        )
        .group_by(IncidentImpact.project_id)
    )
    return {project_id: count for project_id, count in rows}


def _benefits_off_trajectory(
    session: Session, in_scope: Select[tuple[int]], today: date, tolerance: float
) -> dict[int, int]:
    """Active benefits whose latest value is off trajectory, by project (the rule of `benefits.trajectory`)."""
    tracked = select(Benefit.id).where(Benefit.is_active, Benefit.project_id.in_(in_scope))
    ranked = (
        select(
            BenefitValue.benefit_id,
            BenefitValue.value,
            BenefitValue.measured_on,
            latest_value_rank(),
        )
        .where(BenefitValue.measured_on <= today, BenefitValue.benefit_id.in_(tracked))
        .subquery()
    )
    rows = session.execute(
        select(
            Benefit.project_id,
            Benefit.baseline,
            Benefit.target,
            Benefit.target_date,
            Benefit.created_at,
            func.coalesce(Benefit.plan_start_date, Project.start_date),
            ranked.c.value,
            ranked.c.measured_on,
        )
        .join(Project, Project.id == Benefit.project_id)
        .join(ranked, and_(ranked.c.benefit_id == Benefit.id, ranked.c.recency == 1))
    )
    counts: dict[int, int] = {}
    for project_id, baseline, target, target_date, created_at, start_date, value, measured_on in rows:
        # The same start as benefits.planned_start: the baseline's date, else the project's start, else
        # the day the benefit was added.
        plan = Plan(baseline, target, start_date or created_at.date(), target_date)
        if assess(plan, value, measured_on, on=today, tolerance=tolerance).is_off_track:
            counts[project_id] = counts.get(project_id, 0) + 1
    return counts


# --- one project ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodStatus:
    period: str
    rag: Rag | None  # the latest revision's overall status; None when nobody reported
    missed: bool  # recorded as missed after the prompt and reminder went unanswered


@dataclass(frozen=True)
class Narrative:
    """The team's own words in its latest check-in."""

    period: str
    revision: int
    submitted_by_user_id: str
    submitted_at: datetime
    overall: Rag
    schedule: Rag | None
    cost: Rag | None
    scope: Rag | None
    progress: str | None
    next_steps: str | None
    risks_issues: str | None
    help_needed: str | None
    path_to_green: str | None
    path_to_green_date: date | None


@dataclass(frozen=True)
class ActionLine:
    title: str
    owner_user_id: str
    due_date: date
    is_overdue: bool


@dataclass(frozen=True)
class IncidentLine:
    key: str
    severity: str
    summary: str
    declared_at: datetime


@dataclass(frozen=True)
class ProjectOverview:
    """A project as `/pmo status KEY` shows it: plain data, ready for a Block Kit builder."""

    key: str
    name: str
    state: str  # active, paused, closed
    sponsor_user_id: str | None
    lead_user_id: str | None
    history: list[PeriodStatus]  # oldest first, ending with the current period
    narrative: Narrative | None
    benefits: list[BenefitLine]
    actions: list[ActionLine]  # the open ones due soonest, at most MAX_ACTIONS_SHOWN
    open_actions: int
    overdue_actions: int
    incidents: list[IncidentLine]  # open ones affecting it, most severe first, at most MAX_INCIDENTS_SHOWN
    open_incidents: int
    schedule: milestones.ProjectSchedule
    cost: cost.CostView | None  # the latest monthly report


def project_overview(
    session: Session,
    project: Project,
    *,
    today: date,
    now: datetime,
    default_cadence: Cadence,
    tolerance: float,
    cost_tolerance: float,
    audience: partners.Audience,
) -> ProjectOverview:
    actions, open_actions, overdue_actions = _open_actions(session, project.id, today)
    incidents, open_incidents = _incidents_affecting(session, project.id)
    return ProjectOverview(
        key=project.key,
        name=project.name,
        state=project.status.value,
        sponsor_user_id=project.sponsor.slack_user_id if project.sponsor else None,
        lead_user_id=project.lead.slack_user_id if project.lead else None,
        history=_history(session, project, now=now, default_cadence=default_cadence),
        narrative=_narrative(session, project.id),
        benefits=[
            portfolio.benefit_line(benefit, today=today, tolerance=tolerance)
            for benefit in project.benefits
            if benefit.is_active
        ],
        actions=actions,
        open_actions=open_actions,
        overdue_actions=overdue_actions,
        incidents=incidents,
        open_incidents=open_incidents,
        schedule=milestones.project_schedule(session, project, audience=audience),
        cost=cost.cost_view(session, project, tolerance=cost_tolerance),
    )


def _history(session: Session, project: Project, *, now: datetime, default_cadence: Cadence) -> list[PeriodStatus]:
    periods = [checkins.current_period(project, now=now, default_cadence=default_cadence)]
    while len(periods) < HISTORY_PERIODS:
        periods.append(previous_period(periods[-1]))
    periods.reverse()
    latest: dict[str, tuple[int, Rag]] = {}
    for period, revision, rag in session.execute(
        select(Checkin.period, Checkin.revision, Checkin.overall_rag).where(
            Checkin.project_id == project.id, Checkin.period.in_(periods)
        )
    ):
        if period not in latest or revision > latest[period][0]:
            latest[period] = (revision, rag)
    missed = set(
        session.scalars(
            select(CheckinPeriod.period).where(
                CheckinPeriod.project_id == project.id,
                CheckinPeriod.period.in_(periods),
                CheckinPeriod.missed_at.is_not(None),
            )
        )
    )
    return [
        PeriodStatus(period, latest[period][1] if period in latest else None, period in missed) for period in periods
    ]


def _narrative(session: Session, project_id: int) -> Narrative | None:
    row = session.execute(
        select(Checkin, Person.slack_user_id)
        .join(Person, Person.id == Checkin.submitted_by_id)
        .where(Checkin.project_id == project_id)
        .order_by(Checkin.period.desc(), Checkin.revision.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    checkin, submitted_by = row
    return Narrative(
        period=checkin.period,
        revision=checkin.revision,
        submitted_by_user_id=submitted_by,
        submitted_at=checkin.submitted_at,
        overall=checkin.overall_rag,
        schedule=checkin.schedule_rag,
        cost=checkin.cost_rag,
        scope=checkin.scope_rag,
        progress=checkin.progress,
        next_steps=checkin.next_steps,
        risks_issues=checkin.risks_issues,
        help_needed=checkin.help_needed,
        path_to_green=checkin.path_to_green,
        path_to_green_date=checkin.path_to_green_date,
    )


def _action_counts(session: Session, condition: ColumnElement[bool], today: date) -> tuple[int, int]:
    """How many open actions match, and how many of them are overdue."""
    is_open = condition & (Action.status == ActionStatus.OPEN)
    total, overdue = session.execute(
        select(func.count(), func.coalesce(func.sum(case((Action.due_date < today, 1), else_=0)), 0)).where(is_open)
    ).one()
    return total, overdue


def _open_actions(session: Session, project_id: int, today: date) -> tuple[list[ActionLine], int, int]:
    shown = session.execute(
        select(Action.title, Person.slack_user_id, Action.due_date)
        .join(Person, Person.id == Action.owner_id)
        .where(Action.project_id == project_id, Action.status == ActionStatus.OPEN)
        .order_by(Action.due_date, Action.id)
        .limit(MAX_ACTIONS_SHOWN)
    )
    lines = [ActionLine(title, owner, due, due < today) for title, owner, due in shown]
    return lines, *_action_counts(session, Action.project_id == project_id, today)


def _affecting(project_id: int) -> ColumnElement[bool]:
    return and_(
        IncidentImpact.project_id == project_id,
        IncidentImpact.not_affected.is_(false()),
        Incident.status == IncidentStatus.OPEN,
    )


def _incidents_affecting(session: Session, project_id: int) -> tuple[list[IncidentLine], int]:
    total = session.scalar(
        select(func.count()).select_from(IncidentImpact).join(Incident).where(_affecting(project_id))
    )
    shown = session.execute(
        select(Incident.key, Incident.severity, Incident.summary, Incident.declared_at)
        .join(IncidentImpact, IncidentImpact.incident_id == Incident.id)
        .where(_affecting(project_id))
        .order_by(Incident.severity, Incident.declared_at)
        .limit(MAX_INCIDENTS_SHOWN)
    )
    lines = [IncidentLine(key, severity.value, summary, declared_at) for key, severity, summary, declared_at in shown]
    return lines, total or 0


# --- the App Home --------------------------------------------------------------------------


@dataclass(frozen=True)
class MyAction:
    project_key: str
    title: str
    due_date: date
    is_overdue: bool


@dataclass(frozen=True)
class PendingCheckin:
    """A current period of a project someone leads, with no check-in yet."""

    project_key: str
    project_name: str
    period: str


@dataclass(frozen=True)
class PortfolioSummary:
    """What a PMO admin sees first: the whole open portfolio, worst first, and the alerts nobody picked up."""

    projects: list[StatusRow]
    open_alerts: int  # PMO alerts not yet acknowledged or offered coaching


@dataclass(frozen=True)
class PersonalView:
    projects: list[StatusRow]  # the ones I sponsor, lead or deputise on, worst first
    actions: list[MyAction]  # my open actions, most overdue first, at most MAX_ACTIONS_SHOWN
    open_actions: int
    overdue_actions: int
    pending_checkins: list[PendingCheckin]
    portfolio: PortfolioSummary | None = None  # PMO admins only


def portfolio_summary(session: Session, *, today: date, tolerance: float) -> PortfolioSummary:
    open_alerts = session.scalar(select(func.count(Escalation.id)).where(Escalation.status == EscalationStatus.OPEN))
    return PortfolioSummary(status_table(session, true(), today=today, tolerance=tolerance), open_alerts or 0)


def personal_view(
    session: Session,
    slack_user_id: str,
    *,
    today: date,
    now: datetime,
    default_cadence: Cadence,
    tolerance: float,
    is_pmo_admin: bool = False,
) -> PersonalView:
    actions, open_actions, overdue_actions = _my_actions(session, slack_user_id, today)
    return PersonalView(
        portfolio=portfolio_summary(session, today=today, tolerance=tolerance) if is_pmo_admin else None,
        projects=status_table(
            session, sponsored_by(slack_user_id) | led_by(slack_user_id), today=today, tolerance=tolerance
        ),
        actions=actions,
        open_actions=open_actions,
        overdue_actions=overdue_actions,
        pending_checkins=pending_checkins(session, slack_user_id, now=now, default_cadence=default_cadence),
    )


def _my_actions(session: Session, slack_user_id: str, today: date) -> tuple[list[MyAction], int, int]:
    mine = Action.owner_id.in_(_person_ids(slack_user_id))
    shown = session.execute(
        select(Project.key, Action.title, Action.due_date)
        .join(Project, Project.id == Action.project_id)
        .where(mine, Action.status == ActionStatus.OPEN)
        .order_by(Action.due_date, Action.id)
        .limit(MAX_ACTIONS_SHOWN)
    )
    lines = [MyAction(key, title, due, due < today) for key, title, due in shown]
    return lines, *_action_counts(session, mine, today)


def pending_checkins(
    session: Session, slack_user_id: str, *, now: datetime, default_cadence: Cadence
) -> list[PendingCheckin]:
    """Active projects this person leads (or deputises on) whose current period has no check-in.

    A period counts once its cadence instant has passed, unless no check-in is owed for it:
    the project did not exist yet, the day is on the skip list, or the period was excused.
    """
    projects = session.scalars(
        select(Project).where(led_by(slack_user_id), Project.status == ProjectStatus.ACTIVE).order_by(Project.key)
    ).all()
    owed: list[tuple[Project, str, date]] = []
    for project in projects:
        period, local_day, due_at = portfolio.effective_cadence(project, default_cadence).latest_due(now)
        if due_at >= project.created_at:
            owed.append((project, period, local_day))
    if not owed:
        return []
    this_period = or_(*(and_(Checkin.project_id == p.id, Checkin.period == period) for p, period, _ in owed))
    answered = {
        (project_id, period)
        for project_id, period in session.execute(select(Checkin.project_id, Checkin.period).where(this_period))
    }
    excused_period = or_(
        *(and_(CheckinPeriod.project_id == p.id, CheckinPeriod.period == period) for p, period, _ in owed)
    )
    excused = {
        (project_id, period)
        for project_id, period in session.execute(
            select(CheckinPeriod.project_id, CheckinPeriod.period).where(
                excused_period, CheckinPeriod.excused_reason.is_not(None)
            )
        )
    }
    # Skip dates belong to a workspace; the bot serves one, so any workspace's list applies.
    skipped = set(session.scalars(select(SkipDate.day).where(SkipDate.day.in_({day for _, _, day in owed}))))
    done = answered | excused
    return [
        PendingCheckin(project.key, project.name, period)
        for project, period, day in owed
        if (project.id, period) not in done and day not in skipped
    ]
