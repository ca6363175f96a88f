"""Benefits: what a project must realise, the values measured over time, and their trajectory.

A benefit's plan is a straight line from its baseline, on its plan start date (the
baseline's date, given when the benefit is added, else the day it was added; benefits
added before that was asked for start at the project's start date, or the day they were
recorded), to its target at its target date, and flat at the target afterwards. A benefit
is off trajectory when its latest value trails that line, on the day asked, by more than a
tolerance: a share of the distance from baseline to target. The line is read on the day
asked rather than on the day of the last measurement, so a benefit nobody has measured for
months cannot look on track.

A benefit may be recorded before it is measurable (SMART): until it has a measure, a unit,
a baseline, a target, a target date and an owner it is "not yet measurable", has no
trajectory and is never counted off track; the record, status and digest say what it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

from sqlalchemy import ColumnElement, Label, and_, func, select
from sqlalchemy.orm import Session

from bot.errors import NotAllowed, NotFound, UserError
from bot.services import people
from bot.services.access import Actor, can_manage, require_can_manage
from bot.services.cadence import period_of
from storage.models import Benefit, BenefitValue, Objective, Person, Project, ProjectStatus

MAX_NAME_LENGTH = 200
MAX_MEASURE_LENGTH = 200
MAX_UNIT_LENGTH = 40
# The columns are Numeric(18, 4): up to 14 digits before the point and 4 after.
AMOUNT_DECIMAL_PLACES = 4
AMOUNT_LIMIT = Decimal(10) ** 14


class InvalidBenefit(UserError):
    """Values a form must correct; `problems` maps each field to what to do about it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = problems


def _amount_problem(value: Decimal) -> str | None:
    if not value.is_finite() or abs(value) >= AMOUNT_LIMIT:
        return f"Use a number between -{AMOUNT_LIMIT:,f} and {AMOUNT_LIMIT:,f}."
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_DECIMAL_PLACES:
        return f"Use at most {AMOUNT_DECIMAL_PLACES} decimal places."
    return None


def parse_amount(text: str) -> Decimal:
    """A measured or planned value as typed: "1200", "-3.5". Raises UserError saying what to type."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise UserError(f"'{text.strip()}' is not a number: write digits, e.g. 1200 or 3.5.") from None
    problem = _amount_problem(value)
    if problem:
        raise UserError(problem)
    return value


# --- the trajectory ---------------------------------------------------------------------


@dataclass(frozen=True)
class Trajectory:
    expected: Decimal  # where the planned line is on the day asked (unrounded)
    latest: Decimal | None  # the most recent value measured on or before that day
    latest_measured_on: date | None
    # How far the latest value trails the line, as a share of |target - baseline|; 0 when on or ahead.
    behind_by: float
    is_off_track: bool


@dataclass(frozen=True)
class Plan:
    """A benefit's planned line: `baseline` on `start`, rising (or falling) to `target` on `target_date`."""

    baseline: Decimal
    target: Decimal
    start: date
    target_date: date


def planned_start(benefit: Benefit) -> date:
    return benefit.plan_start_date or benefit.project.start_date or benefit.created_at.date()


# --- measurable or not yet ---------------------------------------------------------------


class BenefitParts(Protocol):
    """What makes a benefit measurable: a Benefit, or a row of these columns."""

    measure: str | None
    unit: str | None
    baseline: Decimal | None
    target: Decimal | None
    target_date: date | None
    owner_id: int | None


def missing_parts(benefit: BenefitParts) -> tuple[str, ...]:
    """What a benefit lacks to be measurable, in the form's order ("baseline", "target date"); empty when nothing."""
    given = {
        "measure": benefit.measure,
        "unit": benefit.unit,
        "baseline": benefit.baseline,
        "target": benefit.target,
        "target date": benefit.target_date,
        "owner": benefit.owner_id,
    }
    return tuple(part for part, value in given.items() if value is None)


def is_measurable(benefit: Benefit) -> bool:
    return not missing_parts(benefit)


def measurable() -> ColumnElement[bool]:
    """`is_measurable`, in SQL."""
    columns = (Benefit.measure, Benefit.unit, Benefit.baseline, Benefit.target, Benefit.target_date, Benefit.owner_id)
    return and_(*(column.is_not(None) for column in columns))


def plan_of(benefit: Benefit) -> Plan | None:
    """The planned line, or None while the benefit is not yet measurable."""
    if not is_measurable(benefit):
        return None
    assert benefit.baseline is not None and benefit.target is not None and benefit.target_date is not None
    return Plan(benefit.baseline, benefit.target, planned_start(benefit), benefit.target_date)


def planned_value(plan: Plan, on: date) -> Decimal:
    if on >= plan.target_date:
        return plan.target
    if on <= plan.start:
        return plan.baseline
    share = Decimal((on - plan.start).days) / Decimal((plan.target_date - plan.start).days)
    return plan.baseline + (plan.target - plan.baseline) * share


