"""Milestones and dependencies as spreadsheets: `pmo-bot import --kind milestones FILE.csv`,
`--kind dependencies`, and the same for export.

The same rules as the portfolio's (bot/services/portfolio_csv.py, whose reading, writing and
formula defusing these use): all or nothing, every problem listed with its line, dates as
YYYY-MM-DD, and an export imports back as a no-op. A milestone is matched by its project and
name (any case), a dependency by its project and the milestone it needs. A forecast moved
later by an import is a slip like any other: the next tick tells a dependent project.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.services import milestones, portfolio
from bot.services.portfolio_csv import ImportRejected, ImportSummary, RowProblem, read_table, write_table
from storage.models import Milestone, MilestoneDependency, Project

MILESTONE_COLUMNS = ("project", "name", "baseline", "forecast", "actual")
DEPENDENCY_COLUMNS = ("project", "needs", "milestone", "needed_by")


def _day(text: str, column: str, *, required: bool) -> date | None:
    if not text:
        if required:
            raise ValueError(f"{column} is blank: give a date as YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{column} '{text}' is not a date: write it as YYYY-MM-DD, e.g. 2027-03-31") from None


class _Lines:
    """Problems by line, and the projects the file names, looked up once."""

    def __init__(self, session: Session, problems: list[RowProblem]) -> None:
        self.session = session
        self.problems = problems
        self._projects: dict[str, Project | None] = {}

    def project(self, line: int, column: str, text: str) -> Project | None:
        key = text.strip().upper()
        if not key:
            self.problems.append(RowProblem(line, f"{column} is blank: give a project key such as CRM-2"))
            return None
        if key not in self._projects:
            self._projects[key] = portfolio.find_project(self.session, key)
        if self._projects[key] is None:
            self.problems.append(RowProblem(line, f"no project has the key {key}: import the portfolio first"))
        return self._projects[key]

    def day(self, line: int, column: str, text: str, *, required: bool = False) -> date | None:
        try:
            return _day(text, column, required=required)
        except ValueError as error:
            self.problems.append(RowProblem(line, str(error)))
            return None


def _milestone_of(session: Session, project: Project, name: str) -> Milestone | None:
    return next((m for m in _milestones_of(session, project) if m.name.casefold() == name.casefold()), None)


def _milestones_of(session: Session, project: Project) -> list[Milestone]:
    return list(session.scalars(select(Milestone).where(Milestone.project_id == project.id)))


# --- milestones ----------------------------------------------------------------------------------


def export_milestones(session: Session) -> str:
    rows = session.scalars(
        select(Milestone).join(Milestone.project).order_by(Project.key, Milestone.baseline_date, Milestone.name)
    )
    return write_table(
        MILESTONE_COLUMNS,
        (
            {
                "project": m.project.key,
                "name": m.name,
                "baseline": m.baseline_date.isoformat(),
                "forecast": m.forecast_date.isoformat(),
                "actual": m.actual_date.isoformat() if m.actual_date else "",
            }
            for m in rows
        ),
    )


def import_milestones(session: Session, csv_text: str, *, now: datetime) -> ImportSummary:
    """Create or update one milestone per row; all rows or, on any problem, none. Does not commit."""
    records, problems = read_table(csv_text, MILESTONE_COLUMNS)
    lines = _Lines(session, problems)
    wanted: list[tuple[Project, str, date, date, date | None]] = []
    seen: dict[tuple[int, str], int] = {}
    for line, cells in records:
        before = len(problems)
        project = lines.project(line, "project", cells["project"])
        name = cells["name"]
        if not name:
            problems.append(RowProblem(line, "name is blank: give the milestone's name"))
        elif len(name) > milestones.MAX_NAME_LENGTH:
            problems.append(RowProblem(line, f"name is longer than {milestones.MAX_NAME_LENGTH} characters"))
        baseline = lines.day(line, "baseline", cells["baseline"], required=True)
        forecast = lines.day(line, "forecast", cells["forecast"])
        actual = lines.day(line, "actual", cells["actual"])
        if project is None or baseline is None or len(problems) > before:
            continue
        first = seen.setdefault((project.id, name.casefold()), line)
        if first != line:
            problems.append(RowProblem(line, f"{project.key} · {name} is already on line {first}: keep one"))
            continue
        wanted.append((project, name, baseline, forecast or baseline, actual))
    if problems:
        raise ImportRejected(problems)
    summary = ImportSummary()
    for project, name, baseline, forecast, actual in wanted:
        label = f"{project.key} · {name}"
        existing = _milestone_of(session, project, name)
        if existing is None:
            created = milestones.create_milestone_record(session, project, name, baseline, forecast, now=now)
            created.actual_date = actual
            summary.created.append(label)
            continue
        if (existing.name, existing.baseline_date, existing.forecast_date, existing.actual_date) == (
            name,
            baseline,
            forecast,
            actual,
        ):
            summary.unchanged.append(label)
            continue
        existing.name, existing.baseline_date, existing.actual_date = name, baseline, actual
        milestones.move_forecast(existing, forecast, now=now)
        summary.updated.append(label)
    session.flush()
    return summary


# --- dependencies ----------------------------------------------------------------------------------


def export_dependencies(session: Session) -> str:
    rows = session.scalars(
        select(MilestoneDependency)
        .join(MilestoneDependency.project)
        .options(selectinload(MilestoneDependency.milestone).selectinload(Milestone.project))
        .order_by(Project.key, MilestoneDependency.needed_by, MilestoneDependency.id)
    )
    return write_table(
        DEPENDENCY_COLUMNS,
        (
            {
                "project": d.project.key,
                "needs": d.milestone.project.key,
                "milestone": d.milestone.name,
                "needed_by": d.needed_by.isoformat(),
            }
            for d in rows
        ),
    )


def import_dependencies(session: Session, csv_text: str, *, now: datetime) -> ImportSummary:
    """Create or update one dependency per row; all rows or, on any problem, none. Does not commit."""
    records, problems = read_table(csv_text, DEPENDENCY_COLUMNS)
    lines = _Lines(session, problems)
    wanted: list[tuple[Project, Milestone, date]] = []
    seen: dict[tuple[int, int], int] = {}
    for line, cells in records:
        project = lines.project(line, "project", cells["project"])
        needs = lines.project(line, "needs", cells["needs"])
        needed_by = lines.day(line, "needed_by", cells["needed_by"], required=True)
        if project is None or needs is None or needed_by is None:
            continue
        if project.id == needs.id:
            problems.append(RowProblem(line, f"{project.key} cannot depend on its own milestone"))
            continue
        milestone = _milestone_of(session, needs, cells["milestone"])
        if milestone is None:
            problems.append(
                RowProblem(line, f"{needs.key} has no milestone called '{cells['milestone']}': import it first")
            )
            continue
        first = seen.setdefault((project.id, milestone.id), line)
        if first != line:
            problems.append(RowProblem(line, f"the same dependency is already on line {first}: keep one"))
            continue
        wanted.append((project, milestone, needed_by))
    if problems:
        raise ImportRejected(problems)
    summary = ImportSummary()
    for project, milestone, needed_by in wanted:
        label = f"{project.key} needs {milestone.project.key} · {milestone.name}"
        existing = session.scalar(
            select(MilestoneDependency).where(
                MilestoneDependency.project_id == project.id, MilestoneDependency.milestone_id == milestone.id
            )
        )
        if existing is None:
            session.add(MilestoneDependency(project=project, milestone=milestone, needed_by=needed_by, created_at=now))
            summary.created.append(label)
        elif existing.needed_by == needed_by:
            summary.unchanged.append(label)
        else:
            existing.needed_by = needed_by
            summary.updated.append(label)
    session.flush()
    return summary
