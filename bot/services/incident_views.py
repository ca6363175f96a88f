"""The read model of incidents: an incident and its impacts as messages show them, and who hears.

Plain data for the Block Kit builders (`handlers/blocks/incidents.py`) and for the sends in
`handlers/incidents.py`: which channels and sponsors an incident reaches, which of them were
told, and which incidents the tick still has to make sure of.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.services import message_keys, outbox, portfolio
from bot.services.partners import INTERNAL, Audience, is_visible
from storage.models import DeliveryStatus, Incident, IncidentImpact, IncidentService, IncidentStatus, Person, Project

# `/pmo incidents` lists those resolved this recently.
RECENT = timedelta(days=14)
# How long after resolving the tick still makes sure every re-plan message went out.
REPLAN_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class NoticeReport:
    """After the impact notices went out: which affected projects were told and which not."""

    told: list[str]
    not_told: list[tuple[str, str]]  # project key, why (Slack's error, or no working channel)


def notice_report(session: Session, view: IncidentView) -> NoticeReport:
    told: list[str] = []
    not_told: list[tuple[str, str]] = []
    for line in view.impacts:
        row = outbox.find(session, message_keys.incident_notice(view.incident_id, line.project_id))
        if row is None:
            not_told.append((line.project_key, "no working channel linked"))
        elif row.status is DeliveryStatus.SENT:
            told.append(line.project_key)
        else:
            not_told.append((line.project_key, row.last_error or row.status.value))
    return NoticeReport(told, not_told)


@dataclass(frozen=True)
class ImpactLine:
    project_id: int
    project_key: str
    project_name: str
    sponsor_user_id: str | None
    lead_user_id: str | None
    not_affected: bool
    recorded_by_user_id: str | None
    expected_delay_days: int | None
    milestones_at_risk: str | None
    people_diverted: str | None
    contingency_plan: str | None
    asks_for_priority: bool

    @property
    def is_recorded(self) -> bool:
        return self.recorded_by_user_id is not None


@dataclass(frozen=True)
class IncidentView:
    """An incident and its impacts as messages show them: plain data for the builders."""

    incident_id: int
    key: str
    severity: str
    summary: str
    service_names: tuple[str, ...]
    is_open: bool
    declared_at: datetime
    resolved_at: datetime | None
    declared_by_user_id: str | None
    external_source: str | None
    impacts: tuple[ImpactLine, ...]

    @property
    def affected(self) -> list[ImpactLine]:
        return [line for line in self.impacts if not line.not_affected]

    @property
    def total_delay_days(self) -> int:
        return sum(line.expected_delay_days or 0 for line in self.affected)

    @property
    def priority_asks(self) -> list[ImpactLine]:
        return [line for line in self.affected if line.asks_for_priority]

    @property
    def duration(self) -> timedelta | None:
        return self.resolved_at - self.declared_at if self.resolved_at else None


def _slack_ids(session: Session, person_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {person_id for person_id in person_ids if person_id is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Person.id, Person.slack_user_id).where(Person.id.in_(wanted)))
    return {person_id: slack_user_id for person_id, slack_user_id in rows}


def incident_view(session: Session, incident_id: int, *, audience: Audience = INTERNAL) -> IncidentView:
    """The incident with its impacts on the projects this audience may see."""
    projects = selectinload(Incident.impacts).selectinload(IncidentImpact.project)
    incident = session.scalars(
        select(Incident)
        .where(Incident.id == incident_id)
        .options(
            selectinload(Incident.service_links).selectinload(IncidentService.service),
            projects.selectinload(Project.sponsor),
            projects.selectinload(Project.lead),
        )
    ).one()
    impacts = [impact for impact in incident.impacts if is_visible(session, impact.project, audience)]
    slack_ids = _slack_ids(session, [incident.declared_by_id, *(impact.recorded_by_id for impact in impacts)])
    return IncidentView(
        incident_id=incident.id,
        key=incident.key,
        severity=incident.severity.value,
        summary=incident.summary,
        service_names=tuple(link.service.name for link in incident.service_links),
        is_open=incident.status is IncidentStatus.OPEN,
        declared_at=incident.declared_at,
        resolved_at=incident.resolved_at,
        declared_by_user_id=slack_ids.get(incident.declared_by_id) if incident.declared_by_id else None,
        external_source=incident.external_source,
        impacts=tuple(
            ImpactLine(
                project_id=impact.project_id,
                project_key=impact.project.key,
                project_name=impact.project.name,
                sponsor_user_id=impact.project.sponsor.slack_user_id if impact.project.sponsor else None,
                lead_user_id=impact.project.lead.slack_user_id if impact.project.lead else None,
                not_affected=impact.not_affected,
                recorded_by_user_id=slack_ids.get(impact.recorded_by_id) if impact.recorded_by_id else None,
                expected_delay_days=impact.expected_delay_days,
                milestones_at_risk=impact.milestones_at_risk,
                people_diverted=impact.people_diverted,
                contingency_plan=impact.contingency_plan,
                asks_for_priority=impact.asks_for_priority,
            )
            for impact in sorted(impacts, key=lambda impact: impact.project.key)
        ),
    )


def sponsor_user_ids(session: Session, incident_id: int) -> set[str]:
    """The sponsors of the projects an incident affects: each gets one DM about it."""
    return set(
        session.scalars(
            select(Person.slack_user_id)
            .join(Project, Project.sponsor_id == Person.id)
            .join(IncidentImpact, IncidentImpact.project_id == Project.id)
            .where(IncidentImpact.incident_id == incident_id)
        )
    )


def impacts_by_sponsor(view: IncidentView) -> dict[str, list[ImpactLine]]:
    """Each sponsor's affected projects, for one DM per sponsor per incident."""
    by_sponsor: dict[str, list[ImpactLine]] = {}
    for line in view.impacts:
        if line.sponsor_user_id:
            by_sponsor.setdefault(line.sponsor_user_id, []).append(line)
    return by_sponsor


