"""The weekly PMO digest: what it says, as plain data (the monthly pack is bot/services/pack.py).

The PMO reads the digest weekly without anyone writing a report. It composes what the
rules already say: the counts come from the health summary (bot/services/health.py), the
findings and the facts behind them from `governance.evaluate`; only the comparison with a
week ago and the incidents and escalations are its own. No Slack here: the handlers
render, link and post.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from bot.services import benefits, coaching, confidence, governance, health, message_keys, milestones, risks
from bot.services.cadence import Cadence, period_of
from bot.services.checkins import RAG_ORDER
from bot.services.confidence import Level, Scale
from bot.services.governance import (
    EVERY_PROJECT,
    CheckinFact,
    ComplianceReport,
    Finding,
    GovernanceFindings,
    ProjectInfo,
)
from storage.models import (
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
# A tick this late after the digest's time still sends it (the bot was down); later, it is
# skipped as stale: the next digest is days away.
DIGEST_CATCH_UP = timedelta(days=1)


def digest_due_period(now: datetime, cadence: Cadence) -> str | None:
    """The ISO week whose digest is due at `now` (from its DIGEST_DAY DIGEST_TIME on), or None."""
    period, _day, due_at = cadence.latest_due(now)
    return period if now < due_at + DIGEST_CATCH_UP else None


# --- shared pieces ----------------------------------------------------------------------


@dataclass(frozen=True)
class RagCounts:
    green: int = 0
    amber: int = 0
    red: int = 0
    no_status: int = 0  # active projects with no check-in in the period the rules read
    # Of those counted by colour, the ones given on a dca scale, by level as stored ("dca5:amber_red").
    given: Mapping[str, int] = field(default_factory=dict)

    def of(self, rag: Rag | None) -> int:
        return {Rag.GREEN: self.green, Rag.AMBER: self.amber, Rag.RED: self.red, None: self.no_status}[rag]

    def levels(self, scale: Scale) -> tuple[tuple[Level, int], ...]:
        """The counts per level of `scale`, best first (see `confidence.tally`)."""
        by_rag = {Rag.GREEN: self.green, Rag.AMBER: self.amber, Rag.RED: self.red}
        return confidence.tally(scale, by_rag, self.given)


def counts_of(statuses: Iterable[CheckinFact | None]) -> RagCounts:
    tally: dict[Rag | None, int] = defaultdict(int)
    given: Counter[str] = Counter()
    for status in statuses:
        tally[status.overall if status else None] += 1
        if status and status.confidence:
            given[status.confidence] += 1
    return RagCounts(tally[Rag.GREEN], tally[Rag.AMBER], tally[Rag.RED], tally[None], given)


def current_counts(session: Session, scope: ColumnElement[bool], *, today: date, tolerance: float) -> RagCounts:
    """The active projects in `scope` by latest status, from the health summary."""
    listed = (Project.status == ProjectStatus.ACTIVE) & scope
    tally, given = health.status_counts(session, listed, today=today, tolerance=tolerance)
    return RagCounts(tally[Rag.GREEN], tally[Rag.AMBER], tally[Rag.RED], tally[None], given)


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
    before_level: str | None = None  # the levels given on a dca scale, as stored
    after_level: str | None = None


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
    raid: risks.DigestRaid
    where_to_coach: tuple[coaching.Opportunity, ...] = ()
    pmo_owned: tuple[coaching.PmoOwnedActions, ...] = ()
    nobody_accountable: tuple[coaching.AccountabilityGap, ...] = ()
    not_measurable: tuple[benefits.UnmeasurableBenefit, ...] = ()
    scale: Scale = Scale.RAG  # CONFIDENCE_SCALE: the levels its statuses are named by


def _turned_worse(found: GovernanceFindings, *, week_ago: datetime) -> list[RagChange]:
    changes = []
    for project in found.projects.values():
        before = governance.status_as_of(found.statuses.get(project.id, []), week_ago)
        after = found.latest(project.id)
        if before is None or after is None or RAG_ORDER[after.overall] <= RAG_ORDER[before.overall]:
            continue
        alert = message_keys.checkin_attention_cause(project.key, after.period) if after.overall is Rag.RED else None
        changes.append(
            RagChange(
                project.key,
                project.name,
                before.overall,
                after.overall,
                after.period,
                alert,
                before.confidence,
                after.confidence,
            )
        )
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
    pmo_admin_ids: frozenset[str] = frozenset(),
    scale: Scale = Scale.RAG,
) -> Digest:
    """The digest as of `now`; `timezone` is the workspace's, for today's date and the week.

    `answer_window` is how long a team has to answer a prompt (CHECKIN_MISSED_HOURS);
    `scope` narrows the projects (a Slack Connect channel sees only those shared with it);
    `scale` (CONFIDENCE_SCALE) is the one its statuses are named on.
    """
    today = local_today(now, timezone)
    week_ago = now - timedelta(weeks=1)
    found = governance.evaluate(
        session,
        now=now,
        today=today,
        tolerance=tolerance,
        default_cadence=default_cadence,
        answer_window=answer_window,
        scope=scope,
        compared_with=week_ago,
    )
    projects, overdue = found.projects, found.overdue
    return Digest(
        period=period_of(today),
        generated_at=now,
        counts=current_counts(session, scope, today=today, tolerance=tolerance),
        counts_week_ago=counts_of(
            governance.status_as_of(found.statuses.get(project_id, []), week_ago) for project_id in projects
        ),
        turned_worse=_turned_worse(found, week_ago=week_ago),
        missed=[
            MissedCheckin(
                projects[miss.project_id].key,
                projects[miss.project_id].name,
                miss.period,
                message_keys.checkin_missed_cause(projects[miss.project_id].key, miss.period),
            )
            for miss in found.misses
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
            for b in found.off_track
        ],
        incidents=_open_incidents(session, scope),
        unacknowledged=_unacknowledged(session, scope),
        watermelons=_findings(projects, found.watermelons),
        stuck=_findings(projects, found.stuck),
        compliance=found.compliance,
        where_to_coach=coaching.opportunities(session, found),
        pmo_owned=coaching.pmo_owned_actions(session, pmo_admin_ids=pmo_admin_ids, scope=scope),
        nobody_accountable=coaching.nobody_accountable(session, scope=scope),
        not_measurable=tuple(benefits.not_yet_measurable(session, scope=scope)),
        milestones=milestones.digest_milestones(session, now=now, today=today, scope=scope),
        scale=scale,
        raid=risks.digest_raid(session, now=now, today=today, scope=scope, zone=ZoneInfo(timezone)),
    )
