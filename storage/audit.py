"""The audit trail: one append-only `audit_events` row per change to a record, written by one session hook.

Services do not write audit rows themselves. `install` hooks every session of a factory:
after each flush, every created, changed or deleted record of an audited table becomes one
row (the fields that changed, with old and new values). Who made the change, through which
door and when come from `acting(...)`, which the request path (a Bolt middleware), the CLI,
the scheduler, the sync and the webhooks enter once; work outside any of them is recorded
as "system". Rows are only ever inserted: nothing here or elsewhere updates or deletes them,
and on PostgreSQL a trigger refuses both (migration 0007).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from storage.base import Base
from storage.models import Action, AuditEvent, Benefit, Checkin, Issue, Risk

# Bookkeeping nobody changes by hand: the delivery ledger, the scheduler's own state, the
# prompt periods the scheduler opens, and the trail itself.
NOT_AUDITED = frozenset({"audit_events", "outgoing_messages", "sync_states", "job_runs", "checkin_periods"})
# Columns that change on their own (learnt from Slack, touched on every save, or the delivery's
# bookkeeping).
IGNORED_COLUMNS = {
    "people": frozenset({"timezone", "unreachable_since", "created_at"}),
    "projects": frozenset({"updated_at"}),
    "incidents": frozenset({"announced_at", "replans_announced_at"}),
}
# How a record without a project_id of its own finds its project.
_PARENTS = {"action_id": (Action.id, Action.project_id), "benefit_id": (Benefit.id, Benefit.project_id)}
_PARENTS["checkin_id"] = (Checkin.id, Checkin.project_id)
_PARENTS["risk_id"] = (Risk.id, Risk.project_id)
_PARENTS["issue_id"] = (Issue.id, Issue.project_id)

# What retention removes (bot/services/retention.py) is never copied into the append-only
# trail, or the trail would keep it for ever: these are recorded as "(N characters)".
NARRATIVE_COLUMNS = {
    "checkins": frozenset({"progress", "next_steps", "risks_issues", "help_needed", "path_to_green"}),
    "risks": frozenset({"mitigation"}),
    "decision_requests": frozenset({"question"}),
}
NOTE_TEXT_KEY = "text"  # detail["text"] of an action's, a risk's or an issue's event: a note's words
NOTE_TABLES = frozenset({"action_events", "risk_events", "issue_events"})

SYSTEM = "system"


class Door(enum.StrEnum):
    COMMAND = "command"
    BUTTON = "button"
    FORM = "form"
    EVENT = "event"
    CLI = "cli"
    WEBHOOK = "webhook"
    SCHEDULER = "scheduler"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Origin:
    actor: str  # a Slack user ID, or import, sync, webhook:pagerduty, scheduler, cli
    door: Door
    at: datetime | None = None  # None: the real clock at the flush


_origin: ContextVar[Origin | None] = ContextVar("audit_origin", default=None)


@contextmanager
def acting(actor: str, door: Door, *, at: datetime | None = None) -> Iterator[Origin]:
    """Record the changes made inside the block as `actor`'s, through `door`, at `at`."""
    origin = Origin(actor, door, at)
    token = _origin.set(origin)
    try:
        yield origin
    finally:
        _origin.reset(token)


def begin(actor: str, door: Door, *, at: datetime | None = None) -> None:
    """Like `acting`, for the rest of this context: for a request path whose listener runs after
    the hook that knows the actor has returned (Bolt's middleware). The next request's
    middleware replaces it."""
    _origin.set(Origin(actor, door, at))


def current_origin() -> Origin | None:
    return _origin.get()


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "after_flush", _record_changes)


