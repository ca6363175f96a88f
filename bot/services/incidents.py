"""Live-service incidents: declaring one, the projects it affects, the pause, impacts, resolving.

Run and Change share the same people (domain.md, idea 4). When a service has an incident,
every active project related to it (depends on it, changes it, shares its people) gets an
`IncidentImpact`. The project is *paused* while, for some open incident, its impact has
`pauses_project` set and `not_affected` clear: no check-in prompts, reminders or misses,
and its actions do not age on the nudge ladder. "We're not affected" clears the pause for
that project. Resolving keeps `pauses_project` as the record that the project was paused
from `declared_at` to `resolved_at`; check-in periods that fell in that window are excused
(`CheckinPeriod.excused_reason = "incident"`), so prompts resume at the next cadence
instead of arriving late.

This module changes incidents; `incident_views` reads them as messages show them,
`incident_replan` shifts open actions afterwards, and the keys of what they send are in
`message_keys`.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, insert, select, update
from sqlalchemy.orm import Session

from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.services import live_services, message_keys, people, portfolio
from bot.services.access import Actor, can_manage, can_manage_incident
from bot.services.cadence import Cadence
from bot.services.escalations import Cause
from storage.inserts import insert_unless_taken
from storage.models import (
    Checkin,
    CheckinPeriod,
    EscalationKind,
    Incident,
    IncidentImpact,
    IncidentService,
    IncidentSeverity,
    IncidentStatus,
    Person,
    Project,
    ProjectRole,
    ProjectService,
    ProjectStatus,
    Service,
)

KEY_PREFIX = "INC-"
EXCUSED_REASON = "incident"
MAX_SUMMARY_LENGTH = 2000
MAX_DELAY_DAYS = 365


class ExternalSource(enum.StrEnum):
    WEBHOOK = "webhook"
    PAGERDUTY = "pagerduty"


class UnknownService(UserError):
    """A monitoring tool named a service the portfolio does not have."""


# --- finding incidents ---------------------------------------------------------------------


def find_incident(session: Session, key: str) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.key == key.strip().upper()))


def get_incident(session: Session, key: str) -> Incident:
    incident = find_incident(session, key)
    if incident is None:
        raise NotFound(f"No incident has the key {key.strip().upper()}. `/pmo incidents` lists them.")
    return incident


def find_external(session: Session, source: ExternalSource, external_id: str) -> Incident | None:
    return session.scalar(
        select(Incident).where(Incident.external_source == source.value, Incident.external_id == external_id)
    )


def parse_severity(text: str) -> IncidentSeverity:
    try:
        return IncidentSeverity(text.strip().upper())
    except ValueError:
        raise UserError(f"'{text}' is not a severity: use SEV1, SEV2 or SEV3.") from None


# --- declaring -----------------------------------------------------------------------------


class ChangeKind(enum.StrEnum):
    DECLARED = "declared"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class IncidentChange:
    """What a declaration or resolution did; `is_new` is False for a repeat that changed nothing."""

    incident_id: int
    key: str
    kind: ChangeKind
    is_new: bool


@dataclass(frozen=True)
class NewIncident:
    service_ids: tuple[int, ...]
    severity: IncidentSeverity
    summary: str
    declared_by_user_id: str | None = None
    external_source: ExternalSource | None = None
    external_id: str | None = None


def affected_project_ids(session: Session, service_ids: Iterable[int]) -> list[int]:
    """Active projects that depend on, change or share people with any of these services."""
    return list(
        session.scalars(
            select(ProjectService.project_id)
            .join(Project, Project.id == ProjectService.project_id)
            .where(ProjectService.service_id.in_(list(service_ids)), Project.status == ProjectStatus.ACTIVE)
            .distinct()
            .order_by(ProjectService.project_id)
        )
    )


def declare(session: Session, new: NewIncident, *, now: datetime) -> IncidentChange:
    """Record the incident and an impact (a pause) for every affected project.

    A monitoring tool's retry (same source and external id) finds the incident it already
    declared and changes nothing.
    """
    if new.external_source is not None and new.external_id is not None:
        existing = find_external(session, new.external_source, new.external_id)
        if existing is not None:
            return IncidentChange(existing.id, existing.key, ChangeKind.DECLARED, is_new=False)
    summary = new.summary.strip()
    if not summary:
        raise UserError("Say in a line what is wrong, e.g. 'Card payments failing'.")
    if len(summary) > MAX_SUMMARY_LENGTH:
        raise UserError(f"The summary is {len(summary)} characters long; keep it to {MAX_SUMMARY_LENGTH}.")
    services = list(session.scalars(select(Service).where(Service.id.in_(new.service_ids)).order_by(Service.key)))
    if not services:
        raise UserError("Choose the service (or services) that are down.")
    values = {
        # The key is INC-<id>, known only once the row exists; this placeholder is unique meanwhile.
        "key": f"new-{uuid.uuid4().hex[:24]}",
        "summary": summary,
        "severity": new.severity,
        "status": IncidentStatus.OPEN,
        "external_source": new.external_source.value if new.external_source else None,
        "external_id": new.external_id,
        "declared_by_id": people.get_or_create(session, new.declared_by_user_id, now=now).id
        if new.declared_by_user_id
        else None,
        "declared_at": now,
    }
    incident_id = insert_unless_taken(session, Incident, values, ["external_source", "external_id"])
    if incident_id is None:
        # The same external incident arrived twice at once; the other request declared it.
        assert new.external_source is not None and new.external_id is not None
        existing = find_external(session, new.external_source, new.external_id)
        if existing is None:
            raise Conflict("The incident is being declared by another request; try again in a moment.")
        return IncidentChange(existing.id, existing.key, ChangeKind.DECLARED, is_new=False)
    incident = session.get_one(Incident, incident_id)
    incident.service_links = [IncidentService(service_id=service.id) for service in services]
    session.flush()
    incident.key = f"{KEY_PREFIX}{incident.id}"
    affected = affected_project_ids(session, (service.id for service in services))
    if affected:
        # One statement for a thousand projects: the notices wait on this transaction.
        session.execute(
            insert(IncidentImpact),
            [{"incident_id": incident.id, "project_id": project_id, "created_at": now} for project_id in affected],
        )
    session.flush()
    return IncidentChange(incident.id, incident.key, ChangeKind.DECLARED, is_new=True)


def declare_from_monitoring(
    session: Session,
    source: ExternalSource,
    external_id: str,
    service_ref: str,
    severity: IncidentSeverity,
    summary: str,
    *,
    now: datetime,
) -> IncidentChange:
    """A declaration from a monitoring tool, which names the service by key or name."""
    existing = find_external(session, source, external_id)
    if existing is not None:
        return IncidentChange(existing.id, existing.key, ChangeKind.DECLARED, is_new=False)
    service = live_services.find_service(session, service_ref)
    if service is None:
        raise UnknownService(f"no service has the key or name '{service_ref}'")
    new = NewIncident((service.id,), severity, summary, external_source=source, external_id=external_id)
    return declare(session, new, now=now)


# --- the pause -----------------------------------------------------------------------------


# The one rule: an impact pauses its project while it says so and the team has not said
# "not affected"; the project is paused now while such an impact's incident is open.
PAUSING_IMPACT = (IncidentImpact.pauses_project.is_(True), IncidentImpact.not_affected.is_(False))


def pauses_its_project(impact: IncidentImpact) -> bool:
    """`PAUSING_IMPACT` for an impact already loaded."""
    return impact.pauses_project and not impact.not_affected


def paused_project_ids() -> Select[tuple[int]]:
    """A subquery of the projects paused right now, for `Project.id.not_in(...)`."""
    return (
        select(IncidentImpact.project_id)
        .join(Incident, Incident.id == IncidentImpact.incident_id)
        .where(Incident.status == IncidentStatus.OPEN, *PAUSING_IMPACT)
    )


# --- what the team records ------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactInput:
    expected_delay_days: int | None
    milestones_at_risk: str | None = None
    people_diverted: str | None = None
    contingency_plan: str | None = None
    asks_for_priority: bool = False


def parse_delay_days(text: str) -> int:
    value = text.strip().lower().removesuffix("days").removesuffix("day").strip()
    if not value.isdigit() or int(value) > MAX_DELAY_DAYS:
        raise UserError(f"'{text.strip()}' is not a number of days: type a whole number from 0 to {MAX_DELAY_DAYS}.")
    return int(value)


def can_speak_for(actor: Actor, project: Project) -> bool:
    """The lead (or deputy), the sponsor and the PMO speak for a project about an incident."""
    if can_manage(actor, project):
        return True
    return any(
        member.role is ProjectRole.DEPUTY and member.person.slack_user_id == actor.slack_user_id
        for member in project.members
    )


def require_can_speak_for(actor: Actor, project: Project, doing: str) -> None:
    if not can_speak_for(actor, project):
        raise NotAllowed(
            f"Only {project.key}'s lead, deputy or sponsor (or the PMO) can {doing}. "
            "Ask the lead; they have the buttons too."
        )


def get_impact(session: Session, incident_key: str, project_key: str) -> tuple[Incident, IncidentImpact]:
    incident = get_incident(session, incident_key)
    project = portfolio.get_project(session, project_key)
    impact = session.scalar(
        select(IncidentImpact).where(IncidentImpact.incident_id == incident.id, IncidentImpact.project_id == project.id)
    )
    if impact is None:
        raise NotFound(f"{incident.key} does not affect {project.key}, so there is no impact to record.")
    return incident, impact


@dataclass(frozen=True)
class ImpactChange:
    incident_id: int
    incident_key: str
    project_id: int
    project_key: str
    asks_for_priority: bool
    # The team had asked for priority and no longer does: the PMO's alert says so.
    withdrew_priority: bool


def check_can_record(session: Session, actor: Actor, incident_key: str, project_key: str) -> ImpactInput | None:
    """Refuse before the form opens; returns what was recorded before, to fill the form with."""
    _incident, impact = get_impact(session, incident_key, project_key)
    require_can_speak_for(actor, impact.project, "record the incident's impact")
    if impact.recorded_at is None or impact.not_affected:
        return None
    return ImpactInput(
        impact.expected_delay_days,
        impact.milestones_at_risk,
        impact.people_diverted,
        impact.contingency_plan,
        impact.asks_for_priority,
    )


def record_impact(
    session: Session, actor: Actor, incident_key: str, project_key: str, given: ImpactInput, *, now: datetime
) -> ImpactChange:
    incident, impact = get_impact(session, incident_key, project_key)
    require_can_speak_for(actor, impact.project, "record the incident's impact")
    had_asked = impact.asks_for_priority
    impact.expected_delay_days = given.expected_delay_days
    impact.milestones_at_risk = given.milestones_at_risk
    impact.people_diverted = given.people_diverted
    impact.contingency_plan = given.contingency_plan
    impact.asks_for_priority = given.asks_for_priority
    impact.not_affected = False
    # A team that said "not affected" and then records an impact is affected after all.
    impact.pauses_project = impact.pauses_project or incident.status is IncidentStatus.OPEN
    impact.recorded_by_id = people.get_or_create(session, actor.slack_user_id, now=now).id
    impact.recorded_at = now
    session.flush()
    return ImpactChange(
        incident.id,
        incident.key,
        impact.project_id,
        impact.project.key,
        given.asks_for_priority,
        withdrew_priority=had_asked and not given.asks_for_priority,
    )


def mark_not_affected(
    session: Session, actor: Actor, incident_key: str, project_key: str, *, now: datetime
) -> ImpactChange:
    """The team is not pulled onto the incident: its prompts and nudges carry on."""
    incident, impact = get_impact(session, incident_key, project_key)
    require_can_speak_for(actor, impact.project, "say whether it is affected")
    had_asked = impact.asks_for_priority
    impact.not_affected = True
    impact.pauses_project = False
    impact.asks_for_priority = False
    impact.recorded_by_id = people.get_or_create(session, actor.slack_user_id, now=now).id
    impact.recorded_at = now
    session.flush()
    return ImpactChange(
        incident.id, incident.key, impact.project_id, impact.project.key, False, withdrew_priority=had_asked
    )


def priority_cause(session: Session, change: ImpactChange) -> Cause | None:
    """The PMO alert a team's ask for priority raises; None when it does not ask (any more)."""
    if not change.asks_for_priority or change.withdrew_priority:
        return None
    impact = session.scalars(
        select(IncidentImpact).where(
            IncidentImpact.incident_id == change.incident_id, IncidentImpact.project_id == change.project_id
        )
    ).one()
    incident = impact.incident
    facts = {
        "project_key": change.project_key,
        "incident_key": incident.key,
        "severity": incident.severity.value,
        "services": ", ".join(link.service.name for link in incident.service_links),
        "delay_days": impact.expected_delay_days,
        "impact": [
            [label, text]
            for label, text in (
                ("Milestones at risk", impact.milestones_at_risk),
                ("People diverted", impact.people_diverted),
                ("Contingency plan", impact.contingency_plan),
            )
            if text
        ],
    }
    key = message_keys.incident_priority_cause(change.incident_key, change.project_key)
    return Cause(key, EscalationKind.INCIDENT_PRIORITY, facts)


