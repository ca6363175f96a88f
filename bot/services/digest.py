"""The weekly PMO digest and the monthly governance pack: what they say, as plain data.

The PMO reads the digest weekly and the governance board the pack monthly, each at its own
rhythm, without anyone writing a report. Both are computed from what the check-ins,
actions, benefits, incidents and escalations already record. No Slack here: the handlers
render, link and post.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from bot.services import benefits, checkins, cost, governance, milestones
from bot.services.cadence import Cadence, period_of, previous_period
from bot.services.calendar import first_working_day
from bot.services.checkins import RAG_ORDER
from bot.services.governance import EVERY_PROJECT, CheckinFact, ComplianceReport, Finding, ProjectInfo
from storage.models import (
    Benefit,
    Checkin,
    CheckinPeriod,
    Escalation,
    EscalationKind,
    EscalationStatus,
    Incident,
    IncidentImpact,
    IncidentStatus,
    Project,
    ProjectStatus,
    Rag,
)

# Overdue actions are counted in these bands of working days overdue: (from, to or None, label).
AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 5, "up to a week"),
    (6, 20, "6 to 20 working days"),
    (21, None, "over 20 working days"),
)
# The digest lists check-ins missed since the previous digest.
MISSED_SINCE = timedelta(weeks=1)
# A tick this late after the digest's or the pack's time still sends it (the bot was down);
# later, it is skipped as stale: the next digest is days away, and the board has met.
DIGEST_CATCH_UP = timedelta(days=1)
PACK_CATCH_UP = timedelta(weeks=1)
# The board gets no pack until the bot has a month of check-ins to report: a pack of
# "0 check-ins, n/a of them Red" the week after install tells it nothing.
PACK_MINIMUM_HISTORY = timedelta(days=28)
# "Portfolio health over the last 3 months": this many complete weeks.
HEALTH_WEEKS = 13
NO_OBJECTIVE = "(no objective)"


def digest_key(period: str) -> str:
    """The idempotency key of the week's digest: one per ISO week."""
    return f"pmo-digest:{period}"


def digest_due_period(now: datetime, cadence: Cadence) -> str | None:
    """The ISO week whose digest is due at `now` (from its DIGEST_DAY DIGEST_TIME on), or None."""
    period, _day, due_at = cadence.latest_due(now)
    return period if now < due_at + DIGEST_CATCH_UP else None


def pack_key(month: str) -> str:
    """The idempotency key of the month's pack message: one per month ("2026-12")."""
    return f"governance-pack:{month}"


def pack_charts_key(month: str) -> str:
    """The idempotency key of the month's chart upload, shared in the pack channel once."""
    return f"governance-pack-charts:{month}"


# --- shared pieces ----------------------------------------------------------------------


@dataclass(frozen=True)
class RagCounts:
    green: int = 0
    amber: int = 0
    red: int = 0
    no_status: int = 0  # active projects with no check-in in the period the rules read

    def of(self, rag: Rag | None) -> int:
        return {Rag.GREEN: self.green, Rag.AMBER: self.amber, Rag.RED: self.red, None: self.no_status}[rag]


def _counts(statuses: Iterable[CheckinFact | None]) -> RagCounts:
    tally: dict[Rag | None, int] = defaultdict(int)
    for status in statuses:
        tally[status.overall if status else None] += 1
    return RagCounts(tally[Rag.GREEN], tally[Rag.AMBER], tally[Rag.RED], tally[None])


@dataclass(frozen=True)
class _Portfolio:
    """The active portfolio and each project's check-ins, read once for digest or pack."""

    projects: dict[int, ProjectInfo]
    history: dict[int, list[CheckinFact]]

    def status(self, project_id: int, instant: datetime) -> CheckinFact | None:
        return governance.status_as_of(self.history.get(project_id, []), instant)


def _portfolio(
    session: Session, *, now: datetime, default_cadence: Cadence, scope: ColumnElement[bool] = EVERY_PROJECT
) -> _Portfolio:
    return _Portfolio(
        governance.active_projects(session, default_cadence=default_cadence, scope=scope),
        governance.checkin_history(session, since_period=governance.history_start(now)),
    )


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


