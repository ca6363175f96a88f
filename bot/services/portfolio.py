"""Portfolio records: projects, their objective and programme, and the channels linked to them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from bot.errors import Conflict, NotFound, UserError
from bot.services import people
from bot.services.access import Actor, require_can_manage
from bot.services.benefits import latest_value, missing_parts, trajectory
from bot.services.cadence import DAY_NAMES, Cadence, parse_time_of_day, parse_timezone, parse_weekday
from storage.models import (
    Benefit,
    ChannelLink,
    Objective,
    Person,
    Programme,
    Project,
    ProjectMember,
    ProjectRole,
    ProjectService,
    ProjectStatus,
    Service,
    ServiceRelation,
)

PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
MAX_KEY_LENGTH = 32
MAX_NAME_LENGTH = 200


def normalise_key(text: str) -> str:
    """Keys are typed in Slack, so any case is accepted and upper case is stored."""
    key = text.strip().upper()
    if not key or len(key) > MAX_KEY_LENGTH or not PROJECT_KEY.match(key):
        raise UserError(
            f"'{text.strip()}' is not a valid key: use letters, digits and dashes, "
            f"starting with a letter, up to {MAX_KEY_LENGTH} characters (e.g. CRM-2)."
        )
    return key


def find_project(session: Session, key: str, *, with_people: bool = False) -> Project | None:
    """`with_people`: its sponsor and lead read in the same statement, for a caller that shows them."""
    found = select(Project).where(Project.key == key.strip().upper())
    if with_people:
        found = found.options(joinedload(Project.sponsor), joinedload(Project.lead))
    return session.scalar(found)


def similar_project(session: Session, typed: str) -> Project | None:
    """The project whose key is `typed` once case, spaces and hyphens are ignored (pay1 for PAY-1)."""
    compact = re.sub(r"[\s-]+", "", typed).upper()
    if not compact:
        return None
    return session.scalar(
        select(Project).where(func.replace(Project.key, "-", "") == compact).order_by(Project.key).limit(1)
    )


def get_project(session: Session, key: str) -> Project:
    project = find_project(session, key)
    if project is None:
        guess = similar_project(session, key)
        raise unknown_key(key, guess.key if guess else None)
    return project


def unknown_key(key: str, suggestion: str | None = None) -> NotFound:
    if suggestion:
        return NotFound(f"No project has the key {key.strip().upper()}. Did you mean {suggestion}?")
    return NotFound(
        f"No project has the key {key.strip().upper()}. Check the spelling, or create it with `/pmo project add`."
    )


NamedRecord = TypeVar("NamedRecord", Objective, Programme)


def name_key(name: str) -> str:
    """The one rule for "the same objective or programme": case and spacing do not count."""
    return " ".join(name.split()).casefold()


def find_by_name(session: Session, model: type[NamedRecord], name: str) -> NamedRecord | None:
    wanted = name_key(name)
    # The database narrows by letters alone (no spaces, any case); the rule itself decides.
    candidates = session.scalars(
        select(model).where(func.lower(func.replace(model.name, " ", "")) == "".join(wanted.split()))
    )
    return next((record for record in candidates if name_key(record.name) == wanted), None)


def _get_or_create_by_name(session: Session, model: type[NamedRecord], name: str, *, now: datetime) -> NamedRecord:
    """The existing record whose name matches by `name_key` (the form, the import and the sync all
    come here), else a new one under the name as typed, its spacing tidied."""
    record = find_by_name(session, model, name)
    if record is None:
        record = model(name=" ".join(name.split()), created_at=now)
        session.add(record)
        session.flush()
    return record


def _names_to_pick(session: Session, model: type[NamedRecord]) -> list[tuple[int, str]]:
    return [(record.id, record.name) for record in session.scalars(select(model).order_by(model.name))]


def objectives_to_pick(session: Session) -> list[tuple[int, str]]:
    """The existing objectives a form offers (id, name), by name."""
    return _names_to_pick(session, Objective)


def programmes_to_pick(session: Session) -> list[tuple[int, str]]:
    return _names_to_pick(session, Programme)


def get_or_create_objective(session: Session, name: str, *, now: datetime) -> Objective:
    return _get_or_create_by_name(session, Objective, name, now=now)


def get_or_create_programme(session: Session, name: str, *, now: datetime) -> Programme:
    return _get_or_create_by_name(session, Programme, name, now=now)


def get_or_create_service(session: Session, key: str, *, now: datetime) -> Service:
    service = session.scalar(select(Service).where(Service.key == key))
    if service is None:
        service = Service(key=key, name=key, created_at=now)
        session.add(service)
        session.flush()
    return service


@dataclass(frozen=True)
class NewProject:
    key: str
    name: str
    sponsor_user_id: str | None = None
    lead_user_id: str | None = None
    objective: str | None = None
    programme: str | None = None
    description: str | None = None
    # Picked from the form's list of existing ones; a name typed as well is refused by the form.
    objective_id: int | None = None
    programme_id: int | None = None


def create_project(session: Session, new: NewProject, *, now: datetime) -> Project:
    key = normalise_key(new.key)
    if find_project(session, key) is not None:
        raise Conflict(f"A project with the key {key} already exists. Choose another key.")
    name = new.name.strip()
    if not name:
        raise UserError("A project needs a name.")
    project = Project(
        key=key,
        name=name[:MAX_NAME_LENGTH],
        description=(new.description or "").strip() or None,
        status=ProjectStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    if new.sponsor_user_id:
        project.sponsor = people.get_or_create(session, new.sponsor_user_id, now=now)
    if new.lead_user_id:
        project.lead = people.get_or_create(session, new.lead_user_id, now=now)
    if new.objective_id is not None:
        project.objective = session.get(Objective, new.objective_id)
    elif new.objective and new.objective.strip():
        project.objective = get_or_create_objective(session, new.objective.strip(), now=now)
    if new.programme_id is not None:
        project.programme = session.get(Programme, new.programme_id)
    elif new.programme and new.programme.strip():
        project.programme = get_or_create_programme(session, new.programme.strip(), now=now)
    session.add(project)
    session.flush()
    return project


# --- editing a project -----------------------------------------------------------------

EDITABLE_STATUSES = (ProjectStatus.ACTIVE, ProjectStatus.PAUSED)  # closing has its own form


@dataclass(frozen=True)
class ProjectEdit:
    """What the edit form holds. An objective or programme is picked by id or typed as new."""

    name: str
    sponsor_user_id: str | None
    lead_user_id: str | None
    status: ProjectStatus
    cadence: str | None  # "DAY HH:MM [TIMEZONE]"; None: the workspace default
    objective_id: int | None = None
    objective: str | None = None
    programme_id: int | None = None
    programme: str | None = None


@dataclass(frozen=True)
class ProjectForm:
    """A project as the edit form opens on it."""

    key: str
    name: str
    sponsor_user_id: str | None
    lead_user_id: str | None
    status: ProjectStatus
    cadence: str | None
    objective_id: int | None
    programme_id: int | None
    objectives: list[tuple[int, str]]
    programmes: list[tuple[int, str]]


def check_can_edit(session: Session, actor: Actor, key: str) -> Project:
    """The project to edit, with the rights that linking needs: PMO admins, its sponsor or lead."""
    project = get_project(session, key)
    require_can_manage(actor, project, "edit it")
    if project.status is ProjectStatus.CLOSED:
        raise UserError(f"{project.key} is closed. Reopen it first with `/pmo reopen {project.key}`.")
    return project


def project_form(session: Session, actor: Actor, key: str, *, default_cadence: Cadence) -> ProjectForm:
    project = check_can_edit(session, actor, key)
    cadence = None
    if (project.checkin_day, project.checkin_time, project.timezone) != (None, None, None):
        own = effective_cadence(project, default_cadence)
        cadence = f"{DAY_NAMES[own.weekday]} {own.time_of_day} {own.timezone}"
    return ProjectForm(
        key=project.key,
        name=project.name,
        sponsor_user_id=_user_id(project.sponsor),
        lead_user_id=_user_id(project.lead),
        status=project.status,
        cadence=cadence,
        objective_id=project.objective_id,
        programme_id=project.programme_id,
        objectives=objectives_to_pick(session),
        programmes=programmes_to_pick(session),
    )


def parse_cadence_text(text: str) -> tuple[int, str, str | None]:
    """ "tue 10:00 Europe/London" as (weekday, HH:MM, timezone or None)."""
    words = text.split()
    if len(words) not in (2, 3):
        raise UserError("Write the day and time, and optionally a timezone, e.g. `tue 10:00 Europe/London`.")
    timezone = parse_timezone(words[2]) if len(words) == 3 else None
    return parse_weekday(words[0]), parse_time_of_day(words[1]), timezone


def edit_problems(edit: ProjectEdit) -> dict[str, str]:
    """What to correct, by ProjectEdit field; empty when it can be saved."""
    problems: dict[str, str] = {}
    if not edit.name.strip():
        problems["name"] = "Give the project a name."
    elif len(edit.name.strip()) > MAX_NAME_LENGTH:
        problems["name"] = f"Keep the name to {MAX_NAME_LENGTH} characters."
    if edit.sponsor_user_id is None:
        problems["sponsor"] = "Every project needs a sponsor: choose one."
    if edit.status not in EDITABLE_STATUSES:
        problems["status"] = "Choose active or paused; `/pmo close` closes a project."
    if edit.cadence:
        try:
            parse_cadence_text(edit.cadence)
        except UserError as error:
            problems["cadence"] = str(error)
    for name, picked, typed in (
        ("objective", edit.objective_id, edit.objective),
        ("programme", edit.programme_id, edit.programme),
    ):
        if picked is not None and typed:
            problems[name] = "Pick one from the list or type a new one, not both."
    return problems


def edit_project(session: Session, actor: Actor, key: str, edit: ProjectEdit, *, now: datetime) -> Project:
    project = check_can_edit(session, actor, key)
    if edit_problems(edit):
        raise UserError("The form has problems; correct the highlighted fields.")
    project.name = edit.name.strip()
    project.sponsor = people.get_or_create(session, edit.sponsor_user_id, now=now) if edit.sponsor_user_id else None
    project.lead = people.get_or_create(session, edit.lead_user_id, now=now) if edit.lead_user_id else None
    project.status = edit.status
    if edit.objective_id is not None:
        project.objective = session.get(Objective, edit.objective_id)
    else:
        project.objective = get_or_create_objective(session, edit.objective, now=now) if edit.objective else None
    if edit.programme_id is not None:
        project.programme = session.get(Programme, edit.programme_id)
    else:
        project.programme = get_or_create_programme(session, edit.programme, now=now) if edit.programme else None
    if edit.cadence:
        project.checkin_day, project.checkin_time, timezone = parse_cadence_text(edit.cadence)
        project.timezone = timezone
    else:
        project.checkin_day = project.checkin_time = project.timezone = None
    project.updated_at = now
    session.flush()
    return project


# --- channel links -------------------------------------------------------------------


def find_link(session: Session, team_id: str, channel_id: str) -> ChannelLink | None:
    return session.scalar(
        select(ChannelLink).where(ChannelLink.team_id == team_id, ChannelLink.channel_id == channel_id)
    )


def project_for_channel(session: Session, team_id: str, channel_id: str) -> Project | None:
    link = find_link(session, team_id, channel_id)
    return link.project if link else None


def linked_project_key(session: Session, team_id: str, channel_id: str) -> str | None:
    """The key of the project this channel is linked to, for commands typed there without one."""
    project = project_for_channel(session, team_id, channel_id)
    return project.key if project else None


def check_can_link(session: Session, actor: Actor, key: str, team_id: str, channel_id: str) -> Project:
    """Everything `link_channel` would refuse, checked before the bot joins the channel."""
    project = get_project(session, key)
    require_can_manage(actor, project, "link channels to it")
    if project.status is ProjectStatus.CLOSED:
        raise UserError(f"{project.key} is closed; closed projects cannot get new channels.")
    existing = find_link(session, team_id, channel_id)
    if existing is not None and existing.project_id != project.id:
        raise Conflict(
            f"This channel is already linked to {existing.project.key}. "
            f"Run `/pmo unlink` here first, then `/pmo link {project.key}`."
        )
    return project


@dataclass(frozen=True)
class LinkOutcome:
    project: Project
    is_primary: bool
    already_linked: bool
    # The link was there but marked broken (archived, bot removed): linking again fixed it.
    repaired: bool = False


def link_channel(
    session: Session, actor: Actor, key: str, team_id: str, channel_id: str, *, now: datetime
) -> LinkOutcome:
    project = check_can_link(session, actor, key, team_id, channel_id)
    existing = find_link(session, team_id, channel_id)
    if existing is not None:
        if existing.broken_at is not None:
            # Linking again is how people say "fixed": the bot is back in, prompts resume.
            existing.broken_at = None
            existing.broken_reason = None
            return LinkOutcome(project, existing.is_primary, already_linked=True, repaired=True)
        return LinkOutcome(project, existing.is_primary, already_linked=True)
    has_primary = any(link.is_primary for link in project.channel_links)
    link = ChannelLink(
        team_id=team_id,
        channel_id=channel_id,
        project=project,
        is_primary=not has_primary,
        linked_by_id=people.get_or_create(session, actor.slack_user_id, now=now).id,
        created_at=now,
    )
    session.add(link)
    session.flush()
    return LinkOutcome(project, link.is_primary, already_linked=False)


def unlink_channel(session: Session, actor: Actor, team_id: str, channel_id: str) -> Project:
    link = find_link(session, team_id, channel_id)
    if link is None:
        raise NotFound("This channel is not linked to any project, so there is nothing to unlink.")
    project = link.project
    require_can_manage(actor, project, "unlink its channels")
    project.channel_links.remove(link)
    if link.is_primary and project.channel_links:
        # The oldest remaining channel takes over, matching "the first is the primary one".
        project.channel_links[0].is_primary = True
    session.flush()
    return project


def set_primary_channel(session: Session, project: Project, team_id: str, channel_id: str, *, now: datetime) -> None:
    """Make this channel the project's primary one (as a portfolio import says)."""
    link = find_link(session, team_id, channel_id)
    if link is not None and link.project_id != project.id:
        raise Conflict(f"channel {channel_id} is linked to {link.project.key}; unlink it there first")
    for other in project.channel_links:
        other.is_primary = False
    if link is None:
        link = ChannelLink(team_id=team_id, channel_id=channel_id, created_at=now)
        project.channel_links.append(link)
    link.is_primary = True
    session.flush()


