"""The one request path every Slack request takes before its listener: a global Bolt middleware.

It cleans what Slack delivered, so listeners and the domain see the same text on SQLite and
PostgreSQL, and gives every listener `actor` and `now`. A UserError a listener raises (a
refusal, a bad key, state that is out of date) is answered in one place,
`reply_to_user_error`, which the app's error handler calls. A form puts such an error on its
first input unless the listener says which (`errors_on`, `FormCheck`, `FormErrors`), so no
listener catches UserError itself. `channel_audience` says who can read the channel a request
came from, for the listeners that show records there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from slack_bolt import Ack, BoltContext, BoltRequest, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.errors import UserError
from bot.services.access import Actor
from bot.services.partners import INTERNAL, Audience
from bot.text import without_control_characters
from handlers.blocks.common import PLAIN_TEXT_LIMIT, clip, notice_modal

log = logging.getLogger(__name__)


class FormErrors(UserError):
    """What a submitted form must correct, each under its own input: {block_id: message}."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = dict(errors)


def _placed(error: UserError, blocks: str | Mapping[str, str]) -> dict[str, str] | None:
    """The error on its inputs: `blocks` is a block id, or maps the fields a domain error names in its
    `problems` ({field: message}) to their block ids; None for an error naming none of them."""
    if isinstance(blocks, str):
        return {blocks: str(error)}
    problems: dict[str, str] = getattr(error, "problems", None) or {}
    return {blocks[field]: text for field, text in problems.items() if field in blocks} or None


@contextmanager
def errors_on(blocks: str | Mapping[str, str], kind: type[UserError] = UserError) -> Iterator[None]:
    """A UserError of this kind raised inside is shown on these inputs of the form (see `_placed`);
    any other (a refusal) goes on the form's first input, as everywhere."""
    try:
        yield
    except FormErrors:
        raise
    except UserError as error:
        placed = _placed(error, blocks) if isinstance(error, kind) else None
        if placed is None:
            raise
        raise FormErrors(placed) from error


class FormCheck:
    """Collects a form's mistakes, one per input, so the person sees them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, block_id: str, message: str) -> None:
        self.errors.setdefault(block_id, message)

    @contextmanager
    def on(self, block_id: str) -> Iterator[None]:
        """A UserError raised inside (a value that does not parse) is this input's mistake; reading goes on."""
        try:
            yield
        except UserError as error:
            self.add(block_id, str(error))

    def raise_any(self) -> None:
        if self.errors:
            raise FormErrors(self.errors)


def clean_body(req: BoltRequest, next: Callable[[], None]) -> None:  # noqa: A002 (Bolt's argument name)
    body = without_control_characters(req.body)
    view = body.get("view") if body.get("type") in ("view_submission", "view_closed") else None
    if isinstance(view, dict):
        state = view.get("state")
        # A form submitted without `state.values` (no inputs, or a client that left it out) is an empty form.
        if not isinstance(state, dict) or not isinstance(state.get("values"), dict):
            view["state"] = {**(state if isinstance(state, dict) else {}), "values": {}}
    next()


class KeptAck(Ack):
    """Bolt's `ack`, except that an answer once given stays given.

    When a listener raises after it has acked (a refusal, a tampered button), Bolt's thread
    runner sets `ack.response` back to None; if the request thread had not yet seen the ack, it
    then waits out the 3 s and answers Slack 404. Keeping the answer closes that race.
    """

    @property
    def response(self) -> BoltResponse | None:
        return self._answer

    @response.setter
    def response(self, answer: BoltResponse | None) -> None:
        if answer is not None or getattr(self, "_answer", None) is None:
            self._answer = answer


def add_actor_and_clock(ctx: AppContext) -> Callable[..., None]:
    """Middleware giving every listener `actor` (who is asking, with their rights), `now` (read
    once) and an `ack` that keeps its answer."""

    def middleware(context: BoltContext, body: dict[str, Any], next: Callable[[], None]) -> None:  # noqa: A002
        context["ack"] = KeptAck()
        if body.get("command") or body.get("type") == "block_actions":
            # Every slash command and button click is answered empty (replies go to the
            # response_url or the Web API), so the answer is given here: Slack has it without
            # waiting for a listener thread to start while others are busy rendering.
            context["ack"]()
        user_id = (body.get("user") or {}).get("id") or body.get("user_id") or context.user_id
        if user_id:
            context["actor"] = Actor(user_id, ctx.settings.is_pmo_admin(user_id))
        context["now"] = ctx.clock()
        next()

    return middleware


def channel_audience(client: WebClient, channel_id: str, our_team_id: str) -> Audience:
    """The external organisations a channel is shared with (Slack Connect); none for DMs.

    A channel the bot cannot look up (a private one it is not in) is taken as internal:
    Slack Connect channels that show portfolio records have the bot in them.
    """
    if channel_id.startswith("D"):
        return INTERNAL
    try:
        channel = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        log.info("no audience for %s (%s); treating it as internal", channel_id, error.response.get("error"))
        return INTERNAL
    if not channel.get("is_ext_shared"):
        return INTERNAL
    external = frozenset(team for team in channel.get("connected_team_ids", []) if team != our_team_id)
    return Audience(external)


def _first_input_block(view: dict[str, Any]) -> str | None:
    inputs = [block.get("block_id") for block in view.get("blocks") or [] if block.get("type") == "input"]
    # The submitted values are keyed by the inputs' block ids too, in the form's order.
    inputs += list((view.get("state") or {}).get("values") or {})
    return next((block_id for block_id in inputs if block_id), None)


def reply_to_user_error(
    error: UserError,
    body: dict[str, Any],
    respond: Respond | None,
    client: WebClient | None,
    response: BoltResponse | None,
) -> BoltResponse | None:
    """The user's mistake, told on the surface they used; `response` is None once the listener has acked.

    A form not yet answered shows it on its first input (`response_action: errors`), a
    FormErrors on the inputs it names, or the message in the form's place when it has no input;
    a command or a button gets an ephemeral reply, and a button with nowhere to reply to (the
    Home tab, a modal) a DM.
    """
    text = str(error)
    if body.get("type") == "view_submission" and response is not None:
        block_id = _first_input_block(body.get("view") or {})
        errors = error.errors if isinstance(error, FormErrors) else {block_id: text} if block_id else None
        answer: dict[str, Any] = (
            {
                "response_action": "errors",
                "errors": {block: clip(line, PLAIN_TEXT_LIMIT) for block, line in errors.items()},
            }
            if errors
            else {"response_action": "update", "view": notice_modal(text)}
        )
        return BoltResponse(status=200, body=json.dumps(answer), headers={"content-type": "application/json"})
    user_id = (body.get("user") or {}).get("id")
    if respond is not None and (body.get("response_url") or body.get("response_urls")):
        respond(text=text, response_type="ephemeral", replace_original=False)
    elif client is not None and user_id and body.get("type") == "block_actions":
        client.chat_postMessage(channel=user_id, text=text)
    else:
        log.info("a user error with nowhere to reply (%s): %s", body.get("type"), text)
    return BoltResponse(status=200, body="") if response is not None else None
