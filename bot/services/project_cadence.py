"""A project's own check-in cadence: who may set it, and what `/pmo cadence KEY` shows.

Kept apart from `cadence` (the pure calendar maths) because it reads projects through
`portfolio`, which itself uses `cadence`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.access import Actor, require_can_manage
from bot.services.cadence import Cadence
from bot.services.portfolio import effective_cadence, get_project
from storage.models import Project


class CadencePart(enum.StrEnum):
    DAY = "day"
    TIME = "time"
    TIMEZONE = "timezone"


@dataclass(frozen=True)
class ProjectCadence:
    """A project's cadence as users see it: plain data, ready for a message builder."""

    key: str
    cadence: Cadence
    # The parts the project leaves to the workspace default, so a change of default reaches it.
    default_parts: tuple[CadencePart, ...]
    next_period: str
    next_prompt_at: datetime  # local time in the cadence's timezone


def project_cadence(project: Project, *, default: Cadence, now: datetime) -> ProjectCadence:
    cadence = effective_cadence(project, default)
    stored = {
        CadencePart.DAY: project.checkin_day,
        CadencePart.TIME: project.checkin_time,
        CadencePart.TIMEZONE: project.timezone,
    }
    period, _day, instant = cadence.next_due(now)
    return ProjectCadence(
        key=project.key,
        cadence=cadence,
        default_parts=tuple(part for part, value in stored.items() if value is None),
        next_period=period,
        next_prompt_at=instant.astimezone(cadence.zone),
    )


def set_cadence(
    session: Session,
    actor: Actor,
    key: str,
    *,
    weekday: int,
    time_of_day: str,
    timezone: str | None,
    now: datetime,
) -> Project:
    """Give the project its own day and time; `timezone=None` keeps the one it has (or the default).

    The values come already parsed (`parse_weekday`, `parse_time_of_day`, `parse_timezone`).
    """
    project = get_project(session, key)
    require_can_manage(actor, project, "change its check-in cadence")
    project.checkin_day = weekday
    project.checkin_time = time_of_day
    if timezone is not None:
        project.timezone = timezone
    project.updated_at = now
    session.flush()
    return project


def reset_cadence(session: Session, actor: Actor, key: str, *, now: datetime) -> Project:
    """Hand day, time and timezone back to the workspace default."""
    project = get_project(session, key)
    require_can_manage(actor, project, "change its check-in cadence")
    project.checkin_day = None
    project.checkin_time = None
    project.timezone = None
    project.updated_at = now
    session.flush()
    return project