def set_deputy(session: Session, actor: Actor, key: str, deputy_user_id: str | None, *, now: datetime) -> Project:
    """Name the lead's deputy (who also gets check-in reminders), or clear it with None."""
    project = get_project(session, key)
    require_can_manage(actor, project, "name its deputy")
    for member in list(project.members):
        if member.role is ProjectRole.DEPUTY:
            project.members.remove(member)
    if deputy_user_id is not None:
        deputy = people.get_or_create(session, deputy_user_id, now=now)
        project.members.append(ProjectMember(person=deputy, role=ProjectRole.DEPUTY))
    project.updated_at = now
    session.flush()
    return project


def deputy_user_id(project: Project) -> str | None:
    return next((m.person.slack_user_id for m in project.members if m.role is ProjectRole.DEPUTY), None)


def mark_link_broken(session: Session, team_id: str, channel_id: str, reason: str, *, now: datetime) -> None:
    """Slack refused to post in the channel for good (archived, bot removed): stop using it."""
    link = find_link(session, team_id, channel_id)
    if link is not None and link.broken_at is None:
        link.broken_at = now
        link.broken_reason = reason


def primary_channel(project: Project) -> ChannelLink | None:
    return next((link for link in project.channel_links if link.is_primary), None)


def set_services(session: Session, project: Project, service_keys: list[str], *, now: datetime) -> None:
    """Replace the services the project depends on; other relations are left alone."""
    wanted = {key: get_or_create_service(session, key, now=now) for key in service_keys}
    for link in list(project.service_links):
        if link.relation is ServiceRelation.DEPENDS_ON and link.service.key not in wanted:
            project.service_links.remove(link)
    present = {link.service.key for link in project.service_links if link.relation is ServiceRelation.DEPENDS_ON}
    for key, service in wanted.items():
        if key not in present:
            project.service_links.append(ProjectService(service=service, relation=ServiceRelation.DEPENDS_ON))
    session.flush()


