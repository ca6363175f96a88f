"""Block Kit for the App Home tab: my projects, the check-ins waiting for me, my actions. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.services.confidence import Scale
from bot.services.health import TablePage
from bot.services.status import MyAction, PendingCheckin, PersonalView, PortfolioSummary
from handlers.blocks.checkins import FormTarget
from handlers.blocks.common import (
    Block,
    bulleted,
    button,
    clip,
    context,
    divider,
    escaped,
    header,
    section,
    slack_date,
    slack_time,
)
from handlers.blocks.risks import home_decisions_blocks
from handlers.blocks.status import plural, rag_counts, row_text
from handlers.ids import ActionId

# With 3 headers, 2 dividers, the footer and a line for each overflow, the tab stays
# under Slack's 100 blocks for any number of projects, check-ins and actions.
# (The projects shown are capped where they are read: bot/services/status.MAX_OWN_PROJECTS, WORST_SHOWN.)
MAX_HOME_PENDING = 20
MAX_TITLE_IN_LIST = 150


def _pending_block(pending: PendingCheckin) -> Block:
    block = section(
        f":hourglass: *{pending.project_key}* · {escaped(clip(pending.project_name, 80))}: "
        f"no check-in for {pending.period} yet"
    )
    target = FormTarget(pending.project_key, pending.period).to_json()
    block["accessory"] = button("Submit update", ActionId.SUBMIT_CHECKIN, target, style="primary")
    return block


def _action_text(action: MyAction) -> str:
    overdue = " :warning: *overdue*" if action.is_overdue else ""
    title = escaped(clip(action.title, MAX_TITLE_IN_LIST))
    return f"*{action.project_key}* {title} · due {slack_date(action.due_date)}{overdue}"


def _portfolio_blocks(summary: PortfolioSummary, now: datetime, scale: Scale) -> list[Block]:
    worst = summary.projects
    alerts = plural(summary.open_alerts, "PMO alert") + " not yet picked up"
    blocks: list[Block] = [
        header("Portfolio"),
        section(f"{plural(worst.total, 'open project')}: {rag_counts(worst.rag_counts, scale)}. {alerts}."),
    ]
    if worst.rows:
        blocks.append(section("*Worst first*"))
        blocks += [section(row_text(row, now, scale=scale)) for row in worst.rows]
        blocks.append(context("`/pmo status` lists the whole portfolio; `/pmo digest` has this week's digest."))
    return [*blocks, divider()]


def _own_projects_blocks(projects: TablePage, now: datetime, scale: Scale) -> list[Block]:
    blocks: list[Block] = [header("Your projects")]
    if projects.rows:
        blocks += [section(row_text(row, now, scale=scale)) for row in projects.rows]
        if projects.total > len(projects.rows):
            more = projects.total - len(projects.rows)
            blocks.append(context(f"…and {more} more, healthier ones. `/pmo status KEY` shows any one of them."))
    else:
        blocks.append(section("_You don't sponsor or lead any project. `/pmo status KEY` shows any project._"))
    return [*blocks, divider()]


def home_view(view: PersonalView, *, scale: Scale, now: datetime) -> dict[str, Any]:
    """The tab; each project's status is named on the configured confidence scale."""
    blocks: list[Block] = []
    if view.portfolio is not None:
        blocks += _portfolio_blocks(view.portfolio, now, scale)
    # A PMO admin who sponsors and leads nothing has the portfolio instead of an empty list.
    if view.projects.total or view.portfolio is None:
        blocks += _own_projects_blocks(view.projects, now, scale)

    blocks += home_decisions_blocks(view.decisions_asked, today=view.today)
    blocks.append(header("Check-ins waiting for you"))
    if view.pending_checkins:
        blocks += [_pending_block(pending) for pending in view.pending_checkins[:MAX_HOME_PENDING]]
        if len(view.pending_checkins) > MAX_HOME_PENDING:
            more = len(view.pending_checkins) - MAX_HOME_PENDING
            blocks.append(context(f"…and {more} more: `/pmo checkin KEY` opens any project's form."))
    else:
        blocks.append(section("_None: every project you lead has its update in._"))

    blocks += [divider(), header("Your actions")]
    lines = [_action_text(action) for action in view.actions]
    if view.open_actions > len(lines):
        lines.append(f"…and {view.open_actions - len(lines)} more")
    overdue = f", {view.overdue_actions} overdue" if view.overdue_actions else ""
    summary = plural(view.open_actions, "open action") + overdue
    blocks.append(section(f"{summary}\n{bulleted(lines)}" if lines else "_No open actions._"))

    blocks.append(context(f"Updated {slack_time(now)}. `/pmo status` lists the projects you sponsor, worst first."))
    return {"type": "home", "blocks": blocks}
