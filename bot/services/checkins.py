"""The weekly check-in cycle: what is due, what a submission means, who hears about it.

Plain functions over a session and an instant. Sending is the handlers' job; these
functions say what should be sent and record that the cycle moved on, so that a second
tick (or a second instance) finds nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.errors import NotAllowed, UserError
from bot.services import (
    benefits,
    escalations,
    incidents,
    job_runs,
    message_keys,
    milestones,
    nudges,
    outbox,
    people,
    portfolio,
)
from bot.services.access import Actor, can_manage
from bot.services.cadence import Cadence
from bot.services.escalations import Cause
from bot.services.outbox import OutgoingRequest
from bot.services.owed import AlertChanged, CheckinSummary, Owed, PromptAnswered, SponsorDm, home_refresh
from storage.inserts import insert_unless_taken
from storage.models import (
    BenefitValue,
    ChannelLink,
    Checkin,
    CheckinPeriod,
    DeliveryStatus,
    EscalationKind,
    IncidentImpact,
    JobRun,
    Project,
    ProjectRole,
    ProjectStatus,
    PromptSchedule,
    Rag,
    SkipDate,
)

RAG_ORDER = {Rag.GREEN: 0, Rag.AMBER: 1, Rag.RED: 2}
# Slack modals hold 100 blocks; the fixed questions take about 15.
MAX_BENEFITS_IN_FORM = 80
# A reminder or a miss that fell due more than this long ago (the bot was down) is let
# go, as prompts are: by then the next period's prompt has taken its place. Bounding the
# search also keeps each tick from re-reading every answered period in the history.
CHASE_WINDOW = timedelta(days=7)


# --- what is due ---------------------------------------------------------------------


@dataclass(frozen=True)
class DuePrompt:
    project_id: int
    project_key: str
    period: str
    due_at: datetime
    channel_id: str
    team_id: str


def due_prompts(session: Session, *, now: datetime, default_cadence: Cadence) -> list[DuePrompt]:
    """Prompts whose cadence instant has come and that no tick has claimed yet.

    Only the latest cadence instant counts, so a tick after downtime sends this period's
    prompt and never a backlog. A project created after that instant waits for the next.

    Every tick asks, so the work follows what is due rather than the portfolio's size: the
    prompt schedule names the projects whose next cadence instant has come (or that changed
    since they were last looked at), and only those are read. One found with nothing owed
    now (its period already open, not active, paused, no working channel, a skip date) is
    not looked at again before its next instant.
    """
    _schedule_for_default(session, default_cadence, now=now)
    # Sorted here: asked to sort, SQLite reads the table in id order instead of the index.
    to_look_at = sorted(
        session.scalars(
            select(PromptSchedule.project_id).where(
                or_(PromptSchedule.check_at.is_(None), PromptSchedule.check_at <= now)
            )
        )
    )
    due: list[DuePrompt] = []
    for start in range(0, len(to_look_at), _SCHEDULE_BATCH):
        batch = _scheduled(session, to_look_at[start : start + _SCHEDULE_BATCH], default_cadence=default_cadence)
        owed = _owed_now(session, batch, now=now)
        due += [prompt for _row, prompt in owed if prompt is not None]
        _look_again_at_next_instant(session, [row for row, prompt in owed if prompt is None], now=now)
    return due


# Projects read at a time: a bound on the parameters of one statement, and on memory after
# the schedule was cleared for the whole portfolio.
_SCHEDULE_BATCH = 1000


def _schedule_for_default(session: Session, default_cadence: Cadence, *, now: datetime) -> None:
    """The schedule was worked out with the default cadence in the settings: when that changes,
    every project is looked at again (one probe of the job runs when it has not)."""
    run_key = message_keys.prompt_schedule_default(default_cadence.describe())
    if job_runs.is_done(session, run_key):
        return
    session.execute(update(PromptSchedule).values(check_at=None, version=PromptSchedule.version + 1))
    session.execute(
        delete(JobRun).where(
            JobRun.run_key.startswith(message_keys.prompt_schedule_default("")), JobRun.run_key != run_key
        )
    )
    job_runs.mark_done(session, run_key, now=now)


@dataclass(frozen=True)
class _Scheduled:
    project_id: int
    key: str
    status: ProjectStatus
    created_at: datetime
    cadence: Cadence
    channel_id: str | None
    team_id: str | None
    channel_broken: bool
    version: int


def _scheduled(session: Session, project_ids: list[int], *, default_cadence: Cadence) -> list[_Scheduled]:
    """What the prompt needs of these projects, by project id."""
    primary = (ChannelLink.project_id == PromptSchedule.project_id) & ChannelLink.is_primary
    rows = session.execute(
        select(
            PromptSchedule.project_id,
            Project.key,
            Project.status,
            Project.created_at,
            func.coalesce(Project.checkin_day, default_cadence.weekday),
            func.coalesce(Project.checkin_time, default_cadence.time_of_day),
            func.coalesce(Project.timezone, default_cadence.timezone),
            ChannelLink.channel_id,
            ChannelLink.team_id,
            ChannelLink.broken_at.is_not(None),
            PromptSchedule.version,
        )
        .select_from(PromptSchedule)
        .join(Project, Project.id == PromptSchedule.project_id)
        .outerjoin(ChannelLink, primary)
        .where(PromptSchedule.project_id.in_(project_ids))
        .order_by(PromptSchedule.project_id)
    )
    return [
        _Scheduled(project_id, key, status, created_at, Cadence(day, at, zone), channel, team, bool(broken), version)
        for project_id, key, status, created_at, day, at, zone, channel, team, broken, version in rows
    ]


def _owed_now(session: Session, batch: list[_Scheduled], *, now: datetime) -> list[tuple[_Scheduled, DuePrompt | None]]:
    """Each project of the batch with the prompt owed to it now, or None when none is."""
    latest = {row.cadence: row.cadence.latest_due(now) for row in batch}
    promptable = [
        row
        for row in batch
        if row.status is ProjectStatus.ACTIVE
        and row.channel_id is not None
        and not row.channel_broken
        and row.created_at <= latest[row.cadence][2]
    ]
    ids = [row.project_id for row in promptable]
    # A team restoring a live service is left alone; resolving excuses the periods it missed.
    paused = set(session.scalars(incidents.paused_project_ids().where(IncidentImpact.project_id.in_(ids))))
    opened = set(
        session.execute(
            select(CheckinPeriod.project_id, CheckinPeriod.period).where(
                CheckinPeriod.project_id.in_(ids),
                CheckinPeriod.period.in_({latest[row.cadence][0] for row in promptable}),
            )
        ).all()
    )
    skipped = set(
        session.execute(
            select(SkipDate.team_id, SkipDate.day).where(
                SkipDate.day.in_({latest[row.cadence][1] for row in promptable})
            )
        ).all()
    )
    owed: dict[int, DuePrompt] = {}
    for row in promptable:
        period, local_day, due_at = latest[row.cadence]
        if row.project_id in paused or (row.project_id, period) in opened or (row.team_id, local_day) in skipped:
            continue
        owed[row.project_id] = DuePrompt(row.project_id, row.key, period, due_at, str(row.channel_id), str(row.team_id))
    return [(row, owed.get(row.project_id)) for row in batch]


def _look_again_at_next_instant(session: Session, handled: list[_Scheduled], *, now: datetime) -> None:
    """Nothing is owed to these now: the schedule skips them until their next cadence instant,
    unless a change since they were read (another version) asks for a look sooner."""
    if handled:
        session.connection().execute(
            update(PromptSchedule)
            .where(
                PromptSchedule.project_id == bindparam("row_id"),
                PromptSchedule.version == bindparam("seen_version"),
            )
            .values(check_at=bindparam("next_at")),
            [
                {"row_id": row.project_id, "seen_version": row.version, "next_at": row.cadence.next_due(now)[2]}
                for row in handled
            ],
        )


def claim_prompt(session: Session, prompt: DuePrompt, *, now: datetime) -> bool:
    """Open the period; False when another tick or instance already did (it sends the prompt).

    A lost race leaves the rest of the caller's transaction as it was.
    """
    opened = insert_unless_taken(
        session,
        CheckinPeriod,
        {"project_id": prompt.project_id, "period": prompt.period, "due_at": prompt.due_at, "prompted_at": now},
        ["project_id", "period"],
    )
    return opened is not None


PROMPT_TOO_LATE = "prompt_too_late"


def too_late_to_prompt(prompt: DuePrompt, *, now: datetime, missed_after: timedelta) -> bool:
    """A prompt this long after its time (the first tick after an outage, or after an import)
    would arrive when the week would already count as missed: the week is let go instead."""
    return now > prompt.due_at + missed_after


def excuse_period(session: Session, project_id: int, period: str, reason: str) -> None:
    """No check-in is owed for this period (the team never got the prompt): no reminder, no miss."""
    session.execute(
        update(CheckinPeriod)
        .where(CheckinPeriod.project_id == project_id, CheckinPeriod.period == period)
        .values(excused_reason=reason)
    )


BROKEN_CHANNEL = "broken_channel"


def latest_checkin(session: Session, project_id: int, period: str) -> Checkin | None:
    """The last revision of a period's check-in (an amendment replaces what came before)."""
    return session.scalar(
        select(Checkin)
        .where(Checkin.project_id == project_id, Checkin.period == period)
        .order_by(Checkin.revision.desc())
        .limit(1)
    )


