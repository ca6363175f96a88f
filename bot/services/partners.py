"""Partner organisations (Slack Connect): which projects each may see.

Outcomes are often delivered with other organisations, and what each partner sees must be
deliberate: a channel shared with external organisations only ever shows the records of
projects shared with every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from bot.errors import NotAllowed, NotFound, UserError
from bot.services import people, portfolio
from bot.services.access import Actor
from storage.models import Project, ProjectShare

TEAM_ID_PREFIXES = ("T", "E")


@dataclass(frozen=True)
class Audience:
    """Who can read a channel: our own people only, or also these external organisations."""

    external_team_ids: frozenset[str] = frozenset()

    @property
    def is_internal(self) -> bool:
        return not self.external_team_ids


INTERNAL = Audience()


def _require_can_share(actor: Actor, project: Project) -> None:
    sponsor = project.sponsor.slack_user_id if project.sponsor else None
    if not (actor.is_pmo_admin or actor.slack_user_id == sponsor):
        raise NotAllowed(f"Only PMO admins and {project.key}'s sponsor can decide which partners see it.")


def _check_team_id(team_id: str) -> str:
    team_id = team_id.strip().upper()
    if not team_id.startswith(TEAM_ID_PREFIXES) or not team_id[1:].isalnum() or len(team_id) < 3:
        raise UserError(
            f"'{team_id}' is not a Slack team ID (they look like T0123ABCD). "
            "Run the command in the Slack Connect channel without a team ID to use that channel's partner."
        )
    return team_id


def share(session: Session, actor: Actor, key: str, partner_team_id: str, *, now: datetime) -> tuple[Project, bool]:
    """Let a partner see a project; returns (project, newly_shared)."""
    project = portfolio.get_project(session, key)
    _require_can_share(actor, project)
    team_id = _check_team_id(partner_team_id)
    existing = session.scalar(
        select(ProjectShare).where(ProjectShare.project_id == project.id, ProjectShare.partner_team_id == team_id)
    )
    if existing is not None:
        return project, False
    session.add(
        ProjectShare(
            project_id=project.id,
            partner_team_id=team_id,
            shared_by_id=people.get_or_create(session, actor.slack_user_id, now=now).id,
            created_at=now,
        )
    )
    session.flush()
    return project, True


def unshare(session: Session, actor: Actor, key: str, partner_team_id: str) -> Project:
    project = portfolio.get_project(session, key)
    _require_can_share(actor, project)
    team_id = _check_team_id(partner_team_id)
    existing = session.scalar(
        select(ProjectShare).where(ProjectShare.project_id == project.id, ProjectShare.partner_team_id == team_id)
    )
    if existing is None:
        raise NotFound(f"{project.key} is not shared with {team_id}, so there is nothing to unshare.")
    session.delete(existing)
    session.flush()
    return project


def partners_of(session: Session, project_id: int) -> list[str]:
    return list(
        session.scalars(
            select(ProjectShare.partner_team_id)
            .where(ProjectShare.project_id == project_id)
            .order_by(ProjectShare.partner_team_id)
        )
    )


def visible_condition(audience: Audience) -> ColumnElement[bool]:
    """A WHERE condition on Project for what this audience may see (everything, if internal)."""
    if audience.is_internal:
        return Project.id.is_not(None)
    shared_with_all = (
        select(ProjectShare.project_id)
        .where(ProjectShare.partner_team_id.in_(audience.external_team_ids))
        .group_by(ProjectShare.project_id)
        .having(func.count(func.distinct(ProjectShare.partner_team_id)) == len(audience.external_team_ids))
    )
    return Project.id.in_(shared_with_all)


def is_visible(session: Session, project: Project, audience: Audience) -> bool:
    if audience.is_internal:
        return True
    return audience.external_team_ids <= set(partners_of(session, project.id))


def get_visible_project(session: Session, key: str, audience: Audience, *, with_people: bool = False) -> Project:
    """The project, as long as this audience may see it; otherwise exactly as if it did not exist.

    `with_people`: its sponsor and lead read with it (portfolio.find_project)."""
    project = portfolio.find_project(session, key, with_people=with_people)
    if project is None or not is_visible(session, project, audience):
        # The same answer as an unknown key, so a partner cannot probe for unshared projects.
        guess = portfolio.similar_project(session, key)
        raise portfolio.unknown_key(key, guess.key if guess and is_visible(session, guess, audience) else None)
    return project