# The one rule for "a benefit's latest value": measured last (on or before the day asked about);
# of two measured the same day, the later report; of two reported at once, the later row.
def _recency(entry: BenefitValue) -> tuple[date, datetime, int]:
    return entry.measured_on, entry.reported_at, entry.id


def latest_value(benefit: Benefit, on: date) -> BenefitValue | None:
    """The value measured last on or before `on` (see `_recency`)."""
    measured = [entry for entry in benefit.values if entry.measured_on <= on]
    return max(measured, key=_recency, default=None)


def latest_value_rank() -> Label[int]:
    """1 for each benefit's latest value, in SQL, by the same rule as `latest_value` (filter `measured_on` first)."""
    return (
        func.row_number()
        .over(
            partition_by=BenefitValue.benefit_id,
            order_by=(BenefitValue.measured_on.desc(), BenefitValue.reported_at.desc(), BenefitValue.id.desc()),
        )
        .label("recency")
    )


def trajectory(benefit: Benefit, *, on: date, tolerance: float) -> Trajectory | None:
    """Where the benefit stands against its plan on `on`; None while it is not yet measurable."""
    plan = plan_of(benefit)
    if plan is None:
        return None
    latest = latest_value(benefit, on)
    return assess(
        plan,
        latest.value if latest else None,
        latest.measured_on if latest else None,
        on=on,
        tolerance=tolerance,
    )


def assess(
    plan: Plan, latest: Decimal | None, latest_measured_on: date | None, *, on: date, tolerance: float
) -> Trajectory:
    """The trajectory rule on plain values, for callers that read plans and latest values in bulk."""
    expected = planned_value(plan, on)
    if latest is None:
        return Trajectory(expected, None, None, behind_by=0.0, is_off_track=False)
    distance = plan.target - plan.baseline
    # A target below the baseline means lower is better, so "behind" is above the line.
    shortfall = expected - latest if distance > 0 else latest - expected
    if distance == 0 or shortfall <= 0:
        return Trajectory(expected, latest, latest_measured_on, behind_by=0.0, is_off_track=False)
    return Trajectory(
        expected,
        latest,
        latest_measured_on,
        behind_by=float(shortfall / abs(distance)),
        is_off_track=shortfall > abs(distance) * Decimal(str(tolerance)),
    )


# --- adding benefits --------------------------------------------------------------------


@dataclass(frozen=True)
class NewBenefit:
    """A benefit as the form describes it; all but the name and owner may wait (not yet measurable)."""

    name: str
    measure: str | None
    unit: str | None
    baseline: Decimal | None
    target: Decimal | None
    target_date: date | None
    owner_user_id: str
    plan_start: date | None = None  # the baseline's date; None: the day it is saved with a baseline


def _project(session: Session, key: str) -> Project:
    # Looked up here rather than through portfolio.get_project: portfolio's record uses this
    # module's trajectory, and the dependency stays one-way.
    project = session.scalar(select(Project).where(Project.key == key.strip().upper()))
    if project is None:
        raise NotFound(
            f"No project has the key {key.strip().upper()}. Check the spelling: `/pmo project KEY` shows one."
        )
    return project


def check_can_add(session: Session, actor: Actor, key: str) -> Project:
    """The project a benefit would be added to, or the reason this actor cannot add one."""
    project = _project(session, key)
    require_can_manage(actor, project, "add benefits to it")
    if project.status is ProjectStatus.CLOSED:
        raise UserError(f"{project.key} is closed; closed projects get no new benefits.")
    return project


def benefit_problems(
    project: Project, new: NewBenefit, *, today: date, editing: Benefit | None = None
) -> dict[str, str]:
    """What is wrong with `new` (as a new benefit, or as `editing` changed), by field name of
    NewBenefit; empty when it can be saved."""
    problems: dict[str, str] = {}
    name = new.name.strip()
    # Names differing only in case would read as the same benefit in every list.
    clash = next(
        (b for b in project.benefits if b.name.casefold() == name.casefold() and b is not editing),
        None,
    )
    if not name:
        problems["name"] = "Give the benefit a name."
    elif len(name) > MAX_NAME_LENGTH:
        problems["name"] = f"Keep the name to {MAX_NAME_LENGTH} characters."
    elif clash is not None:
        problems["name"] = f"{project.key} already has a benefit called “{clash.name}”. Choose another name."
    for field, text, limit in (("measure", new.measure, MAX_MEASURE_LENGTH), ("unit", new.unit, MAX_UNIT_LENGTH)):
        if text is not None and len(text.strip()) > limit:
            problems[field] = f"Keep the {field} to {limit} characters."
    for field, amount in (("baseline", new.baseline), ("target", new.target)):
        problem = _amount_problem(amount) if amount is not None else None
        if problem:
            problems[field] = problem
    if "target" not in problems and new.target is not None and new.target == new.baseline:
        problems["target"] = "The target must differ from the baseline: say what the project will change."
    # A target date already passed may stay as it was; a new one must lie ahead.
    unchanged_date = editing is not None and new.target_date == editing.target_date
    if new.target_date is not None and new.target_date <= today and not unchanged_date:
        problems["target_date"] = "The target date must be after today."
    if new.plan_start is not None and new.target_date is not None and new.plan_start >= new.target_date:
        problems["plan_start"] = "The baseline date must be before the target date."
    return problems


