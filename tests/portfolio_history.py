"""A portfolio's past, written straight into the tables the digest and the governance rules read.

Check-ins go through the check-in service (so they are what a team could submit); the
prompt cycle, actions, incidents and escalations are rows as their features record them.
Periods are ISO weeks; a period's prompt is due on its Monday at 09:30 UTC (09:30 in
London in winter), and a check-in is submitted that Monday at 10:00 unless told otherwise.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy.orm import Session, sessionmaker

from bot.services import checkins, escalations, portfolio
from bot.services.access import Actor
from bot.services.checkins import CheckinInput
from bot.services.escalations import Cause
from storage.models import (
    Absence,
    Action,
    ActionStatus,
    CheckinPeriod,
    EscalationStatus,
    Incident,
    IncidentImpact,
    IncidentSeverity,
    IncidentStatus,
    Person,
    Project,
    Rag,
)
from storage.session import unit_of_work
from tests.conftest import NOW
from tests.factories import LEAD


def monday(period: str) -> date:
    return date.fromisocalendar(int(period[:4]), int(period[6:]), 1)


def due_at(period: str) -> datetime:
    return datetime.combine(monday(period), time(9, 30), tzinfo=timezone.utc)


def checkin(
    session_factory: sessionmaker[Session],
    key: str,
    period: str,
    rag: str,
    *,
    green_by: date | None = None,
    help_needed: str | None = None,
    at: datetime | None = None,
) -> None:
    submitted_at = at or datetime.combine(monday(period), time(10), tzinfo=timezone.utc)
    overall = Rag(rag)
    needs_path = overall is not Rag.GREEN
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, key)
        checkins.submit(
            session,
            project,
            Actor(LEAD, is_pmo_admin=True),
            period,
            CheckinInput(
                overall=overall,
                help_needed=help_needed,
                path_to_green="Re-plan with the supplier" if needs_path else None,
                path_to_green_date=(green_by or submitted_at.date() + timedelta(days=60)) if needs_path else None,
            ),
            now=submitted_at,
            tolerance=0.1,
        )


def prompted(
    session_factory: sessionmaker[Session],
    key: str,
    period: str,
    *,
    missed: bool = False,
    excused_reason: str | None = None,
) -> None:
    """The period's prompt went out; `missed` means it was recorded as missed two days later."""
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, key)
        session.add(
            CheckinPeriod(
                project_id=project.id,
                period=period,
                due_at=due_at(period),
                prompted_at=due_at(period),
                missed_at=due_at(period) + timedelta(hours=48) if missed else None,
                excused_reason=excused_reason,
            )
        )


def action(
    session_factory: sessionmaker[Session], key: str, title: str, *, due: date, status: str = "open", owner: str = LEAD
) -> None:
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, key)
        person = session.query(Person).filter_by(slack_user_id=owner).one()
        session.add(
            Action(
                project_id=project.id,
                title=title,
                owner_id=person.id,
                due_date=due,
                status=ActionStatus(status),
                created_at=NOW - timedelta(days=90),
            )
        )


def incident(
    session_factory: sessionmaker[Session],
    key: str,
    *,
    delays: dict[str, int | None],
    not_affected: tuple[str, ...] = (),
    declared_at: datetime = NOW - timedelta(days=2),
    resolved_at: datetime | None = None,
) -> int:
    """An incident affecting the projects in `delays` (expected delay in days, None: not assessed)."""
    with unit_of_work(session_factory) as session:
        row = Incident(
            key=key,
            summary="Payments service down",
            severity=IncidentSeverity.SEV1,
            status=IncidentStatus.RESOLVED if resolved_at else IncidentStatus.OPEN,
            declared_at=declared_at,
            resolved_at=resolved_at,
        )
        for project_key, delay in [*delays.items(), *((k, None) for k in not_affected)]:
            row.impacts.append(
                IncidentImpact(
                    project=portfolio.get_project(session, project_key),
                    expected_delay_days=delay,
                    not_affected=project_key in not_affected,
                    created_at=declared_at,
                )
            )
        session.add(row)
        session.flush()
        return row.id


def lead_away(session_factory: sessionmaker[Session], user_id: str, start: date, end: date) -> None:
    with unit_of_work(session_factory) as session:
        person = session.query(Person).filter_by(slack_user_id=user_id).one()
        person.absences.append(Absence(first_day=start, last_day=end, created_at=NOW))


def raise_escalation(
    session_factory: sessionmaker[Session], cause: Cause, key: str | None, *, status: str = "open"
) -> None:
    with unit_of_work(session_factory) as session:
        project = session.query(Project).filter_by(key=key).one() if key else None
        raised = escalations.raise_or_update(session, cause, project=project, now=NOW - timedelta(days=5))
        raised.status = EscalationStatus(status)


def in_programme(session_factory: sessionmaker[Session], key: str, programme: str) -> None:
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, key)
        project.programme = portfolio.get_or_create_programme(session, programme, now=NOW)
