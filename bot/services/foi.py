"""Freedom of Information / EIR and subject-access exports: everything the bot holds about a
project (in a window) or about one person, as plain tables.

An export is a record (one row) and named tables of rows, each row a column -> value map
taken from the stored columns as they are. Every column that points at a person
(`owner_id`, `submitted_by_id`...) gains `<name>_user` (the Slack user ID) and `<name>_name`
(the person's last known name), so a reader never meets a bare ID. The renderers
(bot/services/foi_formats.py) turn the same data into JSON, a zip of CSV files or one HTML
page; the JSON's schema (`json_schema`) is generated from the same column lists and kept in
docs/project-export.schema.json.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, Table, and_, false, or_, select, true
from sqlalchemy.orm import Session

from bot.errors import NotFound, UserError
from bot.services import portfolio
from storage.base import Base
from storage.models import Person

PROJECT_SCHEMA_ID = "pmo-bot/project-export/1"
PERSON_SCHEMA_ID = "pmo-bot/person-export/1"

# The project's tables in the order an export lists them.
PROJECT_TABLES = (
    "project_members",
    "channel_links",
    "project_services",
    "project_shares",
    "checkins",
    "benefits",
    "benefit_values",
    "actions",
    "action_events",
    "incidents",
    "incident_impacts",
    "escalations",
    "decisions",
    "risks",
    "risk_events",
    "issues",
    "issue_events",
    "decision_requests",
    "lessons",
    "milestones",
    "milestone_dependencies",
    "cost_reports",
    "audit_events",
)
# When a row of these tables happened, for the window; the other tables are the project's
# standing record (members, links, benefits) and are exported whole.
WINDOW_COLUMNS = {
    "checkins": "submitted_at",
    "benefit_values": "reported_at",
    "action_events": "created_at",
    "risk_events": "created_at",
    "issue_events": "created_at",
    "incident_impacts": "created_at",
    "escalations": "created_at",
    "decisions": "decided_at",
    "project_shares": "created_at",
    "lessons": "recorded_at",
    "cost_reports": "reported_at",
    "audit_events": "at",
}
TITLES = {
    "project": "Project record",
    "project_members": "Members",
    "channel_links": "Linked channels",
    "project_services": "Live services it depends on",
    "project_shares": "Shares with partner organisations",
    "checkins": "Check-ins (every revision)",
    "benefits": "Benefits",
    "benefit_values": "Benefit values reported",
    "actions": "Actions",
    "action_events": "Action history and notes",
    "incidents": "Incidents affecting it",
    "incident_impacts": "Incident impacts",
    "escalations": "Escalations to the PMO, and who acknowledged them",
    "decisions": "Decisions",
    "risks": "Risks (the RAID log)",
    "risk_events": "Risk reviews and notes",
    "issues": "Issues (the RAID log)",
    "issue_events": "Issue history and notes",
    "decision_requests": "Decisions asked for",
    "lessons": "Lessons learned",
    "milestones": "Milestones (baseline, forecast, actual)",
    "milestone_dependencies": "Other projects' milestones it depends on",
    "cost_reports": "Monthly cost reports",
    "audit_events": "Audit trail (who changed what, when)",
    "person": "Person record",
    "projects": "Projects with a role",
}


@dataclass(frozen=True)
class Window:
    first: date | None = None  # included
    last: date | None = None  # included

    def __post_init__(self) -> None:
        if self.first and self.last and self.last < self.first:
            raise UserError(f"--to {self.last.isoformat()} is before --from {self.first.isoformat()}.")

    def condition(self, column: Column[Any]) -> ColumnElement[bool]:
        conditions: list[ColumnElement[bool]] = []
        if self.first:
            conditions.append(column >= datetime.combine(self.first, time.min, tzinfo=timezone.utc))
        if self.last:
            conditions.append(column <= datetime.combine(self.last, time.max, tzinfo=timezone.utc))
        return and_(true(), *conditions)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "from": self.first.isoformat() if self.first else None,
            "to": self.last.isoformat() if self.last else None,
        }


@dataclass
class Export:
    schema: str
    title: str
    exported_at: datetime
    window: Window
    record_name: str  # "project" or "person"
    record: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "title": self.title,
            "exported_at": self.exported_at.isoformat(),
            "window": self.window.as_dict(),
            self.record_name: self.record,
            "tables": self.tables,
        }


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def person_columns(table: Table) -> list[Column[Any]]:
    """The columns of `table` that point at a person."""
    return [column for column in table.columns if any(key.column.table.name == "people" for key in column.foreign_keys)]


def _person_field(column: Column[Any]) -> str:
    return column.name.removesuffix("_id")


def plain(value: Any) -> Any:
    """A stored value as JSON holds it: dates and instants in ISO 8601, decimals as strings."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


