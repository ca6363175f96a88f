"""Milestones and the dependencies between projects on them.

A milestone has the date agreed when it was planned (baseline), the date now expected
(forecast) and, once met, the day it was (actual). Its slippage is the forecast minus the
baseline in working days of the one calendar (bot/services/calendar.py): positive when
late, negative when early, 0 on plan. A project can need another project's milestone by a
date; when that milestone's forecast moves past the date, the dependent project is told
once for each later forecast (a "slip"): `due_slip_notices` lists what is owed and
`record_slip_told` marks it told, in the transaction that claims the messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from bot.errors import NotFound, UserError
from bot.services import partners, portfolio
from bot.services.access import Actor, require_can_manage
from bot.services.calendar import WorkingCalendar, calendar_between
from bot.services.partners import Audience
from storage.models import Milestone, MilestoneDependency, Project, ProjectStatus

MAX_NAME_LENGTH = 200
FORM_HORIZON = timedelta(weeks=8)  # the check-in form asks about milestones forecast this soon
MAX_IN_FORM = 10
SHOWN_IN_STATUS = 5
MAX_DEPENDENCIES_SHOWN = 10


class InvalidMilestone(UserError):
    """Values a form must correct; `problems` maps each field to what to do about it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = problems


# --- slippage ------------------------------------------------------------------------------


def slippage(calendar: WorkingCalendar, baseline: date, forecast: date) -> int:
    """Working days from the baseline to the forecast: positive when late, negative when early."""
    if forecast >= baseline:
        return calendar.working_days(baseline + timedelta(days=1), forecast)
    return -calendar.working_days(forecast + timedelta(days=1), baseline)


def _calendar_for(session: Session, days: Iterable[date]) -> WorkingCalendar:
    known = list(days)
    if not known:
        return WorkingCalendar()
    return calendar_between(session, min(known), max(known))


@dataclass(frozen=True)
class MilestoneLine:
    """One milestone as people read it: plain data for a Block Kit builder."""

    milestone_id: int
    project_key: str
    name: str
    baseline: date
    forecast: date
    actual: date | None
    slip_days: int  # working days, forecast (or actual, once met) minus baseline

    @property
    def is_met(self) -> bool:
        return self.actual is not None

    @property
    def has_slipped(self) -> bool:
        return self.slip_days > 0


def _milestone_days(milestones: list[Milestone]) -> list[date]:
    """The days a milestone's slippage is counted between."""
    return [day for m in milestones for day in (m.baseline_date, m.actual_date or m.forecast_date)]


def lines_of(
    session: Session, milestones: Iterable[Milestone], *, calendar: WorkingCalendar | None = None
) -> list[MilestoneLine]:
    """`calendar`: one already read that covers their days (see `_milestone_days`)."""
    listed = list(milestones)
    if calendar is None:
        calendar = _calendar_for(session, _milestone_days(listed))
    return [
        MilestoneLine(
            m.id,
            m.project.key,
            m.name,
            m.baseline_date,
            m.forecast_date,
            m.actual_date,
            slippage(calendar, m.baseline_date, m.actual_date or m.forecast_date),
        )
        for m in listed
    ]


def _in_plan_order(project_id: int) -> Select[tuple[Milestone]]:
    """A project's milestones: open ones by forecast, then met ones, most recent first."""
    return (
        select(Milestone)
        .where(Milestone.project_id == project_id)
        .options(joinedload(Milestone.project))
        .order_by(Milestone.actual_date.is_not(None), Milestone.forecast_date, Milestone.id)
    )


# --- adding and changing milestones --------------------------------------------------------


@dataclass(frozen=True)
class NewMilestone:
    name: str
    baseline: date
    forecast: date | None = None  # None: on plan, the baseline


def check_can_add(session: Session, actor: Actor, key: str) -> Project:
    """The project a milestone would be added to, or the reason this actor cannot add one."""
    project = portfolio.get_project(session, key)
    require_can_manage(actor, project, "add milestones to it")
    if project.status is ProjectStatus.CLOSED:
        raise UserError(f"{project.key} is closed; closed projects get no new milestones.")
    return project