def reopen_after_repair(session: Session, project_id: int, *, now: datetime) -> OutgoingRequest | None:
    """The channel works again: a prompt that could not be posted there in the last week is
    owed again (reminders count from now) and is returned to be sent; None if there is none."""
    period = session.scalar(
        select(CheckinPeriod)
        .where(
            CheckinPeriod.project_id == project_id,
            CheckinPeriod.excused_reason == BROKEN_CHANNEL,
            CheckinPeriod.prompted_at > now - CHASE_WINDOW,
        )
        .order_by(CheckinPeriod.period.desc())
        .limit(1)
    )
    if period is None or latest_checkin(session, project_id, period.period) is not None:
        return None
    row = outbox.find(session, message_keys.checkin_prompt(project_id, period.period))
    if row is None or row.status is not DeliveryStatus.UNDELIVERABLE:
        return None
    period.excused_reason = None
    period.prompted_at = now
    # Claimed again by this caller, who sends it now under the same key, so the answer
    # still finds (and updates) the prompt.
    row.status = DeliveryStatus.PENDING
    return OutgoingRequest(row.idempotency_key, row.method, row.channel_id, row.payload)


# --- context for the prompt and the form ----------------------------------------------


def last_status_before(session: Session, project_id: int, period: str) -> Checkin | None:
    """The latest check-in of any period before this one: "last week's status" for context."""
    return session.scalar(
        select(Checkin)
        .where(Checkin.project_id == project_id, Checkin.period < period)
        .order_by(Checkin.period.desc(), Checkin.revision.desc())
        .limit(1)
    )


