"""The `/pmo` slash command: one dispatcher, many small subcommands.

Each feature module lists its subcommands; this module parses the text and picks one. A
subcommand refuses a user's mistake by raising a UserError, which the request path
(`handlers.request.reply_to_user_error`) turns into an ephemeral reply.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.errors import UserError
from bot.services.access import Actor
from handlers.blocks.help import (
    HelpAudience,
    help_blocks,
    help_text,
    subcommand_help_blocks,
    subcommand_help_text,
    unknown_subcommand_blocks,
    unknown_subcommand_text,
)

log = logging.getLogger(__name__)

COMMAND = "/pmo"


@dataclass(frozen=True)
class CommandRequest:
    user_id: str
    team_id: str
    channel_id: str
    trigger_id: str
    args: list[str]
    actor: Actor
    now: datetime  # the request path's clock, read once
    # The words after the subcommand as typed: free text (an incident update) keeps its quotes.
    rest: str = ""


class UsageError(UserError):
    """The subcommand was recognised but its arguments were not; the reply shows its usage."""


Handler = Callable[[AppContext, CommandRequest, WebClient, Respond], None]


@dataclass(frozen=True)
class Usage:
    syntax: str  # e.g. "/pmo link KEY"
    summary: str  # one line for `/pmo help`
    audience: HelpAudience = HelpAudience.EVERYONE  # the group `/pmo help` lists it under
    example: str = ""  # the form filled in, for `/pmo help NAME`; empty when the syntax has no placeholders


@dataclass(frozen=True)
class Subcommand:
    name: str
    handler: Handler
    usages: tuple[Usage, ...]

    def usage_error(self, problem: str) -> UsageError:
        forms = "\n".join(f"`{usage.syntax}`: {usage.summary}" for usage in self.usages)
        return UsageError(f"{problem}\nUsage:\n{forms}")

    @contextmanager
    def usage_on_error(self) -> Iterator[None]:
        """Words that do not parse (a UserError raised inside) are answered with the usage too."""
        try:
            yield
        except UsageError:
            raise
        except UserError as error:
            raise self.usage_error(str(error)) from None


USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def user_mention(word: str) -> str | None:
    """The user ID in an escaped mention (`<@U123|lee>`), as Slack sends it with should_escape."""
    match = USER_MENTION.match(word)
    return match[1] if match else None


def split_args(text: str) -> list[str]:
    """Words of the command text; quotes group words, and a stray quote is not an error."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def words_after_first(text: str) -> str:
    """The text after its first word, exactly as typed."""
    parts = text.strip().split(maxsplit=1)
    return parts[1] if len(parts) == 2 else ""


def register(app: App, ctx: AppContext, subcommands: Sequence[Subcommand]) -> None:
    by_name = {sub.name: sub for sub in subcommands}

    def respond_with_help(topic: list[str], respond: Respond) -> None:
        """All of it, grouped by who uses it, or one subcommand's forms when one is named."""
        if not topic:
            respond(text=help_text(subcommands), blocks=help_blocks(subcommands))
        elif topic[0].lower() in by_name:
            subcommand = by_name[topic[0].lower()]
            respond(text=subcommand_help_text(subcommand), blocks=subcommand_help_blocks(subcommand))
        else:
            respond(
                text=unknown_subcommand_text(topic[0], subcommands),
                blocks=unknown_subcommand_blocks(topic[0], subcommands),
            )

    @app.command(COMMAND)
    def pmo_command(ack: Ack, command: dict, client: WebClient, respond: Respond, actor: Actor, now: datetime) -> None:
        ack()
        args = split_args(command.get("text", ""))
        if not args or args[0].lower() == "help":
            respond_with_help(args[1:2], respond)
            return
        subcommand = by_name.get(args[0].lower())
        if subcommand is None:
            respond(
                text=unknown_subcommand_text(args[0], subcommands),
                blocks=unknown_subcommand_blocks(args[0], subcommands),
            )
            return
        request = CommandRequest(
            user_id=command["user_id"],
            team_id=command["team_id"],
            channel_id=command["channel_id"],
            trigger_id=command.get("trigger_id", ""),
            args=args[1:],
            rest=words_after_first(command.get("text", "")),
            actor=actor,
            now=now,
        )
        subcommand.handler(ctx, request, client, respond)
