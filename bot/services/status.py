"""How the portfolio is doing, as sponsors, leads and the PMO see it: `/pmo status`,
`/pmo status KEY` and the App Home.

Plain functions over a session and the date and instant to report for. The status table is
read a page at a time from the health summary (bot/services/health.py), so a request costs
what it shows, for five projects or fifty thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, false, func, or_, select, union
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from bot.services import checkins, coaching, cost, decisions, health, milestones, partners, portfolio, risks
from bot.services.access import Actor
from bot.services.cadence import Cadence, previous_period
from bot.services.health import TablePage
from bot.services.portfolio import BenefitLine
from storage.models import (
    Action,
    ActionStatus,
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
# The Home tab: a PMO admin's worst few of the portfolio, and anyone's own projects (`/pmo status` has the rest).
WORST_SHOWN = 5
MAX_OWN_PROJECTS = 40


# --- the status table -----------------------------------------------------------------------


def _person_ids(slack_user_id: str) -> Select[tuple[int]]:
    return select(Person.id).where(Person.slack_user_id == slack_user_id)


# The id lists below are a UNION of index searches rather than an OR of IN conditions:
# PostgreSQL cannot estimate an OR of subqueries, took it for most of the portfolio, and walked
# every project for someone who sponsors or leads none (150 ms at 50,000 projects, now 0.3).


def _led_ids(slack_user_id: str) -> list[Select[tuple[int]]]:
    people = _person_ids(slack_user_id)
    return [
        select(Project.id).where(Project.lead_id.in_(people)),
        select(ProjectMember.project_id).where(
            ProjectMember.person_id.in_(people), ProjectMember.role == ProjectRole.DEPUTY
        ),
    ]


def led_by(slack_user_id: str) -> ColumnElement[bool]:
    """Projects this person leads, or deputises for the lead on."""
    return Project.id.in_(union(*_led_ids(slack_user_id)))


def sponsored_or_led_by(slack_user_id: str) -> ColumnElement[bool]:
    """A sponsor's or lead's own projects: the ones they sponsor, lead or deputise on."""
    sponsored = select(Project.id).where(Project.sponsor_id.in_(_person_ids(slack_user_id)))
    return Project.id.in_(union(sponsored, *_led_ids(slack_user_id)))


def table_scope(actor: Actor, audience: partners.Audience) -> ColumnElement[bool] | None:
    """What `/pmo status` covers, as a condition on Project; None: the whole portfolio.

    PMO admins see the whole portfolio, everyone else the projects they sponsor or lead; in a
    channel shared with partner organisations, only what all of them may see of that.
    """
    own = None if actor.is_pmo_admin else sponsored_or_led_by(actor.slack_user_id)
    if audience.is_internal:
        return own
    shared = partners.visible_condition(audience)
    return shared if own is None else own & shared


# --- one project ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodStatus:
    period: str
    rag: Rag | None  # the latest revision's overall status; None when nobody reported
    missed: bool  # recorded as missed after the prompt and reminder went unanswered
    confidence: str | None = None  # the level given on a dca scale, as stored


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
    confidence: str | None = None  # the level given on a dca scale, as stored


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
    accountability: coaching.AccountabilityGap | None = None  # set when nobody is accountable
    raid: risks.ProjectRaid | None = None  # its high risks and issues, and the decisions asked for


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
    zone: ZoneInfo,
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
        accountability=coaching.accountability_gap(project),
        raid=risks.project_raid(session, project.id, today=today, zone=zone),
    )


def _history(session: Session, project: Project, *, now: datetime, default_cadence: Cadence) -> list[PeriodStatus]:
    periods = [checkins.current_period(project, now=now, default_cadence=default_cadence)]
    while len(periods) < HISTORY_PERIODS:
        periods.append(previous_period(periods[-1]))
    periods.reverse()
    latest: dict[str, tuple[int, Rag, str | None]] = {}
    for period, revision, rag, given_level in session.execute(
        select(Checkin.period, Checkin.revision, Checkin.overall_rag, Checkin.confidence).where(
            Checkin.project_id == project.id, Checkin.period.in_(periods)
        )
    ):
        if period not in latest or revision > latest[period][0]:
            latest[period] = (revision, rag, given_level)
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
        PeriodStatus(period, latest[period][1], period in missed, latest[period][2])
        if period in latest
        else PeriodStatus(period, None, period in missed)
        for period in periods
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
        confidence=checkin.confidence,
    )


def _open_action_rows(condition: ColumnElement[bool], today: date, *columns: ColumnElement) -> Select:
    """The open actions that match, due soonest first, at most MAX_ACTIONS_SHOWN; each row also
    carries how many open actions match in all, and how many of them are overdue (counted
    before the limit), so the lines and both figures are one read."""
    overdue = case((Action.due_date < today, 1), else_=0)
    return (
        select(*columns, func.count().over(), func.sum(overdue).over())
        .where(condition, Action.status == ActionStatus.OPEN)
        .order_by(Action.due_date, Action.id)
        .limit(MAX_ACTIONS_SHOWN)
    )


def _counted(rows: list) -> tuple[list, int, int]:
    """Rows of `_open_action_rows` split into the columns asked for and the two counts; no rows:
    nothing matched, so both counts are 0."""
    if not rows:
        return [], 0, 0
    return [tuple(row[:-2]) for row in rows], rows[0][-2], rows[0][-1]


def _open_actions(session: Session, project_id: int, today: date) -> tuple[list[ActionLine], int, int]:
    rows = session.execute(
        _open_action_rows(
            Action.project_id == project_id, today, Action.title, Person.slack_user_id, Action.due_date
        ).join(Person, Person.id == Action.owner_id)
    ).all()
    shown, total, overdue = _counted(rows)
    return [ActionLine(title, owner, due, due < today) for title, owner, due in shown], total, overdue


def _affecting(project_id: int) -> ColumnElement[bool]:
    return and_(
        IncidentImpact.project_id == project_id,
        IncidentImpact.not_affected.is_(false()),
        Incident.status == IncidentStatus.OPEN,
    )


def _incidents_affecting(session: Session, project_id: int) -> tuple[list[IncidentLine], int]:
    """The open incidents affecting it, most severe first, and how many there are (one read)."""
    rows = session.execute(
        select(Incident.key, Incident.severity, Incident.summary, Incident.declared_at, func.count().over())
        .join(IncidentImpact, IncidentImpact.incident_id == Incident.id)
        .where(_affecting(project_id))
        .order_by(Incident.severity, Incident.declared_at)
        .limit(MAX_INCIDENTS_SHOWN)
    ).all()
    lines = [IncidentLine(key, severity.value, summary, declared_at) for key, severity, summary, declared_at, _ in rows]
    return lines, rows[0][-1] if rows else 0


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
    """What a PMO admin sees first: the open portfolio's counts, its worst few, the alerts nobody picked up."""

    projects: TablePage  # the first WORST_SHOWN rows
    open_alerts: int  # PMO alerts not yet acknowledged or offered coaching