def _text_or_none(text: str | None) -> str | None:
    return text.strip() if text is not None and text.strip() else None


def create_benefit(session: Session, actor: Actor, key: str, new: NewBenefit, *, now: datetime, today: date) -> Benefit:
    project = check_can_add(session, actor, key)
    problems = benefit_problems(project, new, today=today)
    if problems:
        raise InvalidBenefit(problems)
    benefit = Benefit(
        project=project,
        name=new.name.strip(),
        measure=_text_or_none(new.measure),
        unit=_text_or_none(new.unit),
        baseline=new.baseline,
        target=new.target,
        target_date=new.target_date,
        # A baseline not yet given has no date: the plan then starts when the benefit is completed.
        plan_start_date=new.plan_start or (today if new.baseline is not None else None),
        owner=people.get_or_create(session, new.owner_user_id, now=now),
        is_active=True,
        created_at=now,
    )
    session.add(benefit)
    session.flush()
    return benefit


# --- completing (editing) benefits ----------------------------------------------------------


def editable_benefit(session: Session, actor: Actor, benefit_id: int) -> Benefit:
    """The benefit `actor` means to complete or correct, or the reason they cannot."""
    benefit = session.get(Benefit, benefit_id)
    if benefit is None or not benefit.is_active:
        raise NotFound("That benefit is no longer tracked. `/pmo project KEY` shows a project's benefits.")
    if not can_report(actor, benefit):
        raise NotAllowed(
            f"Only the owner of {benefit.project.key} · {benefit.name}, {benefit.project.key}'s sponsor or lead, "
            "and PMO admins can complete or change it. Ask one of them."
        )
    return benefit


def benefit_named(session: Session, actor: Actor, key: str, name: str) -> Benefit:
    """`/pmo benefit edit KEY NAME`: the project's active benefit called `name` (any case)."""
    project = _project(session, key)
    found = next(
        (b for b in project.benefits if b.is_active and b.name.casefold() == name.strip().casefold()),
        None,
    )
    if found is None:
        names = ", ".join(f"“{b.name}”" for b in project.benefits if b.is_active) or "none yet"
        raise NotFound(f"{project.key} has no benefit called “{name.strip()}”. Its benefits: {names}.")
    return editable_benefit(session, actor, found.id)


def update_benefit(
    session: Session, actor: Actor, benefit_id: int, changed: NewBenefit, *, now: datetime, today: date
) -> Benefit:
    """Saves the form's values over the benefit's: completing what was missing, or correcting it."""
    benefit = editable_benefit(session, actor, benefit_id)
    problems = benefit_problems(benefit.project, changed, today=today, editing=benefit)
    if problems:
        raise InvalidBenefit(problems)
    benefit.name = changed.name.strip()
    benefit.measure = _text_or_none(changed.measure)
    benefit.unit = _text_or_none(changed.unit)
    benefit.baseline = changed.baseline
    benefit.target = changed.target
    benefit.target_date = changed.target_date
    # The form shows the stored date; a blank one means today, as when adding.
    benefit.plan_start_date = changed.plan_start or (today if changed.baseline is not None else None)
    benefit.owner = people.get_or_create(session, changed.owner_user_id, now=now)
    session.flush()
    return benefit


# --- across the portfolio -------------------------------------------------------------------


@dataclass(frozen=True)
class UnmeasurableBenefit:
    """A benefit not yet measurable, as the digest lists it."""

    project_key: str
    project_name: str
    name: str
    missing: tuple[str, ...]
    owner_user_id: str | None


def not_yet_measurable(session: Session, *, scope: ColumnElement[bool]) -> list[UnmeasurableBenefit]:
    """Active benefits of active projects in `scope` that are not yet measurable, by project key.

    Read in columns: `missing_parts` reads a row of the benefit's parts as it reads the benefit.
    """
    found = session.execute(
        select(
            Benefit.name,
            Benefit.measure,
            Benefit.unit,
            Benefit.baseline,
            Benefit.target,
            Benefit.target_date,
            Benefit.owner_id,
            Project.key,
            Project.name.label("project_name"),
            Person.slack_user_id,
        )
        .join(Project, Project.id == Benefit.project_id)
        .outerjoin(Person, Person.id == Benefit.owner_id)
        .where(Benefit.is_active, Project.status == ProjectStatus.ACTIVE, scope, ~measurable())
        .order_by(Project.key, Benefit.id)
    )
    return [
        UnmeasurableBenefit(row.key, row.project_name, row.name, missing_parts(row), row.slack_user_id) for row in found
    ]


