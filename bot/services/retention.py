"""Retention (RETENTION_YEARS_AFTER_CLOSURE) and `forget`: personal detail kept no longer than needed.

A project closed longer ago than the retention period keeps its skeleton (key, name, RAG
history, dates, benefits and their numbers, decisions, the RAID log's titles and scores) and
loses its operational detail: check-in narratives, action, risk and issue notes, risks'
mitigations, the words of decisions asked for, and the DM ledger rows about it. People named on it are
replaced by "former member" unless they are still active on another project (sponsor,
lead or member of an open project, or owner of an open action). Each project's removal is
one audit row saying what went; the audit trail itself is never rewritten, and names on it
are resolved at read time, so a replaced person reads as "former member" there too.

Changes here are made with Core statements, not through the ORM, so the audit hook does not
copy the removed words into the trail: the summary row is written explicitly instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import CompoundSelect, delete, or_, select, update
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.services import foi
from storage import audit
from storage.base import Base
from storage.models import (
    Action,
    ActionEvent,
    ActionStatus,
    Checkin,
    DecisionRequest,
    IssueEvent,
    OutgoingMessage,
    Person,
    Project,
    ProjectMember,
    ProjectStatus,
    Risk,
    RiskEvent,
)

FORMER_MEMBER_ID = "former-member"  # the placeholder person's slack_user_id
FORMER_MEMBER_NAME = "former member"
NARRATIVE_COLUMNS = ("progress", "next_steps", "risks_issues", "help_needed", "path_to_green")
_DM_CHANNEL = re.compile(r"^[UWD][A-Z0-9]+$")


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year - years, day=28)


@dataclass
class ProjectRemoval:
    key: str
    closed_on: date
    narratives: int = 0  # check-in revisions whose narrative goes
    notes: int = 0
    risk_notes: int = 0
    issue_notes: int = 0
    mitigations: int = 0  # risks whose mitigation text goes
    decision_questions: int = 0  # decisions asked for whose words go (the decision made stays)
    dm_ledger_rows: int = 0
    people_replaced: list[str] = field(default_factory=list)  # Slack user IDs
    people_kept: list[str] = field(default_factory=list)  # still active elsewhere

    def as_changes(self) -> dict[str, object]:
        return {
            "check-in narratives": self.narratives,
            "action notes": self.notes,
            "risk notes": self.risk_notes,
            "issue notes": self.issue_notes,
            "risk mitigations": self.mitigations,
            "decisions asked for (their words)": self.decision_questions,
            "DM ledger rows": self.dm_ledger_rows,
            "people replaced by former member": len(self.people_replaced),
        }


def expired_projects(session: Session, *, now: datetime, years: int) -> list[Project]:
    cutoff = years_before(now, years)
    return list(
        session.scalars(
            select(Project)
            .where(Project.status == ProjectStatus.CLOSED, Project.closed_at.is_not(None), Project.closed_at < cutoff)
            .order_by(Project.key)
        )
    )


def active_person_ids(session: Session, *, except_project_id: int | None = None) -> set[int]:
    """People with a role on an open project, or owning an open action (of another project)."""
    open_projects = select(Project.id).where(Project.status != ProjectStatus.CLOSED)
    if except_project_id is not None:
        open_projects = open_projects.where(Project.id != except_project_id)
    roles = session.execute(select(Project.sponsor_id, Project.lead_id).where(Project.id.in_(open_projects))).all()
    found = {person_id for row in roles for person_id in row if person_id is not None}
    found |= set(session.scalars(select(ProjectMember.person_id).where(ProjectMember.project_id.in_(open_projects))))
    owners = select(Action.owner_id).where(Action.status == ActionStatus.OPEN)
    if except_project_id is not None:
        owners = owners.where(Action.project_id != except_project_id)
    found |= set(session.scalars(owners))
    return found


def _former_member(session: Session, *, now: datetime) -> int:
    person_id = session.scalar(select(Person.id).where(Person.slack_user_id == FORMER_MEMBER_ID))
    if person_id is None:
        person = Person(slack_user_id=FORMER_MEMBER_ID, display_name=FORMER_MEMBER_NAME, created_at=now)
        session.add(person)
        session.flush()
        person_id = person.id
    return person_id


def _dm_rows(session: Session, project: Project, action_ids: set[int]) -> list[int]:
    """The DM ledger rows about the project: its actions' DMs, and DMs that name its key."""
    mentions = re.compile(rf"(?<![A-Z0-9-]){re.escape(project.key)}(?![0-9])")
    action_keys = re.compile(r"^action-(?:assigned|reassigned):(\d+)(?::|$)")
    found = []
    for row_id, key, channel_id, payload in session.execute(
        select(OutgoingMessage.id, OutgoingMessage.idempotency_key, OutgoingMessage.channel_id, OutgoingMessage.payload)
    ):
        if not _DM_CHANNEL.match(channel_id):
            continue
        about_action = action_keys.match(key)
        if (about_action and int(about_action[1]) in action_ids) or mentions.search(json.dumps(payload)):
            found.append(row_id)
    return found


