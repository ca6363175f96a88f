"""The RAID log as spreadsheets: `pmo-bot import --kind risks|issues FILE.csv` and the export.

The portfolio import's conventions and machinery (bot/services/portfolio_csv.py): the header
checked first, every problem listed with its line number, nothing written unless every row
is right, owners as Slack user IDs or emails, and cells a spreadsheet would run as formulas
defused on export and restored on import. A row with an `id` updates that risk or issue (of
the project named in `key`); a row without one adds a new one. An export imports back as a
no-op: cells are written in the form the import reads, and a row matching what is stored
leaves the record untouched. What the import makes the PMO's to see (a risk scoring 20+ or a
critical issue, new or newly so) is returned for the same alert the forms send.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.errors import UserError
from bot.services import people, risks
from bot.services.portfolio_csv import ImportRejected, ImportSummary, RowProblem, RowReader, protected
from storage.models import Issue, IssueSeverity, Person, Project, RaidStatus, Risk, RiskResponse

KINDS = ("risks", "issues")
RISK_COLUMNS: tuple[str, ...] = (
    "key",
    "id",
    "title",
    "owner",
    "probability",
    "impact",
    "proximity",
    "response",
    "mitigation",
    "next_review",
    "status",
)
ISSUE_COLUMNS: tuple[str, ...] = ("key", "id", "title", "owner", "severity", "due", "status")

T = TypeVar("T")


@dataclass
class RaidImportSummary(ImportSummary):
    # Open items the import made alert-worthy (new, or changed to 20+ / critical): the PMO hears of each once.
    alerting: list[Risk | Issue] = field(default_factory=list)


@dataclass(frozen=True)
class RiskRow:
    key: str
    id: int | None
    title: str
    owner: str
    probability: int
    impact: int
    proximity: date | None
    response: str
    mitigation: str | None
    next_review: date
    status: str


@dataclass(frozen=True)
class IssueRow:
    key: str
    id: int | None
    title: str
    owner: str
    severity: str
    due: date | None
    status: str


# --- cells -----------------------------------------------------------------------------------


def _choice(allowed: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(column: str, text: str) -> str:
        if text.lower() not in allowed:
            raise UserError(f"{column} '{text}' is not one of {', '.join(allowed)}")
        return text.lower()

    return parse


def _score(column: str, text: str) -> int:
    if not text.isdigit() or int(text) not in risks.SCORES:
        raise UserError(f"{column} '{text}' is not a score: write 1 (low) to 5 (high)")
    return int(text)


def _day(column: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{column} '{text}' is not a date: write it as YYYY-MM-DD") from None


def _optional_day(column: str, text: str) -> date | None:
    return _day(column, text) if text else None


def _title(column: str, text: str) -> str:
    if not text:
        raise UserError(f"{column} is blank: say what it is")
    if len(text) > risks.MAX_TITLE_LENGTH:
        raise UserError(f"{column} is {len(text)} characters long: keep it to {risks.MAX_TITLE_LENGTH}")
    return text


def _id(column: str, text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise UserError(f"{column} '{text}' is not a number: leave it blank for a new one")
    return int(text)


_STATUSES = tuple(status.value for status in RaidStatus)


class _RaidReader(RowReader):
    """Reads risk or issue rows, checking each against the projects and records it names."""

    def __init__(self, session: Session, kind: str, *, resolve_email: Callable[[str], str | None]) -> None:
        super().__init__(session, resolve_email=resolve_email, team_id=None)
        self.kind = kind
        self.columns = RISK_COLUMNS if kind == "risks" else ISSUE_COLUMNS
        self._model = Risk if kind == "risks" else Issue
        self._project_ids = {key: project_id for key, project_id in session.execute(select(Project.key, Project.id))}
        self._seen_ids: dict[int, int] = {}

    def read_cells(self, line: int, cells: Mapping[str, str]) -> RiskRow | IssueRow | None:  # type: ignore[override]
        problems_before = len(self.problems)

        def read(column: str, parse: Callable[[str, str], T]) -> T | None:
            try:
                return parse(column, cells[column])
            except UserError as error:
                self.problems.append(RowProblem(line, str(error)))
                return None

        key = cells["key"].upper()
        if key not in self._project_ids:
            self.problems.append(RowProblem(line, f"no project has the key '{cells['key']}': check the spelling"))
        item_id = read("id", _id)
        if item_id is not None:
            self._check_id(line, key, item_id)
        common = {
            "key": key,
            "id": item_id,
            "title": read("title", _title),
            "owner": read("owner", self._parse_owner),
            "status": read("status", _choice(_STATUSES)),
        }
        if self.kind == "risks":
            values: dict[str, Any] = {
                **common,
                "probability": read("probability", _score),
                "impact": read("impact", _score),
                "proximity": read("proximity", _optional_day),
                "response": read("response", _choice(tuple(response.value for response in RiskResponse))),
                "mitigation": cells["mitigation"] or None,
                "next_review": read("next_review", _day),
            }
        else:
            values = {
                **common,
                "severity": read("severity", _choice(tuple(severity.value for severity in IssueSeverity))),
                "due": read("due", _optional_day),
            }
        if len(self.problems) > problems_before:
            return None
        return RiskRow(**values) if self.kind == "risks" else IssueRow(**values)

    def _parse_owner(self, column: str, text: str) -> str:
        owner = self._parse_person(column, text)
        if owner is None:
            raise UserError(f"{column} is blank: write their Slack user ID or email")
        return owner

    def _check_id(self, line: int, key: str, item_id: int) -> None:
        first_line = self._seen_ids.setdefault(item_id, line)
        if first_line != line:
            self.problems.append(RowProblem(line, f"id {item_id} is also on line {first_line}: keep one"))
        found = self._session.get(self._model, item_id)
        if found is None or found.project_id != self._project_ids.get(key):
            self.problems.append(
                RowProblem(line, f"{key} has no {self.kind[:-1]} with id {item_id}: leave id blank to add one")
            )


# --- import ----------------------------------------------------------------------------------


def _owner(session: Session, user_id: str, email: str | None, now: datetime) -> Person:
    return people.get_or_create(session, user_id, now=now, email=email)


def import_raid(
    session: Session, kind: str, csv_text: str, *, resolve_email: Callable[[str], str | None], now: datetime
) -> RaidImportSummary:
    """Create or update one risk (or issue) per row; all rows or, on any problem, none. Does not commit."""
    reader = _RaidReader(session, kind, resolve_email=resolve_email)
    rows = reader.read(csv_text)
    if reader.problems:
        raise ImportRejected(reader.problems)
    summary = RaidImportSummary()
    today = now.date()
    for row in rows:
        owner = _owner(session, row.owner, reader.email_by_user_id.get(row.owner), now)
        item: Risk | Issue
        if isinstance(row, RiskRow):
            known = session.get_one(Risk, row.id) if row.id is not None else None
            alerted_before = known is not None and _pmo_hears_of(known)
            item, changed = _apply_risk(session, row, known, owner, today=today, now=now)
        else:
            known = session.get_one(Issue, row.id) if row.id is not None else None
            alerted_before = known is not None and _pmo_hears_of(known)
            item, changed = _apply_issue(session, row, known, owner, today=today, now=now)
        label = f"{row.key} {kind[:-1]} {item.id}"
        (summary.created if known is None else summary.updated if changed else summary.unchanged).append(label)
        if changed and not alerted_before and _pmo_hears_of(item):
            summary.alerting.append(item)
    session.flush()
    return summary


def _pmo_hears_of(item: Risk | Issue) -> bool:
    return item.status is RaidStatus.OPEN and risks.alerts_pmo(item)


def _closed(status: str, item: Risk | Issue, now: datetime) -> None:
    item.status = RaidStatus(status)
    item.closed_at = (item.closed_at or now) if item.status is RaidStatus.CLOSED else None


def _apply_risk(
    session: Session, row: RiskRow, risk: Risk | None, owner: Person, *, today: date, now: datetime
) -> tuple[Risk, bool]:
    if risk is None:
        new = risks.NewRisk(
            row.key,
            row.title,
            owner.slack_user_id,
            row.probability,
            row.impact,
            row.response,
            row.next_review,
            proximity=row.proximity,
            mitigation=row.mitigation,
        )
        risk = risks.create_risk(session, None, new, today=today, now=now, validate=False)
        _closed(row.status, risk, now)
        return risk, True
    if _risk_row(risk) == row:
        return risk, False
    risk.title, risk.owner, risk.probability, risk.impact = row.title, owner, row.probability, row.impact
    risk.proximity, risk.response, risk.mitigation = row.proximity, RiskResponse(row.response), row.mitigation
    risk.next_review = row.next_review
    _closed(row.status, risk, now)
    return risk, True


def _apply_issue(
    session: Session, row: IssueRow, issue: Issue | None, owner: Person, *, today: date, now: datetime
) -> tuple[Issue, bool]:
    if issue is None:
        new = risks.NewIssue(row.key, row.title, owner.slack_user_id, row.severity, row.due)
        issue = risks.create_issue(session, None, new, today=today, now=now, validate=False)
        _closed(row.status, issue, now)
        if issue.status is RaidStatus.CLOSED:
            risks.record_event(issue, "closed", None, now)
        return issue, True
    if _issue_row(issue) == row:
        return issue, False
    before = issue.severity, issue.status
    issue.title, issue.owner, issue.severity, issue.due_date = row.title, owner, IssueSeverity(row.severity), row.due
    _closed(row.status, issue, now)
    # The history keeps what a board asks about: how bad it was said to be, and whether it was dealt with.
    if issue.severity is not before[0]:
        risks.record_event(issue, "severity", None, now, before=before[0].value, severity=issue.severity.value)
    if issue.status is not before[1]:
        risks.record_event(issue, "closed" if issue.status is RaidStatus.CLOSED else "reopened", None, now)
    return issue, True


# --- export ----------------------------------------------------------------------------------


def _risk_row(risk: Risk) -> RiskRow:
    """The row as the import reads it (owners by user ID, whether the file named them by email or not)."""
    return RiskRow(
        key=risk.project.key,
        id=risk.id,
        title=risk.title,
        owner=risk.owner.slack_user_id,
        probability=risk.probability,
        impact=risk.impact,
        proximity=risk.proximity,
        response=risk.response.value,
        mitigation=risk.mitigation,
        next_review=risk.next_review,
        status=risk.status.value,
    )


def _issue_row(issue: Issue) -> IssueRow:
    return IssueRow(
        key=issue.project.key,
        id=issue.id,
        title=issue.title,
        owner=issue.owner.slack_user_id,
        severity=issue.severity.value,
        due=issue.due_date,
        status=issue.status.value,
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def export_raid(session: Session, kind: str) -> str:
    """Every risk (or issue) of every project as CSV text, by project key then id."""
    model = Risk if kind == "risks" else Issue
    rows = session.scalars(
        select(model)
        .join(Project, Project.id == model.project_id)
        .options(selectinload(model.owner), selectinload(model.project))
        .order_by(Project.key, model.id)
    )
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    columns = RISK_COLUMNS if kind == "risks" else ISSUE_COLUMNS
    writer.writerow(columns)
    for item in rows:
        row = _risk_row(item) if isinstance(item, Risk) else _issue_row(item)
        by_column = {field.name: _cell(getattr(row, field.name)) for field in fields(row)}
        # Someone the file named by email gets the email back, as in the portfolio export.
        by_column["owner"] = item.owner.email or item.owner.slack_user_id
        writer.writerow([protected(by_column[column]) for column in columns])
    return text.getvalue()
