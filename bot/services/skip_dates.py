"""The workspace's skip list: bank holidays and other days without check-in prompts.

The list is per Slack workspace (team), not per project, so anyone accountable for a
project may keep it, as well as PMO admins. Bank holidays are put on it by the calendar
(bot/services/calendar.py); taking one off keeps that day a working day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.errors import NotAllowed, NotFound, UserError
from bot.services.access import Actor
from storage.models import KeptWorkingDay, Person, Project, SkipDate

MAX_NOTE_LENGTH = 200  # the column's size
# date.fromisoformat alone would also take "20261225", which nobody means in a chat.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str) -> date:
    candidate = text.strip()
    if _ISO_DATE.match(candidate):
        try:
            return date.fromisoformat(candidate)
        except ValueError:  # the right shape but no such day, e.g. 2026-02-30
            pass
    raise UserError(f"'{text}' is not a date: use YYYY-MM-DD (e.g. 2026-12-25)")


def upcoming_skip_dates(session: Session, team_id: str, today: date) -> list[SkipDate]:
    """Today's and later skip dates, earliest first."""
    return list(
        session.scalars(
            select(SkipDate).where(SkipDate.team_id == team_id, SkipDate.day >= today).order_by(SkipDate.day)
        )
    )


def _is_sponsor_or_lead_of_any_project(session: Session, slack_user_id: str) -> bool:
    accountable = (
        select(Project.id)
        .join(Person, or_(Project.sponsor_id == Person.id, Project.lead_id == Person.id))
        .where(Person.slack_user_id == slack_user_id)
    )
    return bool(session.scalar(select(accountable.exists())))


def require_can_edit_skip_dates(session: Session, actor: Actor) -> None:
    if actor.is_pmo_admin or _is_sponsor_or_lead_of_any_project(session, actor.slack_user_id):
        return
    raise NotAllowed(
        "Only PMO admins and projects' sponsors and leads can change the skip dates. "
        "Ask one of them, or the PMO, to do it."
    )


def _find(session: Session, team_id: str, day: date) -> SkipDate | None:
    return session.scalar(select(SkipDate).where(SkipDate.team_id == team_id, SkipDate.day == day))


@dataclass(frozen=True)
class SkipDateAdded:
    skip_date: SkipDate
    already_listed: bool


def add_skip_date(
    session: Session, actor: Actor, team_id: str, day: date, note: str | None, today: date
) -> SkipDateAdded:
    """Add a day to the workspace's skip list; a day already on it is left as it is."""
    require_can_edit_skip_dates(session, actor)
    if day < today:
        raise UserError(f"{day.isoformat()} is in the past: skip dates are for days still to come.")
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        raise UserError(f"The note is {len(note)} characters long; keep it to {MAX_NOTE_LENGTH}.")
    existing = _find(session, team_id, day)
    if existing is not None:
        return SkipDateAdded(existing, already_listed=True)
    kept = _kept(session, team_id, day)
    if kept is not None:  # a bank holiday someone had kept as a working day goes back on the list
        session.delete(kept)
    skip_date = SkipDate(team_id=team_id, day=day, note=note or None)
    session.add(skip_date)
    session.flush()
    return SkipDateAdded(skip_date, already_listed=False)


def _kept(session: Session, team_id: str, day: date) -> KeptWorkingDay | None:
    return session.scalar(select(KeptWorkingDay).where(KeptWorkingDay.team_id == team_id, KeptWorkingDay.day == day))


def remove_skip_date(session: Session, actor: Actor, team_id: str, day: date, *, now: datetime) -> SkipDate:
    """Take a day off the skip list, so prompts that day go out again; returns what was removed.

    The day is remembered as a working day, so the bank-holiday calendar does not put it
    back, whether it came from there or someone typed it first.
    """
    require_can_edit_skip_dates(session, actor)
    skip_date = _find(session, team_id, day)
    if skip_date is None:
        raise NotFound(f"{day.isoformat()} is not on the skip list, so nothing changed. `/pmo skip` lists it.")
    if _kept(session, team_id, day) is None:
        session.add(KeptWorkingDay(team_id=team_id, day=day, kept_by=actor.slack_user_id, kept_at=now))
    session.delete(skip_date)
    session.flush()
    return skip_date
