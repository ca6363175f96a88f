"""The portfolio as a spreadsheet: `pmo-bot import FILE.csv` and `pmo-bot export FILE.csv`.

One row per project, in the columns PMOs already keep (`COLUMNS`). A blank cell means the
default: no programme, objective, sponsor, lead or services; the workspace's check-in
cadence (NULL in storage); status active. The one exception is `channel`: a blank channel
leaves the project's channel links as they are, because links are made and broken in Slack
(`/pmo link`, `/pmo unlink`) and a blank cell must not quietly stop a team's prompts.

Import is all or nothing: every row is read and checked first, and one bad row rejects the
file with every problem listed, before anything is written. Lines are numbered as the
spreadsheet numbers its rows (the header is line 1).

An export imports back as a no-op: cells are written in the same canonical form the import
reads them into, and a project whose row matches what is stored is left untouched.

A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, tab or carriage return as a
formula, so export puts `'` in front of such a cell (OWASP's advice for CSV injection) and
import takes it off again. A cell that already starts with quotes before one of those gets
one more, so the round trip is exact for any text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.errors import UserError
from bot.services import cadence, people, portfolio
from storage.models import Person, Project, ProjectService, ProjectStatus

COLUMNS: tuple[str, ...] = (
    "key",
    "name",
    "programme",
    "objective",
    "sponsor",
    "lead",
    "services",
    "channel",
    "checkin_day",
    "checkin_time",
    "timezone",
    "status",
)

SERVICE_SEPARATOR = ";"
_BOM = "\ufeff"
# A cell a spreadsheet would evaluate, after any quotes already put in front of it.
_FORMULA_LIKE = re.compile(r"^'*[=+\-@\t\r]")
_PROTECTED = re.compile(r"^'+[=+\-@\t\r]")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
# Only a plausible address is worth a users.lookupByEmail call; Slack decides the rest.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

T = TypeVar("T")


@dataclass(frozen=True)
class RowProblem:
    """What is wrong on one line and what to write instead; `str()` puts "line N: " in front.

    `unit` names what `line` counts: spreadsheet lines, or projects in a synced JSON list.
    """

    line: int
    message: str
    unit: str = "line"

    def __str__(self) -> str:
        return f"{self.unit} {self.line}: {self.message}"


class ImportRejected(UserError):
    """The file had problems, so nothing was imported."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        super().__init__(
            "Nothing was imported; fix these and import the file again:\n"
            + "\n".join(str(problem) for problem in problems)
        )


