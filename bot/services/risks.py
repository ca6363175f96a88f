"""A project's RAID log: risks (scored, reviewed on a date) and issues (by severity).

Anyone may record a risk or an issue, as anyone may record an action, and anyone may add a
note to either. Each keeps its history as events (risk_events, issue_events): created, notes,
reviews, a severity an import changed, closing. Reviewing (confirming or changing its scores) and closing it are for the
people who may change an action: the risk's owner, the project's sponsor or lead, and PMO
admins (bot/services/access.py). A risk whose next review date has passed is chased on the
actions' ladder (bot/services/nudges.py); the builders get plain data (RiskLine, IssueLine).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, select, true
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from bot.errors import NotAllowed, NotFound, UserError
from bot.services import decisions, nudges, people, portfolio, status
from bot.services.access import Actor, can_change_owned
from bot.services.actions import quoted
from storage.models import (
    Issue,
    IssueEvent,
    IssueSeverity,
    Person,
    Project,
    ProjectStatus,
    RaidStatus,
    Risk,
    RiskEvent,
    RiskResponse,
)

SCORES = range(1, 6)  # probability and impact, each 1 (low) to 5 (high)
HIGH_SCORE = 15  # the check-in asks whether these are still accurate
ALERT_SCORE = 20  # a new risk scoring this or more alerts the PMO
SEVERITIES = (IssueSeverity.CRITICAL, IssueSeverity.HIGH, IssueSeverity.MEDIUM, IssueSeverity.LOW)  # worst first
HIGH_SEVERITIES = frozenset({IssueSeverity.HIGH, IssueSeverity.CRITICAL})
MAX_RAID_SHOWN = 5  # of each kind, in `/pmo status KEY`; the rest are counted
ISSUE_HISTORY_SHOWN = 3  # the latest notes and changes on an issue's card
MAX_TITLE_LENGTH = 500
MAX_TEXT_LENGTH = 3000

# Field names, shared with the forms so problems land on the right input.
TITLE = "title"
OWNER = "owner"
PROBABILITY = "probability"
IMPACT = "impact"
PROXIMITY = "proximity"
RESPONSE = "response"
MITIGATION = "mitigation"
NEXT_REVIEW = "next_review"
SEVERITY = "severity"
DUE = "due"
NOTE = "note"


# --- recording --------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRisk:
    project_key: str
    title: str
    owner_user_id: str
    probability: int
    impact: int
    response: str
    next_review: date
    proximity: date | None = None
    mitigation: str | None = None


@dataclass(frozen=True)
class NewIssue:
    project_key: str
    title: str
    owner_user_id: str
    severity: str
    due: date | None = None


def _title_problem(title: str) -> str | None:
    if not title.strip():
        return "Say what it is, in a line."
    if len(title.strip()) > MAX_TITLE_LENGTH:
        return f"The title is {len(title.strip())} characters long; keep it to {MAX_TITLE_LENGTH}."
    return None


def risk_problems(new: NewRisk, *, today: date) -> dict[str, str]:
    """What is wrong with a new risk, by field (its project is checked when it is stored)."""
    found = {TITLE: problem} if (problem := _title_problem(new.title)) else {}
    for field, score in ((PROBABILITY, new.probability), (IMPACT, new.impact)):
        if score not in SCORES:
            found[field] = "Give a score from 1 (low) to 5 (high)."
    if new.response not in {response.value for response in RiskResponse}:
        found[RESPONSE] = "Choose avoid, reduce, transfer or accept."
    if new.next_review <= today:
        found[NEXT_REVIEW] = f"{new.next_review.isoformat()} is not after today: choose when to look at it again."
    if new.mitigation and len(new.mitigation) > MAX_TEXT_LENGTH:
        found[MITIGATION] = f"The mitigation is {len(new.mitigation)} characters long; keep it to {MAX_TEXT_LENGTH}."
    return found


def issue_problems(new: NewIssue, *, today: date) -> dict[str, str]:
    found = {TITLE: problem} if (problem := _title_problem(new.title)) else {}
    if new.severity not in {severity.value for severity in IssueSeverity}:
        found[SEVERITY] = "Choose low, medium, high or critical."
    if new.due is not None and new.due < today:
        found[DUE] = f"{new.due.isoformat()} is in the past: choose today or a later day."
    return found


def check_project(session: Session, key: str) -> Project:
    """The open project a risk or an issue would belong to, checked before its form opens."""
    project = portfolio.get_project(session, key)
    if project.status is ProjectStatus.CLOSED:
        raise UserError(f"{project.key} is closed, so its RAID log takes nothing new. Give the key of an open project.")
    return project


def record_event(item: Risk | Issue, kind: str, actor: Person | None, now: datetime, **detail: object) -> None:
    """One entry in a risk's or an issue's history (`actor` None: the import)."""
    actor_id = actor.id if actor else None
    if isinstance(item, Risk):
        item.events.append(RiskEvent(kind=kind, actor_id=actor_id, detail=detail, created_at=now))
    else:
        item.events.append(IssueEvent(kind=kind, actor=actor, detail=detail, created_at=now))


def create_risk(
    session: Session, actor: Actor | None, new: NewRisk, *, today: date, now: datetime, validate: bool = True
) -> Risk:
    """Record a risk (`actor` None: the import); refused with the first problem when one is left."""
    if validate and (found := risk_problems(new, today=today)):
        raise UserError(" ".join(found.values()))
    project = check_project(session, new.project_key)
    creator = people.get_or_create(session, actor.slack_user_id, now=now) if actor else None
    risk = Risk(
        project_id=project.id,
        title=new.title.strip(),
        owner=people.get_or_create(session, new.owner_user_id, now=now),
        probability=new.probability,
        impact=new.impact,
        proximity=new.proximity,
        response=RiskResponse(new.response),
        mitigation=(new.mitigation or "").strip() or None,
        next_review=new.next_review,
        status=RaidStatus.OPEN,
        created_by_id=creator.id if creator else None,
        created_at=now,
    )
    session.add(risk)
    record_event(risk, "created", creator, now, score=risk.score)
    session.flush()
    return risk


def create_issue(
    session: Session, actor: Actor | None, new: NewIssue, *, today: date, now: datetime, validate: bool = True
) -> Issue:
    if validate and (found := issue_problems(new, today=today)):
        raise UserError(" ".join(found.values()))
    project = check_project(session, new.project_key)
    creator = people.get_or_create(session, actor.slack_user_id, now=now) if actor else None
    issue = Issue(
        project_id=project.id,
        title=new.title.strip(),
        owner=people.get_or_create(session, new.owner_user_id, now=now),
        severity=IssueSeverity(new.severity),
        due_date=new.due,
        status=RaidStatus.OPEN,
        created_by_id=creator.id if creator else None,
        created_at=now,
    )
    session.add(issue)
    record_event(issue, "created", creator, now, severity=issue.severity.value)
    session.flush()
    return issue


def alerts_pmo(item: Risk | Issue) -> bool:
    """A new risk scoring ALERT_SCORE or more, or a new critical issue, is the PMO's to see."""
    if isinstance(item, Risk):
        return item.score >= ALERT_SCORE
    return item.severity is IssueSeverity.CRITICAL


