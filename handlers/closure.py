"""`/pmo close KEY` (the closure form and the note it leaves in the project's channel) and
`/pmo lessons WORDS`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.services import closure, message_keys, portfolio
from bot.services.access import Actor
from bot.services.closure import Closure, ClosureInput
from handlers.blocks import closure as blocks
from handlers.blocks.closure import ClosureTarget
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.delivery import chat_message, send_once
from handlers.ids import CallbackId, ClosureBlock
from handlers.request import channel_audience
from storage.session import unit_of_work

ARCHIVE_WORD = "archive"

# The domain names fields after ClosureInput's attributes; the form names its blocks.
CLOSURE_BLOCKS = {
    "outcome": ClosureBlock.OUTCOME,
    "summary": ClosureBlock.SUMMARY,
    "benefits_status": ClosureBlock.BENEFITS,
    "repeat": ClosureBlock.REPEAT,
    "avoid": ClosureBlock.AVOID,
}


def close_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) == 2 and request.args[1].lower() == ARCHIVE_WORD:
        with unit_of_work(ctx.session_factory) as session:
            done = closure.archive_project(session, request.actor, request.args[0], now=request.now)
        respond(text=blocks.archived_text(done))
        _post_closure_note(ctx, done, request.user_id, request.now)
        return
    if len(request.args) != 1:
        raise CLOSE.usage_error("Which project? Give its key (and `archive` to close it without the form).")
    with unit_of_work(ctx.session_factory) as session:
        # Refused before the form opens, so nobody fills in a form they cannot submit.
        project = closure.check_can_close(session, request.actor, request.args[0])
        today = ctx.workspace_day(request.now)
        lines = [
            portfolio.benefit_line(benefit, today=today, tolerance=ctx.settings.benefit_tolerance)
            for benefit in project.benefits
            if benefit.is_active
        ]
        view = blocks.closure_modal(project.key, project.name, lines)
    client.views_open(trigger_id=request.trigger_id, view=view)


def reopen_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) != 1:
        raise REOPEN.usage_error("Which project? Give its key.")
    with unit_of_work(ctx.session_factory) as session:
        project = closure.reopen_project(session, request.actor, request.args[0], now=request.now)
        text = blocks.reopened_text(project.key, project.name)
    respond(text=text)


def lessons_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if not request.args:
        raise LESSONS.usage_error("What should the lessons be about? Give one or more words.")
    audience = channel_audience(client, request.channel_id, request.team_id)
    with unit_of_work(ctx.session_factory) as session:
        search = closure.find_lessons(session, request.args, audience=audience)
    respond(text=blocks.lessons_text(search), blocks=blocks.lessons_blocks(search))


def _typed(values: dict[str, Any], block_id: str) -> str | None:
    value = values.get(block_id, {}).get(block_id, {}).get("value")
    return value if isinstance(value, str) and value.strip() else None


def _parse_form(values: dict[str, Any]) -> ClosureInput:
    selected = values.get(ClosureBlock.OUTCOME, {}).get(ClosureBlock.OUTCOME, {}).get("selected_option") or {}
    return ClosureInput(
        outcome=selected.get("value") or "",
        benefits_status=_typed(values, ClosureBlock.BENEFITS) or "",
        summary=_typed(values, ClosureBlock.SUMMARY),
        repeat=_typed(values, ClosureBlock.REPEAT),
        avoid=_typed(values, ClosureBlock.AVOID),
    )


def _post_closure_note(ctx: AppContext, done: Closure, closed_by: str, now: datetime) -> None:
    channel_id = done.primary_channel_id
    if channel_id is None:
        return
    note = chat_message(
        message_keys.closure_note(done.decision_id),
        channel_id,
        blocks.closure_note_text(done),
        blocks.closure_note_blocks(done, closed_by),
    )
    send_once(ctx, note, now=now)


def register(app: App, ctx: AppContext) -> None:
    @app.view(CallbackId.CLOSE_PROJECT)
    def submit_closure(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        target = ClosureTarget.from_json(view["private_metadata"])
        form = _parse_form(view["state"]["values"])
        problems = closure.closure_problems(form)
        if problems:
            ack(response_action="errors", errors={CLOSURE_BLOCKS[name]: text for name, text in problems.items()})
            return
        with unit_of_work(ctx.session_factory) as session:
            done = closure.close_project(session, actor, target.project_key, form, now=now)
        ack(response_action="update", view=blocks.project_closed_modal(done))
        _post_closure_note(ctx, done, actor.slack_user_id, now)


CLOSE = Subcommand(
    name="close",
    handler=close_command,
    usages=(
        Usage(
            "/pmo close KEY",
            "close a project, recording its outcome, benefits status and lessons (PMO admins, its sponsor or lead)",
            audience=HelpAudience.SPONSORS,
            example="/pmo close CRM-2",
        ),
        Usage(
            "/pmo close KEY archive",
            "archive it without the form or lessons (a duplicate, or it never started)",
            audience=HelpAudience.SPONSORS,
            example="/pmo close CRM-2 archive",
        ),
    ),
)

REOPEN = Subcommand(
    name="reopen",
    handler=reopen_command,
    usages=(
        Usage(
            "/pmo reopen KEY",
            "undo a close: the project is active again and its check-ins resume (as for closing)",
            audience=HelpAudience.SPONSORS,
            example="/pmo reopen CRM-2",
        ),
    ),
)

LESSONS = Subcommand(
    name="lessons",
    handler=lessons_command,
    usages=(
        Usage(
            "/pmo lessons WORDS",
            "lessons learned across the portfolio that mention all these words",
            example="/pmo lessons supplier contract",
        ),
    ),
)

SUBCOMMANDS = (CLOSE, REOPEN, LESSONS)
