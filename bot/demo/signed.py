"""Requests to the running app as Slack sends them: signed, over real HTTP.

Every request method takes keyword-only `signature` (sent instead of the correct one) and
`timestamp` (sent instead of now, and signed unless `signature` is given), so tests can
check that forged and stale requests get 401. The response_url and trigger_id in each
payload come from the FakeSlack, so the app's replies through them are checked too.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx

from .fake_slack import FakeSlack

TEAM_DOMAIN = "fake-workspace"
# The legacy verification token Slack still puts in payloads; Bolt checks the signature instead.
VERIFICATION_TOKEN = "fake-verification-token"
REQUEST_TIMEOUT_SECONDS = 10.0
# Elements whose interaction sends the chosen option as `selected_option`.
SINGLE_OPTION_ELEMENTS = frozenset({"static_select", "external_select", "overflow", "radio_buttons"})


def slack_signature(signing_secret: str, timestamp: int, body: bytes) -> str:
    """X-Slack-Signature: "v0=" + hex HMAC-SHA256 of "v0:{timestamp}:{raw body}"."""
    signed = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), signed, hashlib.sha256).hexdigest()


# --- state.values entries for view_submission ----------------------------------------------


def plain_input(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def static_select(value: str, text: str | None = None) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": _option(value, text)}


def checkboxes(values: Iterable[str]) -> dict[str, Any]:
    return {"type": "checkboxes", "selected_options": [_option(value) for value in values]}


def datepicker(date: str) -> dict[str, Any]:
    """`date` as Slack sends it: "YYYY-MM-DD"."""
    return {"type": "datepicker", "selected_date": date}


def _option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}


class SignedRequests:
    """Sends Slack's requests (commands, interactions, events) to the app at `app_url`."""

    def __init__(self, app_url: str, signing_secret: str, fake: FakeSlack, *, team_id: str = "T0FAKE") -> None:
        self.app_url = app_url
        self.signing_secret = signing_secret
        self.fake = fake
        self.team_id = team_id
        self._event_numbers = itertools.count(1)

    # --- what users do ------------------------------------------------------------------

    def command(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        command: str = "/pmo",
        channel_name: str = "general",
        signature: str | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """A slash command, form-encoded with the fields of SlashCommandPayload.json."""
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.fake.app_id,
            "is_enterprise_install": "false",
            "response_url": self.fake.new_response_url(),
            "trigger_id": self.fake.new_trigger_id(),
        }
        return self._post_form(fields, signature=signature, timestamp=timestamp)

    def block_action(
        self,
        action_id: str,
        *,
        user_id: str,
        value: str | None = None,
        block_id: str | None = None,
        channel_id: str | None = None,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        response_url: bool | None = None,
        selected_option: str | None = None,
        selected_user: str | None = None,
        selected: dict[str, Any] | None = None,
        ephemeral: bool = False,
        signature: str | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """A click on the element `action_id` of `message` (posted in `channel_id`) or of `view`.

        The element must be in the message or view: its type, block_id and (for buttons)
        value are taken from it unless given. `selected_option` is the chosen option's
        value for selects, overflow menus and radio buttons; `selected_user` the person
        picked in a users_select; `selected` any other choice as Slack names it in the
        action (`selected_date`, `selected_options`, `selected_conversation`).
        `ephemeral` marks a message only the user sees: Slack then sends no `message`.
        `response_url` defaults to what Slack does: one for actions in messages, none for
        actions in views.
        """
        if message is not None and view is not None:
            raise ValueError("give message or view, not both")
        if message is not None:
            if channel_id is None:
                raise ValueError("channel_id is required with message")
            blocks = message.get("blocks") or []
            where = {
                "container": {
                    "type": "message",
                    "message_ts": message["ts"],
                    "channel_id": channel_id,
                    "is_ephemeral": ephemeral,
                },
                "channel": {"id": channel_id},
                "state": {"values": {}},
            }
            if not ephemeral:
                where["message"] = message
        elif view is not None:
            blocks = view.get("blocks") or []
            where = {"container": {"type": "view", "view_id": view["id"]}, "view": view}
        else:
            raise ValueError("give the message or the view where the element was clicked")
        element, element_block_id = _find_element(blocks, action_id)
        action: dict[str, Any] = {
            "type": element["type"],
            "action_id": action_id,
            "block_id": block_id or element_block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action["text"] = element.get("text")
            button_value = value if value is not None else element.get("value")
            if button_value is not None:
                action["value"] = button_value
        elif value is not None:
            raise ValueError(f"value is for buttons; a {element['type']} sends selected_option")
        if selected_option is not None:
            action["selected_option"] = _chosen_option(element, selected_option)
        if selected_user is not None:
            if element["type"] != "users_select":
                raise ValueError(f"a {element['type']} has no selected_user")
            action["selected_user"] = selected_user
        if selected is not None:
            action.update(selected)
        payload = self._block_kit_interaction("block_actions", user_id) | where | {"actions": [action]}
        if response_url is None:
            response_url = message is not None
        if response_url:
            payload["response_url"] = self.fake.new_response_url()
        return self._post_interaction(payload, signature=signature, timestamp=timestamp)

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, dict[str, Any]]],
        *,
        user_id: str,
        private_metadata: str = "",
        view_id: str = "V123",
        hash: str = "h",
        signature: str | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """A modal submitted with `values` as state.values: {block_id: {action_id: entry}},
        entries built with plain_input(), static_select(), checkboxes(), datepicker()."""
        view = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "external_id": "",
            "state": {"values": values},
            "hash": hash,
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.fake.app_id,
            "bot_id": self.fake.bot_id,
        }
        payload = self._block_kit_interaction("view_submission", user_id) | {"view": view}
        return self._post_interaction(payload, signature=signature, timestamp=timestamp)

    def message_shortcut(
        self,
        callback_id: str,
        *,
        user_id: str,
        channel_id: str,
        message: dict[str, Any],
        signature: str | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """A message shortcut (type message_action) used on `message` in `channel_id`."""
        # Unlike block_actions, Slack sends no api_app_id nor user.username here.
        payload = {
            "type": "message_action",
            "token": VERIFICATION_TOKEN,
            "team": self._team(),
            "user": self._user(user_id),
            "trigger_id": self.fake.new_trigger_id(),
            "is_enterprise_install": False,
            "callback_id": callback_id,
            "message_ts": message["ts"],
            "message": message,
            "channel": {"id": channel_id},
            "response_url": self.fake.new_response_url(),
            "action_ts": f"{time.time():.6f}",
        }
        return self._post_interaction(payload, signature=signature, timestamp=timestamp)

    # --- what Slack itself sends --------------------------------------------------------

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        signature: str | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """An Events API delivery of `event`; with `retry_num`, a redelivery (Slack retries
        up to 3 times, with the same event_id, when the app does not ack within 3 s)."""
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": self.fake.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._event_numbers):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        retry_headers = (
            {} if retry_num is None else {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        )
        return self._post(
            "application/json",
            json.dumps(envelope).encode(),
            signature=signature,
            timestamp=timestamp,
            extra_headers=retry_headers,
        )

    def url_verification(
        self, challenge: str, *, signature: str | None = None, timestamp: int | None = None
    ) -> httpx.Response:
        body = json.dumps({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"})
        return self._post("application/json", body.encode(), signature=signature, timestamp=timestamp)

    # --- building and sending -----------------------------------------------------------

    def _block_kit_interaction(self, kind: str, user_id: str) -> dict[str, Any]:
        """The fields block_actions and view_submission payloads share."""
        return {
            "type": kind,
            "token": VERIFICATION_TOKEN,
            "api_app_id": self.fake.app_id,
            "team": self._team(),
            "user": self._user(user_id) | {"username": user_id.lower()},
            "trigger_id": self.fake.new_trigger_id(),
            "is_enterprise_install": False,
        }

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": TEAM_DOMAIN}

    def _user(self, user_id: str) -> dict[str, Any]:
        return {"id": user_id, "name": user_id.lower(), "team_id": self.team_id}

    def _post_form(self, fields: dict[str, str], *, signature: str | None, timestamp: int | None) -> httpx.Response:
        body = urlencode(fields).encode()
        return self._post("application/x-www-form-urlencoded", body, signature=signature, timestamp=timestamp)

    def _post_interaction(
        self, payload: dict[str, Any], *, signature: str | None, timestamp: int | None
    ) -> httpx.Response:
        return self._post_form({"payload": json.dumps(payload)}, signature=signature, timestamp=timestamp)

    def _post(
        self,
        content_type: str,
        body: bytes,
        *,
        signature: str | None,
        timestamp: int | None,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent_timestamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(sent_timestamp),
            "X-Slack-Signature": (
                signature if signature is not None else slack_signature(self.signing_secret, sent_timestamp, body)
            ),
            **(extra_headers or {}),
        }
        # `content=` sends these exact bytes, so the signature matches the body the app reads.
        return httpx.post(self.app_url, content=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)


def _find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[dict[str, Any], str]:
    """The interactive element with `action_id`, and the block_id of its block."""
    for element, block_id in _interactive_elements(blocks):
        if element["action_id"] == action_id:
            return element, block_id
    available = [element["action_id"] for element, _ in _interactive_elements(blocks)]
    raise AssertionError(f"no element with action_id {action_id!r} to click; there are {available}")


def _interactive_elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], str]]:
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory"), block.get("element")]:
            if isinstance(element, dict) and element.get("action_id"):
                yield element, block.get("block_id", "")


def _chosen_option(element: dict[str, Any], value: str) -> dict[str, Any]:
    """The option with `value` as the element lists it (Slack sends the option back whole)."""
    if element["type"] not in SINGLE_OPTION_ELEMENTS:
        raise ValueError(f"a {element['type']} has no selected_option")
    if element["type"] == "external_select":
        return _option(value)  # its options come from the app at run time, not from the block
    options = element.get("options") or [o for group in element.get("option_groups", []) for o in group["options"]]
    for option in options:
        if option.get("value") == value:
            return option
    raise AssertionError(f"{element['type']} {element.get('action_id')!r} has no option {value!r}")