def _checked_name(session: Session, project: Project, typed: str, *, renaming: int | None = None) -> str:
    """The name as stored, or InvalidMilestone: blank, too long, or another of the project's milestones has it."""
    name = typed.strip()
    same_name = select(Milestone).where(Milestone.project_id == project.id, func.lower(Milestone.name) == name.lower())
    clash = session.scalar(same_name if renaming is None else same_name.where(Milestone.id != renaming))
    if not name:
        raise InvalidMilestone({"name": "Give the milestone a name, e.g. Data feed live."})
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidMilestone({"name": f"Keep the name to {MAX_NAME_LENGTH} characters."})
    if clash is not None:
        raise InvalidMilestone(
            {"name": f"{project.key} already has a milestone called “{clash.name}”. Choose another name."}
        )
    return name


def create_milestone(session: Session, actor: Actor, key: str, new: NewMilestone, *, now: datetime) -> Milestone:
    project = check_can_add(session, actor, key)
    name = _checked_name(session, project, new.name)
    return create_milestone_record(session, project, name, new.baseline, new.forecast or new.baseline, now=now)


def create_milestone_record(
    session: Session, project: Project, name: str, baseline: date, forecast: date, *, now: datetime
) -> Milestone:
    """A checked milestone stored (the form's and the import's checks come first)."""
    milestone = Milestone(
        project=project,
        name=name,
        baseline_date=baseline,
        forecast_date=forecast,
        slipped_at=now if forecast > baseline else None,
        created_at=now,
    )
    session.add(milestone)
    session.flush()
    return milestone


def _milestone(session: Session, milestone_id: int) -> Milestone:
    milestone = session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("That milestone is no longer recorded. Run `/pmo milestones KEY` again.")
    return milestone


def move_forecast(milestone: Milestone, forecast: date, *, now: datetime) -> bool:
    if forecast == milestone.forecast_date:
        return False
    if forecast > milestone.forecast_date:
        milestone.slipped_at = now
    milestone.forecast_date = forecast
    return True


def change_forecast_check(session: Session, actor: Actor, milestone_id: int) -> Milestone:
    """The milestone whose forecast this actor may change, or the reason they may not."""
    milestone = _milestone(session, milestone_id)
    require_can_manage(actor, milestone.project, "change its milestones")
    if milestone.actual_date is not None:
        raise UserError(f"“{milestone.name}” was met on {milestone.actual_date}; its forecast no longer moves.")
    return milestone


def change_forecast(session: Session, actor: Actor, milestone_id: int, forecast: date, *, now: datetime) -> Milestone:
    milestone = change_forecast_check(session, actor, milestone_id)
    move_forecast(milestone, forecast, now=now)
    session.flush()
    return milestone


def check_can_edit(session: Session, actor: Actor, milestone_id: int) -> Milestone:
    """The milestone this actor may edit or remove (the project's sponsor, lead, PMO admins), or why not."""
    milestone = _milestone(session, milestone_id)
    require_can_manage(actor, milestone.project, "change its milestones")
    return milestone


def edit_milestone(session: Session, actor: Actor, milestone_id: int, name: str, baseline: date) -> Milestone:
    """A new name or baseline (a re-plan). The forecast stays: its slippage is now counted from the new baseline."""
    milestone = check_can_edit(session, actor, milestone_id)
    milestone.name = _checked_name(session, milestone.project, name, renaming=milestone.id)
    milestone.baseline_date = baseline
    session.flush()
    return milestone


def remove_milestone(session: Session, actor: Actor, milestone_id: int) -> Project:
    """The milestone gone, and with it what other projects recorded they need of it; returns its project."""
    milestone = check_can_edit(session, actor, milestone_id)
    project = milestone.project
    session.execute(delete(MilestoneDependency).where(MilestoneDependency.milestone_id == milestone.id))
    session.delete(milestone)
    session.flush()
    return project


def remove_dependency(session: Session, actor: Actor, dependency_id: int) -> Project:
    """A dependency removed by whoever may record it (the dependent project's sponsor, lead, PMO
    admins); returns the dependent project."""
    dependency = session.get(MilestoneDependency, dependency_id)
    if dependency is None:
        raise NotFound("That dependency is no longer recorded. Run `/pmo milestones KEY` again.")
    project = dependency.project
    require_can_manage(actor, project, "change what it depends on")
    session.delete(dependency)
    session.flush()
    return project


