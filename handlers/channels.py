"""Linking channels to projects: `/pmo link KEY`, `/pmo unlink`, and the hint when the bot joins."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.errors import UserError
from bot.services import checkins, escalations, message_keys, outbox, portfolio
from bot.services.outbox import OutgoingRequest
from handlers.blocks.channels import joined_hint_message, linked_text, unlinked_text
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.delivery import ClaimedMessage, deliver, send_once
from handlers.outcomes import deliver_owed
from storage.session import unit_of_work


def ensure_bot_in_channel(client: WebClient, channel_id: str) -> bool:
    """Join a public channel if needed (True when it did); refuse, with instructions, where the
    bot cannot join."""
    if channel_id.startswith("D"):
        raise UserError("Direct messages cannot be linked: run `/pmo link KEY` in the project's channel.")
    try:
        channel = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        if error.response.get("error") == "channel_not_found":
            # Slack hides private channels the bot is not in behind channel_not_found.
            raise UserError(_invite_me()) from None
        raise
    if channel.get("is_archived"):
        raise UserError("This channel is archived; link an active channel instead.")
    if channel.get("is_member"):
        return False
    if channel.get("is_private") or channel.get("is_group"):
        raise UserError(_invite_me())
    client.conversations_join(channel=channel_id)
    return True


def _invite_me() -> str:
    return (
        "I'm not in this private channel, so I can't link it. Invite me first: type "
        "`/invite @pmo-bot` here, then run `/pmo link KEY` again. Nothing was linked."
    )


def link_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) != 1:
        raise LINK.usage_error("Which project should this channel belong to? Give its key.")
    key = request.args[0]
    with unit_of_work(ctx.session_factory) as session:
        # Refuse before joining: a refused link must not leave the bot sitting in the channel.
        portfolio.check_can_link(session, request.actor, key, request.team_id, request.channel_id)
    joined = ensure_bot_in_channel(client, request.channel_id)
    now = request.now
    with unit_of_work(ctx.session_factory) as session:
        outcome = portfolio.link_channel(session, request.actor, key, request.team_id, request.channel_id, now=now)
        repaired = outcome.repaired or (outcome.already_linked and joined)
        fixed = (
            escalations.settle_alert(
                session,
                message_keys.broken_channel_cause(request.team_id, request.channel_id),
                {"how": "repaired", "by": request.user_id, "channel_id": request.channel_id},
                now=now,
            )
            if repaired
            else []
        )
        text = linked_text(
            outcome.project.key,
            outcome.project.name,
            is_primary=outcome.is_primary,
            already_linked=outcome.already_linked and not repaired,
            repaired=repaired,
        )
    deliver_owed(ctx, fixed, now=now)
    if repaired:
        _resend_failed_prompt(ctx, outcome.project.id, now=now)
    respond(text=text, response_type="ephemeral" if outcome.already_linked and not repaired else "in_channel")


def _resend_failed_prompt(ctx: AppContext, project_id: int, *, now: datetime) -> None:
    """This period's prompt that could not be posted in the broken channel goes out now."""
    with unit_of_work(ctx.session_factory) as session:
        row_id, request = None, checkins.reopen_after_repair(session, project_id, now=now)
        if request is not None:
            row = outbox.find(session, request.idempotency_key)
            row_id = row.id if row is not None else None
    if request is not None and row_id is not None:
        deliver(ctx, ClaimedMessage(row_id, request), now=now)


def unlink_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if request.args:
        raise UNLINK.usage_error("`/pmo unlink` takes no key: it unlinks the channel you type it in.")
    with unit_of_work(ctx.session_factory) as session:
        project = portfolio.unlink_channel(session, request.actor, request.team_id, request.channel_id)
        text = unlinked_text(project.key)
    respond(text=text, response_type="in_channel")


def register(app: App, ctx: AppContext) -> None:
    @app.event("member_joined_channel")
    def bot_joined(event: dict, body: dict, context: BoltContext, now: datetime) -> None:
        if event.get("user") != context.bot_user_id:
            return
        team_id = event.get("team") or body.get("team_id", "")
        with unit_of_work(ctx.session_factory) as session:
            if portfolio.find_link(session, team_id, event["channel"]) is not None:
                return
        text, blocks = joined_hint_message()
        # Keyed on the event, so Slack's retries of this delivery never post the hint twice.
        send_once(
            ctx,
            OutgoingRequest(
                idempotency_key=message_keys.joined_hint(body["event_id"]),
                method="chat.postMessage",
                channel_id=event["channel"],
                payload={"channel": event["channel"], "text": text, "blocks": blocks},
            ),
            now=now,
        )


LINK = Subcommand(
    name="link",
    handler=link_command,
    usages=(
        Usage(
            "/pmo link KEY",
            "link this channel to a project (PMO admins, sponsor or lead)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo link CRM-2",
        ),
    ),
)
UNLINK = Subcommand(
    name="unlink",
    handler=unlink_command,
    usages=(Usage("/pmo unlink", "unlink this channel from its project", audience=HelpAudience.PROJECT_TEAMS),),
)

SUBCOMMANDS = (LINK, UNLINK)
