"""`/pmo share` and `/pmo unshare`, and working out who can read the channel a request came from."""

from __future__ import annotations

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.errors import UserError
from bot.services import partners
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.request import channel_audience
from storage.session import unit_of_work


def _partner_team(client: WebClient, request: CommandRequest, args: list[str]) -> str:
    if args:
        return args[0]
    audience = channel_audience(client, request.channel_id, request.team_id)
    if len(audience.external_team_ids) == 1:
        return next(iter(audience.external_team_ids))
    if audience.is_internal:
        raise UserError(
            "This channel is not shared with another organisation. Give the partner's team ID "
            "(e.g. `/pmo share CRM-2 T0123ABCD`) or run the command in the Slack Connect channel."
        )
    raise UserError(
        "This channel is shared with several organisations: name one, e.g. "
        f"`/pmo share KEY {sorted(audience.external_team_ids)[0]}`."
    )


def share_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) not in (1, 2):
        raise SHARE.usage_error("Which project, and with which partner?")
    team_id = _partner_team(client, request, request.args[1:])
    with unit_of_work(ctx.session_factory) as session:
        project, newly = partners.share(session, request.actor, request.args[0], team_id, now=request.now)
        key = project.key
    respond(
        text=f"Partner {team_id} can now see {key} in channels shared with them."
        if newly
        else f"{key} was already shared with {team_id}. Nothing changed."
    )


def unshare_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) not in (1, 2):
        raise UNSHARE.usage_error("Which project, and from which partner?")
    team_id = _partner_team(client, request, request.args[1:])
    with unit_of_work(ctx.session_factory) as session:
        key = partners.unshare(session, request.actor, request.args[0], team_id).key
    respond(text=f"Partner {team_id} no longer sees {key}.")


SHARE = Subcommand(
    name="share",
    handler=share_command,
    usages=(
        Usage(
            "/pmo share KEY [TEAM_ID]",
            "let a partner organisation see a project (PMO admins or its sponsor; "
            "no TEAM_ID: this Slack Connect channel's partner)",
            audience=HelpAudience.SPONSORS,
            example="/pmo share CRM-2",
        ),
    ),
)
UNSHARE = Subcommand(
    name="unshare",
    handler=unshare_command,
    usages=(
        Usage(
            "/pmo unshare KEY [TEAM_ID]",
            "stop a partner seeing a project",
            audience=HelpAudience.SPONSORS,
            example="/pmo unshare CRM-2 T0PARTNER",
        ),
    ),
)

SUBCOMMANDS = (SHARE, UNSHARE)