def open_and_recent(
    session: Session, *, now: datetime, audience: Audience = INTERNAL, limit: int = 10
) -> list[IncidentView]:
    """Open incidents, then those resolved in the last two weeks; newest first, `limit` of each."""
    open_ids = session.scalars(
        select(Incident.id)
        .where(Incident.status == IncidentStatus.OPEN)
        .order_by(Incident.declared_at.desc())
        .limit(limit)
    )
    recent_ids = session.scalars(
        select(Incident.id)
        .where(Incident.status == IncidentStatus.RESOLVED, Incident.resolved_at >= now - RECENT)
        .order_by(Incident.resolved_at.desc())
        .limit(limit)
    )
    views = [incident_view(session, incident_id, audience=audience) for incident_id in [*open_ids, *recent_ids]]
    # A partner sees an incident only through the projects shared with it.
    return [view for view in views if audience.is_internal or view.impacts]


@dataclass(frozen=True)
class ChannelTarget:
    """Where a project hears about an incident: its primary channel, if it works."""

    project_id: int
    project_key: str
    team_id: str
    channel_id: str


def channel_targets(session: Session, incident_id: int) -> list[ChannelTarget]:
    """The affected projects' working primary channels."""
    impacts = session.scalars(
        select(IncidentImpact)
        .where(IncidentImpact.incident_id == incident_id)
        .options(selectinload(IncidentImpact.project).selectinload(Project.channel_links))
        .order_by(IncidentImpact.project_id)
    )
    targets = []
    for impact in impacts:
        link = portfolio.primary_channel(impact.project)
        if link is not None and link.broken_at is None:
            targets.append(ChannelTarget(impact.project_id, impact.project.key, link.team_id, link.channel_id))
    return targets


def not_affected_project_ids(session: Session, incident_id: int) -> set[int]:
    return set(
        session.scalars(
            select(IncidentImpact.project_id).where(
                IncidentImpact.incident_id == incident_id, IncidentImpact.not_affected.is_(True)
            )
        )
    )


def to_announce(session: Session, *, now: datetime) -> tuple[list[int], list[int]]:
    """(open incidents, incidents resolved lately) whose announcement is not yet wholly in the
    ledger: the tick makes sure their messages all go out."""
    open_ids = list(
        session.scalars(
            select(Incident.id).where(Incident.status == IncidentStatus.OPEN, Incident.announced_at.is_(None))
        )
    )
    resolved_ids = list(
        session.scalars(
            select(Incident.id).where(
                Incident.status == IncidentStatus.RESOLVED,
                Incident.resolved_at >= now - REPLAN_GRACE,
                Incident.replans_announced_at.is_(None),
            )
        )
    )
    return open_ids, resolved_ids