def current_period(project: Project, *, now: datetime, default_cadence: Cadence) -> str:
    """The period a check-in made now belongs to: that of the latest cadence instant."""
    return portfolio.effective_cadence(project, default_cadence).latest_due(now)[0]


# --- submitting -------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckinInput:
    overall: Rag | None
    schedule: Rag | None = None
    cost: Rag | None = None
    scope: Rag | None = None
    progress: str | None = None
    next_steps: str | None = None
    risks_issues: str | None = None
    help_needed: str | None = None
    escalate_to_pmo: bool = False
    path_to_green: str | None = None
    path_to_green_date: date | None = None
    # benefit id -> the raw text typed (blank: not measured this period)
    benefit_values: dict[int, str] = field(default_factory=dict)
    confidence: str | None = None  # the level given on a dca scale, stored as given
    # milestone id -> the forecast date given in the form (moved only where it differs)
    forecasts: dict[int, date] = field(default_factory=dict)


OVERALL = "overall"
PATH_TO_GREEN = "path_to_green"
PATH_TO_GREEN_DATE = "path_to_green_date"


def benefit_field(benefit_id: int) -> str:
    return f"benefit:{benefit_id}"


def problems(checkin: CheckinInput, *, today: date) -> dict[str, str]:
    """What is wrong with a submission, by field, in words for the person filling it in."""
    found: dict[str, str] = {}
    if checkin.overall is None:
        found[OVERALL] = "Choose the overall status: Green, Amber or Red."
    if checkin.overall in (Rag.AMBER, Rag.RED):
        if not checkin.path_to_green:
            found[PATH_TO_GREEN] = "Amber or Red needs a path to green: what will bring it back, in a line."
        if checkin.path_to_green_date is None:
            found[PATH_TO_GREEN_DATE] = "Amber or Red needs a date by which it should be Green again."
    if checkin.path_to_green_date is not None and checkin.path_to_green_date < today:
        found[PATH_TO_GREEN_DATE] = "The date to be Green again is in the past: choose today or later."
    for benefit_id, text in checkin.benefit_values.items():
        if text.strip() and _number(text) is None:
            found[benefit_field(benefit_id)] = f"'{text.strip()}' is not a number: type digits only, e.g. 1250.5"
    return found


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", ""))
    except ArithmeticError:
        return None
    return value if value.is_finite() else None


