"""A large, lived-in portfolio for the benchmarks, bulk inserted (the benchmarks measure reading it).

Eight weeks of history (2026-W41 to 2026-W48) on a 5,000-project portfolio by default:
check-in periods with their prompts in the outgoing-message ledger, check-ins (some
amended, some missed and escalated), ten actions a project, a benefit with monthly values,
and a few incidents. A tenth of the projects have a cadence of their own, in four
timezones. Deterministic: the same arguments give the same rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.services.cadence import Cadence, period_of
from storage.base import Base
from storage.models import (
    Action,
    ActionStatus,
    Benefit,
    BenefitValue,
    ChannelLink,
    Checkin,
    CheckinPeriod,
    DeliveryStatus,
    Escalation,
    EscalationStatus,
    Incident,
    IncidentImpact,
    IncidentSeverity,
    IncidentStatus,
    OutgoingMessage,
    Person,
    Project,
    ProjectStatus,
    Rag,
)

TEAM_ID = "T0BENCH"
PMO_ADMIN = "U0PMOADMIN"
CREATED = datetime(2026, 9, 1, tzinfo=timezone.utc)
TODAY = date(2026, 11, 25)  # Wednesday of 2026-W48, the week the benchmarks run in
WEEKS = [period_of(date(2026, 10, 5) + timedelta(weeks=n)) for n in range(8)]  # 2026-W41 .. 2026-W48
DEFAULT_CADENCE = Cadence(0, "09:30", "Europe/London")
OWN_CADENCES = [
    Cadence(1, "10:00", "Europe/London"),
    Cadence(2, "09:00", "America/New_York"),
    Cadence(3, "14:00", "Asia/Kolkata"),
    Cadence(4, "08:30", "Australia/Sydney"),
]
BATCH = 5000


@dataclass(frozen=True)
class Portfolio:
    projects: int
    actions: int
    people: list[str]  # Slack user ids: the PMO admin, sponsors, leads (who also own the actions)
    channel_ids: list[str]  # each project's primary channel
    late_project_ids: list[int]  # their W48 prompt is still to come (see `seed`)


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def _ids(session: Session, column: Any, key: Any) -> dict[Any, int]:
    return {row[0]: row[1] for row in session.execute(select(key, column))}


def seed(
    session_factory: sessionmaker[Session], *, projects: int = 5000, actions_per_project: int = 10, late: int = 0
) -> Portfolio:
    """`late` projects have their cadence on Wednesday 12:00 Europe/London (12:00 UTC in
    November) and no 2026-W48 period yet: a tick at that instant owes each of them a prompt."""
    rng = random.Random(4)
    with session_factory() as session:
        people = [PMO_ADMIN] + [f"U{n:07d}" for n in range(projects // 2 + projects // 10)]
        _insert(session, Person, [{"slack_user_id": uid, "created_at": CREATED} for uid in people])
        person_ids = _ids(session, Person.id, Person.slack_user_id)
        sponsors = [person_ids[uid] for uid in people[1 : 1 + projects // 10]]
        leads = [person_ids[uid] for uid in people[1 + projects // 10 :]]

        project_rows = []
        for n in range(projects):
            status = ProjectStatus.ACTIVE
            if n % 20 == 7:
                status = ProjectStatus.PAUSED
            elif n % 20 == 13:
                status = ProjectStatus.CLOSED
            own = OWN_CADENCES[n % len(OWN_CADENCES)] if n % 10 == 3 else None
            if n < late:
                own, status = Cadence(2, "12:00", "Europe/London"), ProjectStatus.ACTIVE
            project_rows.append(
                {
                    "key": f"P-{n:04d}",
                    "name": f"Project {n} " + rng.choice(["records", "payments", "portal", "migration", "estates"]),
                    "status": status,
                    "sponsor_id": sponsors[n % len(sponsors)],
                    "lead_id": leads[n % len(leads)],
                    "checkin_day": own.weekday if own else None,
                    "checkin_time": own.time_of_day if own else None,
                    "timezone": own.timezone if own else None,
                    "created_at": CREATED,
                    "updated_at": CREATED,
                }
            )
        _insert(session, Project, project_rows)
        project_ids = _ids(session, Project.id, Project.key)
        rows_by_id = {project_ids[row["key"]]: row for row in project_rows}
        late_ids = [project_ids[f"P-{n:04d}"] for n in range(late)]

        _insert(
            session,
            ChannelLink,
            [
                {
                    "team_id": TEAM_ID,
                    "channel_id": f"C{project_id:07d}",  # as Portfolio.channel_ids lists them
                    "project_id": project_id,
                    "is_primary": True,
                    "created_at": CREATED,
                }
                for project_id in rows_by_id
            ],
        )
        _seed_history(session, rows_by_id, set(late_ids), rng)
        _seed_actions(session, list(rows_by_id), person_ids, people, actions_per_project, rng)
        _seed_benefits(session, list(rows_by_id), rng)
        _seed_incidents(session, list(rows_by_id), rng)
        session.commit()
    channel_ids = [f"C{project_id:07d}" for project_id in rows_by_id]
    return Portfolio(projects, projects * actions_per_project, people, channel_ids, late_ids)


def _cadence(row: dict[str, Any]) -> Cadence:
    if row["checkin_day"] is None:
        return DEFAULT_CADENCE
    return Cadence(row["checkin_day"], row["checkin_time"], row["timezone"])


def _seed_history(session: Session, rows_by_id: dict[int, dict[str, Any]], late: set[int], rng: random.Random) -> None:
    """Each active project's periods: prompted, then answered (sometimes amended) or reminded, missed and escalated."""
    periods, checkins, messages, escalations = [], [], [], []
    for project_id, row in rows_by_id.items():
        if row["status"] is not ProjectStatus.ACTIVE:
            continue
        cadence = _cadence(row)
        rag = rng.choice(list(Rag))
        for period in WEEKS:
            if project_id in late and period == WEEKS[-1]:
                continue
            monday = date.fromisocalendar(int(period[:4]), int(period[6:]), 1)
            due_at = cadence.instant_on(monday + timedelta(days=cadence.weekday))
            answered = rng.random() < 0.85
            periods.append(
                {
                    "project_id": project_id,
                    "period": period,
                    "due_at": due_at,
                    "prompted_at": due_at,
                    "reminded_at": None if answered else due_at + timedelta(hours=24),
                    "missed_at": None if answered else due_at + timedelta(hours=48),
                    # As the ticks since would have recorded it.
                    "answered_seen_at": due_at + timedelta(days=1) if answered else None,
                }
            )
            messages.append(_sent(f"checkin-prompt:{project_id}:{period}", f"C{project_id:07d}", due_at))
            if not answered:
                cause = f"checkin-missed:{row['key']}:{period}"
                escalations.append(_escalation(cause, project_id, period, due_at + timedelta(hours=48)))
                messages.append(_sent(f"escalation:{cause}", "C0PMO", due_at + timedelta(hours=48)))
                continue
            # Statuses drift a step at a time, as they do.
            rag = rng.choice([rag, rag, rag, rng.choice(list(Rag))])
            for revision in range(1, 2 + (rng.random() < 0.1)):
                checkins.append(
                    {
                        "project_id": project_id,
                        "period": period,
                        "revision": revision,
                        "submitted_by_id": row["lead_id"],
                        "submitted_at": due_at + timedelta(hours=2, minutes=revision),
                        "overall_rag": rag,
                        "progress": "Moved the data across; testing next.",
                        "escalate_to_pmo": False,
                    }
                )
    _insert(session, CheckinPeriod, periods)
    _insert(session, Checkin, checkins)
    _insert(session, Escalation, escalations)
    _insert(session, OutgoingMessage, messages)