class _People:
    """Slack user ID and last known name of every person an export mentions, read once."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(select(Person.id, Person.slack_user_id, Person.display_name))
        self.by_id = {person_id: (user_id, name) for person_id, user_id, name in rows}
        self.names = {user_id: name for user_id, name in self.by_id.values() if name}

    def name_of(self, user_id: str | None) -> str | None:
        return self.names.get(user_id) if user_id else None


def _rows(session: Session, people: _People, name: str, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    table = _table(name)
    linked = person_columns(table)
    rows = []
    for row in session.execute(select(table).where(where).order_by(table.c.id)).mappings():
        out = {key: plain(value) for key, value in row.items()}
        for column in linked:
            user_id, person_name = people.by_id.get(row[column.name], (None, None))
            out[f"{_person_field(column)}_user"] = user_id
            out[f"{_person_field(column)}_name"] = person_name
        if name == "audit_events":
            out["actor_name"] = people.name_of(row["actor"])
        rows.append(out)
    return rows


def _ids(rows: list[dict[str, Any]], column: str = "id") -> list[Any]:
    return [row[column] for row in rows if row.get(column) is not None]


def export_project(session: Session, key: str, window: Window, *, now: datetime) -> Export:
    project = portfolio.get_project(session, key)
    people = _People(session)
    [record] = _rows(session, people, "projects", _table("projects").c.id == project.id)
    export = Export(PROJECT_SCHEMA_ID, f"{project.key} · {project.name}", now, window, "project", record)

    def of_project(name: str) -> ColumnElement[bool]:
        table = _table(name)
        return and_(table.c.project_id == project.id, _windowed(name))

    def _windowed(name: str) -> ColumnElement[bool]:
        column = WINDOW_COLUMNS.get(name)
        return window.condition(_table(name).c[column]) if column else true()

    tables = export.tables
    for name in ("project_members", "channel_links", "project_services", "project_shares", "checkins", "benefits"):
        tables[name] = _rows(session, people, name, of_project(name))
    values = _table("benefit_values")
    tables["benefit_values"] = _rows(
        session,
        people,
        "benefit_values",
        and_(values.c.benefit_id.in_(_ids(tables["benefits"])), _windowed("benefit_values")),
    )
    actions = _table("actions")
    # An action is in the window when it was open at some time in it.
    in_window = [actions.c.project_id == project.id]
    if window.last:
        in_window.append(actions.c.created_at <= datetime.combine(window.last, time.max, tzinfo=timezone.utc))
    if window.first:
        first = datetime.combine(window.first, time.min, tzinfo=timezone.utc)
        in_window.append(or_(actions.c.closed_at.is_(None), actions.c.closed_at >= first))
    tables["actions"] = _rows(session, people, "actions", and_(*in_window))
    events = _table("action_events")
    tables["action_events"] = _rows(
        session,
        people,
        "action_events",
        and_(events.c.action_id.in_(_ids(tables["actions"])), _windowed("action_events")),
    )
    impacts = _rows(session, people, "incident_impacts", of_project("incident_impacts"))
    incidents = _table("incidents")
    tables["incidents"] = _rows(session, people, "incidents", incidents.c.id.in_(_ids(impacts, "incident_id")))
    tables["incident_impacts"] = impacts
    escalations = _table("escalations")
    tables["escalations"] = _rows(
        session,
        people,
        "escalations",
        and_(
            or_(escalations.c.project_id == project.id, escalations.c.action_id.in_(_ids(tables["actions"]))),
            _windowed("escalations"),
        ),
    )
    for name in ("risks", "issues", "decision_requests"):
        tables[name] = _rows(session, people, name, of_project(name))
    for events_of, parent in (("risk_events", "risks"), ("issue_events", "issues")):
        parent_id = _table(events_of).c[f"{parent[:-1]}_id"]
        tables[events_of] = _rows(
            session, people, events_of, and_(parent_id.in_(_ids(tables[parent])), _windowed(events_of))
        )
    for name in ("decisions", "lessons", "milestones", "milestone_dependencies", "cost_reports", "audit_events"):
        tables[name] = _rows(session, people, name, of_project(name))
    return export


def find_person(session: Session, who: str) -> Person:
    """A person by Slack mention (<@U123>), user ID or email."""
    text = who.strip()
    if text.startswith("<@") and text.endswith(">"):
        text = text[2:-1].split("|")[0]
    text = text.removeprefix("@")
    condition = Person.email.ilike(text) if "@" in text else Person.slack_user_id == text.upper()
    person = session.scalar(select(Person).where(condition))
    if person is None:
        raise NotFound(f"The bot holds nothing about '{who}': give their Slack user ID (U...) or email address.")
    return person


def export_person(session: Session, who: str, *, now: datetime) -> Export:
    """Subject access: every row that names the person, table by table, and their audit rows."""
    person = find_person(session, who)
    people = _People(session)
    [record] = _rows(session, people, "people", _table("people").c.id == person.id)
    export = Export(PERSON_SCHEMA_ID, person.display_name or person.slack_user_id, now, Window(), "person", record)
    for table in Base.metadata.sorted_tables:
        linked = person_columns(table)
        if not linked or table.name == "people":
            continue
        rows = _rows(session, people, table.name, or_(false(), *(column == person.id for column in linked)))
        if rows:
            export.tables[table.name] = rows
    audit = _rows(session, people, "audit_events", _table("audit_events").c.actor == person.slack_user_id)
    if audit:
        export.tables["audit_events"] = audit
    return export


# --- the JSON schema ------------------------------------------------------------------------


def _column_schema(column: Column[Any]) -> dict[str, Any]:
    try:
        python = column.type.python_type
    except NotImplementedError:
        python = object
    kinds = {bool: "boolean", int: "integer", float: "number"}
    if isinstance(column.type, JSON):
        schema: dict[str, Any] = {"type": ["object"]}
    elif python in kinds:
        schema = {"type": [kinds[python]]}
    elif python is dict:
        schema = {"type": ["object"]}
    elif python in (datetime,):
        schema = {"type": ["string"], "format": "date-time"}
    elif python in (date,):
        schema = {"type": ["string"], "format": "date"}
    elif python is Decimal:
        schema = {"type": ["string"], "pattern": r"^-?\d+(\.\d+)?$"}
    else:
        schema = {"type": ["string"]}
    if column.nullable:
        schema["type"].append("null")
    if column.comment:
        schema["description"] = column.comment
    return schema


def row_schema(name: str) -> dict[str, Any]:
    table = _table(name)
    properties = {column.name: _column_schema(column) for column in table.columns}
    for column in person_columns(table):
        field_name = _person_field(column)
        properties[f"{field_name}_user"] = {"type": ["string", "null"], "description": "Slack user ID"}
        properties[f"{field_name}_name"] = {"type": ["string", "null"], "description": "last known name"}
    if name == "audit_events":
        properties["actor_name"] = {"type": ["string", "null"], "description": "the actor's last known name"}
    return {
        "type": "object",
        "title": TITLES.get(name, name),
        "properties": properties,
        "required": [column.name for column in table.columns],
        "additionalProperties": False,
    }


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `pmo-bot export-project --format json` (docs/project-export.schema.json)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": PROJECT_SCHEMA_ID,
        "title": "Everything pmo-bot holds about one project (FOI / EIR export)",
        "description": (
            "Rows are the stored columns as they are. Instants are ISO 8601 in UTC, dates ISO 8601, "
            "decimals strings. Each column naming a person has <name>_user (Slack user ID) and "
            "<name>_name (last known name) beside it. Tables with a time column hold the rows of "
            "the window only; the others are the project's standing record."
        ),
        "type": "object",
        "required": ["schema", "title", "exported_at", "window", "project", "tables"],
        "additionalProperties": False,
        "properties": {
            "schema": {"const": PROJECT_SCHEMA_ID},
            "title": {"type": "string"},
            "exported_at": {"type": "string", "format": "date-time"},
            "window": {
                "type": "object",
                "required": ["from", "to"],
                "additionalProperties": False,
                "properties": {
                    "from": {"type": ["string", "null"], "format": "date"},
                    "to": {"type": ["string", "null"], "format": "date"},
                },
            },
            "project": row_schema("projects"),
            "tables": {
                "type": "object",
                "required": list(PROJECT_TABLES),
                "additionalProperties": False,
                "properties": {
                    name: {"type": "array", "description": TITLES[name], "items": row_schema(name)}
                    for name in PROJECT_TABLES
                },
            },
        },
    }