def is_team_member(actor: Actor, project: Project) -> bool:
    """Accountable people and deputies may always update; channel members are checked by the caller."""
    if can_manage(actor, project):
        return True
    return any(
        member.role is ProjectRole.DEPUTY and member.person.slack_user_id == actor.slack_user_id
        for member in project.members
    )


def require_can_update(project: Project, actor: Actor, *, is_team_member_: bool, in_project_channel: bool) -> None:
    if not (is_team_member_ or in_project_channel):
        raise NotAllowed(
            f"You can't update {project.key}: only its team (members of its channel), "
            "its sponsor and lead, and the PMO can. Ask the lead to add you to the channel."
        )


@dataclass(frozen=True)
class Submission:
    checkin_id: int
    project_id: int
    project_key: str
    period: str
    revision: int
    overall: Rag
    previous_overall: Rag | None
    causes: list[Cause]
    cleared_cause_keys: list[str]
    # A miss already recorded for this period: the late answer settles its alert.
    answered_late: bool
    # For an amendment: the names of the fields it changed from the revision before.
    changed: list[str]
    sponsor_user_id: str | None
    tell_sponsor_turned_red: bool
    tell_sponsor_help: bool


def submit(
    session: Session,
    project: Project,
    actor: Actor,
    period: str,
    checkin: CheckinInput,
    *,
    now: datetime,
    tolerance: float,
) -> Submission:
    """Store a check-in (a later one in the same period is an amendment) and its benefit values."""
    if checkin.overall is None or problems(checkin, today=now.date()):
        raise UserError("The check-in has problems; correct the highlighted fields.")
    if project.status is not ProjectStatus.ACTIVE:
        raise UserError(f"{project.key} is {project.status.value}, so it takes no check-ins.")
    revision = (
        session.scalar(
            select(func.max(Checkin.revision)).where(Checkin.project_id == project.id, Checkin.period == period)
        )
        or 0
    ) + 1
    before = latest_checkin(session, project.id, period)
    values_before = checkin_benefit_values(session, before) if before else {}
    person = people.get_or_create(session, actor.slack_user_id, now=now)
    row = Checkin(
        project_id=project.id,
        period=period,
        revision=revision,
        submitted_by_id=person.id,
        submitted_at=now,
        overall_rag=checkin.overall,
        confidence=checkin.confidence,
        schedule_rag=checkin.schedule,
        cost_rag=checkin.cost,
        scope_rag=checkin.scope,
        progress=checkin.progress,
        next_steps=checkin.next_steps,
        risks_issues=checkin.risks_issues,
        help_needed=checkin.help_needed,
        escalate_to_pmo=checkin.escalate_to_pmo,
        path_to_green=checkin.path_to_green,
        path_to_green_date=checkin.path_to_green_date,
    )
    session.add(row)
    session.flush()
    _store_benefit_values(session, project, row, checkin.benefit_values, person.id, now=now)
    changed = (
        changed_fields(before, values_before, row, checkin_benefit_values(session, row), project) if before else []
    )

    previous = last_status_before(session, project.id, period)
    previous_overall = previous.overall_rag if previous else None
    behind = benefits_behind(project, on=now.date(), tolerance=tolerance)
    causes, cleared = _escalation_causes(project, period, row, previous, behind)
    missed = session.scalar(
        select(CheckinPeriod.missed_at).where(CheckinPeriod.project_id == project.id, CheckinPeriod.period == period)
    )
    return Submission(
        checkin_id=row.id,
        project_id=project.id,
        project_key=project.key,
        period=period,
        revision=revision,
        overall=row.overall_rag,
        previous_overall=previous_overall,
        causes=causes,
        cleared_cause_keys=cleared,
        answered_late=missed is not None,
        changed=changed,
        sponsor_user_id=project.sponsor.slack_user_id if project.sponsor else None,
        tell_sponsor_turned_red=row.overall_rag is Rag.RED and previous_overall is not Rag.RED,
        tell_sponsor_help=bool(row.help_needed),
    )