# --- the weekly digest ------------------------------------------------------------------


@dataclass(frozen=True)
class RagChange:
    project_key: str
    project_name: str
    before: Rag
    after: Rag
    period: str  # of the check-in that reported `after`
    alert_cause_key: str | None  # the PMO alert about it, when one was raised


@dataclass(frozen=True)
class MissedCheckin:
    project_key: str
    project_name: str
    period: str
    alert_cause_key: str


@dataclass(frozen=True)
class AgeBand:
    label: str
    count: int


@dataclass(frozen=True)
class OverdueActionLine:
    project_key: str
    project_name: str
    title: str
    owner_user_id: str
    due_date: date
    days_overdue: int


@dataclass(frozen=True)
class OffTrackLine:
    project_key: str
    project_name: str
    benefit_name: str
    unit: str
    latest: Decimal
    expected: Decimal


@dataclass(frozen=True)
class AffectedProject:
    project_key: str
    expected_delay_days: int | None  # None: the team has not assessed the impact yet


@dataclass(frozen=True)
class IncidentLine:
    key: str
    summary: str
    severity: str
    declared_at: datetime
    affected: list[AffectedProject]
    alert_cause_key: str | None

    @property
    def total_delay_days(self) -> int:
        return sum(project.expected_delay_days or 0 for project in self.affected)


@dataclass(frozen=True)
class EscalationLine:
    cause_key: str
    project_key: str | None
    project_name: str | None
    kind: EscalationKind
    facts: dict[str, Any]
    raised_at: datetime


@dataclass(frozen=True)
class RuleFinding:
    project_key: str
    project_name: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Digest:
    period: str  # the ISO week it is for
    generated_at: datetime
    counts: RagCounts
    counts_week_ago: RagCounts
    turned_worse: list[RagChange]
    missed: list[MissedCheckin]
    overdue_bands: list[AgeBand]
    overdue: list[OverdueActionLine]  # most overdue first
    off_track: list[OffTrackLine]
    incidents: list[IncidentLine]
    unacknowledged: list[EscalationLine]  # oldest first
    watermelons: list[RuleFinding]
    stuck: list[RuleFinding]
    compliance: ComplianceReport
    milestones: milestones.DigestMilestones


def _turned_worse(portfolio: _Portfolio, *, now: datetime, week_ago: datetime) -> list[RagChange]:
    changes = []
    for project in portfolio.projects.values():
        before, after = portfolio.status(project.id, week_ago), portfolio.status(project.id, now)
        if before is None or after is None or RAG_ORDER[after.overall] <= RAG_ORDER[before.overall]:
            continue
        alert = checkins.attention_cause_key(project.key, after.period) if after.overall is Rag.RED else None
        changes.append(RagChange(project.key, project.name, before.overall, after.overall, after.period, alert))
    # Biggest drops first (Green to Red before Amber to Red), then by key.
    return sorted(changes, key=lambda c: (RAG_ORDER[c.before] - RAG_ORDER[c.after], c.project_key))


def _age_bands(overdue: Iterable[governance.OverdueAction]) -> list[AgeBand]:
    days = [action.days_overdue for action in overdue]
    return [
        AgeBand(label, sum(1 for late in days if low <= late and (high is None or late <= high)))
        for low, high, label in AGE_BANDS
    ]


def _open_incidents(session: Session, scope: ColumnElement[bool]) -> list[IncidentLine]:
    incidents = session.scalars(
        select(Incident)
        .where(Incident.status == IncidentStatus.OPEN)
        .options(selectinload(Incident.impacts).joinedload(IncidentImpact.project))
        .order_by(Incident.declared_at, Incident.id)
    ).all()
    in_scope = set(session.scalars(select(Project.id).where(scope)))
    alerts = _incident_alerts(session, [incident.id for incident in incidents])
    lines = [
        IncidentLine(
            key=incident.key,
            summary=incident.summary,
            severity=incident.severity.value,
            declared_at=incident.declared_at,
            affected=[
                AffectedProject(impact.project.key, impact.expected_delay_days)
                for impact in incident.impacts
                if not impact.not_affected and impact.project_id in in_scope
            ],
            alert_cause_key=alerts.get(incident.id),
        )
        for incident in incidents
    ]
    # An incident that affects no project is the service team's business, not the portfolio's.
    return [line for line in lines if line.affected]


