"""`/pmo coach`: where coaching would help most, and "Plan a conversation" with its form."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.services import coaching
from bot.services.access import Actor
from bot.services.coaching import Opportunity, PlannedConversation
from handlers.blocks import coaching as blocks
from handlers.blocks.coaching import ConversationTarget
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.ids import CoachingId
from storage.session import unit_of_work


def _today(ctx: AppContext, now: datetime) -> date:
    return now.astimezone(ZoneInfo(ctx.settings.default_timezone)).date()


def opportunities(ctx: AppContext, now: datetime) -> tuple[Opportunity, ...]:
    """The ranked list, as the digest shows it, over the whole portfolio."""
    settings = ctx.settings
    with unit_of_work(ctx.session_factory) as session:
        return coaching.where_to_coach(
            session,
            now=now,
            today=_today(ctx, now),
            tolerance=settings.benefit_tolerance,
            default_cadence=settings.default_cadence,
            answer_window=timedelta(hours=settings.checkin_missed_hours),
        )


def coach_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if request.args:
        raise COACH.usage_error("`/pmo coach` takes no more words.")
    coaching.require_pmo_admin(request.actor)
    found = opportunities(ctx, ctx.clock())
    respond(text=blocks.coach_text(found), blocks=blocks.coach_blocks(found))


def _picked(values: dict[str, Any], block_id: str, field: str) -> Any:
    return (values.get(block_id) or {}).get(block_id, {}).get(field)


def _parse_form(values: dict[str, Any], target: ConversationTarget) -> PlannedConversation:
    follow_up = _picked(values, CoachingId.FOLLOW_UP, "selected_date")
    return PlannedConversation(
        topic=target.topic,
        project_key=target.project_key,
        with_user_id=_picked(values, CoachingId.WITH, "selected_user"),
        about=_picked(values, CoachingId.ABOUT, "value") or "",
        follow_up_on=date.fromisoformat(follow_up) if follow_up else None,
    )


def register(app: App, ctx: AppContext) -> None:
    @app.action(CoachingId.PLAN_CONVERSATION)
    def open_plan_form(ack: Ack, body: dict, action: dict, client: WebClient, actor: Actor, now: datetime) -> None:
        ack()
        target = ConversationTarget.from_json(action["value"])
        coaching.require_pmo_admin(actor)
        follow_up_on = _today(ctx, now) + timedelta(days=coaching.FOLLOW_UP_DAYS)
        client.views_open(trigger_id=body["trigger_id"], view=blocks.plan_modal(target, follow_up_on))

    @app.view(CoachingId.PLAN_FORM)
    def submit_plan(ack: Ack, view: dict, actor: Actor, now: datetime) -> None:
        target = ConversationTarget.from_json(view["private_metadata"])
        planned = _parse_form(view["state"]["values"], target)
        with unit_of_work(ctx.session_factory) as session:
            note = coaching.plan_conversation(session, actor, planned, today=_today(ctx, now), now=now)
        ack(response_action="update", view=blocks.planned_modal(note))


COACH = Subcommand(
    name="coach",
    handler=coach_command,
    usages=(
        Usage(
            "/pmo coach",
            "where coaching would help most this week, ranked by leverage, each with *Plan a conversation* "
            "(PMO admins)",
            audience=HelpAudience.PMO_ADMINS,
        ),
    ),
)

SUBCOMMANDS = (COACH,)
