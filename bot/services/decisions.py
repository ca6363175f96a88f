"""Decisions asked for: what, by whom (the sponsor by default), by when, and what was decided.

A Red check-in's "help needed", a risk or an issue can be raised as a *decision needed*.
The decider records the outcome once; that writes a Decision, the log of decisions made
(which already holds the PMO's overlap verdicts), and the request points at it.
Anyone may ask, as anyone may record an action; only the decider and
PMO admins may record the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session, contains_eager, joinedload

from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.services import people, portfolio
from bot.services.access import Actor
from storage.models import Checkin, Decision, DecisionRequest, Issue, Person, Project, Rag, Risk

MAX_QUESTION_LENGTH = 3000
DECIDED_OUTCOME = "decided"  # Decision.outcome of a decision asked for; the words are its note


@dataclass(frozen=True)
class DecisionDraft:
    """What the "decision needed" form starts from."""

    project_key: str
    question: str
    decider_user_id: str | None


def draft(session: Session, subject_key: str) -> DecisionDraft:
    """The project, the question (the item's own words) and the default decider (its sponsor) of a subject."""
    kind, _, number = subject_key.partition(":")
    found: Checkin | Risk | Issue | None = None
    if number.isdigit():
        model = {"checkin": Checkin, "risk": Risk, "issue": Issue}.get(kind)
        found = session.get(model, int(number)) if model else None
    if found is None:
        raise NotFound("That is no longer there to ask a decision about.")
    project = session.get_one(Project, found.project_id)
    if isinstance(found, Checkin):
        if found.overall_rag is not Rag.RED or not found.help_needed:
            raise UserError("Only a Red check-in that asks for help can be raised as a decision needed.")
        question = found.help_needed.strip()
    else:
        question = found.title
    return DecisionDraft(project.key, question, project.sponsor.slack_user_id if project.sponsor else None)


def raise_request(
    session: Session,
    actor: Actor,
    subject_key: str,
    *,
    question: str,
    decider_user_id: str,
    due: date,
    today: date,
    now: datetime,
) -> DecisionRequest:
    if not question.strip():
        raise UserError("Say what needs deciding.")
    if len(question.strip()) > MAX_QUESTION_LENGTH:
        raise UserError(f"Keep what needs deciding to {MAX_QUESTION_LENGTH} characters.")
    if due < today:
        raise UserError(f"{due.isoformat()} is in the past: choose by when it must be decided.")
    project = portfolio.get_project(session, draft(session, subject_key).project_key)
    request = DecisionRequest(
        project_id=project.id,
        subject_key=subject_key,
        question=question.strip(),
        decider=people.get_or_create(session, decider_user_id, now=now),
        due_date=due,
        raised_by_id=people.get_or_create(session, actor.slack_user_id, now=now).id,
        raised_at=now,
    )
    session.add(request)
    session.flush()
    return request


def get_request(session: Session, request_id: int) -> DecisionRequest:
    request = session.get(DecisionRequest, request_id)
    if request is None:
        raise NotFound("That decision request no longer exists.")
    return request


def check_can_record(session: Session, actor: Actor, request_id: int) -> DecisionRequest:
    """Refused before the form opens: only the decider (or a PMO admin) records it, once."""
    request = get_request(session, request_id)
    if request.decision_id is not None:
        raise Conflict("This decision is already recorded.")
    if not (actor.is_pmo_admin or actor.slack_user_id == request.decider.slack_user_id):
        raise NotAllowed(f"Only <@{request.decider.slack_user_id}>, who was asked, and PMO admins can record it.")
    return request


def record(session: Session, actor: Actor, request_id: int, outcome: str, *, now: datetime) -> DecisionRequest:
    """The decider (or a PMO admin) records what was decided, once."""
    request = check_can_record(session, actor, request_id)
    words = outcome.strip()
    if not words:
        raise UserError("Say what was decided.")
    decision = Decision(
        subject_key=f"decision-request:{request.id}",
        project_id=request.project_id,
        outcome=DECIDED_OUTCOME,
        note=words[:MAX_QUESTION_LENGTH],
        decided_by_id=people.get_or_create(session, actor.slack_user_id, now=now).id,
        decided_at=now,
    )
    session.add(decision)
    session.flush()
    request.decision = decision
    session.flush()
    return request


@dataclass(frozen=True)
class DecisionLine:
    request_id: int
    project_key: str
    project_name: str
    question: str
    decider_user_id: str
    raised_by_user_id: str | None
    raised_on: date
    due: date
    outcome: str | None
    decided_by_user_id: str | None


def lines(session: Session, rows: list[DecisionRequest]) -> list[DecisionLine]:
    raised = {row.raised_by_id for row in rows}
    decided = {row.decision.decided_by_id for row in rows if row.decision}
    person_ids = (raised | decided) - {None}
    # No one to name (no rows, or only the import's): no read.
    found = (
        session.execute(select(Person.id, Person.slack_user_id).where(Person.id.in_(person_ids))) if person_ids else ()
    )
    user_ids = {person_id: user_id for person_id, user_id in found}
    return [
        DecisionLine(
            request_id=row.id,
            project_key=row.project.key,
            project_name=row.project.name,
            question=row.question,
            decider_user_id=row.decider.slack_user_id,
            raised_by_user_id=user_ids.get(row.raised_by_id),
            raised_on=row.raised_at.date(),
            due=row.due_date,
            outcome=row.decision.note if row.decision else None,
            decided_by_user_id=user_ids.get(row.decision.decided_by_id) if row.decision else None,
        )
        for row in rows
    ]


def open_requests(session: Session, condition: ColumnElement[bool]) -> list[DecisionRequest]:
    """Decisions asked for and not yet recorded, of the projects in scope, oldest first."""
    return list(
        session.scalars(
            select(DecisionRequest)
            .join(Project, Project.id == DecisionRequest.project_id)
            .where(condition, DecisionRequest.decision_id.is_(None))
            .options(contains_eager(DecisionRequest.project), joinedload(DecisionRequest.decider))
            .order_by(DecisionRequest.raised_at, DecisionRequest.id)
        )
    )


def open_lines(session: Session) -> list[DecisionLine]:
    """The decisions asked for and still open, across the portfolio (the monthly pack's section)."""
    return lines(session, open_requests(session, true()))


def waiting_for(session: Session, slack_user_id: str) -> list[DecisionLine]:
    """The decisions asked of this person and not yet recorded, oldest first (their Home tab)."""
    mine = DecisionRequest.decider_id.in_(select(Person.id).where(Person.slack_user_id == slack_user_id))
    return lines(session, open_requests(session, mine))
