"""`/pmo status`: the table of my projects (the whole portfolio for PMO admins), a page at a
time, and `/pmo status KEY`: one project's health. Replies are private, with a button to
share them in the channel.

In a Slack Connect channel both show only projects shared with every partner in it, as
`/pmo project` does; a shared copy is checked again against the channel it goes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.errors import NotFound
from bot.services import health, partners, portfolio, status
from bot.services.access import Actor
from bot.services.health import TablePage
from bot.services.partners import Audience
from bot.services.status import ProjectOverview
from handlers.blocks.common import Block
from handlers.blocks.status import (
    PAGE_SIZE,
    StatusPage,
    project_status_blocks,
    project_status_text,
    status_table_blocks,
    status_table_text,
)
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.ids import ActionId
from handlers.request import channel_audience
from storage.session import unit_of_work


@dataclass(frozen=True)
class StatusTable:
    title: str
    page: TablePage


def _table(ctx: AppContext, actor: Actor, audience: Audience, page: int, *, now: datetime) -> StatusTable:
    """A page of the viewer's table, or a NotFound that says what to type instead when it would be empty."""
    scope = status.table_scope(actor, audience)
    with unit_of_work(ctx.session_factory) as session:
        shown = health.table_page(
            session,
            scope,
            page=page,
            page_size=PAGE_SIZE,
            today=ctx.workspace_day(now),
            tolerance=ctx.settings.benefit_tolerance,
        )
    if shown.total:
        return StatusTable("Portfolio status" if actor.is_pmo_admin else "Projects you sponsor or lead", shown)
    if not audience.is_internal:
        raise NotFound(
            "This channel is shared with partner organisations, and none of the projects you can see here "
            "is shared with all of them. Run `/pmo status` in one of your own channels."
        )
    if actor.is_pmo_admin:
        raise NotFound("The portfolio has no open projects yet. Add one with `/pmo project add`.")
    raise NotFound(
        "You don't sponsor or lead any open project, so there is no table to show you. "
        "For any one project, type `/pmo status KEY`, e.g. `/pmo status CRM-2`. "
        "The bot's Home tab shows your actions and your check-ins."
    )


def _table_blocks(ctx: AppContext, table: StatusTable, *, now: datetime, shareable: bool) -> list[Block]:
    return status_table_blocks(
        table.title,
        table.page,
        scale=ctx.settings.confidence_scale,
        now=now,
        shareable=shareable,
    )


def _overview(ctx: AppContext, key: str, audience: Audience, *, now: datetime) -> ProjectOverview:
    with unit_of_work(ctx.session_factory) as session:
        project = partners.get_visible_project(session, key, audience, with_people=True)
        return status.project_overview(
            session,
            project,
            today=ctx.workspace_day(now),
            now=now,
            default_cadence=ctx.settings.default_cadence,
            tolerance=ctx.settings.benefit_tolerance,
            cost_tolerance=ctx.settings.cost_tolerance,
            audience=audience,
            zone=ZoneInfo(ctx.settings.default_timezone),
        )


def _linked_key(ctx: AppContext, request: CommandRequest) -> str | None:
    with unit_of_work(ctx.session_factory) as session:
        return portfolio.linked_project_key(session, request.team_id, request.channel_id)


def status_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) > 1:
        with unit_of_work(ctx.session_factory) as session:
            guess = portfolio.similar_project(session, "".join(request.args))
            hint = f" Did you mean `/pmo status {guess.key}`?" if guess else ""
        raise STATUS.usage_error("Give one project key, or none for the table of your projects." + hint)
    audience = channel_audience(client, request.channel_id, request.team_id)
    key = request.args[0] if request.args else _linked_key(ctx, request)
    if key:
        overview = _overview(ctx, key, audience, now=request.now)
        respond(
            text=project_status_text(overview, scale=ctx.settings.confidence_scale),
            blocks=project_status_blocks(
                overview, scale=ctx.settings.confidence_scale, now=request.now, shareable=True
            ),
        )
        return
    table = _table(ctx, request.actor, audience, 0, now=request.now)
    respond(
        text=status_table_text(table.title, table.page, scale=ctx.settings.confidence_scale),
        blocks=_table_blocks(ctx, table, now=request.now, shareable=True),
    )