def _incident_alerts(session: Session, incident_ids: list[int]) -> dict[int, str]:
    """The cause key of each incident's first PMO alert, for incidents that have one."""
    found: dict[int, str] = {}
    if incident_ids:
        for incident_id, cause_key in session.execute(
            select(Escalation.incident_id, Escalation.cause_key)
            .where(Escalation.incident_id.in_(incident_ids))
            .order_by(Escalation.id)
        ):
            found.setdefault(incident_id, cause_key)
    return found


def _unacknowledged(session: Session, scope: ColumnElement[bool]) -> list[EscalationLine]:
    """Open escalations of projects in `scope` whose cause is still there; portfolio-wide ones
    (no project) only for the whole portfolio, since a narrower scope cannot vouch for them."""
    rows = session.execute(
        select(
            Escalation.cause_key, Project.key, Project.name, Escalation.kind, Escalation.facts, Escalation.created_at
        )
        .outerjoin(Project, Project.id == Escalation.project_id)
        .where(Escalation.status == EscalationStatus.OPEN, Escalation.settled_at.is_(None), scope)
        .order_by(Escalation.created_at, Escalation.id)
    )
    return [EscalationLine(*row) for row in rows]


def _findings(projects: Mapping[int, ProjectInfo], findings: Iterable[Finding]) -> list[RuleFinding]:
    return [
        RuleFinding(projects[f.project_id].key, projects[f.project_id].name, f.evidence)
        for f in sorted(findings, key=lambda f: projects[f.project_id].key)
    ]


def build_digest(
    session: Session,
    *,
    now: datetime,
    timezone: str,
    tolerance: float,
    default_cadence: Cadence,
    answer_window: timedelta,
    scope: ColumnElement[bool] = EVERY_PROJECT,
) -> Digest:
    """The digest as of `now`; `timezone` is the workspace's, for today's date and the week.

    `answer_window` is how long a team has to answer a prompt (CHECKIN_MISSED_HOURS);
    `scope` narrows the projects (a Slack Connect channel sees only those shared with it).
    """
    today = local_today(now, timezone)
    week_ago = now - timedelta(weeks=1)
    portfolio = _portfolio(session, now=now, default_cadence=default_cadence, scope=scope)
    projects = portfolio.projects
    statuses = {
        project_id: governance.statuses_as_of(facts, now)
        for project_id, facts in portfolio.history.items()
        if project_id in projects
    }
    latest = {project_id: known[-1] if known else None for project_id, known in statuses.items()}
    overdue = governance.overdue_actions(session, today=today, zone=ZoneInfo(timezone))
    overdue = [a for a in overdue if a.project_id in projects]
    off_track = [
        b for b in governance.off_track_benefits(session, today=today, tolerance=tolerance) if b.project_id in projects
    ]
    misses = [
        miss
        for miss in governance.missed_periods(session, due_since=now - governance.WATERMELON_MISSED_LOOKBACK)
        if miss.project_id in projects
    ]
    return Digest(
        period=period_of(today),
        generated_at=now,
        counts=_counts(latest.get(project_id) for project_id in projects),
        counts_week_ago=_counts(portfolio.status(project_id, week_ago) for project_id in projects),
        turned_worse=_turned_worse(portfolio, now=now, week_ago=week_ago),
        missed=[
            MissedCheckin(
                projects[miss.project_id].key,
                projects[miss.project_id].name,
                miss.period,
                checkins.missed_cause_key(projects[miss.project_id].key, miss.period),
            )
            for miss in misses
            if miss.missed_at > now - MISSED_SINCE
        ],
        overdue_bands=_age_bands(overdue),
        overdue=[
            OverdueActionLine(
                projects[a.project_id].key,
                projects[a.project_id].name,
                a.title,
                a.owner_user_id,
                a.due_date,
                a.days_overdue,
            )
            for a in overdue
        ],
        off_track=[
            OffTrackLine(projects[b.project_id].key, projects[b.project_id].name, b.name, b.unit, b.latest, b.expected)
            for b in off_track
        ],
        incidents=_open_incidents(session, scope),
        unacknowledged=_unacknowledged(session, scope),
        watermelons=_findings(projects, governance.watermelons(projects, latest, overdue, off_track, misses, now=now)),
        stuck=_findings(projects, governance.stuck(projects, statuses)),
        compliance=governance.fair_compliance(session, projects, now=now, answer_window=answer_window),
        milestones=milestones.digest_milestones(session, now=now, today=today, scope=scope),
    )


