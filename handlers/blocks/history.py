"""`/pmo history KEY`: a project's audit trail as blocks, newest first, with Newer / Older buttons."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.services.history import PAGE_SIZE, Change, HistoryPage
from handlers.blocks.common import (
    SECTION_TEXT_LIMIT,
    Block,
    actions,
    button,
    clip,
    context,
    escaped,
    header,
    section,
    slack_date,
    slack_time,
)
from handlers.blocks.metadata import JsonState
from handlers.ids import ActionId

VALUE_LIMIT = 80  # characters of one old or new value; a narrative is not the point of a change list
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]+$")
# The trail stores dates and instants (with their offset) as ISO 8601; they are shown as Slack shows dates.
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")
_RECORDS = {
    "projects": "project",
    "project_members": "member",
    "project_shares": "share",
    "channel_links": "channel link",
    "project_services": "service link",
    "benefits": "benefit",
    "benefit_values": "benefit value",
    "checkins": "check-in",
    "actions": "action",
    "action_events": "action event",
    "incident_impacts": "incident impact",
    "escalations": "escalation",
    "decisions": "decision",
    "lessons": "lesson",
    "risks": "risk",
    "risk_events": "risk event",
    "issues": "issue",
    "issue_events": "issue event",
    "decision_requests": "decision asked for",
}


@dataclass(frozen=True)
class HistoryPageState(JsonState):
    """Which page of which project's history a Newer / Older button shows."""

    key: str
    page: int


def who_text(change: Change) -> str:
    if _SLACK_USER.match(change.actor):
        return f"<@{change.actor}>" + (f" ({escaped(change.actor_name)})" if change.actor_name else "")
    return change.actor


def _value(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, str) and _INSTANT.match(value):
        return slack_time(datetime.fromisoformat(value))
    if isinstance(value, str) and _DAY.match(value):
        return slack_date(date.fromisoformat(value))
    return escaped(clip(str(value), VALUE_LIMIT))


def change_text(change: Change) -> str:
    record = _RECORDS.get(change.record_type, change.record_type.replace("_", " "))
    number = f" {change.record_id}" if change.record_id is not None else ""
    fields = "; ".join(f"{name}: {_value(old)} → {_value(new)}" for name, (old, new) in change.fields.items())
    line = f"*{slack_time(change.at)}* · {who_text(change)} via {change.door} · {record}{number} {change.operation}" + (
        f"\n{fields}" if fields else ""
    )
    return clip(line, SECTION_TEXT_LIMIT)


def history_text(history: HistoryPage) -> str:
    if not history.total:
        return f"No recorded changes to {history.key} yet."
    first = history.page * PAGE_SIZE + 1
    last = first + len(history.changes) - 1
    return f"History of {history.key}: changes {first} to {last} of {history.total}, newest first."


def history_blocks(history: HistoryPage) -> list[Block]:
    blocks: list[Block] = [header(f"History · {history.key} · {history.name}"), context(escaped(history_text(history)))]
    blocks += [section(change_text(change)) for change in history.changes]
    buttons = []
    if history.has_newer:
        state = HistoryPageState(history.key, history.page - 1).to_json()
        buttons.append(button("Newer", ActionId.HISTORY_NEWER, state))
    if history.has_older:
        state = HistoryPageState(history.key, history.page + 1).to_json()
        buttons.append(button("Older", ActionId.HISTORY_OLDER, state))
    if buttons:
        blocks.append(actions(*buttons))
    return blocks