def _plan(session: Session, project: Project, *, now: datetime) -> tuple[ProjectRemoval, foi.Export, list[int]]:
    held = foi.export_project(session, project.key, foi.Window(), now=now)
    assert project.closed_at is not None
    removal = ProjectRemoval(project.key, project.closed_at.date())
    removal.narratives = sum(any(row.get(column) for column in NARRATIVE_COLUMNS) for row in held.tables["checkins"])
    removal.notes = len(_note_ids(held, "action_events"))
    removal.risk_notes = len(_note_ids(held, "risk_events"))
    removal.issue_notes = len(_note_ids(held, "issue_events"))
    removal.mitigations = sum(bool(row["mitigation"]) for row in held.tables["risks"])
    removal.decision_questions = sum(bool(row["question"]) for row in held.tables["decision_requests"])
    dm_rows = _dm_rows(session, project, {row["id"] for row in held.tables["actions"]})
    removal.dm_ledger_rows = len(dm_rows)
    named = {project.sponsor_id, project.lead_id}
    for name, rows in held.tables.items():
        if name == "audit_events":
            continue
        for column in foi.person_columns(Base.metadata.tables[name]):
            named |= {row[column.name] for row in rows}
    named.discard(None)
    active = active_person_ids(session, except_project_id=project.id)
    users = dict(session.execute(select(Person.id, Person.slack_user_id).where(Person.id.in_(named))).all())
    for person_id in sorted(named):
        if users.get(person_id) == FORMER_MEMBER_ID:
            continue
        (removal.people_kept if person_id in active else removal.people_replaced).append(users[person_id])
    return removal, held, dm_rows


def _note_ids(held: foi.Export, events: str) -> list[int]:
    return [row["id"] for row in held.tables[events] if row["kind"] == "note"]


def run_retention(session: Session, *, now: datetime, years: int | None, apply: bool) -> list[ProjectRemoval]:
    """What retention removes at `now` (`apply=False`: only what it would)."""
    if years is None:
        raise UserError("RETENTION_YEARS_AFTER_CLOSURE is not set, so everything is kept. Set it to a number of years.")
    removals = []
    for project in expired_projects(session, now=now, years=years):
        removal, held, dm_rows = _plan(session, project, now=now)
        removals.append(removal)
        if apply:
            _apply(session, project, removal, held, dm_rows, now=now)
    return removals


def _replace_people(session: Session, held: foi.Export, person_ids: set[int], placeholder: int) -> None:
    tables = {"projects": [held.record], **held.tables}
    for name, rows in tables.items():
        if name == "audit_events" or not rows:
            continue
        table = Base.metadata.tables[name]
        ids = [row["id"] for row in rows]
        for column in foi.person_columns(table):
            session.execute(
                update(table)
                .where(table.c.id.in_(ids), table.c[column.name].in_(person_ids))
                .values({column.name: placeholder})
            )


