"""Test data built through the domain services, so tests start from states users can reach."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from bot.services import actions, benefits, portfolio
from bot.services.access import Actor
from bot.services.actions import NewAction
from bot.services.benefits import NewBenefit
from bot.services.portfolio import NewProject
from storage.models import Project
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, TEAM_ID

SPONSOR = "U0SPONSOR"
LEAD = "U0LEAD"
STRANGER = "U0STRANGER"
BENEFIT_OWNER = "U0OWNER"
ACTION_OWNER = "U0DOER"
TODAY = NOW.date()  # a Monday


def add_project(
    session_factory: sessionmaker[Session],
    key: str = "CRM-2",
    name: str = "Customer records",
    *,
    sponsor: str | None = SPONSOR,
    lead: str | None = LEAD,
    objective: str | None = "Better services online",
    channels: tuple[str, ...] = (),
    created_at: datetime = NOW,
) -> None:
    with unit_of_work(session_factory) as session:
        portfolio.create_project(
            session,
            NewProject(key=key, name=name, sponsor_user_id=sponsor, lead_user_id=lead, objective=objective),
            now=created_at,
        )
        for channel_id in channels:
            portfolio.link_channel(session, Actor("U0PMOADMIN", True), key, TEAM_ID, channel_id, now=created_at)


def load_project(session_factory: sessionmaker[Session], key: str) -> Project:
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, key)
        # Touch what tests read so it is loaded before the session closes.
        _ = [link.channel_id for link in project.channel_links], project.sponsor, project.lead
        return project


def linked_channels(session_factory: sessionmaker[Session], key: str) -> list[tuple[str, bool]]:
    return [(link.channel_id, link.is_primary) for link in load_project(session_factory, key).channel_links]


def add_benefit(
    session_factory: sessionmaker[Session],
    key: str = "CRM-2",
    name: str = "Calls avoided",
    *,
    owner: str = BENEFIT_OWNER,
    baseline: str = "0",
    target: str = "1000",
    target_date: date = date(2027, 5, 23),
    created_at: datetime = NOW,
) -> int:
    """Adds a benefit (in calls/month) as the PMO would, on `created_at`; returns its id."""
    with unit_of_work(session_factory) as session:
        new = NewBenefit(
            name, "Calls about address changes", "calls/month", Decimal(baseline), Decimal(target), target_date, owner
        )
        actor = Actor(PMO_ADMIN, is_pmo_admin=True)
        return benefits.create_benefit(session, actor, key, new, now=created_at, today=created_at.date()).id


def add_action(
    session_factory: sessionmaker[Session],
    title: str = "Agree the data-sharing protocol",
    *,
    key: str = "CRM-2",
    owner: str = ACTION_OWNER,
    due: date = TODAY,
    created_by: str = LEAD,
    created_at: datetime = NOW - timedelta(days=7),
) -> int:
    """Records an action as `created_by` would have on `created_at` (no DM is sent); returns its id."""
    with unit_of_work(session_factory) as session:
        new = NewAction(key, title, owner, due)
        actor = Actor(created_by, is_pmo_admin=False)
        return actions.create_action(session, actor, new, today=created_at.date(), now=created_at).id