@dataclass(frozen=True)
class Answered:
    """A team's check-in stored, and everything it owes people, still to be sent."""

    submission: Submission
    owed: tuple[Owed, ...]


def answer(
    session: Session,
    project: Project,
    actor: Actor,
    period: str,
    checkin: CheckinInput,
    *,
    now: datetime,
    tolerance: float,
) -> Answered:
    """A team answers its check-in: the check-in is stored (see `submit`), the PMO's alerts about
    the week are raised or settled, and what that owes is returned in the order it is sent: the
    prompt showing the answer, the summary in its thread, the alerts, the sponsor's DM, Home tabs."""
    submission = submit(session, project, actor, period, checkin, now=now, tolerance=tolerance)
    moves = milestones.update_forecasts(session, project, checkin.forecasts, now=now)
    stored = session.get_one(Checkin, submission.checkin_id)
    answered_by = actor.slack_user_id
    owed: list[Owed] = []
    prompt = outbox.sent_message(session, message_keys.checkin_prompt(project.id, period))
    if prompt is not None:
        owed.append(
            PromptAnswered(
                project.id,
                project.key,
                project.name,
                period,
                prompt[0],
                submission.overall,
                answered_by,
                submission.revision,
                stored.confidence,
            )
        )
    primary = portfolio.primary_channel(project)
    summary_channel = prompt[0] if prompt else (primary.channel_id if primary else None)
    if summary_channel is not None:
        owed.append(
            CheckinSummary(
                checkin_id=stored.id,
                project_key=project.key,
                period=period,
                channel_id=summary_channel,
                thread_ts=prompt[1] if prompt else None,
                overall=submission.overall,
                answered_by=answered_by,
                revision=submission.revision,
                changed=tuple(submission.changed),
                offers_help_action=bool(stored.help_needed) and project.sponsor is not None,
                forecasts_moved=tuple(moves),
            )
        )
    owed += [escalations.raise_alert(session, cause, project=project, now=now) for cause in submission.causes]
    amended = amended_settlement(submission.overall, stored.confidence)
    settlements = [(cause_key, amended) for cause_key in submission.cleared_cause_keys]
    if submission.answered_late:
        late = late_settlement(answered_by, submission.overall, stored.confidence)
        settlements.append((message_keys.checkin_missed_cause(project.key, period), late))
    for cause_key, how in settlements:
        owed += escalations.settle_alert(session, cause_key, how, now=now)
    sponsor = submission.sponsor_user_id
    turned_red = submission.tell_sponsor_turned_red
    if turned_red or submission.tell_sponsor_help:
        # One DM for one check-in, however many reasons the sponsor has to read it.
        owed.append(
            SponsorDm(
                idempotency_key=(message_keys.sponsor_red if turned_red else message_keys.sponsor_help)(
                    project.id, period
                ),
                sponsor_user_id=sponsor,
                project_id=project.id,
                project_key=project.key,
                project_name=project.name,
                period=period,
                turned_red=turned_red,
                progress=stored.progress,
                path_to_green=stored.path_to_green,
                help_needed=stored.help_needed,
                confidence=stored.confidence,
            )
        )
    # Their Home tabs show the project's status and its pending check-in.
    lead = project.lead.slack_user_id if project.lead else None
    owed.append(home_refresh(answered_by, sponsor, lead, portfolio.deputy_user_id(project)))
    return Answered(submission, tuple(owed))


