"""Where the PMO's coaching would help most, and the coaching conversations it records.

The PMO coaches from the touchline: it looks for the conversation that moves the most,
rather than taking over a project. `where_to_coach` ranks at most one opportunity of each
kind, read from the governance rules (bot/services/governance.py), never re-derived:

- a sponsor whose projects hold the most overdue actions and unanswered help requests;
- the programme with the lowest fair check-in compliance (below 100%);
- a lead whose projects have been Amber longest (runs of STUCK_AMBER_PERIODS or more, summed);
- a team whose path-to-green date slipped most (the `stuck` rule's slips, in days moved);
- a project reporting Green while benefits are off trajectory (most such benefits).

Within a kind the candidate with the most of that kind's measure is chosen. Across kinds
they are ranked by leverage: how much one conversation would touch,
PROJECT_WEIGHT for each project it covers plus 1 for each overdue action or unanswered
help request on those projects (a conversation about a project's direction moves more
than one about a single action). Ties go in the order the kinds are listed above.

An unanswered help request is a project's latest check-in asking for help ("help
needed") with no action recorded on the project since it was submitted.

No Slack here: the data returned is rendered by handlers/blocks/coaching.py.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.services import actions, escalations, governance, overlaps, people
from bot.services.access import Actor
from bot.services.actions import NewAction
from bot.services.cadence import Cadence
from bot.services.governance import EVERY_PROJECT, NO_PROGRAMME, CheckinFact, ProjectInfo
from storage.models import (
    Action,
    ActionEvent,
    ActionStatus,
    Checkin,
    CoachingNote,
    Escalation,
    EscalationStatus,
    Lesson,
    Person,
    Project,
    ProjectStatus,
    Rag,
)

PROJECT_WEIGHT = 3
MAX_OPPORTUNITIES = 5
# The follow-up a planned conversation proposes, if the planner does not choose another day.
FOLLOW_UP_DAYS = 14
MAX_ABOUT_LENGTH = 3000
FOLLOW_UP_TITLE = "Follow up the coaching conversation"


class Topic(enum.StrEnum):
    """What a coaching conversation is about; the opportunities' kinds, in their tie-break order."""

    SPONSOR_BACKLOG = "sponsor_backlog"
    PROGRAMME_COMPLIANCE = "programme_compliance"
    LEAD_STUCK_AMBER = "lead_stuck_amber"
    PATH_TO_GREEN_SLIPPED = "path_to_green_slipped"
    GREEN_BENEFITS_OFF_TRACK = "green_benefits_off_track"
    ALERT = "alert"  # offered on a PMO alert


TIE_BREAK = list(Topic)


@dataclass(frozen=True)
class Opportunity:
    """One conversation worth having: with whom, about what, and the evidence, in plain words."""

    topic: Topic
    subject: str  # the sponsor's or lead's Slack user ID, the programme's name, or a project key
    with_user_id: str | None  # whom to talk to; None for a programme (no one person owns it)
    project_keys: tuple[str, ...]  # the projects the conversation covers, the first one the note is filed on
    actions_touched: int  # overdue actions and unanswered help requests on those projects
    evidence: tuple[str, ...]

    @property
    def leverage(self) -> int:
        return PROJECT_WEIGHT * len(self.project_keys) + self.actions_touched


@dataclass(frozen=True)
class _Facts:
    projects: Mapping[int, ProjectInfo]
    statuses: Mapping[int, Sequence[CheckinFact]]
    overdue: Mapping[int, list[governance.OverdueAction]]
    help_asked: Mapping[int, str]  # project id -> the period whose help request is unanswered
    off_track: Mapping[int, list[governance.OffTrackBenefit]]
    compliance: governance.ComplianceReport

    def touched(self, project_ids: Sequence[int]) -> int:
        return sum(len(self.overdue.get(pid, [])) + (pid in self.help_asked) for pid in project_ids)

    def keys(self, project_ids: Sequence[int]) -> tuple[str, ...]:
        return tuple(sorted(self.projects[pid].key for pid in project_ids))


