"""The monthly governance pack: what it says, as plain data.

The governance board reads it monthly, at its own rhythm, without anyone writing a report:
portfolio health (the counts from the health summary, and the mix of the last weeks),
benefits realised against plan by objective, and the decisions Red projects ask for. No
Slack here: the handlers render, draw the charts and post.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import benefits, coaching, confidence, cost, governance, milestones
from bot.services.cadence import Cadence, period_of, previous_period
from bot.services.calendar import first_working_day
from bot.services.confidence import Level, Scale
from bot.services.digest import RagCounts, current_counts, local_today
from bot.services.governance import EVERY_PROJECT, CheckinFact, ProjectInfo
from storage.models import Benefit, Checkin, CheckinPeriod, Project, ProjectStatus, Rag

# A tick this late after the pack's time still sends it (the bot was down); later, it is
# skipped as stale: the board has met.
PACK_CATCH_UP = timedelta(weeks=1)
# The board gets no pack until the bot has a month of check-ins to report: a pack of
# "0 check-ins, n/a of them Red" the week after install tells it nothing.
PACK_MINIMUM_HISTORY = timedelta(days=28)
# "Portfolio health over the last 3 months": this many complete weeks.
HEALTH_WEEKS = 13
NO_OBJECTIVE = "(no objective)"


def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def pack_due_month(session: Session, *, now: datetime, time_of_day: str, timezone: str) -> str | None:
    """The month whose pack is due at `now` ("2026-12"): from its first working day at
    `time_of_day` local time, for PACK_CATCH_UP; None otherwise."""
    today = local_today(now, timezone)
    day = first_working_day(session, today.year, today.month)
    due_at = Cadence(day.weekday(), time_of_day, timezone).instant_on(day)
    return month_of(today) if due_at <= now < due_at + PACK_CATCH_UP else None


def has_a_month_of_checkins(session: Session, *, now: datetime) -> bool:
    first = session.scalar(select(func.min(Checkin.submitted_at)))
    return first is not None and first <= now - PACK_MINIMUM_HISTORY


@dataclass(frozen=True)
class WeekMix:
    """How many projects reported each status in one week, and how many did not answer."""

    period: str
    green: int
    amber: int
    red: int
    missed: int
    # Of the check-ins counted by colour, those given on a dca scale, by level as stored.
    given: Mapping[str, int] = field(default_factory=dict)

    def levels(self, scale: Scale) -> tuple[tuple[Level, int], ...]:
        """The check-ins per level of `scale`, best first (see `confidence.tally`)."""
        return confidence.tally(scale, {Rag.GREEN: self.green, Rag.AMBER: self.amber, Rag.RED: self.red}, self.given)


def has_health_data(weeks: Iterable[WeekMix]) -> bool:
    return any(week.green or week.amber or week.red or week.missed for week in weeks)


@dataclass(frozen=True)
class ObjectiveProgress:
    """An objective's benefits, realised against plan, each benefit as a share of its own
    baseline-to-target distance (benefits are in different units, so amounts cannot add up)."""

    objective: str
    benefits: int
    measured: int  # benefits with at least one value; only these make the shares
    planned_share: float | None  # where the plans say the measured benefits should be by now
    realised_share: float | None  # where their latest values are
    off_track: int


@dataclass(frozen=True)
class DecisionNeeded:
    """A Red project asking for help from above."""

    project_key: str
    project_name: str
    sponsor_user_id: str | None
    period: str
    help_needed: str
    path_to_green: str | None
    path_to_green_date: date | None


@dataclass(frozen=True)
class GovernancePack:
    month: str  # "2026-12"
    generated_at: datetime
    counts: RagCounts
    weeks: list[WeekMix]  # oldest first
    objectives: list[ObjectiveProgress]
    decisions: list[DecisionNeeded]
    milestones: list[milestones.MilestoneLine]  # the coming quarter's, for the baseline-against-forecast chart
    costs: list[cost.ProgrammeCost]
    coaching_months: tuple[coaching.CoachingMonth, ...] = ()
    measurable: tuple[benefits.ObjectiveMeasurability, ...] = ()
    scale: Scale = Scale.RAG  # CONFIDENCE_SCALE: the levels its statuses and charts are named by

    @property
    def title(self) -> str:
        return date.fromisoformat(f"{self.month}-01").strftime("%B %Y")


def _health_weeks(session: Session, today: date, weeks: int) -> list[WeekMix]:
    """The `weeks` complete weeks before this one; every project that reported then counts."""
    periods = [previous_period(period_of(today))]
    while len(periods) < weeks:
        periods.append(previous_period(periods[-1]))
    periods.reverse()
    latest: dict[tuple[int, str], tuple[Rag, str | None]] = {}
    for project_id, period, overall, given in session.execute(
        select(Checkin.project_id, Checkin.period, Checkin.overall_rag, Checkin.confidence)
        .where(Checkin.period >= periods[0], Checkin.period <= periods[-1])
        .order_by(Checkin.revision)
    ):
        latest[(project_id, period)] = (overall, given)
    missed: dict[str, int] = defaultdict(int)
    for project_id, period in session.execute(
        select(CheckinPeriod.project_id, CheckinPeriod.period).where(
            CheckinPeriod.period >= periods[0],
            CheckinPeriod.period <= periods[-1],
            CheckinPeriod.missed_at.is_not(None),
            CheckinPeriod.excused_reason.is_(None),
        )
    ):
        if (project_id, period) not in latest:
            missed[period] += 1
    tally: dict[str, dict[Rag, int]] = defaultdict(lambda: defaultdict(int))
    given_levels: dict[str, Counter[str]] = defaultdict(Counter)
    for (_project_id, period), (overall, given) in latest.items():
        tally[period][overall] += 1
        if given:
            given_levels[period][given] += 1
    return [
        WeekMix(
            period,
            tally[period][Rag.GREEN],
            tally[period][Rag.AMBER],
            tally[period][Rag.RED],
            missed[period],
            given_levels[period],
        )
        for period in periods
    ]


def _share(benefit: Benefit, value: Decimal) -> float:
    return float((value - benefit.baseline) / (benefit.target - benefit.baseline))


def _objective_progress(session: Session, *, today: date, tolerance: float) -> list[ObjectiveProgress]:
    """Per objective, over the active benefits of projects not paused: benefits keep being
    realised after a project closes."""
    grouped: dict[str, list[Benefit]] = defaultdict(list)
    for benefit in governance.benefits_with_latest_value(session, Project.status != ProjectStatus.PAUSED, on=today):
        objective = benefit.project.objective
        grouped[objective.name if objective else NO_OBJECTIVE].append(benefit)
    progress = []
    for objective_name in sorted(grouped, key=lambda name: (name == NO_OBJECTIVE, name)):
        planned: list[float] = []
        realised: list[float] = []
        off_track = 0
        members = [b for b in grouped[objective_name] if benefits.is_measurable(b) and b.target != b.baseline]
        for benefit in members:
            path = benefits.trajectory(benefit, on=today, tolerance=tolerance)
            if path is None or path.latest is None:
                continue
            planned.append(_share(benefit, path.expected))
            realised.append(_share(benefit, path.latest))
            off_track += path.is_off_track
        progress.append(
            ObjectiveProgress(
                objective=objective_name,
                benefits=len(members),
                measured=len(realised),
                planned_share=sum(planned) / len(planned) if planned else None,
                realised_share=sum(realised) / len(realised) if realised else None,
                off_track=off_track,
            )
        )
    return progress


def _decisions(
    session: Session, projects: Mapping[int, ProjectInfo], latest: Mapping[int, CheckinFact | None]
) -> list[DecisionNeeded]:
    red = {
        status.checkin_id: projects[project_id]
        for project_id, status in latest.items()
        if status is not None and status.overall is Rag.RED
    }
    if not red:
        return []
    asking = session.scalars(
        select(Checkin).where(Checkin.id.in_(list(red)), Checkin.help_needed.is_not(None)).order_by(Checkin.id)
    )
    decisions = [
        DecisionNeeded(
            project_key=red[checkin.id].key,
            project_name=red[checkin.id].name,
            sponsor_user_id=red[checkin.id].sponsor_user_id,
            period=checkin.period,
            help_needed=checkin.help_needed,
            path_to_green=checkin.path_to_green,
            path_to_green_date=checkin.path_to_green_date,
        )
        for checkin in asking
        if checkin.help_needed and checkin.help_needed.strip()
    ]
    return sorted(decisions, key=lambda decision: decision.project_key)


def build_pack(
    session: Session,
    *,
    now: datetime,
    timezone: str,
    tolerance: float,
    default_cadence: Cadence,
    cost_tolerance: float,
    scale: Scale = Scale.RAG,
) -> GovernancePack:
    """The pack for the month of `now` in the workspace's `timezone`; `scale` (CONFIDENCE_SCALE) is the one
    its statuses are named on."""
    today = local_today(now, timezone)
    projects = governance.active_projects(session, default_cadence=default_cadence)
    history = governance.checkin_history(session, since_period=governance.history_start(now), now=now)
    latest = {project_id: governance.status_as_of(history.get(project_id, []), now) for project_id in projects}
    return GovernancePack(
        month=month_of(today),
        generated_at=now,
        counts=current_counts(session, EVERY_PROJECT, today=today, tolerance=tolerance),
        weeks=_health_weeks(session, today, HEALTH_WEEKS),
        objectives=_objective_progress(session, today=today, tolerance=tolerance),
        decisions=_decisions(session, projects, latest),
        milestones=milestones.quarter_milestones(session, today=today),
        costs=cost.programme_costs(session, tolerance=cost_tolerance),
        coaching_months=coaching.coaching_months(session, today=today),
        measurable=tuple(benefits.measurability_by_objective(session)),
        scale=scale,
    )