def _store_benefit_values(
    session: Session, project: Project, checkin: Checkin, typed: dict[int, str], person_id: int, *, now: datetime
) -> None:
    benefits = {benefit.id: benefit for benefit in project.benefits}
    for benefit_id, text in typed.items():
        value = _number(text) if text.strip() else None
        if value is None or benefit_id not in benefits:
            continue
        # An amendment replaces the value an earlier revision gave for this period; values
        # reported on their own (`/pmo benefit report`) are separate evidence and stay.
        session.execute(
            delete(BenefitValue).where(
                BenefitValue.benefit_id == benefit_id,
                BenefitValue.period == checkin.period,
                BenefitValue.checkin_id.is_not(None),
            )
        )
        session.add(
            BenefitValue(
                benefit_id=benefit_id,
                value=value,
                measured_on=now.date(),
                period=checkin.period,
                checkin_id=checkin.id,
                reported_by_id=person_id,
                reported_at=now,
            )
        )
    session.flush()


_COMPARED = (
    ("Overall", "overall_rag"),
    ("Schedule", "schedule_rag"),
    ("Cost", "cost_rag"),
    ("Scope", "scope_rag"),
    ("Progress", "progress"),
    ("Next steps", "next_steps"),
    ("Risks and issues", "risks_issues"),
    ("Help needed", "help_needed"),
    ("Escalate to PMO", "escalate_to_pmo"),
    ("Path to green", "path_to_green"),
    ("Green again by", "path_to_green_date"),
)


def checkin_benefit_values(session: Session, checkin: Checkin) -> dict[int, Decimal]:
    """The benefit values given with one revision of a check-in, by benefit id."""
    rows = session.execute(
        select(BenefitValue.benefit_id, BenefitValue.value).where(BenefitValue.checkin_id == checkin.id)
    )
    return {benefit_id: value for benefit_id, value in rows}


def changed_fields(
    before: Checkin,
    values_before: dict[int, Decimal],
    after: Checkin,
    values_after: dict[int, Decimal],
    project: Project,
) -> list[str]:
    """What an amendment changed, field by field, in the form's own words."""
    found = [label for label, column in _COMPARED if getattr(before, column) != getattr(after, column)]
    found += [
        benefit.name for benefit in project.benefits if values_before.get(benefit.id) != values_after.get(benefit.id)
    ]
    return found


def _team_words(checkin: Checkin) -> list[tuple[str, str]]:
    parts = [
        ("Help needed", checkin.help_needed),
        ("Path to green", checkin.path_to_green),
        ("Risks and issues", checkin.risks_issues),
        ("Progress", checkin.progress),
    ]
    return [(label, text) for label, text in parts if text]


