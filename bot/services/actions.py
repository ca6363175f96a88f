"""Actions: one thing one named person must do by a date, with its history.

Anyone may record an action and add notes to it; only its owner, the project's sponsor or
lead, and PMO admins may complete, snooze or reassign it. Every change is an ActionEvent
(created, note, snoozed, reassigned, done), so the history says who did what and when.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from bot.errors import NotAllowed, NotFound, UserError
from bot.services import escalations, message_keys, nudges, people
from bot.services.access import Actor, can_change_owned
from bot.services.cadence import parse_weekday
from bot.services.escalations import Cause
from bot.services.owed import AlertChanged
from storage.models import (
    Action,
    ActionEvent,
    ActionStatus,
    Checkin,
    Escalation,
    EscalationKind,
    Person,
    Project,
    ProjectStatus,
)

MAX_TITLE_LENGTH = 500  # the column's size
MAX_NOTE_LENGTH = 3000
SNOOZE_DAYS = (1, 3, 7)
HELP_ACTION_WORKING_DAYS = 5
NOTES_IN_ALERT = 3

# Field names, shared with the forms so problems land on the right input.
PROJECT = "project"
TITLE = "title"
OWNER = "owner"
DUE = "due"
NOTES = "notes"

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAYS_FROM_TODAY = re.compile(r"^\+(\d{1,3})d$")
DUE_DATE_FORMS = "YYYY-MM-DD, today, tomorrow, a weekday such as fri, or +3d"


class InvalidAction(UserError):
    """What a new action's author must correct; `problems` maps each field to what to do."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = problems


def parse_due(text: str, *, today: date) -> date:
    """A date as typed in Slack (a due date, a day away), relative to the workspace's `today`.

    A weekday name means the next such day, never today: "fri" on a Friday is a week away.
    """
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if relative := _DAYS_FROM_TODAY.match(word):
        return today + timedelta(days=int(relative[1]))
    if _ISO_DATE.match(word):
        try:
            return date.fromisoformat(word)
        except ValueError:  # the right shape but no such day, e.g. 2026-02-30
            raise UserError(f"'{text}' is not a day in the calendar: use {DUE_DATE_FORMS}.") from None
    try:
        weekday = parse_weekday(word)
    except UserError:
        raise UserError(f"'{text}' is not a date: use {DUE_DATE_FORMS}.") from None
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


@dataclass(frozen=True)
class DueDate:
    day: date
    # Set when "+3d" landed on a weekend or skip date and the day moved on to the next working day.
    moved_from: date | None = None


def parse_due_on_working_day(session: Session, text: str, *, today: date) -> DueDate:
    """A due date as typed; "+Nd" that lands on a day off moves to the next working day, as snooze does."""
    due = parse_due(text, today=today)
    if not _DAYS_FROM_TODAY.match(text.strip().lower()):
        return DueDate(due)
    working = nudges.calendar_between(session, due, due + timedelta(days=30)).on_or_after(due)
    return DueDate(working, due if working != due else None)


# --- creating ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAction:
    project_key: str
    title: str
    owner_user_id: str
    due: date
    notes: str | None = None
    source_link: str | None = None


def problems(new: NewAction, *, today: date) -> dict[str, str]:
    """What is wrong with a new action apart from its project, by field."""
    found: dict[str, str] = {}
    title = new.title.strip()
    if not title:
        found[TITLE] = "Say what has to be done, e.g. Agree the data-sharing protocol."
    elif len(title) > MAX_TITLE_LENGTH:
        found[TITLE] = (
            f"The title is {len(title)} characters long; keep it to {MAX_TITLE_LENGTH} and put the rest in a note."
        )
    if new.due < today:
        found[DUE] = f"{new.due.isoformat()} is in the past: choose today or a later day (e.g. fri or +3d)."
    if new.notes and len(new.notes) > MAX_NOTE_LENGTH:
        found[NOTES] = f"The notes are {len(new.notes)} characters long; keep them to {MAX_NOTE_LENGTH}."
    return found


def _project_problem(project: Project | None, key: str) -> str:
    if project is None:
        return (
            f"No project has the key {key.strip().upper()}. Check the spelling: "
            "`/pmo project KEY` shows a project's record."
        )
    return f"{project.key} is closed, so it takes no new actions. Give the key of an open project."


