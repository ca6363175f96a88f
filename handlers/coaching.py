"""`/pmo coach`: where coaching would help most, and "Plan a conversation" with its form; and the
question asked when an action goes to a PMO admin on someone else's project."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.services import coaching, message_keys
from bot.services.access import Actor
from bot.services.coaching import Opportunity, OwnerChoice, PlannedConversation
from handlers.blocks import coaching as blocks
from handlers.blocks.coaching import ConversationTarget, OwnerAnswer
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.delivery import chat_message, post_or_update, refresh_home, send_dm_once
from handlers.ids import CoachingId
from handlers.outcomes import owner_question_message
from storage.session import unit_of_work


def opportunities(ctx: AppContext, now: datetime) -> tuple[Opportunity, ...]:
    """The ranked list, as the digest shows it, over the whole portfolio."""
    settings = ctx.settings
    with unit_of_work(ctx.session_factory) as session:
        return coaching.where_to_coach(
            session,
            now=now,
            today=ctx.workspace_day(now),
            tolerance=settings.benefit_tolerance,
            default_cadence=settings.default_cadence,
            answer_window=timedelta(hours=settings.checkin_missed_hours),
        )


def coach_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if request.args:
        raise COACH.usage_error("`/pmo coach` takes no more words.")
    coaching.require_pmo_admin(request.actor)
    found = opportunities(ctx, request.now)
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
        follow_up_on = ctx.workspace_day(now) + timedelta(days=coaching.FOLLOW_UP_DAYS)
        client.views_open(trigger_id=body["trigger_id"], view=blocks.plan_modal(target, follow_up_on))

    @app.view(CoachingId.PLAN_FORM)
    def submit_plan(ack: Ack, view: dict, actor: Actor, now: datetime) -> None:
        target = ConversationTarget.from_json(view["private_metadata"])
        planned = _parse_form(view["state"]["values"], target)
        with unit_of_work(ctx.session_factory) as session:
            note = coaching.plan_conversation(session, actor, planned, today=ctx.workspace_day(now), now=now)
        ack(response_action="update", view=blocks.planned_modal(note))

    def answer_owner(choice: OwnerChoice) -> Callable[..., None]:
        """A button listener recording who should own the action, and handing it over when asked to."""

        def listener(ack: Ack, action: dict, actor: Actor, now: datetime) -> None:
            ack()
            answer = OwnerAnswer.from_json(action["value"])
            with unit_of_work(ctx.session_factory) as session:
                answered = coaching.choose_owner(
                    session, actor, answer.action_id, choice, pmo_admin_ids=ctx.settings.pmo_admin_ids, now=now
                )
            post_or_update(ctx, owner_question_message(answered), now=now)
            new_owner = {OwnerChoice.LEAD: answered.lead_user_id, OwnerChoice.SPONSOR: answered.sponsor_user_id}.get(
                choice
            )
            if new_owner is not None and new_owner != actor.slack_user_id:
                key = message_keys.pmo_owner_handed(answered.action_id, new_owner)
                send_dm_once(ctx, chat_message(key, new_owner, blocks.handed_over_text(answered)), now=now)
            if new_owner is not None:
                refresh_home(ctx, (answered.owner_user_id, new_owner), now)

        return listener

    for choice, (_label, action_id) in blocks.OWNER_BUTTONS.items():
        app.action(action_id)(answer_owner(choice))


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
