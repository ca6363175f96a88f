"""The weekly digest and the monthly governance pack for a large portfolio with a year of history.

Seeds N projects (default 5,000) with 52 weeks of check-in periods and check-ins (Amber
runs, slipping path-to-green dates, misses, a few excused weeks), five actions and two
benefits with monthly values a project, open incidents and open escalations. Then runs the
real scheduled jobs (`send_weekly_digest`, `send_governance_pack`) against the fake Slack
and prints the time each took; then builds the same digest and pack again under
tracemalloc and prints the peak memory Python allocated for each.

    python bench/digest.py                     # 5,000 projects, SQLite
    python bench/digest.py --projects 1000 --database-url postgresql://postgres@127.0.0.1/test

Deterministic: the same arguments give the same rows.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bench._common import chosen_database  # noqa: E402
from bench._common import parser as bench_parser  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.demo.fake_slack import FakeSlack  # noqa: E402
from bot.services import digest, pack  # noqa: E402
from bot.services.cadence import period_of  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402
from bot.slack_client import make_web_client  # noqa: E402
from handlers import charts  # noqa: E402
from handlers.blocks.digest import digest_blocks, pack_blocks  # noqa: E402
from handlers.digest import send_governance_pack, send_weekly_digest  # noqa: E402
from handlers.status import refresh_status_summary  # noqa: E402
from storage.base import Base  # noqa: E402
from storage.models import (  # noqa: E402
    Action,
    ActionStatus,
    Benefit,
    BenefitValue,
    Checkin,
    CheckinPeriod,
    Escalation,
    EscalationStatus,
    Incident,
    IncidentImpact,
    IncidentSeverity,
    IncidentStatus,
    Objective,
    Person,
    Programme,
    Project,
    ProjectStatus,
    Rag,
)
from storage.session import make_engine, make_session_factory, rebuild_schema  # noqa: E402

DIGEST_AT = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # Monday 09:00 Europe/London
PACK_AT = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # Tuesday: December's first working day
WEEKS = 52
CREATED = DIGEST_AT - timedelta(weeks=WEEKS + 1)
PMO_CHANNEL = "C0PMO"
TEAM_ID = "T0FAKE"
BATCH = 20_000


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def _ids(session: Session, model: Any, key: Any) -> dict[Any, int]:
    return {value: row_id for value, row_id in session.execute(select(key, model.id))}


def seed(session_factory: sessionmaker[Session], projects: int) -> dict[str, int]:
    """Bulk inserts: the benchmark measures reading the portfolio, not building it."""
    rng = random.Random(48)
    counts: dict[str, int] = {}
    with session_factory() as session:
        _insert(session, Objective, [{"name": f"Objective {n}", "created_at": CREATED} for n in range(20)])
        _insert(session, Programme, [{"name": f"Programme {n}", "created_at": CREATED} for n in range(50)])
        people = [f"U{n:08d}" for n in range(projects + 200)]
        _insert(session, Person, [{"slack_user_id": user, "created_at": CREATED} for user in people])
        person_ids = _ids(session, Person, Person.slack_user_id)
        objective_ids = list(_ids(session, Objective, Objective.name).values())
        programme_ids = list(_ids(session, Programme, Programme.name).values())
        _insert(
            session,
            Project,
            [
                {
                    "key": f"P-{n}",
                    "name": f"Project {n} for the residents of the borough",
                    "status": ProjectStatus.ACTIVE,
                    "objective_id": objective_ids[n % len(objective_ids)],
                    "programme_id": programme_ids[n % len(programme_ids)],
                    "sponsor_id": person_ids[people[projects + n % 200]],
                    "lead_id": person_ids[people[n]],
                    "start_date": CREATED.date(),
                    "created_at": CREATED,
                    "updated_at": CREATED,
                }
                for n in range(projects)
            ],
        )
        project_ids = list(_ids(session, Project, Project.key).values())

        periods, answers = [], []
        mondays = [(DIGEST_AT - timedelta(weeks=WEEKS - week)).date() for week in range(WEEKS)]
        for project_id in project_ids:
            rag = Rag.GREEN
            green_by = mondays[0] + timedelta(days=60)
            for monday in mondays:
                due_at = datetime(monday.year, monday.month, monday.day, 9, 30, tzinfo=timezone.utc)
                roll = rng.random()
                excused = "incident" if roll < 0.02 else None
                missed = not excused and roll < 0.10
                periods.append(
                    {
                        "project_id": project_id,
                        "period": period_of(monday),
                        "due_at": due_at,
                        "prompted_at": due_at,
                        "missed_at": due_at + timedelta(hours=48) if missed else None,
                        "excused_reason": excused,
                        # As the ticks since would have recorded it.
                        "answered_seen_at": None if excused or missed else due_at + timedelta(days=1),
                    }
                )
                if excused or missed:
                    continue
                # Statuses drift: most weeks keep last week's, so Amber runs and slips occur.
                if rng.random() < 0.3:
                    rag = rng.choices([Rag.GREEN, Rag.AMBER, Rag.RED], weights=[6, 3, 1])[0]
                if rag is not Rag.GREEN and rng.random() < 0.4:
                    green_by += timedelta(days=rng.randint(1, 21))
                answers.append(
                    {
                        "project_id": project_id,
                        "period": period_of(monday),
                        "revision": 1,
                        "submitted_by_id": person_ids[people[0]],
                        "submitted_at": due_at + timedelta(hours=1),
                        "overall_rag": rag,
                        "help_needed": "A decision on the budget" if rag is Rag.RED else None,
                        "path_to_green": "Re-plan" if rag is not Rag.GREEN else None,
                        "path_to_green_date": max(green_by, monday) if rag is not Rag.GREEN else None,
                        "escalate_to_pmo": False,
                    }
                )
        _insert(session, CheckinPeriod, periods)
        _insert(session, Checkin, answers)
        counts["check-in periods"], counts["check-ins"] = len(periods), len(answers)

        _insert(
            session,
            Action,
            [
                {
                    "project_id": project_id,
                    "title": f"Action {n} of project {project_id}",
                    "owner_id": person_ids[people[rng.randrange(len(people))]],
                    "due_date": DIGEST_AT.date() + timedelta(days=rng.randint(-90, 30)),
                    "status": ActionStatus.OPEN if rng.random() < 0.3 else ActionStatus.DONE,
                    "created_at": CREATED,
                }
                for project_id in project_ids
                for n in range(5)
            ],
        )
        counts["actions"] = len(project_ids) * 5
        _insert(
            session,
            Benefit,
            [
                {
                    "project_id": project_id,
                    "name": f"Benefit {n}",
                    "measure": "Calls avoided",
                    "unit": "calls/month",
                    "baseline": Decimal(0),
                    "target": Decimal(1000),
                    "target_date": date(2027, 6, 30),
                    "is_active": True,
                    "created_at": CREATED,
                }
                for project_id in project_ids
                for n in range(2)
            ],
        )
        benefit_ids = list(session.scalars(select(Benefit.id)))
        values = [
            {
                "benefit_id": benefit_id,
                "value": Decimal(rng.randint(0, 60) * (month + 1)),
                "measured_on": (CREATED + timedelta(days=30 * month + 15)).date(),
                "reported_at": CREATED + timedelta(days=30 * month + 15),
            }
            for benefit_id in benefit_ids
            for month in range(12)
        ]
        _insert(session, BenefitValue, values)
        counts["benefit values"] = len(values)

        for n in range(10):
            incident = Incident(
                key=f"INC-{n}",
                summary="Payments service down",
                severity=IncidentSeverity.SEV1,
                status=IncidentStatus.OPEN,
                declared_at=DIGEST_AT - timedelta(days=n),
            )
            incident.impacts = [
                IncidentImpact(
                    project_id=project_ids[(n * 97 + k) % len(project_ids)], expected_delay_days=k, created_at=DIGEST_AT
                )
                for k in range(20)
            ]
            session.add(incident)
        _insert(
            session,
            Escalation,
            [
                {
                    "cause_key": f"checkin-missed:P-{n}:2026-W47",
                    "kind": "checkin_missed",
                    "project_id": project_ids[n],
                    "period": "2026-W47",
                    "facts": {"period": "2026-W47"},
                    "status": EscalationStatus.OPEN,
                    "created_at": DIGEST_AT - timedelta(days=5),
                    "updated_at": DIGEST_AT - timedelta(days=5),
                }
                for n in range(0, len(project_ids), 3)
            ],
        )
        session.commit()
    return counts


def _timed(job: Callable[[], None]) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def _peak_mib(build: Callable[[], object]) -> float:
    tracemalloc.start()
    build()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _build_digest(session_factory: sessionmaker[Session], settings: Settings) -> None:
    with session_factory() as session:
        built = digest.build_digest(
            session,
            now=DIGEST_AT,
            timezone=settings.default_timezone,
            tolerance=settings.benefit_tolerance,
            default_cadence=settings.default_cadence,
            answer_window=timedelta(hours=settings.checkin_missed_hours),
        )
    digest_blocks(built, {})


def _build_pack(session_factory: sessionmaker[Session], settings: Settings) -> None:
    with session_factory() as session:
        built_pack = pack.build_pack(
            session,
            now=PACK_AT,
            timezone=settings.default_timezone,
            tolerance=settings.benefit_tolerance,
            default_cadence=settings.default_cadence,
            cost_tolerance=settings.cost_tolerance,
        )
    pack_blocks(built_pack)
    charts.rag_mix_png(built_pack.weeks)
    charts.benefits_png(built_pack.objectives)


def main() -> None:
    args = bench_parser(__doc__, projects=5000).parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        database_url = chosen_database(args.database_url, scratch, "digest")
        engine = make_engine(database_url)
        rebuild_schema(engine)
        session_factory = make_session_factory(engine)
        started = time.perf_counter()
        counts = seed(session_factory, args.projects)
        if engine.dialect.name == "postgresql":
            # A live database has planner statistics (autovacuum); a bulk load has none yet.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("ANALYZE")
        seeded_in = time.perf_counter() - started

        with FakeSlack(REPO_ROOT / "manifest.yml", team_id=TEAM_ID) as fake:
            fake.add_channel(PMO_CHANNEL, "pmo")
            settings = load_settings(
                _env_file=None,
                slack_bot_token=fake.bot_token,
                slack_api_url=fake.url,
                database_url=database_url,
                pmo_channel_id=PMO_CHANNEL,
            )
            ctx = AppContext(settings=settings, session_factory=session_factory, client=make_web_client(settings))
            # Each runs after the day's first tick, whose daily pass has brought the health summary up to date.
            daily_pass_seconds = _timed(lambda: refresh_status_summary(ctx, DIGEST_AT))
            digest_seconds = _timed(lambda: send_weekly_digest(ctx, DIGEST_AT))
            refresh_status_summary(ctx, PACK_AT)
            pack_seconds = _timed(lambda: send_governance_pack(ctx, PACK_AT))
            posted = len(fake.messages_in(PMO_CHANNEL))
            uploaded = [f for f in fake.files.values() if f["content"].startswith(b"\x89PNG")]
        digest_mib = _peak_mib(lambda: _build_digest(session_factory, settings))
        pack_mib = _peak_mib(lambda: _build_pack(session_factory, settings))
        engine.dispose()

    print(f"projects:          {args.projects}")
    print(f"database:          {database_url.split(':', 1)[0]}")
    print("history:           " + ", ".join(f"{count:,} {name}" for name, count in counts.items()))
    print(f"seeded in:         {seeded_in:.1f} s")
    print(f"machine:           {os.cpu_count()} cores, shared with other work while it ran")
    print(
        f"daily pass:        {daily_pass_seconds:.2f} s  (the health summary of every project, once a day in the tick)"
    )
    print(f"weekly digest:     {digest_seconds:.2f} s  (build, render, post; target < 2)")
    print(f"governance pack:   {pack_seconds:.2f} s  (build, render, the charts with data drawn and uploaded, post)")
    print(f"peak memory:       digest {digest_mib:.0f} MiB, pack {pack_mib:.0f} MiB  (Python allocations)")
    print(f"max RSS:           {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB  (whole run)")
    print(f"messages posted:   {posted}  (the digest, then the pack with its charts and their tables)")
    # Only charts with data are drawn: this portfolio has check-ins, but no objectives or milestones.
    print(f"PNG files shared:  {len(uploaded)}  (1: the portfolio's health; the others have no data here)")


if __name__ == "__main__":
    main()