# --- the monthly governance pack --------------------------------------------------------


def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def pack_due_month(session: Session, *, now: datetime, time_of_day: str, timezone: str) -> str | None:
    """The month whose pack is due at `now` ("2026-12"): from its first working day at
    `time_of_day` local time, for PACK_CATCH_UP; None otherwise."""
    today = local_today(now, timezone)
    day = first_working_day(session, today.year, today.month)
    due_at = Cadence(day.weekday(), time_of_day, timezone).instant_on(day)
    return month_of(today) if due_at <= now < due_at + PACK_CATCH_UP else None


def has_a_month_of_checkins(session: Session, *, now: datetime) -> bool:
    first = session.scalar(select(func.min(Checkin.submitted_at)))
    return first is not None and first <= now - PACK_MINIMUM_HISTORY


@dataclass(frozen=True)
class WeekMix:
    """How many projects reported each status in one week, and how many did not answer."""

    period: str
    green: int
    amber: int
    red: int
    missed: int


def has_health_data(weeks: Iterable[WeekMix]) -> bool:
    return any(week.green or week.amber or week.red or week.missed for week in weeks)


@dataclass(frozen=True)
class ObjectiveProgress:
    """An objective's benefits, realised against plan, each benefit as a share of its own
    baseline-to-target distance (benefits are in different units, so amounts cannot add up)."""

    objective: str
    benefits: int
    measured: int  # benefits with at least one value; only these make the shares
    planned_share: float | None  # where the plans say the measured benefits should be by now
    realised_share: float | None  # where their latest values are
    off_track: int


@dataclass(frozen=True)
class DecisionNeeded:
    """A Red project asking for help from above."""

    project_key: str
    project_name: str
    sponsor_user_id: str | None
    period: str
    help_needed: str
    path_to_green: str | None
    path_to_green_date: date | None


@dataclass(frozen=True)
class GovernancePack:
    month: str  # "2026-12"
    generated_at: datetime
    counts: RagCounts
    weeks: list[WeekMix]  # oldest first
    objectives: list[ObjectiveProgress]
    decisions: list[DecisionNeeded]
    milestones: list[milestones.MilestoneLine]  # the coming quarter's, for the baseline-against-forecast chart
    costs: list[cost.ProgrammeCost]

    @property
    def title(self) -> str:
        return date.fromisoformat(f"{self.month}-01").strftime("%B %Y")


def _health_weeks(session: Session, today: date, weeks: int) -> list[WeekMix]:
    """The `weeks` complete weeks before this one; every project that reported then counts."""
    periods = [previous_period(period_of(today))]
    while len(periods) < weeks:
        periods.append(previous_period(periods[-1]))
    periods.reverse()
    latest: dict[tuple[int, str], Rag] = {}
    for project_id, period, overall in session.execute(
        select(Checkin.project_id, Checkin.period, Checkin.overall_rag)
        .where(Checkin.period >= periods[0], Checkin.period <= periods[-1])
        .order_by(Checkin.revision)
    ):
        latest[(project_id, period)] = overall
    missed: dict[str, int] = defaultdict(int)
    for project_id, period in session.execute(
        select(CheckinPeriod.project_id, CheckinPeriod.period).where(
            CheckinPeriod.period >= periods[0],
            CheckinPeriod.period <= periods[-1],
            CheckinPeriod.missed_at.is_not(None),
            CheckinPeriod.excused_reason.is_(None),
        )
    ):
        if (project_id, period) not in latest:
            missed[period] += 1
    tally: dict[str, dict[Rag, int]] = defaultdict(lambda: defaultdict(int))
    for (_project_id, period), overall in latest.items():
        tally[period][overall] += 1
    return [
        WeekMix(period, tally[period][Rag.GREEN], tally[period][Rag.AMBER], tally[period][Rag.RED], missed[period])
        for period in periods
    ]