def _plain(value: Any) -> Any:
    """A column value as JSON can hold it."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return value
    return str(value)


def _withheld(text: str) -> str:
    return f"({len(text)} characters)"


def _value_of(obj: Base, key: str, value: Any) -> Any:
    if isinstance(value, str) and key in NARRATIVE_COLUMNS.get(obj.__tablename__, ()):
        return _withheld(value)
    if obj.__tablename__ in NOTE_TABLES and key == "detail" and isinstance(value, dict) and NOTE_TEXT_KEY in value:
        return {**value, NOTE_TEXT_KEY: _withheld(str(value[NOTE_TEXT_KEY]))}
    return _plain(value)


def _columns(obj: Base) -> list[str]:
    ignored = IGNORED_COLUMNS.get(obj.__tablename__, frozenset())
    return [attr.key for attr in inspect(obj).mapper.column_attrs if attr.key not in ignored]


def _created(obj: Base) -> dict[str, list[Any]]:
    values = inspect(obj).dict
    return {
        key: [None, _value_of(obj, key, values.get(key))]
        for key in _columns(obj)
        if key != "id" and values.get(key) is not None
    }


def _deleted(obj: Base) -> dict[str, list[Any]]:
    values = inspect(obj).dict  # what was loaded: a delete must not read the row it removes
    return {key: [_value_of(obj, key, values[key]), None] for key in _columns(obj) if values.get(key) is not None}


def _updated(obj: Base) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes = {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old != new:
            changes[key] = [_value_of(obj, key, old), _value_of(obj, key, new)]
    return changes


def _project_id(session: Session, obj: Base) -> int | None:
    if obj.__tablename__ == "projects":
        return obj.id  # type: ignore[attr-defined]
    values = inspect(obj).dict
    if values.get("project_id") is not None:
        return values["project_id"]
    for key, (parent_id, parent_project) in _PARENTS.items():
        parent = values.get(key.removesuffix("_id"))  # the parent already loaded: no query
        if parent is not None and getattr(parent, "project_id", None) is not None:
            return parent.project_id
        if values.get(key) is not None:
            return session.connection().scalar(select(parent_project).where(parent_id == values[key]))
    return None


@cache
def _table_order() -> dict[str, int]:
    return {table.name: position for position, table in enumerate(Base.metadata.sorted_tables)}


def _flush_order(obj: Any) -> tuple[int, int]:
    """Parents before children (a project before its actions, an action before its events), then by id."""
    order = _table_order()
    return (order.get(getattr(obj, "__tablename__", ""), len(order)), inspect(obj).dict.get("id") or 0)


def _record_changes(session: Session, _flush_context: Any) -> None:
    origin = _origin.get() or Origin(SYSTEM, Door.UNKNOWN)
    at = origin.at or datetime.now(timezone.utc)
    rows = []
    audited = [obj for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, Base)]
    if not audited:
        return
    for objects, operation, changes_of in (
        (session.new, "created", _created),
        (session.dirty, "updated", _updated),
        (session.deleted, "deleted", _deleted),
    ):
        for obj in sorted(objects, key=_flush_order):
            if obj.__tablename__ in NOT_AUDITED:
                continue
            changes = changes_of(obj)
            if operation == "updated" and not changes:
                continue
            rows.append(
                {
                    "at": at,
                    "actor": origin.actor,
                    "door": origin.door.value,
                    "record_type": obj.__tablename__,
                    "record_id": inspect(obj).dict.get("id"),
                    "project_id": _project_id(session, obj),
                    "operation": operation,
                    "changes": changes,
                }
            )
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def record(
    session: Session,
    *,
    record_type: str,
    record_id: int | None,
    project_id: int | None,
    operation: str,
    changes: dict[str, Any],
) -> None:
    """A row for what the hook cannot see: bulk removals such as retention's (still insert-only)."""
    origin = _origin.get() or Origin(SYSTEM, Door.UNKNOWN)
    session.execute(
        insert(AuditEvent).values(
            at=origin.at or datetime.now(timezone.utc),
            actor=origin.actor,
            door=origin.door.value,
            record_type=record_type,
            record_id=record_id,
            project_id=project_id,
            operation=operation,
            changes=changes,
        )
    )
