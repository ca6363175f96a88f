"""Replies about check-in cadences and the workspace's skip dates."""

from __future__ import annotations

from datetime import date

from bot.services.project_cadence import ProjectCadence
from handlers.blocks.common import (
    SECTION_TEXT_LIMIT,
    Block,
    bulleted,
    context,
    escaped,
    plain_date,
    section,
    slack_time,
)

SKIP_LIST_HEADING = "*Skip dates* (no check-in prompts in this workspace on these days)"


def _next_prompt_line(view: ProjectCadence) -> str:
    return f"Next prompt: {slack_time(view.next_prompt_at)} ({view.next_period})."


def _default_note(view: ProjectCadence) -> str:
    parts = [part.value for part in view.default_parts]
    if not parts:
        return "set for this project"
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{listed} from the workspace default"


def cadence_text(view: ProjectCadence) -> str:
    return (
        f"*{view.key}* check-ins: {view.cadence.describe()} ({_default_note(view)}).\n"
        f"{_next_prompt_line(view)}\n"
        f"Change it with `/pmo cadence {view.key} DAY HH:MM [TIMEZONE]`, "
        f"or `/pmo cadence {view.key} default` to follow the workspace default."
    )


def cadence_changed_text(view: ProjectCadence) -> str:
    changed = f"*{view.key}* check-ins are now {view.cadence.describe()} ({_default_note(view)})."
    return f"{changed}\n{_next_prompt_line(view)}"


def skip_dates_message(
    days: list[tuple[date, str | None]], *, bank_holidays: frozenset[date] | set[date] = frozenset()
) -> tuple[str, list[Block]]:
    """The upcoming skip dates, earliest first, as (text, blocks); bank holidays say so."""
    if not days:
        text = "There are no upcoming skip dates. Add one with `/pmo skip YYYY-MM-DD [note]`."
        return text, [section(text)]
    lines = [
        f"{plain_date(day)} ({day.isoformat()})"
        + (f": {escaped(note)}" if note else "")
        + (" (bank holiday)" if day in bank_holidays else "")
        for day, note in days
    ]
    listing = bulleted(lines, limit=SECTION_TEXT_LIMIT - len(SKIP_LIST_HEADING) - 1)
    text = f"{SKIP_LIST_HEADING}\n{listing}"
    return text, [
        section(text),
        context("Add one with `/pmo skip YYYY-MM-DD [note]`; remove one with `/pmo skip remove YYYY-MM-DD`."),
    ]


def skip_added_text(day: date, note: str | None, *, already_listed: bool) -> str:
    if already_listed:
        return f"{plain_date(day)} is already a skip date. Nothing changed."
    about = f" ({note})" if note else ""
    return f"{plain_date(day)}{about} is now a skip date: no check-in prompts in this workspace that day."


def skip_removed_text(day: date, *, bank_holiday: str | None = None) -> str:
    if bank_holiday:
        return (
            f"{plain_date(day)} ({bank_holiday}) is no longer a skip date: it is a working day this year, "
            f"with check-in prompts and nudges as usual. `/pmo skip {day.isoformat()}` puts it back."
        )
    return f"{plain_date(day)} is no longer a skip date: check-in prompts go out that day as usual."