PRIORITY_WITHDRAWN = {"how": "withdrawn"}


# --- resolving -----------------------------------------------------------------------------


def service_usergroups(session: Session, key: str) -> list[str]:
    """The Slack user groups of the teams running the incident's services (unknown key: NotFound)."""
    incident = get_incident(session, key)
    return sorted(
        {link.service.slack_usergroup_id for link in incident.service_links if link.service.slack_usergroup_id}
    )


def require_can_manage_incident(
    session: Session, actor: Actor, key: str, service_team_user_ids: frozenset[str], doing: str
) -> None:
    """Refuse anyone but PMO admins, the declarer and the service's team (`service_team_user_ids`)."""
    incident = get_incident(session, key)
    declarer = session.get(Person, incident.declared_by_id) if incident.declared_by_id else None
    if not can_manage_incident(actor, declarer.slack_user_id if declarer else None, service_team_user_ids):
        raise NotAllowed(
            f"Only PMO admins, whoever declared {incident.key} and the team that runs its service can {doing}. "
            "Ask one of them, or the PMO."
        )


def resolve(session: Session, key: str, *, now: datetime, default_cadence: Cadence) -> IncidentChange:
    """Resolve by key; an unknown or already-resolved incident is refused and nothing changes."""
    incident = get_incident(session, key)
    if incident.status is IncidentStatus.RESOLVED:
        assert incident.resolved_at is not None
        raise Conflict(
            f"{incident.key} was already resolved at {incident.resolved_at:%Y-%m-%d %H:%M} UTC. Nothing changed."
        )
    _resolve(session, incident, now=now, default_cadence=default_cadence)
    return IncidentChange(incident.id, incident.key, ChangeKind.RESOLVED, is_new=True)