# --- changing ---------------------------------------------------------------------------


def get_risk(session: Session, risk_id: int) -> Risk:
    risk = session.get(Risk, risk_id)
    if risk is None:
        raise NotFound("That risk no longer exists.")
    return risk


def _changeable(session: Session, actor: Actor, risk_id: int, doing: str) -> Risk:
    risk = get_risk(session, risk_id)
    if risk.status is not RaidStatus.OPEN:
        raise UserError(f"{quoted(risk.title)} is closed, so there is nothing to {doing}.")
    if not can_change_owned(actor, risk.owner.slack_user_id, risk.project):
        raise NotAllowed(
            f"Only the risk's owner (<@{risk.owner.slack_user_id}>), {risk.project.key}'s sponsor or lead, "
            f"and PMO admins can {doing} it. Ask one of them, or add a note instead."
        )
    return risk


def check_can_review(session: Session, actor: Actor, risk_id: int) -> Risk:
    """Refused before the review form opens, so nobody fills in a form they cannot submit."""
    return _changeable(session, actor, risk_id, "review")


def review_problems(probability: int, impact: int, next_review: date | None, *, today: date) -> dict[str, str]:
    found = {
        field: "Give a score from 1 (low) to 5 (high)."
        for field, score in ((PROBABILITY, probability), (IMPACT, impact))
        if score not in SCORES
    }
    if next_review is None or next_review <= today:
        found[NEXT_REVIEW] = "Choose the next review date, after today."
    return found


