"""The health summary always says what computing it from scratch would say.

Seeded random histories (the same on every run and both databases): check-ins, amendments,
actions opened and done, incidents declared and resolved, benefits falling behind, projects
closed and reopened, and the days passing. After every step, every row the summary holds as
fresh for today equals `health.compute`; after a read, all of them do; and `/pmo status`
through a signed request lists the projects in the order the table has always had.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.context import AppContext
from bot.services import benefits, confidence, health, incidents, portfolio
from bot.services.access import Actor
from bot.services.cadence import period_of
from bot.services.confidence import Scale
from bot.services.health import StatusRow, Trend
from bot.services.incidents import NewIncident
from storage.models import (
    Action,
    ActionStatus,
    Incident,
    IncidentSeverity,
    IncidentStatus,
    Project,
    ProjectHealth,
    ProjectStatus,
    Rag,
    Service,
    ServiceRelation,
)
from storage.session import unit_of_work
from tests.conftest import PMO_ADMIN, MovableClock
from tests.factories import add_benefit, add_project
from tests.test_incidents import add_service, relate
from tests.test_status import (
    AT,
    add_action,
    add_checkin,
    add_incident,
    click,
    listed_keys,
    set_status,
    status_reply,
)

KEYS = [f"P{n}-{n * 7 % 10}" for n in range(1, 26)]  # 25 projects: two pages of the table
STEPS = 120
SERVICES = ("PAY", "WEB", "HR")


@pytest.fixture
def app_context(app_context: AppContext, clock: MovableClock) -> AppContext:
    clock.at = AT
    return replace(app_context, clock=clock)


def _today(app_context: AppContext):  # type: ignore[no-untyped-def]
    return app_context.workspace_day(app_context.clock())


def _fresh_rows_agree(app_context: AppContext) -> None:
    """Every row marked fresh for today is what `compute` derives now (stale ones are allowed to lag)."""
    today = _today(app_context)
    with unit_of_work(app_context.session_factory) as session:
        fresh = {
            project_id: stored
            for project_id, stored in session.execute(
                select(ProjectHealth.project_id, ProjectHealth).where(ProjectHealth.as_of == today)
            )
        }
        keys = {project_id: key for project_id, key in session.execute(select(Project.id, Project.key))}
        computed = health.compute(session, fresh, today=today, tolerance=app_context.settings.benefit_tolerance)
        assert set(keys) == set(session.scalars(select(ProjectHealth.project_id)))  # every project has a row
        for project_id, stored in fresh.items():
            row = computed[project_id]
            assert (
                stored.rag,
                stored.previous_rag,
                stored.last_checkin_at,
                stored.overdue_actions,
                stored.benefits_off_trajectory,
                stored.open_incidents,
                stored.confidence,
                stored.project_status,
                stored.sort_key,
            ) == (
                row.rag,
                row.previous_rag,
                row.last_checkin_at,
                row.overdue_actions,
                row.benefits_off_trajectory,
                row.open_incidents,
                row.confidence,
                row.project_status,
                health.worst_first(row),
            ), keys[project_id]


def _from_scratch(app_context: AppContext) -> list[StatusRow]:
    with unit_of_work(app_context.session_factory) as session:
        open_ids = session.scalars(select(Project.id).where(Project.status != ProjectStatus.CLOSED)).all()
        rows = health.compute(
            session, open_ids, today=_today(app_context), tolerance=app_context.settings.benefit_tolerance
        )
    return list(rows.values())


def _order_as_it_always_was(row: StatusRow) -> tuple:  # type: ignore[type-arg]
    """The table's order as a tuple, the way it was sorted before the summary kept it as one string."""
    rag_rank = {Rag.RED: 0, Rag.AMBER: 1, Rag.GREEN: 2}
    trend_rank = {Trend.WORSE: 0, Trend.SAME: 1, None: 1, Trend.BETTER: 2}
    return (
        rag_rank[row.rag] if row.rag else 3,
        trend_rank[row.trend],
        -row.overdue_actions,
        -row.benefits_off_trajectory,
        -row.open_incidents,
        row.last_checkin_at is not None,
        row.last_checkin_at or datetime.min.replace(tzinfo=AT.tzinfo),
        row.key,
    )