def mark_met(session: Session, actor: Actor, milestone_id: int, *, today: date) -> Milestone:
    milestone = _milestone(session, milestone_id)
    require_can_manage(actor, milestone.project, "mark its milestones met")
    if milestone.actual_date is None:
        milestone.actual_date = today
        session.flush()
    return milestone


def project_milestones(session: Session, project: Project) -> list[MilestoneLine]:
    return lines_of(session, session.scalars(_in_plan_order(project.id)))


@dataclass(frozen=True)
class MilestonePlan:
    """`/pmo milestones KEY`: the project's milestones and the other projects' milestones it needs."""

    project_key: str
    project_name: str
    milestones: list[MilestoneLine]
    needs: list[DependencyLine]  # by needed-by date


def milestone_plan(session: Session, project: Project, *, audience: Audience) -> MilestonePlan:
    """`audience`: who reads it; a milestone of a project a partner may not see is left out of the needs."""
    needs = list(
        session.scalars(
            select(MilestoneDependency)
            .where(MilestoneDependency.project_id == project.id)
            .options(
                selectinload(MilestoneDependency.project),
                selectinload(MilestoneDependency.milestone).selectinload(Milestone.project),
            )
            .order_by(MilestoneDependency.needed_by, MilestoneDependency.id)
        )
    )
    shown = [d for d in needs if partners.is_visible(session, d.milestone.project, audience)]
    return MilestonePlan(
        project.key, project.name, project_milestones(session, project), _dependency_lines(session, shown)
    )


# --- the check-in form ---------------------------------------------------------------------


def form_milestones(session: Session, project: Project, *, today: date) -> list[MilestoneLine]:
    """The open milestones the check-in asks about: forecast within FORM_HORIZON (late ones too)."""
    due = session.scalars(
        _in_plan_order(project.id)
        .where(Milestone.actual_date.is_(None), Milestone.forecast_date <= today + FORM_HORIZON)
        .limit(MAX_IN_FORM)
    )
    return lines_of(session, due)


@dataclass(frozen=True)
class ForecastMove:
    """A forecast a check-in moved, as its summary lists it: "Go live 4 Jan -> 18 Jan"."""

    name: str
    before: date
    after: date


def update_forecasts(
    session: Session, project: Project, forecasts: Mapping[int, date], *, now: datetime
) -> list[ForecastMove]:
    """Forecasts the team changed in its check-in (already allowed to submit it); returns those that moved,
    in plan order."""
    if not forecasts:
        return []
    open_milestones = session.scalars(
        _in_plan_order(project.id).where(Milestone.id.in_(forecasts), Milestone.actual_date.is_(None))
    ).all()
    moves = []
    for milestone in open_milestones:
        before = milestone.forecast_date
        if move_forecast(milestone, forecasts[milestone.id], now=now):
            moves.append(ForecastMove(milestone.name, before, milestone.forecast_date))
    session.flush()
    return moves


# --- dependencies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneChoice:
    """Another project's open milestone, as the "new dependency" form offers it."""

    milestone_id: int
    project_key: str
    name: str
    forecast: date


def dependency_choices(session: Session, actor: Actor, key: str) -> tuple[Project, list[MilestoneChoice]]:
    project = portfolio.get_project(session, key)
    require_can_manage(actor, project, "record what it depends on")
    rows = session.execute(
        select(Milestone, Project.key)
        .join(Milestone.project)
        .where(Project.id != project.id, Project.status != ProjectStatus.CLOSED, Milestone.actual_date.is_(None))
        .order_by(Project.key, Milestone.forecast_date, Milestone.id)
    )
    choices = [MilestoneChoice(m.id, project_key, m.name, m.forecast_date) for m, project_key in rows]
    if not choices:
        raise NotFound(
            "No other project has an open milestone yet: its sponsor or lead adds them with `/pmo milestone add KEY`."
        )
    return project, choices