def review(
    session: Session,
    actor: Actor,
    risk_id: int,
    *,
    probability: int,
    impact: int,
    next_review: date,
    today: date,
    now: datetime,
) -> Risk:
    """Confirm or change the scores and set the next review date: the ladder stops chasing it."""
    if found := review_problems(probability, impact, next_review, today=today):
        raise UserError(" ".join(found.values()))
    risk = _changeable(session, actor, risk_id, "review")
    before = {"probability": risk.probability, "impact": risk.impact, "next_review": risk.next_review.isoformat()}
    risk.probability, risk.impact, risk.next_review = probability, impact, next_review
    reviewer = people.get_or_create(session, actor.slack_user_id, now=now)
    record_event(risk, "reviewed", reviewer, now, before=before, probability=probability, impact=impact)
    session.flush()
    return risk


def close(session: Session, actor: Actor, risk_id: int, *, now: datetime) -> Risk:
    risk = _changeable(session, actor, risk_id, "close")
    risk.status, risk.closed_at = RaidStatus.CLOSED, now
    record_event(risk, "closed", people.get_or_create(session, actor.slack_user_id, now=now), now)
    session.flush()
    return risk


def get_issue(session: Session, issue_id: int) -> Issue:
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise NotFound("That issue no longer exists.")
    return issue


def close_issue(session: Session, actor: Actor, issue_id: int, *, now: datetime) -> Issue:
    """Close an issue: its owner, the project's sponsor or lead, and PMO admins, as for a risk."""
    issue = get_issue(session, issue_id)
    if issue.status is not RaidStatus.OPEN:
        raise UserError(f"{quoted(issue.title)} is already closed.")
    if not can_change_owned(actor, issue.owner.slack_user_id, issue.project):
        raise NotAllowed(
            f"Only the issue's owner (<@{issue.owner.slack_user_id}>), {issue.project.key}'s sponsor or lead, "
            "and PMO admins can close it. Ask one of them."
        )
    issue.status, issue.closed_at = RaidStatus.CLOSED, now
    record_event(issue, "closed", people.get_or_create(session, actor.slack_user_id, now=now), now)
    session.flush()
    return issue


def _noted(session: Session, actor: Actor, item: Risk | Issue, text: str, now: datetime) -> None:
    note = text.strip()
    if not note:
        raise UserError("Write the note, or cancel.")
    if len(note) > MAX_TEXT_LENGTH:
        raise UserError(f"The note is {len(note)} characters long; keep it to {MAX_TEXT_LENGTH}.")
    record_event(item, "note", people.get_or_create(session, actor.slack_user_id, now=now), now, text=note)
    session.flush()


def add_note(session: Session, actor: Actor, risk_id: int, text: str, *, now: datetime) -> Risk:
    """Anyone may add a note, as on an action."""
    risk = get_risk(session, risk_id)
    _noted(session, actor, risk, text, now)
    return risk


def add_issue_note(session: Session, actor: Actor, issue_id: int, text: str, *, now: datetime) -> Issue:
    """Anyone may add a note to an issue, as to a risk."""
    issue = get_issue(session, issue_id)
    _noted(session, actor, issue, text, now)
    return issue


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskLine:
    """A risk as a message shows it: plain data for the builders."""

    risk_id: int
    project_key: str
    project_name: str
    title: str
    owner_user_id: str
    probability: int
    impact: int
    proximity: date | None
    response: str
    mitigation: str | None
    next_review: date
    is_open: bool
    as_of: date
    review_overdue_days: int  # working days past the review date on `as_of`, as the ladder counts them
    notes: int

    @property
    def score(self) -> int:
        return self.probability * self.impact


@dataclass(frozen=True)
class RaidEntry:
    """One note or change in an item's history, as its card shows it."""

    at: datetime
    kind: str  # created, note, severity, closed, reopened
    actor_user_id: str | None  # None: the import
    detail: dict[str, object]


@dataclass(frozen=True)
class IssueLine:
    issue_id: int
    project_key: str
    project_name: str
    title: str
    owner_user_id: str
    severity: str
    due: date | None
    is_open: bool
    notes: int
    latest: tuple[RaidEntry, ...]  # the last ISSUE_HISTORY_SHOWN notes and changes, oldest first


@dataclass(frozen=True)
class RaidScope:
    """What a list covers: one project, or the projects someone sponsors or leads (PMO admins: all)."""

    title: str
    condition: ColumnElement[bool]
    project_key: str | None = None