def find_project(session: Session, key: str) -> Project | None:
    return session.scalar(select(Project).where(Project.key == key.strip().upper()))


def check_project(session: Session, key: str) -> Project:
    """The open project an action would belong to, checked before a form is shown."""
    project = find_project(session, key)
    if project is None or project.status is ProjectStatus.CLOSED:
        raise InvalidAction({PROJECT: _project_problem(project, key)})
    return project


def _event(action: Action, kind: str, actor: Person, now: datetime, **detail: object) -> None:
    action.events.append(ActionEvent(kind=kind, actor_id=actor.id, detail=detail, created_at=now))


def create_action(session: Session, actor: Actor, new: NewAction, *, today: date, now: datetime) -> Action:
    """Record an action; the owner must already be known to be in the workspace (the caller asks Slack)."""
    found = problems(new, today=today)
    project = find_project(session, new.project_key)
    if project is None or project.status is ProjectStatus.CLOSED:
        found = {PROJECT: _project_problem(project, new.project_key), **found}
    if found or project is None:
        raise InvalidAction(found)
    owner = people.get_or_create(session, new.owner_user_id, now=now)
    creator = people.get_or_create(session, actor.slack_user_id, now=now)
    action = Action(
        project_id=project.id,
        title=new.title.strip(),
        owner=owner,
        creator_id=creator.id,
        due_date=new.due,
        status=ActionStatus.OPEN,
        source_link=new.source_link,
        created_at=now,
    )
    session.add(action)
    _event(action, "created", creator, now, owner=owner.slack_user_id, due=new.due.isoformat())
    if new.notes and new.notes.strip():
        _event(action, "note", creator, now, text=new.notes.strip())
    session.flush()
    return action


def help_title(help_needed: str) -> str:
    """An action title from a check-in's "help needed": its first line, cut to fit."""
    first_line = help_needed.strip().splitlines()[0].strip()
    return first_line if len(first_line) <= MAX_TITLE_LENGTH else first_line[: MAX_TITLE_LENGTH - 1] + "…"


def create_help_action(
    session: Session,
    actor: Actor,
    checkin_id: int,
    *,
    source_link: str | None,
    today: date,
    now: datetime,
) -> Action:
    """Turn a check-in's "help needed" into an action for the project's sponsor, due in 5 working days."""
    checkin = session.get(Checkin, checkin_id)
    if checkin is None or not checkin.help_needed:
        raise NotFound("That check-in asks for no help any more, so there is nothing to make into an action.")
    project = session.get_one(Project, checkin.project_id)
    if project.sponsor is None:
        raise UserError(
            f"{project.key} has no sponsor to own this. Record it for someone else with `/pmo action {project.key}`."
        )
    calendar = nudges.calendar_between(session, today, today + timedelta(days=HELP_ACTION_WORKING_DAYS * 3))
    due = calendar.add(today, HELP_ACTION_WORKING_DAYS)
    help_needed = checkin.help_needed.strip()
    title = help_title(help_needed)
    new = NewAction(
        project.key,
        title,
        project.sponsor.slack_user_id,
        due,
        notes=help_needed if help_needed != title else None,
        source_link=source_link,
    )
    return create_action(session, actor, new, today=today, now=now)


# --- changing ---------------------------------------------------------------------------


def get_action(session: Session, action_id: int) -> Action:
    action = session.get(Action, action_id)
    if action is None:
        raise NotFound("That action no longer exists.")
    return action


def project_of(session: Session, action: Action) -> Project:
    return session.get_one(Project, action.project_id)


def can_change(actor: Actor, action: Action, project: Project) -> bool:
    return can_change_owned(actor, action.owner.slack_user_id, project)


def _changeable(session: Session, actor: Actor, action_id: int, doing: str) -> Action:
    action = get_action(session, action_id)
    if action.status is not ActionStatus.OPEN:
        raise UserError(f"{quoted(action.title)} is already {action.status.value}, so there is nothing to {doing}.")
    project = project_of(session, action)
    if not can_change(actor, action, project):
        raise NotAllowed(
            f"Only the action's owner (<@{action.owner.slack_user_id}>), {project.key}'s sponsor or lead, "
            f"and PMO admins can {doing} it. Ask one of them, or add a note instead."
        )
    return action