def depended_service_keys(project: Project) -> list[str]:
    return [link.service.key for link in project.service_links if link.relation is ServiceRelation.DEPENDS_ON]


# --- the record a user asks for -------------------------------------------------------


@dataclass(frozen=True)
class BenefitLine:
    name: str
    unit: str | None
    baseline: Decimal | None
    target: Decimal | None
    target_date: str | None
    latest: Decimal | None
    expected: Decimal | None  # where the plan says the benefit should be by now; None: not yet measurable
    off_trajectory: bool
    benefit_id: int
    missing: tuple[str, ...] = ()  # what it lacks to be measurable (benefits.missing_parts)


@dataclass(frozen=True)
class ChannelLine:
    channel_id: str
    is_primary: bool
    broken_reason: str | None


@dataclass(frozen=True)
class ProjectRecord:
    """A project as `/pmo project KEY` shows it: plain data, ready for a Block Kit builder."""

    key: str
    name: str
    status: str
    description: str | None
    sponsor_user_id: str | None
    lead_user_id: str | None
    deputy_user_id: str | None
    objective: str | None
    programme: str | None
    cadence: str
    services: list[tuple[str, str, str]] = field(default_factory=list)  # key, name, relation
    channels: list[ChannelLine] = field(default_factory=list)
    benefits: list[BenefitLine] = field(default_factory=list)