def resolve_from_monitoring(
    session: Session, source: ExternalSource, external_id: str, *, now: datetime, default_cadence: Cadence
) -> IncidentChange:
    """A monitoring tool's resolve; a repeat is answered with the incident and changes nothing."""
    incident = find_external(session, source, external_id)
    if incident is None:
        raise NotFound(f"no incident was declared with the id '{external_id}'")
    if incident.status is IncidentStatus.RESOLVED:
        return IncidentChange(incident.id, incident.key, ChangeKind.RESOLVED, is_new=False)
    _resolve(session, incident, now=now, default_cadence=default_cadence)
    return IncidentChange(incident.id, incident.key, ChangeKind.RESOLVED, is_new=True)


def _resolve(session: Session, incident: Incident, *, now: datetime, default_cadence: Cadence) -> None:
    incident.status = IncidentStatus.RESOLVED
    incident.resolved_at = now
    _excuse_periods_in_pause(session, incident, default_cadence)
    session.flush()


def _excuse_periods_in_pause(session: Session, incident: Incident, default_cadence: Cadence) -> None:
    """The check-in weeks the incident interrupted owe no check-in: no reminder, no miss, no late prompt."""
    assert incident.resolved_at is not None
    paused = [impact.project for impact in incident.impacts if pauses_its_project(impact)]
    if not paused:
        return
    paused_ids = select(IncidentImpact.project_id).where(IncidentImpact.incident_id == incident.id, *PAUSING_IMPACT)
    answered = select(Checkin.id).where(
        Checkin.project_id == CheckinPeriod.project_id, Checkin.period == CheckinPeriod.period
    )
    # Periods prompted before the pause and still open when it ended.
    session.execute(
        update(CheckinPeriod)
        .where(
            CheckinPeriod.project_id.in_(paused_ids),
            CheckinPeriod.missed_at.is_(None),
            CheckinPeriod.excused_reason.is_(None),
            ~answered.exists(),
        )
        .values(excused_reason=EXCUSED_REASON),
        execution_options={"synchronize_session": False},
    )
    # Cadence instants that fell inside the pause were never prompted; recording them as
    # excused keeps the tick from sending the latest one late.
    inside: list[tuple[int, str, datetime]] = []
    for project in paused:
        cadence = portfolio.effective_cadence(project, default_cadence)
        period, _day, due_at = cadence.latest_due(incident.resolved_at)
        while due_at >= incident.declared_at and due_at >= project.created_at:
            inside.append((project.id, period, due_at))
            period, _day, due_at = cadence.latest_due(due_at - timedelta(seconds=1))
    if not inside:
        return
    rows = session.execute(
        select(CheckinPeriod.project_id, CheckinPeriod.period).where(
            CheckinPeriod.project_id.in_(paused_ids),
            CheckinPeriod.period.in_({period for _project_id, period, _due_at in inside}),
        )
    )
    existing = {(project_id, period) for project_id, period in rows}
    for project_id, period, due_at in inside:
        if (project_id, period) not in existing:
            session.add(
                CheckinPeriod(project_id=project_id, period=period, due_at=due_at, excused_reason=EXCUSED_REASON)
            )


def mark_announced(session: Session, incident_id: int, *, now: datetime) -> None:
    """Every message of the declaration is in the ledger: the ledger's retries finish the job."""
    session.get_one(Incident, incident_id).announced_at = now


def mark_replans_announced(session: Session, incident_id: int, *, now: datetime) -> None:
    """Every re-plan message of the resolution is in the ledger."""
    session.get_one(Incident, incident_id).replans_announced_at = now
