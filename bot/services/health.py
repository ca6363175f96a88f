"""Each project's health as the status table shows it: latest status and trend, last check-in,
overdue actions, benefits off trajectory, open incidents, and its place worst first.

`compute` derives it from the source records (one query per measure for any number of
projects). The `project_health` table keeps it so that a page of the table, the Home tab
and the digest's counts are one indexed read whatever the portfolio's size: a session hook
(storage/health.py) marks a project's row stale whenever something it is derived from
changes, and `refresh` recomputes stale rows and rows computed for another day (an action
becomes overdue, a benefit falls behind its trajectory, by the date alone). Every read
refreshes first, and the tick refreshes too, so the first read of a day finds it done.

Actions and incidents are read straight from their tables: an action is overdue when it
is open and its due date is before today; an incident counts against a project while it
is open and the project has not said it is unaffected.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Row, ScalarSelect, Select, and_, bindparam, false, func, or_, select, true, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement

from bot.services.benefits import Plan, assess, latest_value_rank, measurable
from bot.services.checkins import RAG_ORDER
from storage.models import (
    Action,
    ActionStatus,
    Benefit,
    BenefitValue,
    Checkin,
    Incident,
    IncidentImpact,
    IncidentStatus,
    Project,
    ProjectHealth,
    ProjectStatus,
    Rag,
)


class Trend(enum.StrEnum):
    """The latest status against the previous period's."""

    BETTER = "better"
    SAME = "same"
    WORSE = "worse"


def trend(latest: Rag | None, previous: Rag | None) -> Trend | None:
    """None when there is nothing to compare: no status yet, or only one period reported."""
    if latest is None or previous is None:
        return None
    if RAG_ORDER[latest] < RAG_ORDER[previous]:
        return Trend.BETTER
    if RAG_ORDER[latest] > RAG_ORDER[previous]:
        return Trend.WORSE
    return Trend.SAME


@dataclass(frozen=True)
class StatusRow:
    """One project in the status table."""

    key: str
    name: str
    rag: Rag | None  # the latest check-in of the latest period reported
    trend: Trend | None
    last_checkin_at: datetime | None
    overdue_actions: int
    benefits_off_trajectory: int
    open_incidents: int
    previous_rag: Rag | None = field(default=None, compare=False)  # what the trend compares with
    confidence: str | None = None  # the latest check-in's level as given on a dca scale; None on rag
    project_status: ProjectStatus = ProjectStatus.ACTIVE  # which tables and counts list it


# Worst first: Red, Amber, Green, then projects that never reported (they have no status
# to rank, and a missed week already reaches the PMO as its own alert). Within a colour:
# getting worse before steady before getting better, then more overdue actions, more
# benefits off trajectory, more open incidents, then the stalest check-in; the key last,
# so equal rows keep one order from page to page.
_RAG_RANK = {Rag.RED: 0, Rag.AMBER: 1, Rag.GREEN: 2}
_NO_STATUS_RANK = 3
_TREND_RANK = {Trend.WORSE: 0, Trend.SAME: 1, None: 1, Trend.BETTER: 2}
_MAX_COUNT = 999_999  # counts above it sort as equals
_NO_CHECKIN = "0" + " " * 20


def worst_first(row: StatusRow) -> str:
    """Sort key for the status table (see the comment above), as one string a database index orders.

    Fixed-width fields, so comparing the strings compares the fields in turn: counts are
    stored as their distance from _MAX_COUNT (more sorts first), a project that never
    checked in before the stalest check-in, instants in UTC.
    """
    checked_in = (
        "1" + row.last_checkin_at.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S%f")
        if row.last_checkin_at
        else _NO_CHECKIN
    )
    counts = "".join(
        f"{_MAX_COUNT - min(count, _MAX_COUNT):06d}"
        for count in (row.overdue_actions, row.benefits_off_trajectory, row.open_incidents)
    )
    rank = _RAG_RANK[row.rag] if row.rag else _NO_STATUS_RANK
    return f"{rank}{_TREND_RANK[row.trend]}{counts}{checked_in}{row.key}"


# --- computing it from the records ---------------------------------------------------------


def compute(session: Session, project_ids: Iterable[int], *, today: date, tolerance: float) -> dict[int, StatusRow]:
    """Each of these projects' health as of `today`, derived from scratch (closed ones too)."""
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    in_scope = select(Project.id).where(Project.id.in_(ids)).correlate(None)
    overdue = _overdue_actions(session, in_scope, today)
    off_trajectory = _benefits_off_trajectory(session, in_scope, today, tolerance)
    incidents = _open_incidents(session, in_scope)
    return {
        project_id: StatusRow(
            key=key,
            name=name,
            rag=rag,
            trend=trend(rag, previous_rag),
            last_checkin_at=checked_in_at,
            overdue_actions=overdue.get(project_id, 0),
            benefits_off_trajectory=off_trajectory.get(project_id, 0),
            open_incidents=incidents.get(project_id, 0),
            previous_rag=previous_rag,
            confidence=given,
            project_status=status,
        )
        for project_id, key, name, status, rag, checked_in_at, previous_rag, given in _latest_statuses(
            session, in_scope
        )
    }