@dataclass(frozen=True)
class PersonalView:
    projects: TablePage  # the ones I sponsor, lead or deputise on, worst first: the first MAX_OWN_PROJECTS
    actions: list[MyAction]  # my open actions, most overdue first, at most MAX_ACTIONS_SHOWN
    open_actions: int
    overdue_actions: int
    pending_checkins: list[PendingCheckin]
    today: date  # in the workspace's zone: what the decisions' ages count to
    portfolio: PortfolioSummary | None = None  # PMO admins only
    decisions_asked: list[decisions.DecisionLine] = field(default_factory=list)  # of me, still open


def portfolio_summary(session: Session, *, today: date, tolerance: float) -> PortfolioSummary:
    open_alerts = session.scalar(select(func.count(Escalation.id)).where(Escalation.status == EscalationStatus.OPEN))
    worst = health.table_page(session, None, page=0, page_size=WORST_SHOWN, today=today, tolerance=tolerance)
    return PortfolioSummary(worst, open_alerts or 0)


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
    summary = portfolio_summary(session, today=today, tolerance=tolerance) if is_pmo_admin else None
    projects = health.table_page(
        session,
        sponsored_or_led_by(slack_user_id),
        page=0,
        page_size=MAX_OWN_PROJECTS,
        today=today,
        tolerance=tolerance,
    )
    return PersonalView(
        portfolio=summary,
        projects=projects,
        actions=actions,
        open_actions=open_actions,
        overdue_actions=overdue_actions,
        pending_checkins=pending_checkins(session, slack_user_id, now=now, default_cadence=default_cadence),
        decisions_asked=decisions.waiting_for(session, slack_user_id),
        today=today,
    )


def _my_actions(session: Session, slack_user_id: str, today: date) -> tuple[list[MyAction], int, int]:
    mine = Action.owner_id.in_(_person_ids(slack_user_id))
    rows = session.execute(
        _open_action_rows(mine, today, Project.key, Action.title, Action.due_date).join(
            Project, Project.id == Action.project_id
        )
    ).all()
    shown, total, overdue = _counted(rows)
    return [MyAction(key, title, due, due < today) for key, title, due in shown], total, overdue


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
