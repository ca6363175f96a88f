"""Cost: a project's budgets, spend to date and forecast outturn, reported monthly.

The team reports in the first check-in of each month (or an import does): the whole-life
budget, this financial year's budget (the year starts in FINANCIAL_YEAR_START, April by
default), the actual spend to date and the forecast outturn (what the project will have cost
when it ends). One report per project and month; a later one that month replaces it. The
variance is the forecast outturn minus the whole-life budget. Beyond COST_TOLERANCE of the
budget, either way, the cost RAG is suggested Amber; beyond twice that, Red. It is a
suggestion: the team still chooses the cost RAG it reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import people
from storage.models import Checkin, CostReport, Programme, Project, ProjectStatus, Rag

AMOUNT_LIMIT = Decimal(10) ** 16  # Numeric(18, 2)
FIELDS = ("budget_whole_life", "budget_year", "actual_to_date", "forecast_outturn")
NO_PROGRAMME = "(no programme)"


def financial_year_of(day: date, start_month: int) -> str:
    """The financial year `day` is in, as "2026-27" (a year starting in January: "2026")."""
    first_year = day.year if day.month >= start_month else day.year - 1
    return str(first_year) if start_month == 1 else f"{first_year}-{(first_year + 1) % 100:02d}"


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


@dataclass(frozen=True)
class CostFigures:
    budget_whole_life: Decimal | None = None
    budget_year: Decimal | None = None
    actual_to_date: Decimal | None = None
    forecast_outturn: Decimal | None = None

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in FIELDS)


def parse_amounts(typed: dict[str, str | None]) -> tuple[CostFigures, dict[str, str]]:
    """Amounts as typed, by field name; blank ones are None. Returns the figures and the problems."""
    values: dict[str, Decimal | None] = {}
    problems: dict[str, str] = {}
    for name in FIELDS:
        text = (typed.get(name) or "").strip().replace(",", "")
        if not text:
            values[name] = None
            continue
        try:
            amount = Decimal(text)
        except InvalidOperation:
            problems[name] = f"'{text}' is not an amount: write digits, e.g. 250000 or 1250.50."
            continue
        exponent = amount.as_tuple().exponent
        if not amount.is_finite() or amount < 0 or amount >= AMOUNT_LIMIT:
            problems[name] = f"Use an amount from 0 up to {AMOUNT_LIMIT:,f}."
        elif isinstance(exponent, int) and exponent < -2:
            problems[name] = "Use at most 2 decimal places (pence)."
        else:
            values[name] = amount
    return CostFigures(**values), problems


def figures_of(report: CostReport) -> CostFigures:
    return CostFigures(report.budget_whole_life, report.budget_year, report.actual_to_date, report.forecast_outturn)


def latest_report(session: Session, project_id: int) -> CostReport | None:
    return session.scalar(
        select(CostReport).where(CostReport.project_id == project_id).order_by(CostReport.month.desc()).limit(1)
    )


# --- the variance and the suggested RAG -----------------------------------------------------------


def suggested_rag(budget: Decimal | None, forecast: Decimal | None, tolerance: float) -> Rag | None:
    """Green within `tolerance` of the budget, Amber beyond it, Red beyond twice it; None without both."""
    if budget is None or forecast is None or budget == 0:
        return None
    share = abs(forecast - budget) / budget
    allowed = Decimal(str(tolerance))
    if share > 2 * allowed:
        return Rag.RED
    if share > allowed:
        return Rag.AMBER
    return Rag.GREEN


@dataclass(frozen=True)
class CostView:
    """A project's latest cost report as people read it: plain data for a Block Kit builder."""

    month: str
    financial_year: str
    figures: CostFigures
    variance: Decimal | None  # forecast outturn minus whole-life budget
    variance_share: float | None  # of the budget
    suggested: Rag | None