def scope_for(session: Session, actor: Actor, key: str | None) -> RaidScope:
    if key is not None:
        project = portfolio.get_project(session, key)
        return RaidScope(f"{project.key} · {project.name}", Project.id == project.id, project.key)
    if actor.is_pmo_admin:
        return RaidScope("The portfolio", true())
    return RaidScope("Projects you sponsor or lead", status.sponsored_or_led_by(actor.slack_user_id))


_SEVERITY_RANK = case({severity.value: rank for rank, severity in enumerate(SEVERITIES)}, value=Issue.severity)


def open_risks(session: Session, condition: ColumnElement[bool]) -> list[Risk]:
    """Open risks of open projects in scope, highest score first, then the earliest review."""
    return list(
        session.scalars(
            select(Risk)
            .join(Project, Project.id == Risk.project_id)
            .where(condition, Risk.status == RaidStatus.OPEN, Project.status != ProjectStatus.CLOSED)
            # The project from the join and the owner joined to it: one read besides the events.
            .options(contains_eager(Risk.project), joinedload(Risk.owner), selectinload(Risk.events))
            .order_by(Risk.score.desc(), Risk.next_review, Risk.id)
        )
    )


def open_issues(session: Session, condition: ColumnElement[bool]) -> list[Issue]:
    """Open issues of open projects in scope, most severe first, then the earliest due."""
    return list(
        session.scalars(
            select(Issue)
            .join(Project, Project.id == Issue.project_id)
            .where(condition, Issue.status == RaidStatus.OPEN, Project.status != ProjectStatus.CLOSED)
            .options(
                contains_eager(Issue.project),
                joinedload(Issue.owner),
                selectinload(Issue.events).joinedload(IssueEvent.actor),
            )
            .order_by(_SEVERITY_RANK, Issue.due_date.is_(None), Issue.due_date, Issue.id)
        )
    )


def risks_by_id(session: Session, risk_ids: Iterable[int]) -> list[Risk]:
    """These risks (any status) in the order given; ids that no longer exist are left out."""
    wanted = list(risk_ids)
    found = {
        risk.id: risk
        for risk in session.scalars(
            select(Risk).where(Risk.id.in_(wanted)).options(selectinload(Risk.owner), selectinload(Risk.project))
        )
    }
    return [found[risk_id] for risk_id in wanted if risk_id in found]


def risk_lines(session: Session, rows: list[Risk], *, as_of: date, zone: ZoneInfo) -> list[RiskLine]:
    """The lines for these risks as of a day; a review's lateness is counted on the ladder's clock."""
    review_clocks = nudges.review_clocks(session, rows, until=as_of, zone=zone)
    return [
        RiskLine(
            risk_id=risk.id,
            project_key=risk.project.key,
            project_name=risk.project.name,
            title=risk.title,
            owner_user_id=risk.owner.slack_user_id,
            probability=risk.probability,
            impact=risk.impact,
            proximity=risk.proximity,
            response=risk.response.value,
            mitigation=risk.mitigation,
            next_review=risk.next_review,
            is_open=risk.status is RaidStatus.OPEN,
            as_of=as_of,
            review_overdue_days=review_clocks[risk.id].age(as_of) if risk.status is RaidStatus.OPEN else 0,
            notes=sum(event.kind == "note" for event in risk.events),
        )
        for risk in rows
    ]


def issue_lines(rows: list[Issue]) -> list[IssueLine]:
    return [
        IssueLine(
            issue_id=issue.id,
            project_key=issue.project.key,
            project_name=issue.project.name,
            title=issue.title,
            owner_user_id=issue.owner.slack_user_id,
            severity=issue.severity.value,
            due=issue.due_date,
            is_open=issue.status is RaidStatus.OPEN,
            notes=sum(event.kind == "note" for event in issue.events),
            latest=tuple(
                RaidEntry(
                    event.created_at, event.kind, event.actor.slack_user_id if event.actor else None, event.detail
                )
                for event in issue.events[-ISSUE_HISTORY_SHOWN:]
            ),
        )
        for issue in rows
    ]


def needing_confirmation(session: Session, project_id: int) -> tuple[list[Risk], list[Issue]]:
    """What the check-in asks "still accurate?" about: open risks scoring HIGH_SCORE+, open high/critical issues."""
    # Chosen in the query, so the others' events are never read.
    high_risks = and_(Project.id == project_id, Risk.score >= HIGH_SCORE)
    high_issues = and_(Project.id == project_id, Issue.severity.in_(HIGH_SEVERITIES))
    return open_risks(session, high_risks), open_issues(session, high_issues)


