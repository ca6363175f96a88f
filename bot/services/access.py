"""Who may change what. PMO admins and a project's own sponsor and lead manage a project."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import NotAllowed
from storage.models import Project


@dataclass(frozen=True)
class Actor:
    slack_user_id: str
    is_pmo_admin: bool


def can_manage(actor: Actor, project: Project) -> bool:
    if actor.is_pmo_admin:
        return True
    accountable = {person.slack_user_id for person in (project.sponsor, project.lead) if person}
    return actor.slack_user_id in accountable


def can_change_owned(actor: Actor, owner_user_id: str, project: Project) -> bool:
    """Changing something one person owns (an action, a risk): its owner, and whoever manages its project."""
    return actor.slack_user_id == owner_user_id or can_manage(actor, project)


def can_manage_incident(actor: Actor, declared_by_user_id: str | None, service_team_user_ids: frozenset[str]) -> bool:
    """Resolving or updating an incident: PMO admins, whoever declared it, and the team running its services."""
    return (
        actor.is_pmo_admin or actor.slack_user_id == declared_by_user_id or actor.slack_user_id in service_team_user_ids
    )


def require_can_manage(actor: Actor, project: Project, doing: str) -> None:
    if not can_manage(actor, project):
        raise NotAllowed(
            f"Only PMO admins and {project.key}'s sponsor or lead can {doing}. Ask one of them, or the PMO, to do it."
        )


def require_pmo_admin(actor: Actor, doing: str) -> None:
    if not actor.is_pmo_admin:
        raise NotAllowed(f"Only PMO admins can {doing}. Ask the PMO to do it.")
