"""Escalations: alerts to the PMO channel, one per cause, updated in place as things change.

The PMO coaches, it does not play the ball: an escalation says who is accountable and why
the PMO should look, and records which PMO member picked it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from bot.errors import NotAllowed, NotFound
from bot.services import message_keys, people
from bot.services.owed import AlertChanged
from storage.models import Escalation, EscalationKind, EscalationStatus, OutgoingMessage, Person, Project


@dataclass(frozen=True)
class Cause:
    """Why the PMO should look. `key` names the cause so a repeat updates, never duplicates.

    `facts` are plain data (periods, RAG values, days, user and channel ids, people's words
    as typed); the alert's wording is rendered from them each time it is shown.
    """

    key: str
    kind: EscalationKind
    facts: dict[str, Any] = field(default_factory=dict)
    period: str | None = None


def unposted(session: Session, *, now: datetime) -> list[int]:
    """Escalations whose alert was never claimed for sending (e.g. the process died in between).

    Each alert found in the ledger is recorded as seen there, so a tick looks only at the
    escalations raised since (an alert's ledger row is never taken back while it exists).
    """
    claimed = select(OutgoingMessage.id).where(
        OutgoingMessage.idempotency_key == literal(message_keys.ALERT_PREFIX) + Escalation.cause_key
    )
    not_seen = Escalation.alert_seen_in_ledger_at.is_(None)
    session.execute(
        update(Escalation).where(not_seen, claimed.exists()).values(alert_seen_in_ledger_at=now),
        execution_options={"synchronize_session": False},
    )
    return list(session.scalars(select(Escalation.id).where(not_seen, ~claimed.exists()).order_by(Escalation.id)))


def find(session: Session, cause_key: str) -> Escalation | None:
    return session.scalar(select(Escalation).where(Escalation.cause_key == cause_key))


def raise_or_update(session: Session, cause: Cause, *, project: Project | None, now: datetime) -> Escalation:
    """The escalation for this cause, created the first time and refreshed after that.

    A cause that comes back after it was settled (the channel broke again, the amendment
    is Red again) reopens the same alert.
    """
    escalation = find(session, cause.key)
    if escalation is None:
        escalation = Escalation(
            cause_key=cause.key,
            kind=cause.kind,
            project_id=project.id if project else None,
            period=cause.period,
            facts=cause.facts,
            status=EscalationStatus.OPEN,
            created_at=now,
            updated_at=now,
        )
        # Callers make one instance the raiser (e.g. a conditional update of the period's
        # state); should two still race, the unique cause_key fails the second transaction.
        session.add(escalation)
        session.flush()
    if is_changed(escalation, cause):
        escalation.kind = cause.kind
        escalation.facts = cause.facts
        escalation.settled_at = None
        escalation.updated_at = now
    return escalation


def is_changed(escalation: Escalation, cause: Cause) -> bool:
    """Whether raising this cause would change the alert: decided on the facts, not on wording."""
    return escalation.settled_at is not None or (escalation.kind, escalation.facts) != (cause.kind, cause.facts)


def settle(session: Session, cause_key: str, how: dict[str, Any], *, now: datetime) -> Escalation | None:
    """The cause went away: the alert keeps its facts, adds how it was settled and leaves the
    PMO's to-do lists. None when there is no such alert or it already says exactly that."""
    escalation = find(session, cause_key)
    if escalation is None or escalation.facts.get("settled") == how:
        return None
    escalation.facts = {**escalation.facts, "settled": how}
    escalation.settled_at = now
    escalation.updated_at = now
    return escalation


def settle_alert(session: Session, cause_key: str, how: dict[str, Any], *, now: datetime) -> list[AlertChanged]:
    """Settle the cause's escalation (see `settle`); the alert owed an update, if it changed."""
    escalation = settle(session, cause_key, how, now=now)
    return [] if escalation is None else [AlertChanged(escalation.id, cause_key)]


def raise_alert(session: Session, cause: Cause, *, project: Project | None, now: datetime) -> AlertChanged:
    """Raise or refresh the cause's escalation (see `raise_or_update`); its alert is owed a showing."""
    return AlertChanged(raise_or_update(session, cause, project=project, now=now).id, cause.key)


def pick_up(
    session: Session,
    escalation_id: int,
    slack_user_id: str,
    status: EscalationStatus,
    *,
    is_pmo_admin: bool,
    now: datetime,
) -> Escalation:
    """Record who in the PMO acknowledged the alert or offered coaching."""
    if not is_pmo_admin:
        raise NotAllowed("Only PMO admins can pick up escalations.")
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise NotFound("That escalation no longer exists.")
    escalation.status = status
    escalation.picked_up_by_id = people.get_or_create(session, slack_user_id, now=now).id
    escalation.picked_up_at = now
    escalation.updated_at = now
    return escalation


@dataclass(frozen=True)
class AlertView:
    """An escalation as its PMO-channel message shows it: plain data for the builder."""

    escalation_id: int
    cause_key: str
    project_key: str | None
    project_name: str | None
    sponsor_user_id: str | None
    lead_user_id: str | None
    kind: EscalationKind
    facts: dict[str, Any]
    is_settled: bool
    status: str
    picked_up_by_user_id: str | None


def alert_view(session: Session, escalation: Escalation) -> AlertView:
    project = session.get(Project, escalation.project_id) if escalation.project_id else None
    picked_up_by = session.get(Person, escalation.picked_up_by_id) if escalation.picked_up_by_id else None
    return AlertView(
        escalation_id=escalation.id,
        cause_key=escalation.cause_key,
        project_key=project.key if project else None,
        project_name=project.name if project else None,
        sponsor_user_id=project.sponsor.slack_user_id if project and project.sponsor else None,
        lead_user_id=project.lead.slack_user_id if project and project.lead else None,
        kind=escalation.kind,
        facts=escalation.facts,
        is_settled=escalation.settled_at is not None,
        status=escalation.status.value,
        picked_up_by_user_id=picked_up_by.slack_user_id if picked_up_by else None,
    )
