"""Re-planning after an incident: moving a paused project's open actions by the incident's duration.

When the service is back, the team may shift its open actions' due dates later by the time the
incident took (rounded up to whole days, moved off weekends and skip dates), once per incident;
the re-plan message offers it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import Conflict
from bot.services import incidents, nudges, people
from bot.services.access import Actor
from storage.models import Action, ActionEvent, ActionStatus, IncidentStatus

SHIFTED_EVENT = "shifted"


def days_to_shift(duration: timedelta) -> int:
    """An incident's duration in whole days, rounded up (at least one): how far open actions move."""
    return max(1, math.ceil(duration / timedelta(days=1)))


@dataclass(frozen=True)
class Shift:
    incident_id: int
    incident_key: str
    project_id: int
    project_key: str
    days: int
    actions_moved: int
    # Those whose date, N days later, was not a working day and moved on to the next one.
    moved_to_working_day: int = 0


def shift_open_actions(session: Session, actor: Actor, incident_key: str, project_key: str, *, now: datetime) -> Shift:
    """Move the project's open actions' due dates later by the incident's duration, once per incident."""
    incident, impact = incidents.get_impact(session, incident_key, project_key)
    project = impact.project
    incidents.require_can_speak_for(actor, project, "shift its actions")
    if incident.status is IncidentStatus.OPEN:
        raise Conflict(f"{incident.key} is still open: shift the actions once the service is back.")
    shifted_before = session.scalars(
        select(ActionEvent)
        .join(Action, Action.id == ActionEvent.action_id)
        .where(Action.project_id == project.id, ActionEvent.kind == SHIFTED_EVENT)
    )
    if any(event.detail.get("incident") == incident.key for event in shifted_before):
        raise Conflict(f"{project.key}'s open actions were already shifted for {incident.key}. Nothing changed.")
    assert incident.resolved_at is not None
    days = days_to_shift(incident.resolved_at - incident.declared_at)
    actor_id = people.get_or_create(session, actor.slack_user_id, now=now).id
    actions = list(
        session.scalars(
            select(Action)
            .where(Action.project_id == project.id, Action.status == ActionStatus.OPEN)
            .order_by(Action.id)
        )
    )
    latest = max((action.due_date for action in actions), default=now.date()) + timedelta(days=days)
    calendar = nudges.calendar_between(session, now.date(), latest + timedelta(days=30))
    moved_on = 0
    for action in actions:
        before = action.due_date
        # As a snooze does: a due date never lands on a weekend or skip date.
        action.due_date = calendar.on_or_after(before + timedelta(days=days))
        moved_on += action.due_date != before + timedelta(days=days)
        action.events.append(
            ActionEvent(
                kind=SHIFTED_EVENT,
                actor_id=actor_id,
                detail={
                    "incident": incident.key,
                    "days": days,
                    "from": before.isoformat(),
                    "to": action.due_date.isoformat(),
                },
                created_at=now,
            )
        )
    session.flush()
    return Shift(incident.id, incident.key, project.id, project.key, days, len(actions), moved_on)
