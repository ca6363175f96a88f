"""Closing a project, with its outcome, where its benefits stand, and the lessons it leaves.

Closing records the outcome as a Decision (subject `closure:KEY`), stores each lesson as
its own row so lessons can be found across the portfolio, and stops the project's
prompts and reminders (they only go to active projects). Benefits stay tracked: they are
realised in the business after the project ends, and their owners keep reporting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.services import partners, people, portfolio
from bot.services.access import Actor, require_can_manage
from bot.services.partners import INTERNAL, Audience
from storage.models import Decision, Lesson, Project, ProjectStatus

# The outcomes offered, as stored in Decision.outcome, with how people read them.
OUTCOMES = {
    "delivered": "Delivered",
    "partly_delivered": "Partly delivered",
    "stopped": "Stopped early",
}
ARCHIVED = "archived"  # closed without the closure form: no outcome, benefits status or lessons
ARCHIVED_LABEL = "Archived without lessons"
REOPENED = "reopened"
REPEAT = "repeat"
AVOID = "avoid"
MAX_TEXT_LENGTH = 3000  # per box in the closure form
MAX_LESSON_RESULTS = 20

# Bullets people type or paste in front of each line of a list.
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)])\s+")


def closure_subject(project_key: str) -> str:
    return f"closure:{project_key}"


def reopening_subject(project_key: str) -> str:
    return f"reopening:{project_key}"


def lesson_lines(text: str | None) -> list[str]:
    """One lesson per non-empty line, without the bullet it was typed with."""
    lines = (_BULLET.sub("", line).strip() for line in (text or "").splitlines())
    return [line for line in lines if line]


def check_can_close(session: Session, actor: Actor, key: str) -> Project:
    """The project to close, or the reason this actor cannot close it."""
    project = portfolio.get_project(session, key)
    require_can_manage(actor, project, "close it")
    if project.status is ProjectStatus.CLOSED:
        when = f" on {project.closed_at.date().isoformat()}" if project.closed_at else ""
        raise UserError(f"{project.key} was already closed{when}.")
    return project


@dataclass(frozen=True)
class ClosureInput:
    outcome: str  # a key of OUTCOMES
    benefits_status: str
    summary: str | None = None
    repeat: str | None = None  # lessons, one per line
    avoid: str | None = None


@dataclass(frozen=True)
class Closure:
    """A closed project, as the closure note and the confirmation show it."""

    decision_id: int
    project_key: str
    project_name: str
    outcome: str  # as people read it
    summary: str | None
    benefits_status: str
    lessons_to_repeat: int
    lessons_to_avoid: int
    primary_channel_id: str | None


def closure_problems(closing: ClosureInput) -> dict[str, str]:
    """What to correct, by ClosureInput field; empty when the project can be closed."""
    found: dict[str, str] = {}
    if closing.outcome not in OUTCOMES:
        found["outcome"] = "Choose the outcome: " + ", ".join(OUTCOMES.values()) + "."
    if not closing.benefits_status.strip():
        found["benefits_status"] = "Say where the benefits stand and who keeps measuring them."
    for name in ("benefits_status", "summary", "repeat", "avoid"):
        text = getattr(closing, name) or ""
        if len(text) > MAX_TEXT_LENGTH:
            found[name] = f"Keep it to {MAX_TEXT_LENGTH} characters."
    return found


def close_project(session: Session, actor: Actor, key: str, closing: ClosureInput, *, now: datetime) -> Closure:
    project = check_can_close(session, actor, key)
    if closure_problems(closing):
        raise UserError("The closure form has problems; correct the highlighted fields.")
    person = people.get_or_create(session, actor.slack_user_id, now=now)
    summary = (closing.summary or "").strip() or None
    benefits_status = closing.benefits_status.strip()
    decision = Decision(
        subject_key=closure_subject(project.key),
        project_id=project.id,
        outcome=closing.outcome,
        note="\n".join(part for part in (summary, f"Benefits: {benefits_status}") if part),
        decided_by_id=person.id,
        decided_at=now,
    )
    lessons = {kind: lesson_lines(text) for kind, text in ((REPEAT, closing.repeat), (AVOID, closing.avoid))}
    session.add(decision)
    session.add_all(
        Lesson(project_id=project.id, kind=kind, text=text, recorded_by_id=person.id, recorded_at=now)
        for kind, texts in lessons.items()
        for text in texts
    )
    note_channel_id = _mark_closed(session, project, now=now)
    return Closure(
        decision_id=decision.id,
        project_key=project.key,
        project_name=project.name,
        outcome=OUTCOMES[closing.outcome],
        summary=summary,
        benefits_status=benefits_status,
        lessons_to_repeat=len(lessons[REPEAT]),
        lessons_to_avoid=len(lessons[AVOID]),
        primary_channel_id=note_channel_id,
    )


def _mark_closed(session: Session, project: Project, *, now: datetime) -> str | None:
    """Close the project; the channel its closure note goes to (none when it has no working one)."""
    project.status = ProjectStatus.CLOSED
    project.closed_at = now
    project.updated_at = now
    session.flush()
    primary = portfolio.primary_channel(project)
    return primary.channel_id if primary and primary.broken_at is None else None


def archive_project(session: Session, actor: Actor, key: str, *, now: datetime) -> Closure:
    """The light path: close a project that never got going, or is a duplicate, without the form."""
    project = check_can_close(session, actor, key)
    person = people.get_or_create(session, actor.slack_user_id, now=now)
    decision = Decision(
        subject_key=closure_subject(project.key),
        project_id=project.id,
        outcome=ARCHIVED,
        decided_by_id=person.id,
        decided_at=now,
    )
    session.add(decision)
    note_channel_id = _mark_closed(session, project, now=now)
    return Closure(
        decision_id=decision.id,
        project_key=project.key,
        project_name=project.name,
        outcome=ARCHIVED_LABEL,
        summary=None,
        benefits_status="",
        lessons_to_repeat=0,
        lessons_to_avoid=0,
        primary_channel_id=note_channel_id,
    )


def reopen_project(session: Session, actor: Actor, key: str, *, now: datetime) -> Project:
    """Undo a close: the project is active again and its prompts resume; its lessons and the closure stay on record."""
    project = portfolio.get_project(session, key)
    require_can_manage(actor, project, "reopen it")
    if project.status is not ProjectStatus.CLOSED:
        raise UserError(f"{project.key} is not closed (it is {project.status.value}), so there is nothing to reopen.")
    person = people.get_or_create(session, actor.slack_user_id, now=now)
    session.add(
        Decision(
            subject_key=reopening_subject(project.key),
            project_id=project.id,
            outcome=REOPENED,
            decided_by_id=person.id,
            decided_at=now,
        )
    )
    project.status = ProjectStatus.ACTIVE
    project.closed_at = None
    project.updated_at = now
    session.flush()
    return project


# --- finding lessons ----------------------------------------------------------------------


@dataclass(frozen=True)
class FoundLesson:
    project_key: str
    project_name: str
    kind: str  # "repeat" or "avoid"
    text: str


@dataclass(frozen=True)
class LessonSearch:
    words: list[str]
    total: int  # all the lessons that match, of which `lessons` are the newest
    lessons: list[FoundLesson]


def find_lessons(
    session: Session, words: list[str], *, audience: Audience = INTERNAL, limit: int = MAX_LESSON_RESULTS
) -> LessonSearch:
    """Lessons from across the portfolio in which every word appears (any case), newest first.

    A word may match the lesson itself or its project's key or name, so `CRM-2` finds all
    of CRM-2's lessons and `CRM-2 supplier` those of them about suppliers. A channel shared
    with partner organisations sees only the lessons of projects shared with them.
    """
    words = [word for word in (word.strip() for word in words) if word]
    if not words:
        raise UserError("Give at least one word to look for, e.g. `/pmo lessons supplier contract`.")
    matches_all = and_(
        partners.visible_condition(audience),
        *(
            or_(
                Lesson.text.icontains(word, autoescape=True),
                Project.key.icontains(word, autoescape=True),
                Project.name.icontains(word, autoescape=True),
            )
            for word in words
        ),
    )
    total = session.scalar(
        select(func.count(Lesson.id)).join(Project, Project.id == Lesson.project_id).where(matches_all)
    )
    rows = session.execute(
        select(Lesson, Project)
        .join(Project, Project.id == Lesson.project_id)
        .where(matches_all)
        .order_by(Lesson.recorded_at.desc(), Lesson.id.desc())
        .limit(limit)
    )
    return LessonSearch(
        words=words,
        total=total or 0,
        lessons=[FoundLesson(project.key, project.name, lesson.kind, lesson.text) for lesson, project in rows],
    )