def create_dependency(
    session: Session, actor: Actor, key: str, milestone_id: int, needed_by: date, *, now: datetime
) -> MilestoneDependency:
    project = portfolio.get_project(session, key)
    require_can_manage(actor, project, "record what it depends on")
    milestone = _milestone(session, milestone_id)
    if milestone.project_id == project.id:
        raise InvalidMilestone({"milestone": "Choose another project's milestone: this one is its own."})
    existing = session.scalar(
        select(MilestoneDependency).where(
            MilestoneDependency.project_id == project.id, MilestoneDependency.milestone_id == milestone.id
        )
    )
    if existing is not None:
        existing.needed_by = needed_by
        session.flush()
        return existing
    dependency = MilestoneDependency(project=project, milestone=milestone, needed_by=needed_by, created_at=now)
    session.add(dependency)
    session.flush()
    return dependency


@dataclass(frozen=True)
class DependencyLine:
    """`needing_key` needs `milestone_key`'s milestone `milestone_name` by `needed_by`."""

    needing_key: str
    milestone_key: str
    milestone_name: str
    needed_by: date
    forecast: date
    actual: date | None
    late_days: int  # working days the forecast (or actual) is past the needed-by date; 0 when in time
    dependency_id: int

    @property
    def is_late(self) -> bool:
        return self.late_days > 0


def _dependency_days(dependencies: list[MilestoneDependency]) -> list[date]:
    """The days a dependency's lateness is counted between."""
    return [day for d in dependencies for day in (d.needed_by, d.milestone.actual_date or d.milestone.forecast_date)]


def _dependency_lines(
    session: Session, dependencies: list[MilestoneDependency], *, calendar: WorkingCalendar | None = None
) -> list[DependencyLine]:
    if calendar is None:
        calendar = _calendar_for(session, _dependency_days(dependencies))
    return [
        DependencyLine(
            d.project.key,
            d.milestone.project.key,
            d.milestone.name,
            d.needed_by,
            d.milestone.forecast_date,
            d.milestone.actual_date,
            max(0, slippage(calendar, d.needed_by, d.milestone.actual_date or d.milestone.forecast_date)),
            d.id,
        )
        for d in dependencies
    ]


def dependency_line(session: Session, dependency: MilestoneDependency) -> DependencyLine:
    return _dependency_lines(session, [dependency])[0]


@dataclass(frozen=True)
class ProjectSchedule:
    """What `/pmo status KEY` shows of the plan: the next milestones and both sides of dependencies."""

    next_milestones: list[MilestoneLine]  # open, soonest forecast first, at most SHOWN_IN_STATUS
    open_milestones: int
    dependencies: list[DependencyLine]  # what it needs, and what others need of it; late ones first


def project_schedule(session: Session, project: Project, *, audience: Audience) -> ProjectSchedule:
    """`audience`: who reads it; a dependency on a project a partner may not see is left out."""
    open_ones = list(session.scalars(_in_plan_order(project.id).where(Milestone.actual_date.is_(None))))
    dependencies = list(
        session.scalars(
            select(MilestoneDependency)
            .join(MilestoneDependency.milestone)
            .where(or_(MilestoneDependency.project_id == project.id, Milestone.project_id == project.id))
            # The milestone from the join, both projects joined to it: one statement.
            .options(
                joinedload(MilestoneDependency.project),
                contains_eager(MilestoneDependency.milestone).joinedload(Milestone.project),
            )
            .order_by(MilestoneDependency.needed_by, MilestoneDependency.id)
        )
    )
    shown = [
        d
        for d in dependencies
        if all(partners.is_visible(session, side, audience) for side in (d.project, d.milestone.project))
    ]
    next_ones = open_ones[:SHOWN_IN_STATUS]
    # One calendar, read once, over the days of both lists.
    calendar = _calendar_for(session, [*_milestone_days(next_ones), *_dependency_days(shown)])
    lines = sorted(_dependency_lines(session, shown, calendar=calendar), key=lambda line: not line.is_late)
    return ProjectSchedule(
        lines_of(session, next_ones, calendar=calendar), len(open_ones), lines[:MAX_DEPENDENCIES_SHOWN]
    )


# --- telling a dependent project its milestone slipped ----------------------------------------