def _unanswered_help(session: Session, latest: Mapping[int, CheckinFact]) -> dict[int, str]:
    """Projects whose latest check-in asks for help and got no action since, with that check-in's period."""
    asked = session.execute(
        select(Checkin.project_id, Checkin.period, Checkin.submitted_at).where(
            Checkin.id.in_([fact.checkin_id for fact in latest.values()]),
            func.trim(func.coalesce(Checkin.help_needed, "")) != "",
        )
    ).all()
    if not asked:
        return {}
    last_action = dict(
        session.execute(
            select(Action.project_id, func.max(Action.created_at))
            .where(Action.project_id.in_([row.project_id for row in asked]))
            .group_by(Action.project_id)
        ).all()
    )
    return {
        row.project_id: row.period
        for row in asked
        if last_action.get(row.project_id) is None or last_action[row.project_id] < row.submitted_at
    }


def _facts(session: Session, found: governance.GovernanceFindings) -> _Facts:
    latest = {pid: known[-1] for pid, known in found.statuses.items() if known}
    overdue: dict[int, list[governance.OverdueAction]] = defaultdict(list)
    for action in found.overdue:
        overdue[action.project_id].append(action)
    off_track: dict[int, list[governance.OffTrackBenefit]] = defaultdict(list)
    for benefit in found.off_track:
        off_track[benefit.project_id].append(benefit)
    return _Facts(
        projects=found.projects,
        statuses=found.statuses,
        overdue=overdue,
        help_asked=_unanswered_help(session, latest),
        off_track=off_track,
        compliance=found.compliance,
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _sponsor_backlog(facts: _Facts) -> Opportunity | None:
    by_sponsor: dict[str, list[int]] = defaultdict(list)
    for pid, project in facts.projects.items():
        if project.sponsor_user_id and (facts.overdue.get(pid) or pid in facts.help_asked):
            by_sponsor[project.sponsor_user_id].append(pid)
    if not by_sponsor:
        return None
    sponsor, pids = max(by_sponsor.items(), key=lambda item: (facts.touched(item[1]), len(item[1]), item[0]))
    evidence = []
    for pid in sorted(pids, key=lambda pid: facts.projects[pid].key):
        key = facts.projects[pid].key
        if facts.overdue.get(pid):
            worst = facts.overdue[pid][0]
            evidence.append(
                f"{key}: {_plural(len(facts.overdue[pid]), 'overdue action')}, "
                f"the oldest “{worst.title}” {worst.days_overdue} working days overdue."
            )
        if pid in facts.help_asked:
            evidence.append(f"{key}: asked for help in {facts.help_asked[pid]}, no action since.")
    return Opportunity(Topic.SPONSOR_BACKLOG, sponsor, sponsor, facts.keys(pids), facts.touched(pids), tuple(evidence))


def _programme_compliance(facts: _Facts) -> Opportunity | None:
    rates = [
        rate
        for rate in facts.compliance.by_programme
        if rate.name != NO_PROGRAMME and rate.rate is not None and rate.rate < 1
    ]
    if not rates:
        return None
    lowest = rates[0]  # ranked lowest first by the compliance rule
    by_key = {rate.name: rate for rate in facts.compliance.by_project}
    pids = [
        pid
        for pid, project in facts.projects.items()
        if project.programme == lowest.name
        and (rate := by_key.get(project.key)) is not None
        and rate.rate is not None
        and rate.rate < 1
    ]
    evidence = [
        f"{lowest.answered} of {lowest.owed} check-ins owed since "
        f"{facts.compliance.since.isoformat()} answered ({lowest.answered / lowest.owed:.0%})."
    ]
    evidence += [
        f"{by_key[key].name}: {by_key[key].answered} of {by_key[key].owed} answered." for key in facts.keys(pids)
    ]
    return Opportunity(
        Topic.PROGRAMME_COMPLIANCE, lowest.name, None, facts.keys(pids), facts.touched(pids), tuple(evidence)
    )


def _lead_stuck_amber(facts: _Facts) -> Opportunity | None:
    runs: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    for pid, project in facts.projects.items():
        run = governance.amber_run(facts.statuses.get(pid, []))
        if project.lead_user_id and run is not None and run[1] >= governance.STUCK_AMBER_PERIODS:
            runs[project.lead_user_id].append((pid, *run))
    if not runs:
        return None
    lead, stuck = max(runs.items(), key=lambda item: (sum(weeks for _, _, weeks in item[1]), len(item[1]), item[0]))
    pids = [pid for pid, _, _ in stuck]
    evidence = tuple(
        f"{facts.projects[pid].key}: Amber for {weeks} consecutive periods, since {since}."
        for pid, since, weeks in sorted(stuck, key=lambda run: facts.projects[run[0]].key)
    )
    return Opportunity(Topic.LEAD_STUCK_AMBER, lead, lead, facts.keys(pids), facts.touched(pids), evidence)


def _path_to_green_slipped(facts: _Facts) -> Opportunity | None:
    slipped: list[tuple[int, int, list[tuple[str, date]]]] = []
    for pid in facts.projects:
        window = governance.slips(facts.statuses.get(pid, []))
        if window is not None:
            slipped.append(((window[-1][1] - window[0][1]).days, pid, window))
    if not slipped:
        return None
    days, pid, window = max(slipped, key=lambda item: (item[0], facts.projects[item[1]].key))
    project = facts.projects[pid]
    moves = " → ".join(f"{day.isoformat()} ({period})" for period, day in window)
    evidence = (f"Path-to-green date moved {days} days later in successive check-ins: {moves}.",)
    return Opportunity(
        Topic.PATH_TO_GREEN_SLIPPED, project.key, project.lead_user_id, (project.key,), facts.touched([pid]), evidence
    )


def _green_benefits_off_track(facts: _Facts) -> Opportunity | None:
    candidates = [
        pid
        for pid in facts.projects
        if facts.off_track.get(pid) and (known := facts.statuses.get(pid)) and known[-1].overall is Rag.GREEN
    ]
    if not candidates:
        return None
    pid = max(candidates, key=lambda pid: (len(facts.off_track[pid]), facts.projects[pid].key))
    project = facts.projects[pid]
    evidence = (f"Reported Green in {facts.statuses[pid][-1].period}.",) + tuple(
        f"Benefit “{benefit.name}” is off trajectory: {benefit.latest.normalize():f} {benefit.unit}, "
        f"plan {benefit.expected.normalize():f} by now."
        for benefit in facts.off_track[pid]
    )
    return Opportunity(
        Topic.GREEN_BENEFITS_OFF_TRACK,
        project.key,
        project.lead_user_id,
        (project.key,),
        facts.touched([pid]),
        evidence,
    )


def rank(found: Sequence[Opportunity]) -> tuple[Opportunity, ...]:
    """Most leverage first; equal leverage in the order the kinds are listed."""
    return tuple(sorted(found, key=lambda o: (-o.leverage, TIE_BREAK.index(o.topic), o.subject))[:MAX_OPPORTUNITIES])


def where_to_coach(
    session: Session,
    *,
    now: datetime,
    today: date,
    tolerance: float,
    default_cadence: Cadence,
    answer_window: timedelta,
    scope: ColumnElement[bool] = EVERY_PROJECT,
) -> tuple[Opportunity, ...]:
    """At most MAX_OPPORTUNITIES conversations, one of each kind, ranked by leverage (see the module)."""
    found = governance.evaluate(
        session,
        now=now,
        today=today,
        tolerance=tolerance,
        default_cadence=default_cadence,
        answer_window=answer_window,
        scope=scope,
    )
    return opportunities(session, found)


def opportunities(session: Session, found: governance.GovernanceFindings) -> tuple[Opportunity, ...]:
    """`where_to_coach` for a caller that has evaluated the governance rules already (the digest)."""
    facts = _facts(session, found)
    finders = (
        _sponsor_backlog,
        _programme_compliance,
        _lead_stuck_amber,
        _path_to_green_slipped,
        _green_benefits_off_track,
    )
    return rank([opportunity for finder in finders if (opportunity := finder(facts)) is not None])


# --- coaching notes -----------------------------------------------------------------------


def require_pmo_admin(actor: Actor) -> None:
    if not actor.is_pmo_admin:
        raise NotAllowed("Only PMO admins plan coaching: `/pmo coach` shows where it would help most.")


@dataclass(frozen=True)
class PlannedConversation:
    topic: Topic
    project_key: str
    with_user_id: str | None
    about: str
    follow_up_on: date | None


@dataclass(frozen=True)
class PlannedNote:
    note_id: int
    project_key: str
    with_user_id: str | None
    follow_up_on: date
    follow_up_action_id: int


def plan_conversation(
    session: Session, actor: Actor, planned: PlannedConversation, *, today: date, now: datetime
) -> PlannedNote:
    """Record the conversation and chase its follow-up: an ordinary action owned by the planner,
    due on the follow-up date, so the actions' ladder reminds them with no second mechanism."""
    require_pmo_admin(actor)
    about = planned.about.strip()
    if not about:
        raise UserError("Say what the conversation is about.")
    if len(about) > MAX_ABOUT_LENGTH:
        raise UserError(f"Keep what it is about to {MAX_ABOUT_LENGTH} characters.")
    if planned.with_user_id is None:
        raise UserError("Choose whom the conversation is with.")
    follow_up_on = planned.follow_up_on or today + timedelta(days=FOLLOW_UP_DAYS)
    project = actions.find_project(session, planned.project_key)
    if project is None:
        raise NotFound(f"No project has the key {planned.project_key}.")
    follow_up = actions.create_action(
        session,
        actor,
        NewAction(project.key, actions.help_title(f"{FOLLOW_UP_TITLE}: {about}"), actor.slack_user_id, follow_up_on),
        today=today,
        now=now,
    )
    note = CoachingNote(
        topic=planned.topic.value,
        about=about,
        planned_by_id=people.get_or_create(session, actor.slack_user_id, now=now).id,
        with_person_id=people.get_or_create(session, planned.with_user_id, now=now).id,
        project_id=project.id,
        follow_up_on=follow_up_on,
        follow_up_action_id=follow_up.id,
        created_at=now,
    )
    session.add(note)
    session.flush()
    return PlannedNote(note.id, project.key, planned.with_user_id, follow_up_on, follow_up.id)


def offer_coaching(
    session: Session, escalation_id: int, slack_user_id: str, *, is_pmo_admin: bool, now: datetime
) -> Escalation:
    """A PMO admin offers coaching on an alert: the alert is picked up and one coaching note records
    the offer, with the project's lead (or, without one, its sponsor). Offering again adds no second note."""
    escalation = escalations.pick_up(
        session, escalation_id, slack_user_id, EscalationStatus.COACHING, is_pmo_admin=is_pmo_admin, now=now
    )
    already = session.scalar(select(CoachingNote.id).where(CoachingNote.escalation_id == escalation.id))
    if already is None:
        project = session.get(Project, escalation.project_id) if escalation.project_id else None
        accountable = (project.lead or project.sponsor) if project else None
        session.add(
            CoachingNote(
                topic=Topic.ALERT.value,
                about=f"Coaching offered on the PMO alert {escalation.cause_key}.",
                planned_by_id=escalation.picked_up_by_id,
                with_person_id=accountable.id if accountable else None,
                project_id=escalation.project_id,
                escalation_id=escalation.id,
                created_at=now,
            )
        )
    return escalation


# --- the monthly pack ---------------------------------------------------------------------

PACK_MONTHS = 3


@dataclass(frozen=True)
class CoachingMonth:
    """The PMO's own measure: conversations it held against the alerts the bot raised."""

    month: str  # "2026-12"
    conversations: int
    alerts_raised: int


def _month_start(day: date, back: int) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def coaching_months(session: Session, *, today: date, months: int = PACK_MONTHS) -> tuple[CoachingMonth, ...]:
    """The last `months` calendar months up to `today`'s, oldest first (counted by UTC date)."""
    found = []
    for back in range(months - 1, -1, -1):
        start, end = _month_start(today, back), _month_start(today, back - 1)

        def counted(column: ColumnElement[datetime], start: date = start, end: date = end) -> ColumnElement[bool]:
            return (column >= datetime.combine(start, datetime.min.time(), ZoneInfo("UTC"))) & (
                column < datetime.combine(end, datetime.min.time(), ZoneInfo("UTC"))
            )

        conversations = session.scalar(select(func.count(CoachingNote.id)).where(counted(CoachingNote.created_at)))
        alerts = session.scalar(select(func.count(Escalation.id)).where(counted(Escalation.created_at)))
        found.append(CoachingMonth(f"{start.year}-{start.month:02d}", conversations or 0, alerts or 0))
    return tuple(found)


# --- accountability stays with the owners -------------------------------------------------

OWNER_CHOICE_EVENT = "pmo_owner_choice"  # the action event recording the answer


class OwnerChoice(enum.StrEnum):
    LEAD = "lead"
    SPONSOR = "sponsor"
    KEEP = "keep"  # the PMO really owns this


@dataclass(frozen=True)
class OwnerQuestion:
    """Asked when a PMO admin is given an action on someone else's project, and its answer once given."""

    action_id: int
    project_key: str
    title: str
    owner_user_id: str  # the PMO admin it was assigned to
    lead_user_id: str | None
    sponsor_user_id: str | None
    ask_user_id: str  # whoever assigned it, if they may reassign it; else the PMO admin who owns it
    choice: OwnerChoice | None = None
    chosen_by_user_id: str | None = None


def _question(
    session: Session, action: Action, project: Project, owner_user_id: str, pmo_admin_ids: frozenset[str]
) -> OwnerQuestion:
    answer = next((event for event in action.events if event.kind == OWNER_CHOICE_EVENT), None)
    chosen_by = answer.detail.get("by") if answer else None
    creator = session.get(Person, action.creator_id).slack_user_id if action.creator_id else None
    may_answer = creator is not None and actions.can_change(Actor(creator, creator in pmo_admin_ids), action, project)
    return OwnerQuestion(
        action_id=action.id,
        project_key=project.key,
        title=action.title,
        owner_user_id=owner_user_id,
        lead_user_id=project.lead.slack_user_id if project.lead else None,
        sponsor_user_id=project.sponsor.slack_user_id if project.sponsor else None,
        ask_user_id=creator if may_answer and creator else owner_user_id,
        choice=OwnerChoice(answer.detail["choice"]) if answer else None,
        chosen_by_user_id=chosen_by,
    )


def owner_question(session: Session, action_id: int, *, pmo_admin_ids: frozenset[str]) -> OwnerQuestion | None:
    """The question to ask when an open action is owned by a PMO admin who is neither the
    project's lead nor its sponsor (someone else's project); None when there is nothing to ask."""
    action = session.get(Action, action_id)
    if action is None or action.status is not ActionStatus.OPEN:
        return None
    project = actions.project_of(session, action)
    owner = action.owner.slack_user_id
    accountable = {person.slack_user_id for person in (project.lead, project.sponsor) if person}
    if owner not in pmo_admin_ids or owner in accountable or not accountable:
        return None
    return _question(session, action, project, owner, pmo_admin_ids)


def choose_owner(
    session: Session,
    actor: Actor,
    action_id: int,
    choice: OwnerChoice,
    *,
    pmo_admin_ids: frozenset[str],
    now: datetime,
) -> OwnerQuestion:
    """Record the answer (once) and, for the lead or the sponsor, give them the action; those
    who may reassign it answer (its owner, the project's sponsor and lead, PMO admins)."""
    action = actions.get_action(session, action_id)
    project = actions.project_of(session, action)
    if not actions.can_change(actor, action, project):
        raise NotAllowed(
            f"Only the action's owner, {project.key}'s sponsor or lead, and PMO admins can decide who owns it."
        )
    question = owner_question(session, action_id, pmo_admin_ids=pmo_admin_ids)
    if question is None:
        raise Conflict("This action is no longer a PMO admin's on someone else's project; nothing to decide.")
    if question.choice is not None:
        raise Conflict(f"<@{question.chosen_by_user_id}> already answered this: {question.choice.value}.")
    if choice is not OwnerChoice.KEEP:
        target = question.lead_user_id if choice is OwnerChoice.LEAD else question.sponsor_user_id
        if target is None:
            raise UserError(f"{project.key} has no {choice.value}; choose another answer.")
        actions.reassign(session, actor, action_id, target, now=now)
    person = people.get_or_create(session, actor.slack_user_id, now=now)
    action.events.append(
        ActionEvent(
            kind=OWNER_CHOICE_EVENT,
            actor_id=person.id,
            detail={"choice": choice.value, "by": actor.slack_user_id},
            created_at=now,
        )
    )
    session.flush()
    return _question(session, action, project, question.owner_user_id, pmo_admin_ids)


@dataclass(frozen=True)
class PmoOwnedActions:
    """How much of a project's work sits with the PMO rather than its own people."""

    project_key: str
    project_name: str
    open_actions: int


def pmo_owned_actions(
    session: Session, *, pmo_admin_ids: frozenset[str], scope: ColumnElement[bool] = EVERY_PROJECT
) -> tuple[PmoOwnedActions, ...]:
    """Open actions owned by PMO admins, per active project, most first."""
    if not pmo_admin_ids:
        return ()
    count = func.count(Action.id)
    rows = session.execute(
        select(Project.key, Project.name, count)
        .join(Action, Action.project_id == Project.id)
        .join(Person, Person.id == Action.owner_id)
        .where(
            Project.status == ProjectStatus.ACTIVE,
            Action.status == ActionStatus.OPEN,
            Person.slack_user_id.in_(sorted(pmo_admin_ids)),
            scope,
        )
        .group_by(Project.key, Project.name)
        .order_by(count.desc(), Project.key)
    )
    return tuple(PmoOwnedActions(key, name, number) for key, name, number in rows)


# --- nobody accountable ---------------------------------------------------------------------


AccountableRole = Literal["sponsor", "lead"]


@dataclass(frozen=True)
class LeftHolder:
    """Someone who held an accountable role and has left the workspace."""

    role: AccountableRole
    user_id: str


@dataclass(frozen=True)
class AccountabilityGap:
    """Why nobody is accountable for a project: a role nobody holds, or its holder has left.

    "Left" is what the bot has learnt from Slack: the delivery core records a person as
    unreachable (`Person.unreachable_since`) when Slack answers a DM to them with
    `user_not_found` or `account_inactive` (a deactivated account).
    """

    project_key: str
    project_name: str
    missing: tuple[AccountableRole, ...]  # roles nobody holds
    left: tuple[LeftHolder, ...]

    def lacks(self, role: AccountableRole) -> bool:
        """Whether a message for this role would reach nobody."""
        return role in self.missing or any(holder.role == role for holder in self.left)


def accountability_gap(project: Project) -> AccountabilityGap | None:
    """None while the project has a sponsor and a lead who are both still in the workspace."""
    return _gap(project.key, project.name, _holder(project.sponsor), _holder(project.lead))


_Holder = tuple[str, bool] | None  # (Slack user ID, left the workspace), or None: nobody holds the role


def _holder(person: Person | None) -> _Holder:
    return (person.slack_user_id, person.unreachable_since is not None) if person else None


def _gap(key: str, name: str, sponsor: _Holder, lead: _Holder) -> AccountabilityGap | None:
    missing: list[AccountableRole] = []
    left: list[LeftHolder] = []
    roles: tuple[tuple[AccountableRole, _Holder], ...] = (("sponsor", sponsor), ("lead", lead))
    for role, holder in roles:
        if holder is None:
            missing.append(role)
        elif holder[1]:
            left.append(LeftHolder(role, holder[0]))
    if not missing and not left:
        return None
    return AccountabilityGap(key, name, tuple(missing), tuple(left))


def nobody_accountable(
    session: Session, *, scope: ColumnElement[bool] = EVERY_PROJECT
) -> tuple[AccountabilityGap, ...]:
    """Active projects with an accountability gap, in key order.

    Only the projects with a role unheld or held by someone who has left are read, in columns.
    """
    sponsor, lead = aliased(Person), aliased(Person)
    gone = or_(
        sponsor.id.is_(None),
        lead.id.is_(None),
        sponsor.unreachable_since.is_not(None),
        lead.unreachable_since.is_not(None),
    )
    rows = session.execute(
        select(
            Project.key,
            Project.name,
            sponsor.slack_user_id,
            sponsor.unreachable_since.is_not(None),
            lead.slack_user_id,
            lead.unreachable_since.is_not(None),
        )
        .outerjoin(sponsor, sponsor.id == Project.sponsor_id)
        .outerjoin(lead, lead.id == Project.lead_id)
        .where(Project.status == ProjectStatus.ACTIVE, scope, gone)
        .order_by(Project.key)
    )
    return tuple(
        gap
        for key, name, sponsor_id, sponsor_left, lead_id, lead_left in rows
        if (
            gap := _gap(
                key,
                name,
                (sponsor_id, sponsor_left) if sponsor_id else None,
                (lead_id, lead_left) if lead_id else None,
            )
        )
        is not None
    )


# --- lessons at the start -----------------------------------------------------------------

MAX_STARTING_LESSONS = 5
LESSONS_LINK_WEEKS = 4  # the check-in form links to them in the project's first four weeks


@dataclass(frozen=True)
class StartingLesson:
    kind: str  # "repeat" or "avoid"
    text: str
    from_project_key: str
    from_project_name: str
    recorded_at: datetime


@dataclass(frozen=True)
class StartingLessons:
    """What closed projects like a new one learnt, for its lead and sponsor."""

    project_id: int
    project_key: str
    project_name: str
    recipient_user_ids: tuple[str, ...]  # the lead and the sponsor, each once
    lessons: tuple[StartingLesson, ...]  # newest first, at most MAX_STARTING_LESSONS


def _profile_words(project: Project) -> frozenset[str]:
    objective = project.objective.name if project.objective else ""
    return overlaps.words(f"{project.name} {project.description or ''} {objective}")


def _service_ids(project: Project) -> frozenset[int]:
    return frozenset(link.service_id for link in project.service_links)


def starting_lessons(session: Session, project_key: str, *, threshold: float) -> StartingLessons | None:
    """Lessons of closed projects like this one: their name, description and objective words
    alike by the overlap similarity (Jaccard index at `threshold` or more, as OVERLAP_THRESHOLD),
    or a service in common. None when there are none, or nobody to tell."""
    project = session.scalar(select(Project).where(Project.key == project_key))
    if project is None:
        return None
    recipients = tuple(dict.fromkeys(p.slack_user_id for p in (project.lead, project.sponsor) if p is not None))
    closed = session.scalars(
        select(Project)
        .where(Project.status == ProjectStatus.CLOSED)
        .options(selectinload(Project.objective), selectinload(Project.service_links))
    ).all()
    mine, services = _profile_words(project), _service_ids(project)
    alike = {
        other.id: other
        for other in closed
        if overlaps.jaccard(mine, _profile_words(other)).score >= threshold or services & _service_ids(other)
    }
    if not recipients or not alike:
        return None
    rows = session.scalars(
        select(Lesson)
        .where(Lesson.project_id.in_(alike))
        .order_by(Lesson.recorded_at.desc(), Lesson.id.desc())
        .limit(MAX_STARTING_LESSONS)
    ).all()
    if not rows:
        return None
    lessons = tuple(
        StartingLesson(
            lesson.kind, lesson.text, alike[lesson.project_id].key, alike[lesson.project_id].name, lesson.recorded_at
        )
        for lesson in rows
    )
    return StartingLessons(project.id, project.key, project.name, recipients, lessons)


def links_to_lessons(project: Project, *, now: datetime) -> bool:
    """Whether the check-in form links to the lessons: in the project's first four weeks."""
    return now - project.created_at < timedelta(weeks=LESSONS_LINK_WEEKS)