def _user_id(person: Person | None) -> str | None:
    return person.slack_user_id if person else None


def effective_cadence(project: Project, default: Cadence) -> Cadence:
    """The project's cadence, with the workspace default for whatever it leaves blank."""
    return Cadence(
        weekday=project.checkin_day if project.checkin_day is not None else default.weekday,
        time_of_day=project.checkin_time or default.time_of_day,
        timezone=project.timezone or default.timezone,
    )


def benefit_line(benefit: Benefit, *, today: date, tolerance: float) -> BenefitLine:
    path = trajectory(benefit, on=today, tolerance=tolerance)
    # A benefit not yet measurable has no plan to compare with, but may have values already.
    measured = latest_value(benefit, today)
    return BenefitLine(
        benefit_id=benefit.id,
        name=benefit.name,
        unit=benefit.unit,
        baseline=benefit.baseline,
        target=benefit.target,
        target_date=benefit.target_date.isoformat() if benefit.target_date else None,
        latest=measured.value if measured else None,
        expected=path.expected if path else None,
        off_trajectory=path.is_off_track if path else False,
        missing=missing_parts(benefit),
    )


def project_record(project: Project, *, default_cadence: Cadence, today: date, tolerance: float) -> ProjectRecord:
    """The record as of `today`; benefits behind plan by more than `tolerance` are marked off trajectory."""
    return ProjectRecord(
        key=project.key,
        name=project.name,
        status=project.status.value,
        description=project.description,
        sponsor_user_id=_user_id(project.sponsor),
        lead_user_id=_user_id(project.lead),
        deputy_user_id=deputy_user_id(project),
        objective=project.objective.name if project.objective else None,
        programme=project.programme.name if project.programme else None,
        cadence=effective_cadence(project, default_cadence).describe(),
        services=[(link.service.key, link.service.name, link.relation.value) for link in project.service_links],
        channels=[ChannelLine(link.channel_id, link.is_primary, link.broken_reason) for link in project.channel_links],
        benefits=[
            benefit_line(benefit, today=today, tolerance=tolerance) for benefit in project.benefits if benefit.is_active
        ],
    )