def complete(session: Session, actor: Actor, action_id: int, *, now: datetime) -> Action:
    action = _changeable(session, actor, action_id, "complete")
    action.status = ActionStatus.DONE
    action.closed_at = now
    _event(action, "done", people.get_or_create(session, actor.slack_user_id, now=now), now)
    session.flush()
    return action


def snooze(session: Session, actor: Actor, action_id: int, days: int, *, today: date, now: datetime) -> Action:
    """Move the due date to `days` from today (to the next working day if that is not one)."""
    if days not in SNOOZE_DAYS:
        raise UserError(f"Snooze for {', '.join(str(choice) for choice in SNOOZE_DAYS)} days.")
    action = _changeable(session, actor, action_id, "snooze")
    calendar = nudges.calendar_between(session, today, today + timedelta(days=days + 30))
    new_due = calendar.on_or_after(today + timedelta(days=days))
    if new_due <= action.due_date:
        raise UserError(
            f"{quoted(action.title)} is due {action.due_date.isoformat()}, already later than a snooze to "
            f"{new_due.isoformat()}, so nothing changed."
        )
    previous = action.due_date
    action.due_date = new_due
    _event(
        action,
        "snoozed",
        people.get_or_create(session, actor.slack_user_id, now=now),
        now,
        days=days,
        previous_due=previous.isoformat(),
        due=new_due.isoformat(),
    )
    session.flush()
    return action


def reassign(session: Session, actor: Actor, action_id: int, new_owner_user_id: str, *, now: datetime) -> Action:
    """Give the action to someone else (already checked to be in the workspace); the ladder keeps its age."""
    action = _changeable(session, actor, action_id, "reassign")
    previous = action.owner.slack_user_id
    if new_owner_user_id == previous:
        raise UserError(f"<@{previous}> already owns {quoted(action.title)}. Pick someone else to reassign it to.")
    action.owner = people.get_or_create(session, new_owner_user_id, now=now)
    _event(
        action,
        "reassigned",
        people.get_or_create(session, actor.slack_user_id, now=now),
        now,
        previous_owner=previous,
        owner=new_owner_user_id,
    )
    session.flush()
    return action


def add_note(session: Session, actor: Actor, action_id: int, text: str, *, now: datetime) -> Action:
    """Anyone may add a note: notes are how people who cannot change an action still help it along."""
    note = text.strip()
    if not note:
        raise InvalidAction({NOTES: "Write the note, or cancel."})
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidAction({NOTES: f"The note is {len(note)} characters long; keep it to {MAX_NOTE_LENGTH}."})
    action = get_action(session, action_id)
    _event(action, "note", people.get_or_create(session, actor.slack_user_id, now=now), now, text=note)
    session.flush()
    return action


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One thing that happened to an action, as its history shows it."""

    at: datetime
    kind: str  # created, note, snoozed, reassigned, done, dropped
    actor_user_id: str | None
    detail: dict[str, object]


def parse_action_id(text: str) -> int:
    """An action's number as people type it: `12` or `#12`."""
    digits = text.strip().removeprefix("#")
    if not digits.isdigit():
        raise UserError(f"'{text}' is not an action number: type it as the history shows it, e.g. `12`.")
    return int(digits)


def find_action(session: Session, action_id: int) -> Action | None:
    return session.get(Action, action_id)


def history(session: Session, action: Action) -> list[HistoryEntry]:
    """Everything recorded about the action, oldest first: anyone may read it, as anyone may add a note."""
    actor_ids = {event.actor_id for event in action.events if event.actor_id}
    user_ids: dict[int, str] = {}
    if actor_ids:
        rows = session.execute(select(Person.id, Person.slack_user_id).where(Person.id.in_(actor_ids)))
        user_ids = {person_id: slack_user_id for person_id, slack_user_id in rows}
    return [
        HistoryEntry(
            at=event.created_at,
            kind=event.kind,
            actor_user_id=user_ids.get(event.actor_id) if event.actor_id else None,
            detail=dict(event.detail or {}),
        )
        for event in action.events
    ]


def _with_projects(session: Session, *conditions: ColumnElement[bool]) -> list[tuple[Action, Project]]:
    rows = session.execute(
        select(Action, Project)
        .join(Project, Project.id == Action.project_id)
        .where(*conditions)
        .options(selectinload(Action.owner))
        .order_by(Action.due_date, Action.id)
    )
    return [(action, project) for action, project in rows]


