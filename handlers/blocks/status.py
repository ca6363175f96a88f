"""Block Kit for `/pmo status` (the table, a page at a time) and `/pmo status KEY`. Pure: data in, blocks out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from bot.services.confidence import Scale
from bot.services.health import StatusRow, TablePage, Trend
from bot.services.status import (
    ActionLine,
    IncidentLine,
    Narrative,
    PeriodStatus,
    ProjectOverview,
)
from handlers.blocks.benefits import benefits_blocks
from handlers.blocks.checkins import rag_label
from handlers.blocks.coaching import accountability_warning
from handlers.blocks.common import (
    Block,
    actions,
    bulleted,
    button,
    clip,
    context,
    divider,
    escaped,
    header,
    mrkdwn,
    section,
    slack_date,
    slack_time,
    user,
)
from handlers.blocks.confidence import colour_name, level_label, level_name
from handlers.blocks.cost import status_cost_blocks
from handlers.blocks.metadata import JsonState
from handlers.blocks.milestones import schedule_blocks
from handlers.blocks.risks import status_raid_blocks
from handlers.ids import ActionId
from storage.models import Rag

# 20 rows + header, legend, divider and buttons stay far under a message's 50 blocks.
PAGE_SIZE = 20
NO_STATUS = ":white_circle:"
MISSED = ":x:"
TREND_ARROWS = {Trend.BETTER: ":arrow_upper_right:", Trend.SAME: ":arrow_right:", Trend.WORSE: ":arrow_lower_right:"}
MAX_NAME_IN_ROW = 80
MAX_NARRATIVE_PART = 1500  # of the 2,000 a check-in answer may have: the overview stays readable
MAX_TITLE_IN_LIST = 150


@dataclass(frozen=True)
class StatusPage(JsonState):
    """Which page of the table a Next / Previous / Share button is about (0 is the first)."""

    RERUN: ClassVar[str] = "/pmo status"

    page: int


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def age(since: datetime, now: datetime) -> str:
    """How long ago, in the largest unit that stays short: "5h", "3d", "6w"."""
    hours = max(0, int((now - since).total_seconds() // 3600))
    if hours < 24:
        return f"{hours}h" if hours else "<1h"
    days = hours // 24
    return f"{days}d" if days < 14 else f"{days // 7}w"


def rag_marker(scale: Scale, rag: Rag | None, given_level: str | None) -> str:
    """A status as read: the level on the configured scale with the colour it maps to."""
    return level_label(scale, rag, given_level) if rag else f"{NO_STATUS} No status"


def status_marker(scale: Scale, rag: Rag | None, given_level: str | None, trend: Trend | None) -> str:
    return rag_marker(scale, rag, given_level) + (TREND_ARROWS[trend] if trend else "")


def row_text(row: StatusRow, now: datetime, *, scale: Scale) -> str:
    """One project in a table: status (on the configured scale) and trend, key and name, then the measures."""
    checked_in = f"checked in {age(row.last_checkin_at, now)} ago" if row.last_checkin_at else "no check-in yet"
    measures = [
        checked_in,
        plural(row.overdue_actions, "overdue action"),
        plural(row.benefits_off_trajectory, "benefit") + " off trajectory",
        plural(row.open_incidents, "open incident"),
    ]
    return (
        f"{status_marker(scale, row.rag, row.confidence, row.trend)} "
        f"*{row.key}* · {escaped(clip(row.name, MAX_NAME_IN_ROW))}\n" + " · ".join(measures)
    )


def _row_block(row: StatusRow, now: datetime, scale: Scale, *, with_details: bool) -> Block:
    block = section(row_text(row, now, scale=scale))
    if with_details:
        block["accessory"] = button("Details", ActionId.SHOW_PROJECT_STATUS, row.key)
    return block


def rag_counts(counts: Counter[Rag | None], scale: Scale) -> str:
    """Counts by the colour each level maps to, named in the scale's words ("2 Amber/Red or Red")."""
    parts = [f"{counts[rag]} {colour_name(scale, rag)}" for rag in (Rag.RED, Rag.AMBER, Rag.GREEN)]
    return ", ".join([*parts, f"{counts[None]} without a status"])


ORDER_NOTE = (
    "Worst first: Red, Amber, Green, then no status; within each, getting worse first, "
    "then most overdue actions, benefits off trajectory and incidents, then the oldest check-in. "
    ":arrow_upper_right: :arrow_right: :arrow_lower_right: compare with the previous period."
)


def status_table_text(title: str, table: TablePage, *, scale: Scale) -> str:
    return (
        f"{title}: {plural(table.total, 'project')} ({rag_counts(table.rag_counts, scale)}), "
        f"page {table.page + 1} of {table.pages}"
    )


