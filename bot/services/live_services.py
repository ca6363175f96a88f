"""Live services (Run) and the projects (Change) that depend on them, change them or share their people.

A service is a portfolio record like a project: a short key, a name, the team that runs it
and optionally the Slack user group of those people. Projects name their services by
relation; an incident on a service affects every project related to it in any way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.services import portfolio
from bot.services.access import Actor, require_can_manage
from storage.models import Person, Project, ProjectService, Service, ServiceRelation

MAX_NAME_LENGTH = 200
MAX_OWNING_TEAM_LENGTH = 200
# A user group as typed ("S0123ABCD") or as Slack escapes a mention of it ("<!subteam^S0123ABCD|@payments>").
_USERGROUP = re.compile(r"^(?:<!subteam\^)?(S[A-Z0-9]{2,})(?:\|[^>]*)?>?$")
# Words that clear a relation, as in `/pmo depends CRM-2 none`.
NONE_WORDS = frozenset({"none", "-"})


@dataclass(frozen=True)
class NewService:
    key: str
    name: str
    owning_team: str | None = None
    usergroup: str | None = None  # as typed; parsed by `parse_usergroup`


def parse_usergroup(text: str) -> str:
    match = _USERGROUP.match(text.strip())
    if match is None:
        raise UserError(
            f"'{text.strip()}' is not a Slack user group: give its ID (it starts with S, e.g. S0123ABCD) "
            "or @-mention the group."
        )
    return match[1]


def _is_sponsor_or_lead_anywhere(session: Session, slack_user_id: str) -> bool:
    accountable = (
        select(Project.id)
        .join(Person, or_(Project.sponsor_id == Person.id, Project.lead_id == Person.id))
        .where(Person.slack_user_id == slack_user_id)
    )
    return bool(session.scalar(select(accountable.exists())))


def require_can_edit_catalogue(session: Session, actor: Actor) -> None:
    """PMO admins and anyone accountable for a project: a lead must be able to name a new dependency."""
    if actor.is_pmo_admin or _is_sponsor_or_lead_anywhere(session, actor.slack_user_id):
        return
    raise NotAllowed("Only PMO admins and project sponsors or leads can add services. Ask the PMO to add it.")


def find_service(session: Session, key_or_name: str) -> Service | None:
    """By key (any case), else by name (any case): monitoring tools send whichever they know."""
    text = key_or_name.strip()
    if not text:
        return None
    by_key = session.scalar(select(Service).where(Service.key == text.upper()))
    if by_key is not None:
        return by_key
    return session.scalar(select(Service).where(func.lower(Service.name) == text.lower()).order_by(Service.id))


def save_service(session: Session, actor: Actor, new: NewService, *, now: datetime) -> tuple[Service, bool]:
    """Add a service, or update the one with this key (imports create services named after their key).

    Returns (service, created).
    """
    require_can_edit_catalogue(session, actor)
    key = portfolio.normalise_key(new.key)
    name = new.name.strip()
    if not name:
        raise UserError("A service needs a name, e.g. `/pmo service add PAY Payments platform`.")
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"The name is {len(name)} characters long; keep it to {MAX_NAME_LENGTH}.")
    owning_team = (new.owning_team or "").strip() or None
    if owning_team is not None and len(owning_team) > MAX_OWNING_TEAM_LENGTH:
        raise UserError(f"The owning team is {len(owning_team)} characters long; keep it to {MAX_OWNING_TEAM_LENGTH}.")
    usergroup = parse_usergroup(new.usergroup) if new.usergroup and new.usergroup.strip() else None
    same_name = session.scalar(
        select(Service).where(func.lower(Service.name) == name.lower(), Service.key != key).limit(1)
    )
    if same_name is not None:
        # Webhooks find services by name, so two services may not share one.
        raise Conflict(f"{same_name.key} is already called '{same_name.name}'. Choose another name.")
    service = session.scalar(select(Service).where(Service.key == key))
    created = service is None
    if service is None:
        service = Service(key=key, name=name, created_at=now)
        session.add(service)
    service.name = name
    if owning_team is not None:
        service.owning_team = owning_team
    if usergroup is not None:
        service.slack_usergroup_id = usergroup
    session.flush()
    return service, created


def all_services(session: Session) -> list[Service]:
    return list(session.scalars(select(Service).order_by(Service.key)))


def get_services(session: Session, keys: Sequence[str]) -> list[Service]:
    """The services with these keys, in the order given; an unknown key is named in the refusal."""
    found = {service.key: service for service in session.scalars(select(Service).where(Service.key.in_(keys)))}
    unknown = [key for key in keys if key not in found]
    if unknown:
        raise NotFound(
            f"No service has the key {', '.join(unknown)}. Add it with `/pmo service add KEY Name` first, "
            "or check the spelling."
        )
    return [found[key] for key in keys]


def set_related_services(
    session: Session, actor: Actor, project_key: str, relation: ServiceRelation, service_words: Sequence[str]
) -> tuple[Project, list[Service]]:
    """Replace the project's services in one relation (`none` clears it); other relations stay.

    Returns the project and the services it now has in that relation.
    """
    project = portfolio.get_project(session, project_key)
    require_can_manage(actor, project, "change its services")
    clearing = len(service_words) == 1 and service_words[0].lower() in NONE_WORDS
    keys = [] if clearing else list(dict.fromkeys(word.strip().upper() for word in service_words))
    wanted = get_services(session, keys)
    wanted_ids = {service.id for service in wanted}
    for link in list(project.service_links):
        if link.relation is relation and link.service_id not in wanted_ids:
            project.service_links.remove(link)
    present = {link.service_id for link in project.service_links if link.relation is relation}
    for service in wanted:
        if service.id not in present:
            project.service_links.append(ProjectService(service=service, relation=relation))
    session.flush()
    return project, wanted