def _latest_checkin(column: ColumnElement[Any], *conditions: ColumnElement[bool]) -> ScalarSelect[Any]:
    """`column` of the project's latest check-in (latest period, then latest revision).

    Correlated per project, each is one seek on the (project_id, period, revision) unique
    index, so the cost follows the number of projects, not the length of their history.
    """
    return (
        select(column)
        .where(Checkin.project_id == Project.id, *conditions)
        .order_by(Checkin.period.desc(), Checkin.revision.desc())
        .limit(1)
        .correlate(Project)
        .scalar_subquery()
    )


def _latest_statuses(session: Session, in_scope: Select[tuple[int]]) -> Sequence[Row[Any]]:
    """Per project: id, key, name, the project's own status (active, paused, closed), latest
    reported status, when it was submitted, the previous period's status, the latest level as
    given on a dca scale."""
    reported = aliased(Checkin)
    latest_period = (
        select(func.max(reported.period)).where(reported.project_id == Project.id).correlate(Project).scalar_subquery()
    )
    return session.execute(
        select(
            Project.id,
            Project.key,
            Project.name,
            Project.status,
            _latest_checkin(Checkin.overall_rag),
            _latest_checkin(Checkin.submitted_at),
            _latest_checkin(Checkin.overall_rag, Checkin.period < latest_period),
            _latest_checkin(Checkin.confidence),
        ).where(Project.id.in_(in_scope))
    ).all()


def _overdue_actions(session: Session, in_scope: Select[tuple[int]], today: date) -> dict[int, int]:
    rows = session.execute(
        select(Action.project_id, func.count())
        .where(Action.status == ActionStatus.OPEN, Action.due_date < today, Action.project_id.in_(in_scope))
        .group_by(Action.project_id)
    )
    return {project_id: count for project_id, count in rows}


def _open_incidents(session: Session, in_scope: Select[tuple[int]]) -> dict[int, int]:
    rows = session.execute(
        select(IncidentImpact.project_id, func.count())
        .join(Incident, Incident.id == IncidentImpact.incident_id)
        .where(
            Incident.status == IncidentStatus.OPEN,
            IncidentImpact.not_affected.is_(false()),
            IncidentImpact.project_id.in_(in_scope),
        )
        .group_by(IncidentImpact.project_id)
    )
    return {project_id: count for project_id, count in rows}


def _benefits_off_trajectory(
    session: Session, in_scope: Select[tuple[int]], today: date, tolerance: float
) -> dict[int, int]:
    """Active benefits whose latest value is off trajectory, by project (the rule of `benefits.trajectory`)."""
    tracked = select(Benefit.id).where(Benefit.is_active, measurable(), Benefit.project_id.in_(in_scope))
    ranked = (
        select(
            BenefitValue.benefit_id,
            BenefitValue.value,
            BenefitValue.measured_on,
            latest_value_rank(),
        )
        .where(BenefitValue.measured_on <= today, BenefitValue.benefit_id.in_(tracked))
        .subquery()
    )
    rows = session.execute(
        select(
            Benefit.project_id,
            Benefit.baseline,
            Benefit.target,
            Benefit.target_date,
            Benefit.created_at,
            func.coalesce(Benefit.plan_start_date, Project.start_date),
            ranked.c.value,
            ranked.c.measured_on,
        )
        .join(Project, Project.id == Benefit.project_id)
        .join(ranked, and_(ranked.c.benefit_id == Benefit.id, ranked.c.recency == 1))
    )
    counts: dict[int, int] = {}
    for project_id, baseline, target, target_date, created_at, start_date, value, measured_on in rows:
        # The same start as benefits.planned_start: the baseline's date, else the project's start, else
        # the day the benefit was added.
        plan = Plan(baseline, target, start_date or created_at.date(), target_date)
        if assess(plan, value, measured_on, on=today, tolerance=tolerance).is_off_track:
            counts[project_id] = counts.get(project_id, 0) + 1
    return counts


# --- keeping the summary ---------------------------------------------------------------------

REFRESH_BATCH = 1000  # projects recomputed per round: bounded memory on the day everything turns stale


def _stale(today: date) -> ColumnElement[bool]:
    # Three index ranges rather than `<>`, so the check costs a probe when nothing is stale.
    return or_(ProjectHealth.as_of.is_(None), ProjectHealth.as_of < today, ProjectHealth.as_of > today)


