"""Upkeep of the `project_health` summary: one session hook marks a project's row stale in the
same transaction as any change to what the row is derived from.

Bulk inserts through the session (`session.execute(insert(Model), rows)`) are seen too. Two
things are not: a bulk UPDATE or DELETE of those records, and projects inserted in bulk
(their rows are made by whoever inserts them, as the migration and the benchmark seed do);
nothing in the bot does either today.

Other modules never call this: a check-in, action, benefit, benefit value, incident,
incident impact or project written through any session of the factory marks its project.
Marking is bookkeeping only (as_of NULL, version + 1); bot/services/health.py recomputes
stale rows before anyone reads them, and the version makes sure a recomputation that read
the records before this change cannot mark the row fresh again. A new project gets its
(stale) row here, so every project has one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event, insert, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from storage.models import (
    Action,
    Benefit,
    BenefitValue,
    Checkin,
    Incident,
    IncidentImpact,
    Project,
    ProjectHealth,
)

# Records whose own project_id says which row they change.
_WITH_PROJECT_ID = (Checkin, Action, Benefit, IncidentImpact)


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "after_flush", _mark_stale)
    event.listen(factory, "do_orm_execute", _mark_stale_for_bulk_inserts)


def _mark_stale_for_bulk_inserts(state: ORMExecuteState) -> None:
    """`session.execute(insert(Model), rows)` never passes through a flush (an incident's
    impacts on a thousand projects are inserted so): mark the projects its rows name."""
    if not state.is_insert or state.bind_mapper is None:
        return
    model = state.bind_mapper.class_
    rows = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
    if model in _WITH_PROJECT_ID:
        project_ids = {row["project_id"] for row in rows if row.get("project_id") is not None}
        _mark(state.session.connection(), project_ids)
    elif model is BenefitValue:
        benefit_ids = {row["benefit_id"] for row in rows if row.get("benefit_id") is not None}
        connection = state.session.connection()
        _mark(connection, set(connection.scalars(select(Benefit.project_id).where(Benefit.id.in_(benefit_ids)))))


def _mark(connection: Connection, project_ids: set[int]) -> None:
    if project_ids:
        connection.execute(
            update(ProjectHealth)
            .where(ProjectHealth.project_id.in_(sorted(project_ids)))
            .values(as_of=None, version=ProjectHealth.version + 1)
        )


def _project_ids_of(obj: Any) -> set[int]:
    """The project now and, if it moved, the one it was on."""
    state = inspect(obj)
    ids = {state.dict.get("project_id")}
    if "project_id" in state.attrs:
        ids.update(state.attrs.project_id.history.deleted or ())
    return {project_id for project_id in ids if project_id is not None}


def _mark_stale(session: Session, _flush_context: Any) -> None:
    changed = [*session.new, *session.dirty, *session.deleted]
    new_projects = [obj.id for obj in session.new if isinstance(obj, Project)]
    project_ids: set[int] = {obj.id for obj in changed if isinstance(obj, Project) and obj.id not in new_projects}
    benefit_ids: set[int] = set()
    incident_ids: set[int] = set()
    for obj in changed:
        if isinstance(obj, _WITH_PROJECT_ID):
            project_ids |= _project_ids_of(obj)
        elif isinstance(obj, BenefitValue) and obj.benefit_id is not None:
            benefit_ids.add(obj.benefit_id)
        elif isinstance(obj, Incident) and obj.id is not None:
            incident_ids.add(obj.id)
    connection = session.connection()
    if benefit_ids:
        project_ids |= set(connection.scalars(select(Benefit.project_id).where(Benefit.id.in_(benefit_ids))))
    if incident_ids:
        project_ids |= set(
            connection.scalars(select(IncidentImpact.project_id).where(IncidentImpact.incident_id.in_(incident_ids)))
        )
    if new_projects:
        connection.execute(
            insert(ProjectHealth),
            [
                {
                    "project_id": project_id,
                    "as_of": None,
                    "version": 1,
                    "overdue_actions": 0,
                    "benefits_off_trajectory": 0,
                    "open_incidents": 0,
                    "sort_key": "",
                }
                for project_id in new_projects
            ],
        )
    _mark(connection, project_ids)