def _share(benefit: Benefit, value: Decimal) -> float:
    return float((value - benefit.baseline) / (benefit.target - benefit.baseline))


def _objective_progress(session: Session, *, today: date, tolerance: float) -> list[ObjectiveProgress]:
    """Per objective, over the active benefits of projects not paused: benefits keep being
    realised after a project closes."""
    grouped: dict[str, list[Benefit]] = defaultdict(list)
    for benefit in governance.benefits_with_latest_value(session, Project.status != ProjectStatus.PAUSED, on=today):
        objective = benefit.project.objective
        grouped[objective.name if objective else NO_OBJECTIVE].append(benefit)
    progress = []
    for objective_name in sorted(grouped, key=lambda name: (name == NO_OBJECTIVE, name)):
        planned: list[float] = []
        realised: list[float] = []
        off_track = 0
        members = [b for b in grouped[objective_name] if b.target != b.baseline]
        for benefit in members:
            path = benefits.trajectory(benefit, on=today, tolerance=tolerance)
            if path.latest is None:
                continue
            planned.append(_share(benefit, path.expected))
            realised.append(_share(benefit, path.latest))
            off_track += path.is_off_track
        progress.append(
            ObjectiveProgress(
                objective=objective_name,
                benefits=len(members),
                measured=len(realised),
                planned_share=sum(planned) / len(planned) if planned else None,
                realised_share=sum(realised) / len(realised) if realised else None,
                off_track=off_track,
            )
        )
    return progress


def _decisions(session: Session, portfolio: _Portfolio, now: datetime) -> list[DecisionNeeded]:
    red = {
        status.checkin_id: project
        for project in portfolio.projects.values()
        if (status := portfolio.status(project.id, now)) is not None and status.overall is Rag.RED
    }
    if not red:
        return []
    asking = session.scalars(
        select(Checkin).where(Checkin.id.in_(list(red)), Checkin.help_needed.is_not(None)).order_by(Checkin.id)
    )
    decisions = [
        DecisionNeeded(
            project_key=red[checkin.id].key,
            project_name=red[checkin.id].name,
            sponsor_user_id=red[checkin.id].sponsor_user_id,
            period=checkin.period,
            help_needed=checkin.help_needed,
            path_to_green=checkin.path_to_green,
            path_to_green_date=checkin.path_to_green_date,
        )
        for checkin in asking
        if checkin.help_needed and checkin.help_needed.strip()
    ]
    return sorted(decisions, key=lambda decision: decision.project_key)


def build_pack(
    session: Session,
    *,
    now: datetime,
    timezone: str,
    tolerance: float,
    default_cadence: Cadence,
    cost_tolerance: float,
) -> GovernancePack:
    """The pack for the month of `now` in the workspace's `timezone`."""
    today = local_today(now, timezone)
    portfolio = _portfolio(session, now=now, default_cadence=default_cadence)
    return GovernancePack(
        month=month_of(today),
        generated_at=now,
        counts=_counts(portfolio.status(project_id, now) for project_id in portfolio.projects),
        weeks=_health_weeks(session, today, HEALTH_WEEKS),
        objectives=_objective_progress(session, today=today, tolerance=tolerance),
        decisions=_decisions(session, portfolio, now),
        milestones=milestones.quarter_milestones(session, today=today),
        costs=cost.programme_costs(session, tolerance=cost_tolerance),
    )