@dataclass
class ImportSummary:
    """Project keys by what the import did to them."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Channels the import made primary: the bot must be in them to post the prompts.
    linked_channel_ids: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"


@dataclass(frozen=True)
class PortfolioRow:
    """One project as the spreadsheet describes it, in canonical form; None is a blank cell."""

    key: str
    name: str
    programme: str | None
    objective: str | None
    sponsor_user_id: str | None
    lead_user_id: str | None
    service_keys: tuple[str, ...]  # sorted, so the order in a cell does not count as a change
    channel_id: str | None
    checkin_day: int | None  # 0 = Monday
    checkin_time: str | None  # "HH:MM"
    timezone: str | None
    status: ProjectStatus


# --- export ----------------------------------------------------------------------------


def export_portfolio(session: Session) -> str:
    """Every project as CSV text, ordered by key, with blanks wherever a project uses a default."""
    projects = session.scalars(
        select(Project)
        .order_by(Project.key)
        .options(
            selectinload(Project.programme),
            selectinload(Project.objective),
            selectinload(Project.sponsor),
            selectinload(Project.lead),
            selectinload(Project.channel_links),
            selectinload(Project.service_links).selectinload(ProjectService.service),
        )
    )
    return write_table(COLUMNS, (_cells(row_from_project(p), _emails_of(p.sponsor, p.lead)) for p in projects))


def _emails_of(*people_named: Person | None) -> dict[str, str]:
    """The email each person was imported by: a file that named someone by email gets the email back."""
    return {person.slack_user_id: person.email for person in people_named if person and person.email}


def row_from_project(project: Project) -> PortfolioRow:
    channel = portfolio.primary_channel(project)
    return PortfolioRow(
        key=project.key,
        name=project.name,
        programme=project.programme.name if project.programme else None,
        objective=project.objective.name if project.objective else None,
        sponsor_user_id=project.sponsor.slack_user_id if project.sponsor else None,
        lead_user_id=project.lead.slack_user_id if project.lead else None,
        service_keys=tuple(sorted(portfolio.depended_service_keys(project))),
        channel_id=channel.channel_id if channel else None,
        checkin_day=project.checkin_day,
        checkin_time=project.checkin_time,
        timezone=project.timezone,
        status=project.status,
    )


def _cells(row: PortfolioRow, email_by_user_id: Mapping[str, str]) -> dict[str, str]:
    def person(user_id: str | None) -> str:
        return email_by_user_id.get(user_id, user_id) if user_id else ""

    by_column = {
        "key": row.key,
        "name": row.name,
        "programme": row.programme or "",
        "objective": row.objective or "",
        "sponsor": person(row.sponsor_user_id),
        "lead": person(row.lead_user_id),
        "services": SERVICE_SEPARATOR.join(row.service_keys),
        "channel": row.channel_id or "",
        "checkin_day": cadence.DAY_NAMES[row.checkin_day] if row.checkin_day is not None else "",
        "checkin_time": row.checkin_time or "",
        "timezone": row.timezone or "",
        "status": row.status.value,
    }
    return by_column


def protected(cell: str) -> str:
    """The cell as a spreadsheet shows it as text rather than running it as a formula."""
    return "'" + cell if _FORMULA_LIKE.match(cell) else cell


def _unprotected(cell: str) -> str:
    """The cell as it was before export protected it (see `protected`)."""
    return cell[1:] if _PROTECTED.match(cell) else cell


# --- any table: the shared reading and writing (portfolio, milestones, dependencies, ...) ------


def write_table(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> str:
    """CSV text: the header, then one line per row (cells by column), each cell protected."""
    text = io.StringIO()
    # "\n": the caller writes this in text mode, which turns it into the platform's line end.
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([protected(row[column]) for column in columns])
    return text.getvalue()


def read_table(csv_text: str, columns: Sequence[str]) -> tuple[list[tuple[int, dict[str, str]]], list[RowProblem]]:
    """Each non-blank line's cells by column (stripped, protection taken off), numbered as a
    spreadsheet numbers them, and every problem with the header or stray cells."""
    problems: list[RowProblem] = []
    records = csv.reader(io.StringIO(csv_text.removeprefix(_BOM)))
    header = next(records, None)
    if header is None:
        return [], [RowProblem(1, f"the file is empty: its first line must be the header {', '.join(columns)}")]
    position_by_column = _read_header(header, columns, problems)
    if problems:
        # Until the header is right the cells cannot be told apart, so row checks would only add noise.
        return [], problems
    named_positions = set(position_by_column.values())
    rows: list[tuple[int, dict[str, str]]] = []
    for line, record in enumerate(records, start=2):
        # Spreadsheets often save empty rows below the table; they mean nothing.
        if not any(cell.strip() for cell in record):
            continue
        stray = next((cell.strip() for i, cell in enumerate(record) if i not in named_positions and cell.strip()), None)
        if stray is not None:
            problems.append(
                RowProblem(line, f"'{stray}' is in a column with no header: name the column or remove the value")
            )
        cells = {
            column: _unprotected(record[position].strip()) if position < len(record) else ""
            for column, position in position_by_column.items()
        }
        rows.append((line, cells))
    return rows, problems


def _read_header(header: list[str], columns: Sequence[str], problems: list[RowProblem]) -> dict[str, int]:
    position_by_column: dict[str, int] = {}
    for position, raw_name in enumerate(header):
        column = raw_name.strip().lower()
        if not column:
            continue  # an unnamed column is fine as long as it stays empty (checked per row)
        if column not in columns:
            problems.append(RowProblem(1, f"unknown column '{raw_name.strip()}': the columns are {', '.join(columns)}"))
        elif column in position_by_column:
            problems.append(RowProblem(1, f"column '{column}' appears twice: keep one"))
        else:
            position_by_column[column] = position
    missing = [column for column in columns if column not in position_by_column]
    if missing:
        problems.append(RowProblem(1, f"missing columns {', '.join(missing)}: add them (their cells may be blank)"))
    return position_by_column


# --- import ----------------------------------------------------------------------------


def import_portfolio(
    session: Session,
    csv_text: str,
    *,
    resolve_email: Callable[[str], str | None],
    team_id: str | None,
    now: datetime,
) -> ImportSummary:
    """Create or update one project per row (matched by key); all rows or, on any problem, none.

    `resolve_email` turns an email into a Slack user ID (None: no such user); it is called
    once per distinct, well-formed address. `team_id` is the workspace the channels are in.
    Raises ImportRejected, with the session untouched, when any row is bad. Does not commit.
    """
    reader = RowReader(session, resolve_email=resolve_email, team_id=team_id)
    return _import_rows(session, reader, reader.read(csv_text), team_id=team_id, now=now)


def import_records(
    session: Session,
    records: Sequence[Mapping[str, object]],
    *,
    resolve_email: Callable[[str], str | None],
    team_id: str | None,
    now: datetime,
) -> ImportSummary:
    """The same upsert as a spreadsheet import, from objects keyed by the column names.

    For systems that send the portfolio as JSON: fields other than COLUMNS are ignored
    (such systems carry many), a missing field is a blank cell, and problems are
    numbered by the object's position in the list ("project 3: ...").
    """
    reader = RowReader(session, resolve_email=resolve_email, team_id=team_id, unit="project")
    rows = []
    for number, record in enumerate(records, start=1):
        cells = {column: "" if record.get(column) is None else str(record.get(column)).strip() for column in COLUMNS}
        row = reader.read_cells(number, cells)
        if row is not None:
            rows.append(row)
    return _import_rows(session, reader, rows, team_id=team_id, now=now)


def _import_rows(
    session: Session, reader: RowReader, rows: list[PortfolioRow], *, team_id: str | None, now: datetime
) -> ImportSummary:
    if reader.problems:
        raise ImportRejected(reader.problems)
    summary = ImportSummary()
    for row in rows:
        project = portfolio.find_project(session, row.key)
        if project is not None and _matches(project, row):
            summary.unchanged.append(row.key)
            continue
        if project is None:
            project = portfolio.create_project(session, portfolio.NewProject(key=row.key, name=row.name), now=now)
            summary.created.append(row.key)
        else:
            project.updated_at = now
            summary.updated.append(row.key)
        _apply(session, project, row, team_id=team_id, email_by_user_id=reader.email_by_user_id, now=now)
        if row.channel_id is not None:
            summary.linked_channel_ids.append(row.channel_id)
    session.flush()
    return summary


def _matches(project: Project, row: PortfolioRow) -> bool:
    stored = row_from_project(project)
    if row.channel_id is None:
        # A blank channel leaves the links alone, so it never differs from what is stored.
        stored = replace(stored, channel_id=None)
    return _by_name_key(stored) == _by_name_key(row)


def _by_name_key(row: PortfolioRow) -> PortfolioRow:
    """The row as `portfolio.name_key` compares it: "digital " in a file is the stored "Digital"."""
    return replace(
        row,
        programme=portfolio.name_key(row.programme) if row.programme else None,
        objective=portfolio.name_key(row.objective) if row.objective else None,
    )


def _apply(
    session: Session,
    project: Project,
    row: PortfolioRow,
    *,
    team_id: str | None,
    email_by_user_id: Mapping[str, str],
    now: datetime,
) -> None:
    def person(user_id: str | None) -> Person | None:
        # Keeps the email the file named them by when the bot knows none for them yet.
        if user_id is None:
            return None
        return people.get_or_create(session, user_id, now=now, email=email_by_user_id.get(user_id))

    project.name = row.name
    project.programme = portfolio.get_or_create_programme(session, row.programme, now=now) if row.programme else None
    project.objective = portfolio.get_or_create_objective(session, row.objective, now=now) if row.objective else None
    project.sponsor = person(row.sponsor_user_id)
    project.lead = person(row.lead_user_id)
    project.checkin_day = row.checkin_day
    project.checkin_time = row.checkin_time
    project.timezone = row.timezone
    if row.status is not project.status:
        project.closed_at = now if row.status is ProjectStatus.CLOSED else None
        project.status = row.status
    portfolio.set_services(session, project, list(row.service_keys), now=now)
    if row.channel_id is not None:
        # Reading refused any channel when there is no workspace, so team_id is known here.
        assert team_id is not None
        portfolio.set_primary_channel(session, project, team_id, row.channel_id, now=now)


class RowReader:
    """Reads the CSV into PortfolioRows, collecting every problem instead of stopping at the first.

    It only reads the database (to see which project a channel is linked to), so a file
    with problems leaves the session as it was. Other tables in the same conventions (the
    RAID log's) subclass it with their own `columns` and `read_cells`.
    """

    columns: tuple[str, ...] = COLUMNS

    def __init__(
        self,
        session: Session,
        *,
        resolve_email: Callable[[str], str | None],
        team_id: str | None,
        unit: str = "line",
    ) -> None:
        self.problems: list[RowProblem] = []
        self._unit = unit
        self.email_by_user_id: dict[str, str] = {}
        self._session = session
        self._team_id = team_id
        self._resolve_email = resolve_email
        self._user_id_by_email: dict[str, str | None] = {}
        self._line_by_key: dict[str, int] = {}
        self._line_by_channel: dict[str, int] = {}

    def read(self, csv_text: str) -> list[PortfolioRow]:
        records, problems = read_table(csv_text, self.columns)
        self.problems.extend(problems)
        rows = [self.read_cells(line, cells) for line, cells in records]
        return [row for row in rows if row is not None]

    def read_cells(self, line: int, cells: Mapping[str, str]) -> PortfolioRow | None:
        """One project from its cells by column name; None (and problems recorded) if any is bad."""
        problems_before = len(self.problems)

        def read(column: str, parse: Callable[[str, str], T]) -> T | None:
            try:
                return parse(column, cells[column])
            except UserError as error:
                self.problems.append(RowProblem(line, str(error), self._unit))
                return None

        key = read("key", _parse_key)
        name = read("name", _parse_name)
        programme = read("programme", _parse_optional_name)
        objective = read("objective", _parse_optional_name)
        sponsor_user_id = read("sponsor", self._parse_person)
        lead_user_id = read("lead", self._parse_person)
        service_keys = read("services", _parse_service_keys)
        channel_id = read("channel", _parse_channel_id)
        checkin_day = read("checkin_day", _parse_day)
        checkin_time = read("checkin_time", _parse_time)
        timezone = read("timezone", _parse_timezone)
        status = read("status", _parse_status)
        if key is not None:
            self._check_key_is_new(line, key)
            if channel_id is not None:
                self._check_channel_is_free(line, key, channel_id)

        if len(self.problems) > problems_before or key is None or name is None or status is None:
            return None
        return PortfolioRow(
            key=key,
            name=name,
            programme=programme,
            objective=objective,
            sponsor_user_id=sponsor_user_id,
            lead_user_id=lead_user_id,
            service_keys=service_keys or (),
            channel_id=channel_id,
            checkin_day=checkin_day,
            checkin_time=checkin_time,
            timezone=timezone,
            status=status,
        )

    def _parse_person(self, column: str, text: str) -> str | None:
        if not text:
            return None
        if people.is_slack_user_id(text):
            return text
        if not _EMAIL.match(text):
            raise UserError(
                f"{column} '{text}' is neither a Slack user ID nor an email: "
                "write their user ID (e.g. U0123ABCD) or their email"
            )
        if text not in self._user_id_by_email:
            self._user_id_by_email[text] = self._resolve_email(text)
        user_id = self._user_id_by_email[text]
        if user_id is None:
            raise UserError(
                f"{column}: no Slack user has the email {text}: check the address, or write their Slack user ID"
            )
        self.email_by_user_id[user_id] = text
        return user_id

    def _check_key_is_new(self, line: int, key: str) -> None:
        first_line = self._line_by_key.setdefault(key, line)
        if first_line != line:
            self.problems.append(
                RowProblem(
                    line, f"key {key} is already on {self._unit} {first_line}: give each project one row", self._unit
                )
            )

    def _check_channel_is_free(self, line: int, key: str, channel_id: str) -> None:
        first_line = self._line_by_channel.setdefault(channel_id, line)
        if first_line != line:
            self.problems.append(
                RowProblem(
                    line,
                    f"channel {channel_id} is already on {self._unit} {first_line}: "
                    "a channel is the primary channel of one project only",
                    self._unit,
                )
            )
        if self._team_id is None:
            self.problems.append(
                RowProblem(
                    line,
                    f"channel {channel_id} cannot be linked: this import has no Slack workspace; "
                    "import within a workspace, or leave channel blank",
                    self._unit,
                )
            )
            return
        link = portfolio.find_link(self._session, self._team_id, channel_id)
        if link is not None and link.project.key != key:
            self.problems.append(
                RowProblem(
                    line,
                    f"channel {channel_id} is linked to {link.project.key}: "
                    "run `/pmo unlink` in that channel first, or leave channel blank",
                    self._unit,
                )
            )


# Cell parsers: (column, stripped cell text) -> value, raising UserError with what to write instead.


def _parse_key(column: str, text: str) -> str:
    if not text:
        raise UserError(f"{column} is missing: every row needs the project's key (e.g. CRM-2)")
    return portfolio.normalise_key(text)


def _parse_name(column: str, text: str) -> str:
    if not text:
        raise UserError(f"{column} is missing: every row needs the project's name")
    if len(text) > portfolio.MAX_NAME_LENGTH:
        raise UserError(f"{column} is {len(text)} characters long: shorten it to {portfolio.MAX_NAME_LENGTH}")
    return text


def _parse_optional_name(column: str, text: str) -> str | None:
    if len(text) > portfolio.MAX_NAME_LENGTH:
        raise UserError(f"{column} is {len(text)} characters long: shorten it to {portfolio.MAX_NAME_LENGTH}")
    return text or None


def _parse_service_keys(column: str, text: str) -> tuple[str, ...]:
    keys = set()
    for part in text.split(SERVICE_SEPARATOR):
        if part.strip():
            try:
                keys.add(portfolio.normalise_key(part))
            except UserError as error:
                raise UserError(f"{column}: {error}") from None
    return tuple(sorted(keys))


def _parse_channel_id(column: str, text: str) -> str | None:
    if text and not _CHANNEL_ID.match(text):
        raise UserError(f"{column} '{text}' is not a channel ID: use the ID from the channel's details, e.g. C0123ABCD")
    return text or None


def _optional(parse: Callable[[str], T]) -> Callable[[str, str], T | None]:
    """A cell parser from a cadence parser: blank means the default, problems name the column."""

    def parse_cell(column: str, text: str) -> T | None:
        if not text:
            return None
        try:
            return parse(text)
        except UserError as error:
            raise UserError(f"{column} {error}") from None

    return parse_cell


_parse_day = _optional(cadence.parse_weekday)
_parse_time = _optional(cadence.parse_time_of_day)
_parse_timezone = _optional(cadence.parse_timezone)


def _parse_status(column: str, text: str) -> ProjectStatus:
    if not text:
        return ProjectStatus.ACTIVE
    try:
        return ProjectStatus(text.lower())
    except ValueError:
        raise UserError(f"{column} '{text}' is not a status: use active, paused or closed") from None
