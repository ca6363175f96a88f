"""Upkeep of the derived per-project rows, in the same transaction as any change to what they
are derived from: `project_health` (the status summary) and `prompt_schedule` (when the
prompt job next looks at a project). One session hook does both.

Bulk inserts through the session (`session.execute(insert(Model), rows)`) are seen too,
projects' included (the benchmarks' seeds insert so). What is not: a bulk UPDATE or DELETE of
those records; nothing in the bot does either today.

Other modules never call this: a check-in, action, benefit, benefit value, incident,
incident impact or project written through any session of the factory marks its project's
summary stale. Marking is bookkeeping only (as_of NULL, version + 1); bot/services/health.py
recomputes stale rows before anyone reads them, and the version makes sure a recomputation
that read the records before this change cannot mark the row fresh again. A new project
gets its (stale) rows here, so every project has both.

What can make a check-in prompt due sooner than its schedule says (the project's cadence,
status or creation, its channel links, an incident's impact on it, a skip date taken off the
list) clears the project's `check_at` the same way, so the next tick looks at it again.
Inserting impacts or skip dates only ever makes a prompt due later, so bulk inserts of those
need no recheck.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Result, event, insert, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from storage.models import (
    Action,
    Benefit,
    BenefitValue,
    ChannelLink,
    Checkin,
    Incident,
    IncidentImpact,
    Project,
    ProjectHealth,
    PromptSchedule,
    SkipDate,
)

# Records whose own project_id says which row they change.
_WITH_PROJECT_ID = (Checkin, Action, Benefit, IncidentImpact)


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "after_flush", _mark_stale)
    event.listen(factory, "do_orm_execute", _mark_stale_for_bulk_inserts)


def _mark_stale_for_bulk_inserts(state: ORMExecuteState) -> Result[Any] | None:
    """`session.execute(insert(Model), rows)` never passes through a flush (an incident's
    impacts on a thousand projects are inserted so): mark the projects its rows name, or
    give the projects it inserts their derived rows."""
    if not state.is_insert or state.bind_mapper is None:
        return None
    model = state.bind_mapper.class_
    if model is Project:
        # Their ids exist only once the insert has run: run it, then give every project
        # without its derived rows a pair.
        inserted = state.invoke_statement()
        connection = state.session.connection()
        _add_derived_rows(
            connection,
            list(connection.scalars(select(Project.id).where(Project.id.not_in(select(PromptSchedule.project_id))))),
        )
        return inserted
    rows = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
    if model in _WITH_PROJECT_ID:
        project_ids = {row["project_id"] for row in rows if row.get("project_id") is not None}
        _mark(state.session.connection(), project_ids)
    elif model is BenefitValue:
        benefit_ids = {row["benefit_id"] for row in rows if row.get("benefit_id") is not None}
        connection = state.session.connection()
        _mark(connection, set(connection.scalars(select(Benefit.project_id).where(Benefit.id.in_(benefit_ids)))))
    return None


def _add_derived_rows(connection: Connection, project_ids: list[int]) -> None:
    """New projects' summary (stale) and prompt schedule (look at the next tick) rows."""
    if not project_ids:
        return
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
            for project_id in project_ids
        ],
    )
    connection.execute(
        insert(PromptSchedule),
        [{"project_id": project_id, "check_at": None, "version": 1} for project_id in project_ids],
    )


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


def _recheck_prompts(connection: Connection, project_ids: set[int]) -> None:
    if project_ids:
        connection.execute(
            update(PromptSchedule)
            .where(PromptSchedule.project_id.in_(sorted(project_ids)))
            .values(check_at=None, version=PromptSchedule.version + 1)
        )


def _mark_stale(session: Session, _flush_context: Any) -> None:
    changed = [*session.new, *session.dirty, *session.deleted]
    new_projects = [obj.id for obj in session.new if isinstance(obj, Project)]
    project_ids: set[int] = {obj.id for obj in changed if isinstance(obj, Project) and obj.id not in new_projects}
    prompt_rechecks = set(project_ids)
    benefit_ids: set[int] = set()
    incident_ids: set[int] = set()
    for obj in changed:
        if isinstance(obj, _WITH_PROJECT_ID):
            project_ids |= _project_ids_of(obj)
            if isinstance(obj, IncidentImpact):
                prompt_rechecks |= _project_ids_of(obj)
        elif isinstance(obj, BenefitValue) and obj.benefit_id is not None:
            benefit_ids.add(obj.benefit_id)
        elif isinstance(obj, Incident) and obj.id is not None:
            incident_ids.add(obj.id)
        elif isinstance(obj, ChannelLink):
            prompt_rechecks |= _project_ids_of(obj)
    connection = session.connection()
    if benefit_ids:
        project_ids |= set(connection.scalars(select(Benefit.project_id).where(Benefit.id.in_(benefit_ids))))
    if incident_ids:
        impacted = set(
            connection.scalars(select(IncidentImpact.project_id).where(IncidentImpact.incident_id.in_(incident_ids)))
        )
        project_ids |= impacted
        prompt_rechecks |= impacted
    lifted_skips = {obj.team_id for obj in session.deleted if isinstance(obj, SkipDate)}
    if lifted_skips:
        prompt_rechecks |= set(
            connection.scalars(select(ChannelLink.project_id).where(ChannelLink.team_id.in_(lifted_skips)))
        )
    _add_derived_rows(connection, new_projects)
    _mark(connection, project_ids)
    _recheck_prompts(connection, prompt_rechecks)