def status_table_blocks(
    title: str,
    table: TablePage,
    *,
    scale: Scale,
    now: datetime,
    shareable: bool,
) -> list[Block]:
    """One page of the table. The private copy has Details, paging and Share; the shared copy none."""
    page, pages = table.page, table.pages
    counts = f"{plural(table.total, 'project')}: {rag_counts(table.rag_counts, scale)}"
    blocks: list[Block] = [
        header(title),
        context(f"{counts}. Page {page + 1} of {pages}. {ORDER_NOTE}"),
        *(_row_block(row, now, scale, with_details=shareable) for row in table.rows),
    ]
    if shareable:
        buttons = []
        if page > 0:
            buttons.append(button("Previous", ActionId.STATUS_PREVIOUS_PAGE, StatusPage(page - 1).to_json()))
        if page < pages - 1:
            buttons.append(button("Next", ActionId.STATUS_NEXT_PAGE, StatusPage(page + 1).to_json()))
        buttons.append(button("Share in channel", ActionId.SHARE_STATUS_TABLE, StatusPage(page).to_json()))
        blocks += [divider(), actions(*buttons)]
    return blocks


# --- one project ------------------------------------------------------------------------------


def _history_block(history: list[PeriodStatus], scale: Scale) -> Block:
    # One element per period keeps each label under its colour; 8 periods fit a context's 10 elements.
    cells = [
        mrkdwn(
            (rag_marker(scale, cell.rag, cell.confidence) if cell.rag or not cell.missed else f"{MISSED} Missed")
            + f" {cell.period[5:]}"
        )
        for cell in history
    ]
    return {"type": "context", "elements": cells}


def _narrative_blocks(narrative: Narrative, now: datetime, scale: Scale) -> list[Block]:
    aspects = " · ".join(
        f"{name} {rag_label(rag)}"
        for name, rag in (("Schedule", narrative.schedule), ("Cost", narrative.cost), ("Scope", narrative.scope))
        if rag
    )
    amended = ", amended" if narrative.revision > 1 else ""
    heading = (
        f"*Latest update*, {narrative.period}: {level_label(scale, narrative.overall, narrative.confidence)}"
        f" (from {user(narrative.submitted_by_user_id)}, {age(narrative.submitted_at, now)} ago{amended})"
        + (f"\n{aspects}" if aspects else "")
    )
    parts = [
        ("Progress", narrative.progress),
        ("Next steps", narrative.next_steps),
        ("Risks and issues", narrative.risks_issues),
        ("Help needed", narrative.help_needed),
    ]
    if narrative.path_to_green:
        by = f" (Green by {slack_date(narrative.path_to_green_date)})" if narrative.path_to_green_date else ""
        parts.append(("Path to green", narrative.path_to_green + by))
    return [section(heading)] + [
        section(f"*{label}*\n{escaped(clip(text, MAX_NARRATIVE_PART))}") for label, text in parts if text
    ]


def _action_text(line: ActionLine) -> str:
    overdue = " :warning: *overdue*" if line.is_overdue else ""
    title = escaped(clip(line.title, MAX_TITLE_IN_LIST))
    return f"{title} · {user(line.owner_user_id)} · due {slack_date(line.due_date)}{overdue}"


def _incident_text(line: IncidentLine) -> str:
    summary = escaped(clip(line.summary, MAX_TITLE_IN_LIST))
    return f"*{line.key}* {line.severity}: {summary} (since {slack_time(line.declared_at)})"


def project_status_text(overview: ProjectOverview, *, scale: Scale) -> str:
    latest = overview.narrative
    shown = level_name(scale, latest.overall, latest.confidence) if latest else "no status yet"
    return f"{overview.key} · {escaped(overview.name)}: {shown}"


def project_status_blocks(overview: ProjectOverview, *, scale: Scale, now: datetime, shareable: bool) -> list[Block]:
    """What `/pmo status KEY` shows; the share button only on the private copy."""
    people = f"Sponsor {user(overview.sponsor_user_id)} · Lead {user(overview.lead_user_id)}"
    state = "" if overview.state == "active" else f" · {overview.state.capitalize()}"
    blocks: list[Block] = [
        header(f"{overview.key} · {overview.name}"),
        context(people + state),
        *accountability_warning(overview.accountability),
        section(f"*Last {plural(len(overview.history), 'period')}* (:x: missed, {NO_STATUS} no update)"),
        _history_block(overview.history, scale),
    ]
    if overview.narrative:
        blocks += _narrative_blocks(overview.narrative, now, scale)
    else:
        blocks.append(section(f"*Latest update*: none yet. `/pmo checkin {overview.key}` opens the form."))

    blocks += benefits_blocks(overview.benefits)

    more_actions = overview.open_actions - len(overview.actions)
    action_lines = [_action_text(line) for line in overview.actions]
    if more_actions:
        action_lines.append(f"…and {more_actions} more")
    blocks.append(
        section(
            f"*Open actions* ({overview.open_actions}, {overview.overdue_actions} overdue)\n"
            + (bulleted(action_lines) if action_lines else "_none_")
        )
    )

    more_incidents = overview.open_incidents - len(overview.incidents)
    incident_lines = [_incident_text(line) for line in overview.incidents]
    if more_incidents:
        incident_lines.append(f"…and {more_incidents} more")
    blocks.append(section("*Incidents affecting it*\n" + (bulleted(incident_lines) if incident_lines else "_none_")))
    if overview.raid is not None:
        blocks += status_raid_blocks(overview.raid)
    blocks += schedule_blocks(overview.schedule)
    blocks += status_cost_blocks(overview.cost)

    if shareable:
        blocks += [divider(), actions(button("Share in channel", ActionId.SHARE_PROJECT_STATUS, overview.key))]
    return blocks