def _clicked_in(body: dict) -> str:
    """The channel of the message whose button was clicked ("D": a DM, seen by its reader only)."""
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "D")


def register(app: App, ctx: AppContext) -> None:
    def audience_of(body: dict, client: WebClient) -> Audience:
        return channel_audience(client, _clicked_in(body), body["team"]["id"])

    def respond_with_table(
        actor: Actor, body: dict, action: dict, client: WebClient, respond: Respond, *, shared: bool, now: datetime
    ) -> None:
        """A page of the table: in place of the private copy, or posted for the channel.

        Re-read and re-checked each time: whoever can read the channel sees what is shared,
        not just the clicker.
        """
        page = StatusPage.from_json(action["value"]).page
        table = _table(ctx, actor, audience_of(body, client), page, now=now)
        respond(
            text=status_table_text(table.title, table.page, scale=ctx.settings.confidence_scale),
            blocks=_table_blocks(ctx, table, now=now, shareable=not shared),
            response_type="in_channel" if shared else "ephemeral",
            replace_original=not shared,
        )

    def turn_page(
        ack: Ack, actor: Actor, now: datetime, body: dict, action: dict, client: WebClient, respond: Respond
    ) -> None:
        ack()
        respond_with_table(actor, body, action, client, respond, shared=False, now=now)

    app.action(ActionId.STATUS_PREVIOUS_PAGE)(turn_page)
    app.action(ActionId.STATUS_NEXT_PAGE)(turn_page)

    @app.action(ActionId.SHARE_STATUS_TABLE)
    def share_table(
        ack: Ack, actor: Actor, now: datetime, body: dict, action: dict, client: WebClient, respond: Respond
    ) -> None:
        ack()
        respond_with_table(actor, body, action, client, respond, shared=True, now=now)

    def respond_with_overview(
        body: dict, action: dict, client: WebClient, respond: Respond, *, shared: bool, now: datetime
    ) -> None:
        overview = _overview(ctx, action["value"], audience_of(body, client), now=now)
        respond(
            text=project_status_text(overview, scale=ctx.settings.confidence_scale),
            blocks=project_status_blocks(overview, scale=ctx.settings.confidence_scale, now=now, shareable=not shared),
            response_type="in_channel" if shared else "ephemeral",
            replace_original=False,
        )

    @app.action(ActionId.SHOW_PROJECT_STATUS)
    def show_project(ack: Ack, now: datetime, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        respond_with_overview(body, action, client, respond, shared=False, now=now)

    @app.action(ActionId.SHARE_PROJECT_STATUS)
    def share_project(ack: Ack, now: datetime, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        respond_with_overview(body, action, client, respond, shared=True, now=now)


STATUS = Subcommand(
    name="status",
    handler=status_command,
    usages=(
        Usage(
            "/pmo status",
            "the projects you sponsor or lead (PMO: the whole portfolio), worst first, with trends; "
            "in a project's channel, that project",
            audience=HelpAudience.SPONSORS,
        ),
        Usage(
            "/pmo status KEY",
            "one project: its last 8 weeks, the team's latest words, benefits, actions, incidents, "
            "high risks and issues, decisions needed, milestones and dependencies",
            example="/pmo status CRM-2",
        ),
    ),
)

SUBCOMMANDS = (STATUS,)


def refresh_status_summary(ctx: AppContext, now: datetime) -> None:
    """The daily pass: rows that the date alone made stale (an action fell overdue) are
    recomputed by the first tick of the day, before anyone asks; a no-op otherwise."""
    today = ctx.workspace_day(now)
    with unit_of_work(ctx.session_factory) as session:
        health.refresh(session, today=today, tolerance=ctx.settings.benefit_tolerance)