def benefits_behind(project: Project, *, on: date, tolerance: float) -> list[dict[str, str]]:
    """The project's benefits that are behind plan, as facts for the PMO's alerts."""
    behind = []
    for benefit in project.benefits:
        if not benefit.is_active:
            continue
        path = benefits.trajectory(benefit, on=on, tolerance=tolerance)
        if path is not None and path.is_off_track and path.latest is not None:
            behind.append(
                {
                    "name": benefit.name,
                    "latest": f"{path.latest.normalize():f}",
                    "unit": benefit.unit,
                    "expected": f"{path.expected.quantize(Decimal(1)):f}",
                }
            )
    return behind


def _escalation_causes(
    project: Project, period: str, checkin: Checkin, previous: Checkin | None, behind: list[dict[str, str]]
) -> tuple[list[Cause], list[str]]:
    key = message_keys.checkin_attention_cause(project.key, period)
    red = checkin.overall_rag is Rag.RED
    if not (red or checkin.escalate_to_pmo):
        return [], [key]
    dropped = red and previous is not None and RAG_ORDER[Rag.RED] - RAG_ORDER[previous.overall_rag] >= 2
    facts = {
        "period": period,
        "rag": checkin.overall_rag.value,
        # The levels given on a dca scale, as stored (None on the rag scale), so the alert names them.
        "level": checkin.confidence,
        "previous_level": previous.confidence if dropped and previous else None,
        "red": red,
        "dropped": dropped,
        "asked_pmo": checkin.escalate_to_pmo,
        "words": [list(pair) for pair in _team_words(checkin)],
        "benefits_behind": behind,
    }
    return [Cause(key, EscalationKind.CHECKIN_ATTENTION, facts, period)], []


# --- reminders and misses ----------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    period_id: int
    project_id: int
    project_key: str
    project_name: str
    period: str
    lead_user_ids: list[str]  # the lead and any deputies
    sponsor_user_id: str | None
    benefits_behind: list[dict[str, str]] = field(default_factory=list)


def _unanswered(  # type: ignore[no-untyped-def]
    session: Session, condition, *, before: datetime, now: datetime
) -> list[tuple[CheckinPeriod, Project]]:
    answered = select(Checkin.id).where(
        Checkin.project_id == CheckinPeriod.project_id, Checkin.period == CheckinPeriod.period
    )
    # Periods found answered once are recorded as such (a check-in is never taken back), so
    # the chase reads, by index, only the periods still open in its window.
    still_open = (
        condition,
        CheckinPeriod.answered_seen_at.is_(None),
        CheckinPeriod.prompted_at <= before,
        CheckinPeriod.prompted_at > before - CHASE_WINDOW,
        CheckinPeriod.excused_reason.is_(None),
    )
    # Anything due at all? One read of that index, before any join the planner could start
    # from the projects' side. A count, not LIMIT 1: PostgreSQL takes the chased periods' NULLs
    # for independent and, told one row will do, scans the table expecting to meet one soon.
    if not session.scalar(select(func.count()).select_from(CheckinPeriod).where(*still_open)):
        return []
    session.execute(
        update(CheckinPeriod).where(*still_open, answered.exists()).values(answered_seen_at=now),
        execution_options={"synchronize_session": False},
    )
    return list(
        session.execute(
            select(CheckinPeriod, Project)
            .join(Project, Project.id == CheckinPeriod.project_id)
            .where(
                *still_open,
                Project.status == ProjectStatus.ACTIVE,
                Project.id.not_in(incidents.paused_project_ids()),
                ~answered.exists(),
            )
            .order_by(CheckinPeriod.id)
        ).all()
    )