def _random_step(rng: random.Random, app_context: AppContext, clock: MovableClock, step: int) -> None:
    factory = app_context.session_factory
    key = rng.choice(KEYS)
    today = _today(app_context)
    kind = rng.choice(
        ["checkin", "checkin", "action", "action", "done", "incident", "resolve", "benefit", "close", "day"]
    )
    with unit_of_work(factory) as session:
        closed = portfolio.get_project(session, key).status is ProjectStatus.CLOSED
    if closed and kind in ("checkin", "benefit"):
        return  # a closed project takes neither
    if kind == "checkin":
        period = period_of(today - timedelta(weeks=rng.randint(0, 3)))
        at = clock.at - timedelta(hours=rng.randint(0, 72))
        # Given on the rag scale, or on dca5 (the summary keeps that level too).
        level = rng.choice([None, *confidence.levels(Scale.DCA5)])
        rag = level.rag if level else rng.choice(list(Rag))
        add_checkin(
            factory, key, period, rag, at=at, confidence=confidence.stored(Scale.DCA5, level.value) if level else None
        )
    elif kind == "action":
        add_action(factory, key, f"Action {step}", due=today + timedelta(days=rng.randint(-5, 5)))
    elif kind == "done":
        with unit_of_work(factory) as session:
            open_actions = session.scalars(select(Action).where(Action.status == ActionStatus.OPEN)).all()
            if open_actions:
                rng.choice(open_actions).status = rng.choice([ActionStatus.DONE, ActionStatus.DROPPED])
    elif kind == "incident":
        add_incident(
            factory, f"INC-{step}", tuple(rng.sample(KEYS, rng.randint(1, 3))), not_affected=rng.random() < 0.2
        )
    elif kind == "declare":
        # Through the incident service, which inserts the impacts in one bulk statement.
        with unit_of_work(factory) as session:
            service_id = session.scalar(select(Service.id).where(Service.key == rng.choice(SERVICES)))
            incidents.declare(
                session, NewIncident((service_id,), IncidentSeverity.SEV2, f"Outage {step}"), now=clock.at
            )
    elif kind == "resolve":
        with unit_of_work(factory) as session:
            open_incidents = session.scalars(select(Incident).where(Incident.status == IncidentStatus.OPEN)).all()
            if open_incidents:
                rng.choice(open_incidents).status = IncidentStatus.RESOLVED
    elif kind == "benefit":
        # 0 to 1000 over 120 days from 60 days ago: on trajectory near 500 today, and less so as days pass.
        benefit_id = add_benefit(
            factory, key, f"Benefit {step}", created_at=clock.at - timedelta(days=60), target_date=today + timedelta(60)
        )
        with unit_of_work(factory) as session:
            value = Decimal(rng.choice([300, 500, 700]))
            benefits.report_value(session, Actor(PMO_ADMIN, True), benefit_id, value, today, now=clock.at, today=today)
    elif kind == "close":
        set_status(factory, key, ProjectStatus.ACTIVE if closed else ProjectStatus.CLOSED)
    else:
        # Time alone: actions fall overdue and benefits behind their trajectory.
        clock.at += timedelta(days=rng.randint(1, 3))


def test_the_summary_always_equals_the_computation_from_scratch(slack, fake_slack, app_context, clock):
    rng = random.Random(12)
    for key in KEYS:
        add_project(app_context.session_factory, key, f"Project {key}", created_at=AT - timedelta(days=30))
    for service in SERVICES:
        add_service(app_context.session_factory, service, f"Service {service}")
        relate(app_context.session_factory, rng.choice(KEYS), ServiceRelation.DEPENDS_ON, service)
        relate(app_context.session_factory, rng.choice(KEYS), ServiceRelation.SHARES_PEOPLE, service)

    for step in range(STEPS):
        _random_step(rng, app_context, clock, step)
        _fresh_rows_agree(app_context)
        if step % 30 == 29:
            expected = [row.key for row in sorted(_from_scratch(app_context), key=_order_as_it_always_was)]
            pages = [status_reply(slack, fake_slack, user_id=PMO_ADMIN)]
            while any(b.get("action_id") == "status_table.next" for b in pages[-1]["blocks"][-1]["elements"]):
                pages.append(click(slack, fake_slack, pages[-1], "status_table.next", user_id=PMO_ADMIN))
            assert [key for page in pages for key in listed_keys(page)] == expected
            _fresh_rows_agree(app_context)
            with unit_of_work(app_context.session_factory) as session:
                assert session.scalar(select(ProjectHealth.project_id).where(ProjectHealth.as_of.is_(None))) is None


def test_a_page_reads_only_its_rows_and_counts_the_whole_table(app_context):
    for key in KEYS:
        add_project(app_context.session_factory, key, f"Project {key}")
    add_checkin(app_context.session_factory, KEYS[3], "2026-W48", Rag.RED, at=AT - timedelta(hours=1))

    with unit_of_work(app_context.session_factory) as session:
        page = health.table_page(session, None, page=1, page_size=20, today=_today(app_context), tolerance=0.1)

    assert (page.page, page.pages, page.total, len(page.rows)) == (1, 2, 25, 5)
    assert page.rag_counts[Rag.RED] == 1 and page.rag_counts[None] == 24