def _sent(key: str, channel_id: str, at: datetime) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "method": "chat.postMessage",
        "channel_id": channel_id,
        "payload": {"channel": channel_id, "text": key},
        "status": DeliveryStatus.SENT,
        "attempts": 1,
        "message_ts": f"{at.timestamp():.6f}",
        "created_at": at,
        "sent_at": at,
    }


def _escalation(cause_key: str, project_id: int, period: str, at: datetime) -> dict[str, Any]:
    return {
        "cause_key": cause_key,
        "kind": "checkin_missed",
        "project_id": project_id,
        "period": period,
        "reason": f"No check-in for {period}.",
        "status": EscalationStatus.ACKNOWLEDGED,
        "created_at": at,
        "updated_at": at,
        "alert_seen_in_ledger_at": at,  # its alert is in the ledger, as the next tick would have recorded
    }


def _seed_actions(
    session: Session,
    project_ids: list[int],
    person_ids: dict[str, int],
    people: list[str],
    per_project: int,
    rng: random.Random,
) -> None:
    owners = [person_ids[uid] for uid in people[1:]]
    statuses = [ActionStatus.OPEN] * 12 + [ActionStatus.DONE] * 7 + [ActionStatus.DROPPED]
    _insert(
        session,
        Action,
        [
            {
                "project_id": project_id,
                "title": f"Action {n} for project {project_id}",
                "owner_id": rng.choice(owners),
                "due_date": TODAY + timedelta(days=rng.randint(-30, 60)),
                "status": rng.choice(statuses),
                "created_at": CREATED,
            }
            for project_id in project_ids
            for n in range(per_project)
        ],
    )


def _seed_benefits(session: Session, project_ids: list[int], rng: random.Random) -> None:
    _insert(
        session,
        Benefit,
        [
            {
                "project_id": project_id,
                "name": "Calls avoided",
                "measure": "Calls about address changes",
                "unit": "calls/month",
                "baseline": Decimal(0),
                "target": Decimal(1000),
                "target_date": date(2027, 6, 30),
                "is_active": True,
                "created_at": CREATED,
            }
            for project_id in project_ids
        ],
    )
    benefit_ids = list(session.scalars(select(Benefit.id)))
    _insert(
        session,
        BenefitValue,
        [
            {
                "benefit_id": benefit_id,
                "value": Decimal(rng.randint(0, 400)),
                "measured_on": measured_on,
                "period": period_of(measured_on),
                "reported_at": datetime.combine(measured_on, time(9), tzinfo=timezone.utc),
            }
            for benefit_id in benefit_ids
            for measured_on in (date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 20))
        ],
    )


def _seed_incidents(session: Session, project_ids: list[int], rng: random.Random) -> None:
    declared = datetime(2026, 11, 24, 8, tzinfo=timezone.utc)
    _insert(
        session,
        Incident,
        [
            {
                "key": f"INC-{n}",
                "summary": f"Service {n} degraded",
                "severity": IncidentSeverity.SEV2,
                "status": IncidentStatus.OPEN if n < 20 else IncidentStatus.RESOLVED,
                "declared_at": declared,
            }
            for n in range(70)
        ],
    )
    incident_ids = list(session.scalars(select(Incident.id)))
    _insert(
        session,
        IncidentImpact,
        [
            {
                "incident_id": incident_id,
                "project_id": project_id,
                "pauses_project": False,
                "not_affected": rng.random() < 0.2,
                "created_at": declared,
            }
            for incident_id in incident_ids
            for project_id in rng.sample(project_ids, 10)
        ],
    )