def open_actions_owned_by(session: Session, user_id: str) -> list[tuple[Action, Project]]:
    """Someone's open actions, most overdue first."""
    return _with_projects(
        session,
        Action.status == ActionStatus.OPEN,
        Action.owner_id.in_(select(Person.id).where(Person.slack_user_id == user_id)),
    )


def open_actions_of_project(session: Session, key: str) -> tuple[Project, list[tuple[Action, Project]]]:
    """A project's open actions, most overdue first."""
    project = find_project(session, key)
    if project is None:
        raise NotFound(_project_problem(None, key))
    return project, _with_projects(session, Action.status == ActionStatus.OPEN, Action.project_id == project.id)


def actions_by_id(session: Session, action_ids: list[int]) -> list[tuple[Action, Project]]:
    """These actions (any status) in the order given; ids that no longer exist are left out."""
    found = {action.id: (action, project) for action, project in _with_projects(session, Action.id.in_(action_ids))}
    return [found[action_id] for action_id in action_ids if action_id in found]


@dataclass(frozen=True)
class ActionLine:
    """An action as a message shows it: plain data for the builders."""

    action_id: int
    project_key: str
    project_name: str
    title: str
    owner_user_id: str
    owner_away_until: date | None  # set while the owner is away on the day shown
    due: date
    status: str
    as_of: date
    overdue_days: int  # working days overdue on `as_of`
    source_link: str | None

    @property
    def is_open(self) -> bool:
        return self.status == ActionStatus.OPEN.value

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due < self.as_of


def _away_until(owner: Person, day: date) -> date | None:
    absence = nudges.absence_on(nudges.absences_of(owner), day)
    return absence[1] if absence else None


def action_lines(
    session: Session, rows: list[tuple[Action, Project]], *, as_of: date, zone: ZoneInfo
) -> list[ActionLine]:
    """The lines for these actions as of a day, ages counted as the ladder counts them."""
    action_clocks = nudges.clocks(session, rows, until=as_of, zone=zone)
    lines = []
    for action, project in rows:
        owner = action.owner
        lines.append(
            ActionLine(
                action_id=action.id,
                project_key=project.key,
                project_name=project.name,
                title=action.title,
                owner_user_id=owner.slack_user_id,
                owner_away_until=_away_until(owner, as_of),
                due=action.due_date,
                status=action.status.value,
                as_of=as_of,
                overdue_days=action_clocks[action.id].age(as_of) if action.status is ActionStatus.OPEN else 0,
                source_link=action.source_link,
            )
        )
    return lines


# --- what the PMO hears -------------------------------------------------------------------


def quoted(title: str) -> str:
    """A title inside a refusal's wording: quoted, and escaped so `<!here>` in it pings nobody."""
    return "“" + title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "”"


def working_days_text(days: int) -> str:
    return f"{days} working day{'s' if days != 1 else ''}"


def _notes_facts(session: Session, action: Action) -> list[dict[str, str | None]]:
    notes = [event for event in action.events if event.kind == "note"][-NOTES_IN_ALERT:]
    found = []
    for note in notes:
        author = session.get(Person, note.actor_id) if note.actor_id else None
        found.append({"by": author.slack_user_id if author else None, "text": note.detail.get("text", "")})
    return found


def overdue_facts(session: Session, line: ActionLine, action: Action) -> dict[str, object]:
    return {
        "title": line.title,
        "owner_user_id": line.owner_user_id,
        "owner_away_until": line.owner_away_until.isoformat() if line.owner_away_until else None,
        "due": line.due.isoformat(),
        "days_overdue": line.overdue_days,
        "notes": _notes_facts(session, action),
        "snoozes": sum(event.kind == "snoozed" for event in action.events),
    }


def overdue_alerts_updated_since(session: Session, since: datetime) -> set[int]:
    """The actions whose overdue alert was raised or changed since `since` (today's are fresh)."""
    keys = session.scalars(
        select(Escalation.cause_key).where(
            Escalation.cause_key.like(message_keys.ACTION_OVERDUE_CAUSE_PREFIX + "%"), Escalation.updated_at >= since
        )
    )
    return {int(key.removeprefix(message_keys.ACTION_OVERDUE_CAUSE_PREFIX)) for key in keys}