def refresh(session: Session, *, today: date, tolerance: float) -> int:
    """Recompute every stale row and every row computed for another day; how many were written.

    A row changed again after it was read here (its version moved on) is left stale for
    the next read: this computation may not have seen that change.
    """
    # One probe of the as_of index first: the ordered batches below walk the primary key, which
    # costs a scan of the portfolio when, as on almost every read, nothing is stale.
    if session.scalar(select(ProjectHealth.project_id).where(_stale(today)).limit(1)) is None:
        return 0
    written = 0
    after = 0
    while True:
        stale = session.execute(
            select(ProjectHealth.project_id, ProjectHealth.version)
            .where(_stale(today), ProjectHealth.project_id > after)
            .order_by(ProjectHealth.project_id)
            .limit(REFRESH_BATCH)
        ).all()
        if not stale:
            return written
        after = stale[-1].project_id
        rows = compute(session, (project_id for project_id, _ in stale), today=today, tolerance=tolerance)
        values = [
            {
                "row_id": project_id,
                "seen_version": version,
                "as_of": today,
                "rag": row.rag,
                "previous_rag": row.previous_rag,
                "last_checkin_at": row.last_checkin_at,
                "overdue_actions": row.overdue_actions,
                "benefits_off_trajectory": row.benefits_off_trajectory,
                "open_incidents": row.open_incidents,
                "confidence": row.confidence,
                "project_status": row.project_status,
                "sort_key": worst_first(row),
            }
            for project_id, version in stale
            if (row := rows.get(project_id)) is not None
        ]
        if values:
            session.connection().execute(
                update(ProjectHealth)
                .where(
                    ProjectHealth.project_id == bindparam("row_id"),
                    ProjectHealth.version == bindparam("seen_version"),
                )
                .values(
                    {
                        column: bindparam(column)
                        for column in (
                            "as_of",
                            "rag",
                            "previous_rag",
                            "last_checkin_at",
                            "overdue_actions",
                            "benefits_off_trajectory",
                            "open_incidents",
                            "confidence",
                            "project_status",
                            "sort_key",
                        )
                    }
                ),
                values,
            )
            written += len(values)


# --- reading it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TablePage:
    """One page of the status table, with what the whole table counts."""

    rows: list[StatusRow]
    page: int  # 0 is the first; a page past the end shows the last one
    pages: int
    total: int
    rag_counts: Counter[Rag | None]


def _row(key: str, name: str, health: ProjectHealth) -> StatusRow:
    return StatusRow(
        key=key,
        name=name,
        rag=health.rag,
        trend=trend(health.rag, health.previous_rag),
        last_checkin_at=health.last_checkin_at,
        overdue_actions=health.overdue_actions,
        benefits_off_trajectory=health.benefits_off_trajectory,
        open_incidents=health.open_incidents,
        previous_rag=health.previous_rag,
        confidence=health.confidence,
        project_status=health.project_status,
    )


def status_counts(
    session: Session, listed: ColumnElement[bool], *, today: date, tolerance: float
) -> tuple[Counter[Rag | None], Counter[str]]:
    """How many of the projects matching `listed` have each latest status (None: none yet), and,
    of those whose latest check-in was given on a dca scale, how many at each level (as
    `checkins.confidence` stores it); one read of the summary."""
    refresh(session, today=today, tolerance=tolerance)
    by_rag: Counter[Rag | None] = Counter()
    by_level: Counter[str] = Counter()
    rows = session.execute(
        select(ProjectHealth.rag, ProjectHealth.confidence, func.count())
        .join(Project, Project.id == ProjectHealth.project_id)
        .where(listed)
        .group_by(ProjectHealth.rag, ProjectHealth.confidence)
    )
    for rag, given, count in rows:
        by_rag[rag] += count
        if given is not None:
            by_level[given] += count
    return by_rag, by_level


# What the status table lists: every project but the closed ones.
_LISTED = ProjectHealth.project_status != ProjectStatus.CLOSED


def _counts(session: Session, scope: ColumnElement[bool] | None) -> Counter[Rag | None]:
    query = select(ProjectHealth.rag, func.count()).where(_LISTED).group_by(ProjectHealth.rag)
    if scope is not None:
        query = query.join(Project, Project.id == ProjectHealth.project_id).where(scope)
    return Counter({rag: count for rag, count in session.execute(query)})


def table_page(
    session: Session, scope: ColumnElement[bool] | None, *, page: int, page_size: int, today: date, tolerance: float
) -> TablePage:
    """Page `page` of the projects in `scope` (None: the whole portfolio) that are not closed, worst first.

    Two reads after the refresh: the count by colour, and the page itself, in the order of
    the sort-key index, so its cost follows the page shown rather than the portfolio. The
    whole portfolio's count reads only the summary's (project status, colour) index: the
    summary keeps each project's status for it, so no join with the projects is needed.
    """
    refresh(session, today=today, tolerance=tolerance)
    counts = _counts(session, scope)
    total = sum(counts.values())
    pages = max(1, -(-total // page_size))
    page = min(max(page, 0), pages - 1)
    shown = session.execute(
        select(Project.key, Project.name, ProjectHealth)
        .join(Project, Project.id == ProjectHealth.project_id)
        .where(_LISTED, true() if scope is None else scope)
        .order_by(ProjectHealth.sort_key)
        .offset(page * page_size)
        .limit(page_size)
    ).all()
    return TablePage([_row(key, name, health) for key, name, health in shown], page, pages, total, counts)
