"""Cost reports as a spreadsheet: `pmo-bot import --kind costs FILE.csv` and `export --kind costs`.

One row per project and month, the same rules as the portfolio's (bot/services/portfolio_csv.py):
all or nothing, every problem listed with its line, formula-like cells defused, and an export
imports back as a no-op. A row for a month already reported replaces that month's report.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import cost, portfolio
from bot.services.portfolio_csv import ImportRejected, ImportSummary, RowProblem, read_table, write_table
from storage.models import CostReport, Project

COLUMNS = ("project", "month", "financial_year", *cost.FIELDS)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_FINANCIAL_YEAR = re.compile(r"^\d{4}(-\d{2})?$")


def _amount_cell(value: object) -> str:
    return "" if value is None else f"{value:f}"


def export_costs(session: Session) -> str:
    reports = session.execute(
        select(CostReport, Project.key)
        .join(Project, Project.id == CostReport.project_id)
        .order_by(Project.key, CostReport.month)
    )
    return write_table(
        COLUMNS,
        (
            {
                "project": key,
                "month": report.month,
                "financial_year": report.financial_year,
                **{name: _amount_cell(getattr(report, name)) for name in cost.FIELDS},
            }
            for report, key in reports
        ),
    )


def import_costs(session: Session, csv_text: str, *, now: datetime) -> ImportSummary:
    """Create or replace one month's report per row; all rows or, on any problem, none. Does not commit."""
    records, problems = read_table(csv_text, COLUMNS)
    wanted: list[tuple[Project, str, str, cost.CostFigures]] = []
    seen: dict[tuple[int, str], int] = {}
    for line, cells in records:
        before = len(problems)
        key = cells["project"].upper()
        project = portfolio.find_project(session, key) if key else None
        if project is None:
            problems.append(RowProblem(line, f"no project has the key '{key}': import the portfolio first"))
        month, year = cells["month"], cells["financial_year"]
        if not _MONTH.match(month):
            problems.append(RowProblem(line, f"month '{month}' is not a month: write it as YYYY-MM, e.g. 2026-11"))
        if not _FINANCIAL_YEAR.match(year):
            problems.append(RowProblem(line, f"financial_year '{year}' is not a year: write it as 2026-27 (or 2026)"))
        figures, amount_problems = cost.parse_amounts({name: cells[name] for name in cost.FIELDS})
        problems.extend(RowProblem(line, f"{name}: {text}") for name, text in amount_problems.items())
        if project is None or len(problems) > before:
            continue
        first = seen.setdefault((project.id, month), line)
        if first != line:
            problems.append(RowProblem(line, f"{project.key} {month} is already on line {first}: keep one"))
            continue
        wanted.append((project, month, year, figures))
    if problems:
        raise ImportRejected(problems)
    summary = ImportSummary()
    for project, month, year, figures in wanted:
        label = f"{project.key} {month}"
        report = session.scalar(
            select(CostReport).where(CostReport.project_id == project.id, CostReport.month == month)
        )
        if report is not None and (report.financial_year, cost.figures_of(report)) == (year, figures):
            summary.unchanged.append(label)
            continue
        if report is None:
            report = CostReport(project_id=project.id, month=month)
            session.add(report)
            summary.created.append(label)
        else:
            summary.updated.append(label)
        report.financial_year = year
        for name in cost.FIELDS:
            setattr(report, name, getattr(figures, name))
        report.reported_by_id, report.reported_at = None, now  # an import: the audit trail says so
    session.flush()
    return summary