def _apply(
    session: Session,
    project: Project,
    removal: ProjectRemoval,
    held: foi.Export,
    dm_rows: list[int],
    *,
    now: datetime,
) -> None:
    checkin_ids = [row["id"] for row in held.tables["checkins"]]
    session.execute(update(Checkin).where(Checkin.id.in_(checkin_ids)).values(dict.fromkeys(NARRATIVE_COLUMNS)))
    for model, events in ((ActionEvent, "action_events"), (RiskEvent, "risk_events"), (IssueEvent, "issue_events")):
        session.execute(delete(model).where(model.id.in_(_note_ids(held, events))))
    session.execute(update(Risk).where(Risk.project_id == project.id).values(mitigation=None))
    # A decision asked for keeps who was asked, by when and the decision made; the words asked go.
    session.execute(update(DecisionRequest).where(DecisionRequest.project_id == project.id).values(question=""))
    session.execute(delete(OutgoingMessage).where(OutgoingMessage.id.in_(dm_rows)))
    if removal.people_replaced:
        replaced = set(session.scalars(select(Person.id).where(Person.slack_user_id.in_(removal.people_replaced))))
        _replace_people(session, held, replaced, _former_member(session, now=now))
    audit.record(
        session,
        record_type="projects",
        record_id=project.id,
        project_id=project.id,
        operation="removed",
        changes={what: [count, 0] for what, count in removal.as_changes().items()},
    )
    session.expire_all()


# --- forget ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenAction:
    action_id: int
    project_key: str
    title: str


@dataclass(frozen=True)
class Forgotten:
    slack_user_id: str
    open_actions: list[OpenAction]  # reassign these first (or --force)
    done: bool
    closed_projects: list[str]


def forget(session: Session, who: str, *, now: datetime, force: bool) -> Forgotten:
    """A leaver: their name and Slack ID go from closed projects' records; refused while they
    own open actions, unless `force`."""
    person = foi.find_person(session, who)
    open_actions = [
        OpenAction(action_id, key, title)
        for action_id, key, title in session.execute(
            select(Action.id, Project.key, Action.title)
            .join(Project, Project.id == Action.project_id)
            .where(Action.owner_id == person.id, Action.status == ActionStatus.OPEN)
            .order_by(Project.key, Action.id)
        )
    ]
    if open_actions and not force:
        return Forgotten(person.slack_user_id, open_actions, False, [])
    closed = list(
        session.scalars(
            select(Project).where(
                Project.status == ProjectStatus.CLOSED,
                or_(
                    Project.sponsor_id == person.id, Project.lead_id == person.id, Project.id.in_(_named_in(person.id))
                ),
            )
        )
    )
    placeholder = _former_member(session, now=now)
    for project in closed:
        held = foi.export_project(session, project.key, foi.Window(), now=now)
        _replace_people(session, held, {person.id}, placeholder)
    # Their own row keeps no name or contact detail; the Slack ID stays only while records
    # of open projects still need it to reach them (none, once reassigned).
    session.execute(update(Person).where(Person.id == person.id).values(display_name=None, email=None))
    audit.record(
        session,
        record_type="people",
        record_id=person.id,
        project_id=None,
        operation="removed",
        changes={"forgotten on closed projects": [len(closed), 0], "name and email": ["held", None]},
    )
    session.expire_all()
    return Forgotten(person.slack_user_id, open_actions, True, sorted(project.key for project in closed))


def _named_in(person_id: int) -> CompoundSelect:
    """Projects where the person is a member, owns or made an action, or submitted a check-in."""
    return (
        select(ProjectMember.project_id)
        .where(ProjectMember.person_id == person_id)
        .union(
            select(Action.project_id).where(or_(Action.owner_id == person_id, Action.creator_id == person_id)),
            select(Checkin.project_id).where(Checkin.submitted_by_id == person_id),
            select(Action.project_id)
            .join(ActionEvent, ActionEvent.action_id == Action.id)
            .where(ActionEvent.actor_id == person_id),
        )
    )