@dataclass(frozen=True)
class SlipNotice:
    """What the dependent project is owed: one notice for this forecast of the milestone."""

    dependency_id: int
    forecast: date
    line: DependencyLine
    project_id: int
    project_key: str  # the dependent project
    project_name: str
    lead_user_id: str | None
    team_id: str | None  # its working primary channel, if any
    channel_id: str | None


def due_slip_notices(session: Session) -> list[SlipNotice]:
    """Dependencies whose open milestone is forecast past the needed-by date, later than last told."""
    dependencies = list(
        session.scalars(
            select(MilestoneDependency)
            .join(MilestoneDependency.milestone)
            .join(MilestoneDependency.project)
            .where(
                Milestone.actual_date.is_(None),
                Milestone.forecast_date > MilestoneDependency.needed_by,
                or_(
                    MilestoneDependency.notified_forecast.is_(None),
                    Milestone.forecast_date > MilestoneDependency.notified_forecast,
                ),
                Project.status != ProjectStatus.CLOSED,
            )
            .options(
                selectinload(MilestoneDependency.project).selectinload(Project.channel_links),
                selectinload(MilestoneDependency.project).selectinload(Project.lead),
                selectinload(MilestoneDependency.milestone).selectinload(Milestone.project),
            )
            .order_by(MilestoneDependency.id)
        )
    )
    notices = []
    for dependency, line in zip(dependencies, _dependency_lines(session, dependencies), strict=True):
        project = dependency.project
        link = portfolio.primary_channel(project)
        working = link if link is not None and link.broken_at is None else None
        notices.append(
            SlipNotice(
                dependency.id,
                dependency.milestone.forecast_date,
                line,
                project.id,
                project.key,
                project.name,
                project.lead.slack_user_id if project.lead else None,
                working.team_id if working else None,
                working.channel_id if working else None,
            )
        )
    return notices


def record_slip_told(session: Session, dependency_id: int, forecast: date) -> bool:
    """Mark this forecast told; False when another sender got there first (or it moved on)."""
    dependency = session.get(MilestoneDependency, dependency_id, with_for_update=True)
    if dependency is None or (dependency.notified_forecast is not None and dependency.notified_forecast >= forecast):
        return False
    dependency.notified_forecast = forecast
    session.flush()
    return True


# --- the weekly digest ------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestMilestones:
    slipped: list[MilestoneLine]  # open milestones whose forecast moved later in the week
    due_soon: list[MilestoneLine]  # open milestones forecast in the next DUE_SOON


DUE_SOON = timedelta(days=14)


def digest_milestones(session: Session, *, now: datetime, today: date, scope: ColumnElement[bool]) -> DigestMilestones:
    """`scope` narrows the projects, as the digest's does (a Slack Connect channel)."""
    active = and_(Project.status != ProjectStatus.CLOSED, scope)
    slipped = session.scalars(
        select(Milestone)
        .join(Milestone.project)
        .where(active, Milestone.actual_date.is_(None), Milestone.slipped_at > now - timedelta(days=7))
        .options(selectinload(Milestone.project))
        .order_by(Project.key, Milestone.forecast_date, Milestone.id)
    )
    due = session.scalars(
        select(Milestone)
        .join(Milestone.project)
        .where(
            active,
            Milestone.actual_date.is_(None),
            Milestone.forecast_date >= today,
            Milestone.forecast_date <= today + DUE_SOON,
        )
        .options(selectinload(Milestone.project))
        .order_by(Milestone.forecast_date, Project.key, Milestone.id)
    )
    return DigestMilestones(lines_of(session, slipped), lines_of(session, due))


# --- the monthly governance pack ----------------------------------------------------------------

QUARTER = timedelta(weeks=13)


def quarter_milestones(session: Session, *, today: date) -> list[MilestoneLine]:
    """Open milestones of the coming quarter (baseline or forecast within it), soonest forecast first."""
    end = today + QUARTER
    due = session.scalars(
        select(Milestone)
        .join(Milestone.project)
        .where(
            Project.status != ProjectStatus.CLOSED,
            Milestone.actual_date.is_(None),
            or_(Milestone.forecast_date.between(today, end), Milestone.baseline_date.between(today, end)),
        )
        .options(selectinload(Milestone.project))
        .order_by(Milestone.forecast_date, Project.key, Milestone.id)
    )
    return lines_of(session, due)