@dataclass(frozen=True)
class ObjectiveMeasurability:
    """How many of an objective's active benefits are measurable, for the governance pack."""

    objective: str | None  # None: benefits of projects with no objective
    benefits: int
    measurable: int


def measurability_by_objective(session: Session) -> list[ObjectiveMeasurability]:
    """Per objective (benefits of projects with none last), over active benefits of projects not
    paused: the same benefits the pack's realised-against-plan counts."""
    is_measurable_count = func.count().filter(measurable())
    rows = session.execute(
        select(Objective.name, func.count(), is_measurable_count)
        .select_from(Benefit)
        .join(Project, Project.id == Benefit.project_id)
        .outerjoin(Objective, Objective.id == Project.objective_id)
        .where(Benefit.is_active, Project.status != ProjectStatus.PAUSED)
        .group_by(Objective.name)
    )
    counted = [ObjectiveMeasurability(name, total, count) for name, total, count in rows]
    return sorted(counted, key=lambda line: (line.objective is None, line.objective or ""))


# --- reporting values -------------------------------------------------------------------


def can_report(actor: Actor, benefit: Benefit) -> bool:
    """A benefit's owner reports its values and completes or corrects it; the project's
    sponsor, lead and the PMO may too."""
    is_owner = benefit.owner is not None and benefit.owner.slack_user_id == actor.slack_user_id
    return is_owner or can_manage(actor, benefit.project)


def benefits_owned_by(session: Session, slack_user_id: str) -> list[Benefit]:
    """Active benefits this person owns, closed projects included: benefits are realised after delivery."""
    return list(
        session.scalars(
            select(Benefit)
            .join(Benefit.owner)
            .join(Benefit.project)
            .where(Person.slack_user_id == slack_user_id, Benefit.is_active)
            .order_by(Project.key, Benefit.id)
        )
    )


NOTHING_OWNED = (
    "You don't own any benefits, so there is nothing for you to report. A project's sponsor or lead "
    "names each benefit's owner when adding it with `/pmo benefit add KEY`: ask them to name you. "
    "Sponsors and leads can report any of their project's benefits with `/pmo benefit report KEY`."
)


def reportable_benefits(session: Session, actor: Actor, key: str | None) -> list[Benefit]:
    """What `actor` may report values for: the benefits they own, or, given a project key,
    that project's benefits they own (all of them for its sponsor, lead and the PMO)."""
    if key is None:
        owned = benefits_owned_by(session, actor.slack_user_id)
        if not owned:
            raise NotFound(NOTHING_OWNED)
        return owned
    project = _project(session, key)
    active = [benefit for benefit in project.benefits if benefit.is_active]
    if not active:
        raise NotFound(
            f"{project.key} has no benefits yet. Its sponsor or lead can add one with `/pmo benefit add {project.key}`."
        )
    reportable = [benefit for benefit in active if can_report(actor, benefit)]
    if not reportable:
        raise NotAllowed(
            f"You don't own any of {project.key}'s benefits, so there is nothing for you to report there. "
            f"Its sponsor or lead can report them, or name you owner when they add one."
        )
    return reportable


def report_value(
    session: Session,
    actor: Actor,
    benefit_id: int,
    value: Decimal,
    measured_on: date,
    *,
    now: datetime,
    today: date,
) -> BenefitValue:
    benefit = session.get(Benefit, benefit_id)
    if benefit is None or not benefit.is_active:
        raise NotFound("That benefit is no longer tracked. Run `/pmo benefit report` again to choose another.")
    if not can_report(actor, benefit):
        raise NotAllowed(
            f"Only the owner of {benefit.project.key} · {benefit.name}, and {benefit.project.key}'s sponsor "
            "or lead, can report its values."
        )
    problems: dict[str, str] = {}
    amount_problem = _amount_problem(value)
    if amount_problem:
        problems["value"] = amount_problem
    if measured_on > today:
        problems["measured_on"] = "A value cannot be measured in the future: choose today or an earlier day."
    if problems:
        raise InvalidBenefit(problems)
    entry = BenefitValue(
        value=value,
        measured_on=measured_on,
        period=period_of(measured_on),
        reported_by_id=people.get_or_create(session, actor.slack_user_id, now=now).id,
        reported_at=now,
    )
    benefit.values.append(entry)
    session.flush()
    return entry
