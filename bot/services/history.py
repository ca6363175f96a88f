"""`/pmo history KEY`: a project's audit trail, newest first, a page at a time.

Reads `audit_events` (storage/audit.py writes it); the sponsor, the lead and PMO admins may
read it, as they may change the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import portfolio
from bot.services.access import Actor, require_can_manage
from storage.models import AuditEvent, Person

PAGE_SIZE = 20


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: str  # a Slack user ID, or import, sync, webhook:..., scheduler, cli, system
    actor_name: str | None  # the person's last known name, when the actor is a person
    door: str
    record_type: str
    record_id: int | None
    operation: str
    fields: dict[str, Any]  # field -> [old, new]


@dataclass(frozen=True)
class HistoryPage:
    key: str
    name: str
    page: int  # 0 is the newest
    total: int
    changes: list[Change]

    @property
    def has_newer(self) -> bool:
        return self.page > 0

    @property
    def has_older(self) -> bool:
        return (self.page + 1) * PAGE_SIZE < self.total


def last_known_names(session: Session, user_ids: set[str]) -> dict[str, str]:
    """Slack user ID -> the name the bot last knew, for those it knows one of."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(Person.slack_user_id, Person.display_name).where(
            Person.slack_user_id.in_(user_ids), Person.display_name.is_not(None)
        )
    )
    return {user_id: name for user_id, name in rows}


def changes_of(session: Session, project_id: int, *, offset: int = 0, limit: int | None = None) -> list[Change]:
    query = select(AuditEvent).where(AuditEvent.project_id == project_id).order_by(AuditEvent.id.desc())
    rows = list(session.scalars(query.offset(offset).limit(limit)))
    names = last_known_names(session, {row.actor for row in rows})
    return [
        Change(
            row.at,
            row.actor,
            names.get(row.actor),
            row.door,
            row.record_type,
            row.record_id,
            row.operation,
            row.changes,
        )
        for row in rows
    ]


def project_history(session: Session, actor: Actor, key: str, *, page: int = 0) -> HistoryPage:
    project = portfolio.get_project(session, key)
    require_can_manage(actor, project, "read its history")
    total = session.scalar(select(func.count()).where(AuditEvent.project_id == project.id)) or 0
    page = max(0, min(page, max(0, (total - 1) // PAGE_SIZE)))
    changes = changes_of(session, project.id, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    return HistoryPage(project.key, project.name, page, total, changes)