def _overdue(period: CheckinPeriod, project: Project, *, today: date) -> Overdue:
    # A lead who is away is not chased; their deputy, if there is one, is.
    lead_here = project.lead is not None and not nudges.is_away(project.lead, today)
    leads = [project.lead.slack_user_id] if project.lead and lead_here else []
    leads += [
        member.person.slack_user_id
        for member in project.members
        if member.role is ProjectRole.DEPUTY and member.person.slack_user_id not in leads
    ]
    return Overdue(
        period_id=period.id,
        project_id=project.id,
        project_key=project.key,
        project_name=project.name,
        period=period.period,
        lead_user_ids=leads,
        sponsor_user_id=project.sponsor.slack_user_id if project.sponsor else None,
    )


def _take(session: Session, period_id: int, column, now: datetime) -> bool:  # type: ignore[no-untyped-def]
    """Set a once-only timestamp; only the instance whose UPDATE changes the row acts on it."""
    result = session.execute(
        update(CheckinPeriod).where(CheckinPeriod.id == period_id, column.is_(None)).values({column.key: now})
    )
    return result.rowcount == 1


LEAD_AWAY = "lead_away"


def _nobody_to_chase(session: Session, rows: list[tuple[CheckinPeriod, Project]], *, today: date) -> set[int]:
    """Periods whose lead is away with no deputy: the week is excused, nobody is chased."""
    excused = set()
    for period, project in rows:
        if project.lead is not None and not _overdue(period, project, today=today).lead_user_ids:
            excuse_period(session, project.id, period.period, LEAD_AWAY)
            excused.add(period.id)
    return excused


def take_due_reminders(session: Session, *, now: datetime, after: timedelta) -> list[Overdue]:
    """Periods still unanswered `after` the prompt, marked reminded so no one reminds twice."""
    rows = _unanswered(session, CheckinPeriod.reminded_at.is_(None), before=now - after, now=now)
    excused = _nobody_to_chase(session, rows, today=now.date())
    return [
        _overdue(period, project, today=now.date())
        for period, project in rows
        if period.id not in excused and _take(session, period.id, CheckinPeriod.reminded_at, now)
    ]


def take_due_misses(session: Session, *, now: datetime, after: timedelta, tolerance: float) -> list[Overdue]:
    """Periods still unanswered `after` the prompt, recorded as missed (once)."""
    rows = _unanswered(session, CheckinPeriod.missed_at.is_(None), before=now - after, now=now)
    excused = _nobody_to_chase(session, rows, today=now.date())
    return [
        replace(
            _overdue(period, project, today=now.date()),
            benefits_behind=benefits_behind(project, on=now.date(), tolerance=tolerance),
        )
        for period, project in rows
        if period.id not in excused and _take(session, period.id, CheckinPeriod.missed_at, now)
    ]


def record_misses(session: Session, *, now: datetime, after: timedelta, tolerance: float) -> list[AlertChanged]:
    """Periods still unanswered `after` the prompt are recorded as missed, each with its PMO alert
    raised in the same transaction, so no crash can record a miss and lose its alert."""
    return [
        escalations.raise_alert(
            session, missed_cause(overdue), project=session.get(Project, overdue.project_id), now=now
        )
        for overdue in take_due_misses(session, now=now, after=after, tolerance=tolerance)
    ]


def missed_cause(overdue: Overdue) -> Cause:
    return Cause(
        message_keys.checkin_missed_cause(overdue.project_key, overdue.period),
        EscalationKind.CHECKIN_MISSED,
        {"period": overdue.period, "benefits_behind": overdue.benefits_behind},
        overdue.period,
    )


def amended_settlement(overall: Rag, level: str | None) -> dict[str, str | None]:
    """An amendment took away the reason for an alert: the alert says so rather than disappear.
    `level`: the level given on a dca scale, as stored."""
    return {"how": "amended", "rag": overall.value, "level": level}


def late_settlement(submitted_by: str, overall: Rag, level: str | None) -> dict[str, str | None]:
    """The check-in recorded as missed arrived after all."""
    return {"how": "late_checkin", "by": submitted_by, "rag": overall.value, "level": level}