def view_of(report: CostReport, *, tolerance: float) -> CostView:
    figures = figures_of(report)
    budget, forecast = figures.budget_whole_life, figures.forecast_outturn
    variance = forecast - budget if budget is not None and forecast is not None else None
    share = float(variance / budget) if variance is not None and budget else None
    return CostView(
        report.month, report.financial_year, figures, variance, share, suggested_rag(budget, forecast, tolerance)
    )


def cost_view(session: Session, project: Project, *, tolerance: float) -> CostView | None:
    report = latest_report(session, project.id)
    return view_of(report, tolerance=tolerance) if report else None


# --- the check-in form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostQuestion:
    """The check-in's cost fields: this year's label, prefilled with the latest report."""

    financial_year: str
    latest: CostView | None


def _month_start(today: date) -> datetime:
    return datetime.combine(today.replace(day=1), time(0), tzinfo=timezone.utc)


def form_costs(
    session: Session, project: Project, period: str, *, today: date, start_month: int, tolerance: float
) -> CostQuestion | None:
    """The cost fields for this check-in, or None when they were asked already this month.

    They are asked in the month's first check-in: none of another week was submitted since
    the month began (answering or amending this week's again asks again).
    """
    earlier = session.scalar(
        select(Checkin.id)
        .where(Checkin.project_id == project.id, Checkin.period != period, Checkin.submitted_at >= _month_start(today))
        .limit(1)
    )
    if earlier is not None:
        return None
    return CostQuestion(financial_year_of(today, start_month), cost_view(session, project, tolerance=tolerance))


def record_costs(
    session: Session,
    project: Project,
    figures: CostFigures,
    *,
    reported_by: str,
    today: date,
    start_month: int,
    now: datetime,
) -> CostReport | None:
    """This month's report by `reported_by` (a Slack user ID), replacing one already made this month;
    nothing when every field is blank."""
    if figures.is_empty:
        return None
    month = month_of(today)
    reporter_id = people.get_or_create(session, reported_by, now=now).id  # before the report: autoflush
    report = session.scalar(select(CostReport).where(CostReport.project_id == project.id, CostReport.month == month))
    if report is None:
        report = CostReport(project_id=project.id, month=month)
        session.add(report)
    report.financial_year = financial_year_of(today, start_month)
    for name in FIELDS:
        setattr(report, name, getattr(figures, name))
    report.reported_by_id = reporter_id
    report.reported_at = now
    session.flush()
    return report


# --- the governance pack ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgrammeCost:
    """Budget against forecast outturn for one programme: the sums of its projects' latest reports."""

    programme: str
    budget: Decimal
    forecast: Decimal
    projects: int  # how many reported both figures
    suggested: Rag | None


def programme_costs(session: Session, *, tolerance: float) -> list[ProgrammeCost]:
    latest: dict[int, CostReport] = {}
    rows = session.execute(
        select(CostReport, Programme.name)
        .join(Project, Project.id == CostReport.project_id)
        .outerjoin(Programme, Programme.id == Project.programme_id)
        .where(Project.status != ProjectStatus.CLOSED)
        .order_by(CostReport.project_id, CostReport.month)
    )
    programme_of: dict[int, str] = {}
    for report, programme in rows:
        latest[report.project_id] = report  # months ascend, so the last one seen is the latest
        programme_of[report.project_id] = programme or NO_PROGRAMME
    totals: dict[str, tuple[Decimal, Decimal, int]] = {}
    for project_id, report in latest.items():
        if report.budget_whole_life is None or report.forecast_outturn is None:
            continue
        budget, forecast, count = totals.get(programme_of[project_id], (Decimal(0), Decimal(0), 0))
        totals[programme_of[project_id]] = (
            budget + report.budget_whole_life,
            forecast + report.forecast_outturn,
            count + 1,
        )
    return [
        ProgrammeCost(name, budget, forecast, count, suggested_rag(budget, forecast, tolerance))
        for name, (budget, forecast, count) in sorted(totals.items())
    ]