def settlement(line: ActionLine, *, actor_user_id: str) -> dict[str, str]:
    """How an action's alert was settled once the owner (or someone allowed to) did or snoozed it."""
    if line.status == ActionStatus.DONE.value:
        return {"how": "done", "by": actor_user_id, "on": line.as_of.isoformat()}
    return {"how": "snoozed", "by": actor_user_id, "due": line.due.isoformat()}


def unreachable_cause(user_id: str, error: str, lines: list[ActionLine]) -> Cause:
    facts = {
        "user_id": user_id,
        "error": error,
        "actions": [
            {"title": line.title, "project_key": line.project_key, "due": line.due.isoformat()} for line in lines
        ],
    }
    return Cause(key=message_keys.owner_unreachable_cause(user_id), kind=EscalationKind.OWNER_UNREACHABLE, facts=facts)


COUNTED_ON = "counted_on"  # an overdue alert's facts: the day its count last grew


def _alert_count(
    session: Session, line: ActionLine, action: Action, shown: dict[str, Any], zone: ZoneInfo
) -> tuple[int, date]:
    """The count an open alert shows now, and the day it last grew.

    The count shown is never taken back: it grows by the days that count after the day it
    last grew, on the clock as known now. An incident pause (or time away) recorded later
    over days already counted stops the count growing for its remaining days, and no more.
    """
    days, counted_on = int(shown.get("days_overdue", 0)), shown.get(COUNTED_ON)
    if not isinstance(counted_on, str):  # an alert raised before the day was kept
        return max(days, line.overdue_days), line.as_of
    since = date.fromisoformat(counted_on)
    if line.as_of <= since:
        return days, since
    clock = nudges.clocks(session, [(action, project_of(session, action))], until=line.as_of, zone=zone)[action.id]
    grown = clock.age(line.as_of) - clock.age(since)
    return (days + grown, line.as_of) if grown else (days, since)


def raise_overdue_alert(session: Session, line: ActionLine, *, now: datetime, zone: ZoneInfo) -> list[AlertChanged]:
    """Raise or refresh an action's PMO alert; the alert owed a showing when its facts changed, else none.

    Comparing the facts is what keeps repeated ticks quiet: the alert changes when the
    action ages (once a working day at most) or its owner goes away, and is otherwise left
    alone. Its count of days never goes down (see `_alert_count`). `zone` is the
    workspace's, which dates the incident pauses.
    """
    action = get_action(session, line.action_id)
    facts = overdue_facts(session, line, action)
    existing = escalations.find(session, message_keys.action_overdue_cause(line.action_id))
    counted_on = line.as_of
    if existing is not None and existing.settled_at is None and existing.kind is EscalationKind.ACTION_OVERDUE:
        facts["days_overdue"], counted_on = _alert_count(session, line, action, existing.facts, zone)
    facts[COUNTED_ON] = counted_on.isoformat()
    cause = Cause(
        key=message_keys.action_overdue_cause(line.action_id), kind=EscalationKind.ACTION_OVERDUE, facts=facts
    )
    if existing is not None and not escalations.is_changed(existing, cause):
        return []
    escalation = escalations.raise_or_update(session, cause, project=project_of(session, action), now=now)
    escalation.action_id = action.id
    return [AlertChanged(escalation.id, cause.key)]


def settle_overdue_alert(
    session: Session, action_id: int, *, by: str, as_of: date, zone: ZoneInfo, now: datetime
) -> list[AlertChanged]:
    """Done or snoozed: the action's PMO alert, if it has one, says so (the alert owed an update)."""
    [line] = action_lines(session, actions_by_id(session, [action_id]), as_of=as_of, zone=zone)
    cause_key = message_keys.action_overdue_cause(action_id)
    return escalations.settle_alert(session, cause_key, settlement(line, actor_user_id=by), now=now)


def refresh_overdue_alert(
    session: Session, action_id: int, *, as_of: date, zone: ZoneInfo, now: datetime
) -> list[AlertChanged]:
    """A reassigned action's PMO alert, if it has one, names the new owner straight away."""
    cause_key = message_keys.action_overdue_cause(action_id)
    if escalations.find(session, cause_key) is None:
        return []
    [line] = action_lines(session, actions_by_id(session, [action_id]), as_of=as_of, zone=zone)
    return raise_overdue_alert(session, line, now=now, zone=zone) if line.is_overdue else []