def lines_by_id(session: Session, risk_ids: Iterable[int], *, as_of: date, zone: ZoneInfo) -> list[RiskLine]:
    """Risks as the daily nudge and the changed-items DM show them."""
    return risk_lines(session, risks_by_id(session, risk_ids), as_of=as_of, zone=zone)


def confirmation_lines(
    session: Session, project_id: int, *, today: date, zone: ZoneInfo
) -> tuple[list[RiskLine], list[IssueLine]]:
    """What the check-in form asks "still accurate?" about: open risks scoring 15+, open high and critical issues."""
    high_risks, high_issues = needing_confirmation(session, project_id)
    return risk_lines(session, high_risks, as_of=today, zone=zone), issue_lines(high_issues)


@dataclass(frozen=True)
class ProjectRaid:
    """What `/pmo status KEY` shows of a project's RAID log: what its board should act on."""

    risks: list[RiskLine]  # open, scoring HIGH_SCORE or more, highest first: at most MAX_RAID_SHOWN
    high_risks: int
    issues: list[IssueLine]  # open high and critical, most severe first: at most MAX_RAID_SHOWN
    high_issues: int
    decisions: list[decisions.DecisionLine]  # asked for and still open, oldest first: at most MAX_RAID_SHOWN
    open_decisions: int
    as_of: date  # the day ages and lateness are counted to


def project_raid(session: Session, project_id: int, *, today: date, zone: ZoneInfo) -> ProjectRaid:
    high_risks, high_issues = needing_confirmation(session, project_id)
    asked = decisions.open_requests(session, Project.id == project_id)
    return ProjectRaid(
        risks=risk_lines(session, high_risks[:MAX_RAID_SHOWN], as_of=today, zone=zone),
        high_risks=len(high_risks),
        issues=issue_lines(high_issues[:MAX_RAID_SHOWN]),
        high_issues=len(high_issues),
        decisions=decisions.lines(session, asked[:MAX_RAID_SHOWN]),
        open_decisions=len(asked),
        as_of=today,
    )


# --- the weekly digest ------------------------------------------------------------------------

DIGEST_WEEK = timedelta(weeks=1)  # "new this week": recorded in the week before the digest


@dataclass(frozen=True)
class ProjectIssues:
    """A project's open critical and high issues, counted."""

    project_key: str
    project_name: str
    critical: int
    high: int


@dataclass(frozen=True)
class DigestRaid:
    """The digest's "Risks and issues": what the PMO should look at across the portfolio this week."""

    new_high_risks: list[RiskLine]  # open, scoring HIGH_SCORE+, recorded this week, highest first
    high_issues: list[ProjectIssues]  # projects with open critical or high issues, most critical first
    overdue_reviews: list[RiskLine]  # open risks whose review date has passed, most overdue first
    open_decisions: list[decisions.DecisionLine]  # asked for and not yet recorded, oldest first
    as_of: date  # the day ages and lateness are counted to


def digest_raid(
    session: Session, *, now: datetime, today: date, scope: ColumnElement[bool], zone: ZoneInfo
) -> DigestRaid:
    """`scope` narrows the projects, as the digest's does (a Slack Connect channel sees only its partner's)."""
    new_high = open_risks(session, and_(scope, Risk.created_at > now - DIGEST_WEEK, Risk.score >= HIGH_SCORE))
    late = risk_lines(session, open_risks(session, and_(scope, Risk.next_review < today)), as_of=today, zone=zone)
    tally: dict[str, list] = {}
    high_severities = [IssueSeverity.CRITICAL, IssueSeverity.HIGH]
    for issue in open_issues(session, and_(scope, Issue.severity.in_(high_severities))):
        counts = tally.setdefault(issue.project.key, [issue.project.name, 0, 0])
        counts[1 if issue.severity is IssueSeverity.CRITICAL else 2] += 1
    by_project = [ProjectIssues(key, name, critical, high) for key, (name, critical, high) in tally.items()]
    asked = decisions.open_requests(session, and_(scope, Project.status != ProjectStatus.CLOSED))
    return DigestRaid(
        new_high_risks=risk_lines(session, new_high, as_of=today, zone=zone),
        high_issues=sorted(by_project, key=lambda p: (-p.critical, -p.high, p.project_key)),
        overdue_reviews=sorted(late, key=lambda line: (line.next_review, -line.score, line.risk_id)),
        open_decisions=decisions.lines(session, asked),
        as_of=today,
    )
