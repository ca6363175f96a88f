"""`/pmo history KEY`: who changed what on a project, and when (the audit trail)."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.services import history
from bot.services.access import Actor
from handlers.blocks.history import HistoryPageState, history_blocks, history_text
from handlers.commands import CommandRequest, Subcommand, Usage
from handlers.ids import ActionId
from storage.session import unit_of_work


def _show(ctx: AppContext, actor: Actor, key: str, page: int, respond: Respond, *, replace: bool) -> None:
    with unit_of_work(ctx.session_factory) as session:
        shown = history.project_history(session, actor, key, page=page)
    respond(text=history_text(shown), blocks=history_blocks(shown), replace_original=replace)


def history_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) != 1:
        raise HISTORY.usage_error("Which project? Give its key.")
    _show(ctx, request.actor, request.args[0], 0, respond, replace=False)


def register(app: App, ctx: AppContext) -> None:
    def turn_page(ack: Ack, action: dict, respond: Respond, actor: Actor) -> None:
        ack()
        state = HistoryPageState.from_json(action["value"])
        _show(ctx, actor, state.key, state.page, respond, replace=True)

    app.action(ActionId.HISTORY_NEWER)(turn_page)
    app.action(ActionId.HISTORY_OLDER)(turn_page)


HISTORY = Subcommand(
    name="history",
    handler=history_command,
    usages=(Usage("/pmo history KEY", "who changed what on a project, and when, newest first (sponsor, lead, PMO)"),),
)

SUBCOMMANDS = (HISTORY,)
