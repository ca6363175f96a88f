"""A fake Slack Web API server, so tests run the real app over real HTTP without Slack.

It answers like Slack does, including the rejections: unknown method, bad token, missing
scope (the granted scopes are those of the app manifest), missing argument, Block Kit
limits, and the behaviour of a small world of channels, users and messages that each test
builds. Every request is recorded as a `Call` that tests can wait for.

Which methods exist, the scopes they need and their required arguments come from the
method files in `methods/` (copied from Slack's reference; see README.md beside this file).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import math
import sys
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import yaml

from . import blockkit

METHODS_DIR = Path(__file__).resolve().parent / "methods"
WORKSPACE_URL = "https://fake-workspace.slack.com/"

# Arguments that form-encoded requests carry as JSON strings; recorded decoded.
JSON_STRING_ARGS = ("attachments", "blocks", "files", "metadata", "view")
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})  # called with the app-level token, not the bot's
VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})
# Arguments of which one is required but that the method files cannot express, and the
# error Slack documents for their absence.
ONE_OF_REQUIRED_ARGS: dict[str, tuple[tuple[str, ...], str]] = {
    "views.open": (("trigger_id", "interactivity_pointer"), "invalid_trigger_id"),
    "views.push": (("trigger_id", "interactivity_pointer"), "invalid_trigger_id"),
    "views.update": (("view_id", "external_id"), "invalid_arguments"),
    "conversations.open": (("users", "channel"), "users_list_not_supplied"),
}
TRIGGER_LIFETIME_SECONDS = 3.0  # Slack expires a trigger_id 3 s after the interaction
RESPONSE_URL_MAX_USES = 5  # "up to 5 times within 30 minutes"
RECENT_CALLS_IN_TIMEOUT_REPORT = 20
SHUTDOWN_POLL_SECONDS = 0.02  # how often the server loop checks for stop(); the default 0.5 s slows every test


@dataclass(frozen=True)
class Call:
    """One Web API request as the fake received and answered it (failed attempts too)."""

    method: str
    args: dict[str, Any]  # token removed; JSON-string arguments decoded
    token: str | None
    ok: bool
    error: str | None
    response: dict[str, Any]
    status: int = 200  # HTTP status: 429 or 5xx for injected faults and rate limits


class FakeSlack:
    """The fake server and the world it simulates. Start it, point a WebClient at `url`."""

    def __init__(
        self,
        manifest_path: Path,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        app_token: str = "xapp-fake-app-token",
        team_id: str = "T0FAKE",
        bot_user_id: str = "U0BOT",
        methods_dir: Path = METHODS_DIR,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token  # the app-level token (connections:write) that opens Socket Mode
        # What apps.connections.open answers: a test's local Socket Mode server (ws://...).
        self.socket_mode_url: str | None = None
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B0BOT"
        self.app_id = "A0FAKEAPP"
        self.granted_scopes = frozenset(_manifest_bot_scopes(manifest_path))
        self._method_specs = {path.stem: json.loads(path.read_text()) for path in methods_dir.glob("*.json")}
        # One condition guards all state below; waiters are woken on every recorded request.
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._reset_state()

    # --- server lifecycle ---------------------------------------------------------------

    def start(self) -> FakeSlack:
        server = _Server(("127.0.0.1", 0), _Handler)  # port 0: a free port, so runs never collide
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def url(self) -> str:
        """The Web API base URL, for WebClient(base_url=...)."""
        return f"{self.base_url}/api/"

    def reset(self) -> None:
        """Forget everything: calls, responses, world, fault injections and rate limits."""
        with self._cond:
            self._reset_state()

    def _reset_state(self) -> None:
        self._ids = itertools.count(1)
        self._calls: list[Call] = []
        self._responses: list[dict[str, Any]] = []
        self._rejected_responses: list[dict[str, Any]] = []
        self._response_url_uses: dict[str, int] = {}
        self._answered_urls: set[str] = set()
        self._conversations: dict[str, _Conversation] = {}
        self._users: dict[str, _User] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._usergroup_handles: dict[str, str] = {}
        self._messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._last_ts_micros = 0
        self._views: dict[str, dict[str, Any]] = {}
        self._home_view_ids: dict[str, str] = {}
        self._view_ids_by_external_id: dict[str, str] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._uploads: dict[str, _Upload] = {}
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._latency: dict[str, float] = {}
        self._channel_rate_limit: _SlidingWindow | None = None
        self._overall_rate_limit: _SlidingWindow | None = None

    # --- world --------------------------------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        bot_is_member: bool = True,
        members: Iterable[str] = (),
        is_ext_shared: bool = False,
        connected_team_ids: Iterable[str] = (),
    ) -> None:
        """A channel. `members` are its people (chat.postEphemeral only reaches them); the bot's
        own membership is `bot_is_member`. Private channels the bot is not in are invisible to it."""
        with self._cond:
            self._conversations[channel_id] = _Conversation(
                id=channel_id,
                name=name,
                kind="private" if is_private else "public",
                is_archived=is_archived,
                bot_is_member=bot_is_member,
                members=list(members),
                is_ext_shared=is_ext_shared,
                connected_team_ids=list(connected_team_ids),
            )

    def archive(self, channel_id: str) -> None:
        with self._cond:
            self._conversations[channel_id].is_archived = True

    def remove_bot(self, channel_id: str) -> None:
        with self._cond:
            self._conversations[channel_id].bot_is_member = False

    def add_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        name: str | None = None,
        tz: str = "Europe/London",
        deleted: bool = False,
    ) -> None:
        ZoneInfo(tz)  # fail here, not in the middle of a request, on a misspelt zone
        with self._cond:
            self._users[user_id] = _User(id=user_id, name=name or user_id.lower(), email=email, tz=tz, deleted=deleted)

    def add_usergroup(self, usergroup_id: str, user_ids: Iterable[str], *, handle: str | None = None) -> None:
        with self._cond:
            self._usergroups[usergroup_id] = list(user_ids)
            self._usergroup_handles[usergroup_id] = handle or usergroup_id.lower()

    def add_message(self, channel_id: str, text: str, *, user_id: str, thread_ts: str | None = None) -> dict[str, Any]:
        """A message posted by a person (for shortcuts, permalinks, updates the bot may not do)."""
        with self._cond:
            message = {"type": "message", "user": user_id, "text": text, "team": self.team_id}
            if thread_ts is not None:
                message["thread_ts"] = thread_ts
            return self._store_message(channel_id, message)

    # --- fault injection and rate limits ------------------------------------------------

    def fail_next(
        self, method: str, *, status: int = 429, retry_after: int = 1, error: str | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` calls of `method` with HTTP `status`: 429 with a
        Retry-After header, or a 5xx. `error` defaults to "ratelimited" for 429 and
        "internal_error" otherwise. Queued after earlier injections for the same method."""
        with self._cond:
            self._faults[method].append(
                _Fault(
                    status=status,
                    retry_after=retry_after,
                    error=error or ("ratelimited" if status == 429 else "internal_error"),
                    remaining=times,
                )
            )

    def set_rate_limit(
        self, per_channel_per_second: float | None = None, overall_per_second: float | None = None
    ) -> None:
        """Rate-limit chat.postMessage per channel and across all channels (Slack: about 1
        per second per channel, bursts allowed briefly); None lifts a limit."""
        with self._cond:
            self._channel_rate_limit = _SlidingWindow(per_channel_per_second) if per_channel_per_second else None
            self._overall_rate_limit = _SlidingWindow(overall_per_second) if overall_per_second else None

    def set_latency(self, method: str, seconds: float) -> None:
        """Take `seconds` to answer each call of `method` (0 for none). The call is handled
        after the wait even if the caller has gone: a client killed mid-call may still post."""
        with self._cond:
            self._latency[method] = seconds

    # --- what the app did ---------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [call for call in self._calls if call.method == method]

    def ok_calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls_to(method) if call.ok]

    def wait_for(
        self, method: str, predicate: Callable[[Call], bool] = lambda call: True, timeout: float = 5.0
    ) -> Call:
        """The first call of `method` matching `predicate`, recorded before or during the wait."""

        def first_match() -> Call | None:
            return next((c for c in self._calls if c.method == method and predicate(c)), None)

        with self._cond:
            call = self._cond.wait_for(first_match, timeout)
            if call is None:
                raise AssertionError(
                    f"no matching {method} call within {timeout} s; recent calls:\n{self._describe_recent_calls()}"
                )
            return call

    def messages_in(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first, replies included; a user ID means the DM with them."""
        with self._cond:
            return copy.deepcopy(self._messages.get(_dm_id(channel_id) if _is_user_id(channel_id) else channel_id, []))

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Every view opened, pushed, updated or published, by view ID, as last stored."""
        with self._cond:
            return copy.deepcopy(self._views)

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        """The Home tab published for each user, by user ID."""
        with self._cond:
            return {user_id: copy.deepcopy(self._views[view_id]) for user_id, view_id in self._home_view_ids.items()}

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """Files whose upload was completed, by file ID: filename, title, content, channels."""
        with self._cond:
            return {
                file_id: {
                    "id": file_id,
                    "filename": upload.filename,
                    "title": upload.title,
                    "content": upload.content,
                    "channels": list(upload.channels),
                }
                for file_id, upload in self._uploads.items()
                if upload.completed
            }

    # --- interactions: the ids Slack hands the app --------------------------------------

    def new_trigger_id(self) -> str:
        """A trigger_id as in an interaction payload; views.open/push accept it once, within 3 s."""
        with self._cond:
            trigger_id = f"{next(self._ids)}.{int(time.time())}.{uuid.uuid4().hex}"
            self._triggers[trigger_id] = _Trigger(issued_at=time.monotonic())
            return trigger_id

    def new_response_url(self) -> str:
        """A response_url as in a slash command or interaction payload."""
        with self._cond:
            url = f"{self.base_url}/response/{next(self._ids)}"
            self._response_url_uses[url] = 0
            return url

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Accepted response_url posts: the JSON the app sent, plus "url"."""
        with self._cond:
            return copy.deepcopy(self._responses)

    @property
    def rejected_responses(self) -> list[dict[str, Any]]:
        """response_url posts answered with an error: {"url", "error", "payload"}."""
        with self._cond:
            return copy.deepcopy(self._rejected_responses)

    def wait_for_response(
        self, predicate: Callable[[dict[str, Any]], bool] = lambda response: True, timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first accepted response_url post matching `predicate`, before or during the wait."""

        def first_match() -> dict[str, Any] | None:
            return next((r for r in self._responses if predicate(r)), None)

        with self._cond:
            response = self._cond.wait_for(first_match, timeout)
            if response is None:
                raise AssertionError(
                    f"no matching response_url post within {timeout} s; accepted: {self._responses}; "
                    f"rejected: {self._rejected_responses}"
                )
            return copy.deepcopy(response)

    def wait_until_answered(self, url: str, timeout: float = 5.0) -> None:
        """Until this response_url has an accepted post: one lookup per wake-up, however many
        posts there are (a benchmark waits on twenty at once among hundreds)."""
        with self._cond:
            if not self._cond.wait_for(lambda: url in self._answered_urls, timeout):
                rejected = self._rejected_responses
                raise AssertionError(f"no accepted post to {url} within {timeout} s; rejected: {rejected}")

    # --- HTTP routing (called from the server's threads) --------------------------------

    def _route(self, path: str, headers: Message, body: bytes) -> _Reply:
        parts = urlsplit(path)
        if parts.path.startswith("/api/"):
            return self._web_api(parts.path.removeprefix("/api/"), parts.query, headers, body)
        if parts.path.startswith("/response/"):
            return self._response_url_post(self.base_url + parts.path, body)
        if parts.path.startswith("/upload/"):
            return self._file_upload(parts.path.removeprefix("/upload/"), body)
        return _Reply.text(404, "not_found")

    def _web_api(self, method: str, query: str, headers: Message, body: bytes) -> _Reply:
        with self._cond:
            latency = self._latency.get(method, 0.0)
        if latency:
            time.sleep(latency)  # outside the lock: calls in flight overlap, as Slack's do
        spec = self._method_specs.get(method)
        args: dict[str, Any] = {}
        token = _bearer_token(headers)
        with self._cond:
            try:
                args = _parse_args(
                    headers.get("Content-Type", ""),
                    body,
                    query,
                    # Slack ignores JSON bodies sent to methods that do not take JSON.
                    accepts_json=spec is None or spec.get("json_input_supported") is True,
                )
                form_token = args.pop("token", None)
                token = token or form_token
                response, status, reply_headers = self._answer(method, spec, args, token), 200, {}
            except _SlackError as error:
                response, status, reply_headers = error.body, error.status, error.headers
            self._calls.append(
                Call(
                    method=method,
                    args=args,
                    token=token,
                    ok=response.get("ok") is True,
                    error=response.get("error"),
                    response=copy.deepcopy(response),
                    status=status,
                )
            )
            self._cond.notify_all()
        return _Reply.json(status, response, reply_headers)

    def _answer(
        self, method: str, spec: dict[str, Any] | None, args: dict[str, Any], token: str | None
    ) -> dict[str, Any]:
        """The response to a Web API call, or _SlackError; checks in the order Slack applies them."""
        self._apply_injected_fault(method)
        self._apply_rate_limit(method, args)
        if spec is None:
            raise _SlackError("unknown_method")
        if not token:
            raise _SlackError("not_authed")
        if token != (self.app_token if method in APP_TOKEN_METHODS else self.bot_token):
            raise _SlackError("invalid_auth")
        self._check_scope(method, spec, args)
        _check_required_args(method, spec, args)
        if method in MESSAGE_METHODS:
            _check_message_content(args)
        if method in VIEW_METHODS:
            _check_view(args["view"])
        handler = _METHOD_HANDLERS.get(method)
        if handler is None:
            raise _SlackError("fake_slack_does_not_implement_method", method=method)
        return handler(self, args)

    def _apply_injected_fault(self, method: str) -> None:
        queue = self._faults.get(method)
        if not queue:
            return
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
        raise _SlackError(fault.error, status=fault.status, headers=headers)

    def _apply_rate_limit(self, method: str, args: dict[str, Any]) -> None:
        if method != "chat.postMessage":
            return
        now = time.monotonic()
        limits = [
            (limit, key)
            for limit, key in ((self._channel_rate_limit, str(args.get("channel"))), (self._overall_rate_limit, ""))
            if limit is not None
        ]
        wait = max((limit.seconds_until_allowed(key, now) for limit, key in limits), default=0.0)
        if wait > 0:
            # Slack's Retry-After is whole seconds, and never 0 when it limits.
            raise _SlackError("ratelimited", status=429, headers={"Retry-After": str(max(1, math.ceil(wait)))})
        for limit, key in limits:
            limit.record(key, now)

    def _check_scope(self, method: str, spec: dict[str, Any], args: dict[str, Any]) -> None:
        """A method listing several bot scopes needs the one for the conversation's type
        (channels:* public, groups:* private, im:* DM, mpim:* group DM), or any of them
        when the conversation is unknown (Slack then answers channel_not_found)."""
        listed: list[str] = spec.get("scope", {}).get("bot") or []
        if not listed:
            return
        family = self._conversation_scope_family(method, args)
        needed = [scope for scope in listed if family and scope.startswith(f"{family}:")] or listed
        if not self.granted_scopes.intersection(needed):
            raise _SlackError("missing_scope", needed=",".join(needed), provided=",".join(sorted(self.granted_scopes)))

    def _conversation_scope_family(self, method: str, args: dict[str, Any]) -> str | None:
        if method == "conversations.open" and args.get("users"):
            return "im" if len(str(args["users"]).split(",")) == 1 else "mpim"
        conversation = self._conversations.get(str(args.get("channel") or args.get("channel_id") or ""))
        return conversation.scope_family if conversation else None

    # --- world lookups used by the method handlers --------------------------------------

    def _visible_conversation(self, conversation_id: str) -> _Conversation:
        """The conversation as the bot sees it: a private channel it is not in does not exist."""
        conversation = self._conversations.get(conversation_id)
        if conversation is None or not conversation.visible_to_bot:
            raise _SlackError("channel_not_found")
        return conversation

    def _postable_conversation(self, target: str) -> _Conversation:
        """Where the bot may post: a channel it can write to, or the DM with a user given by ID."""
        if _is_user_id(target):
            return self._open_dm(target, inactive_error="account_inactive")
        conversation = self._visible_conversation(target)
        if conversation.is_archived:
            raise _SlackError("is_archived")
        can_post_without_joining = conversation.kind == "public" and "chat:write.public" in self.granted_scopes
        if not conversation.bot_is_member and not can_post_without_joining:
            raise _SlackError("not_in_channel")
        return conversation

    def _open_dm(self, user_id: str, *, inactive_error: str) -> _Conversation:
        user = self._users.get(user_id)
        if user is None:
            raise _SlackError("user_not_found")
        if user.deleted:
            raise _SlackError(inactive_error)
        dm_id = _dm_id(user_id)
        if dm_id not in self._conversations:
            self._conversations[dm_id] = _Conversation(id=dm_id, name="", kind="im", members=[user_id], dm_user=user_id)
        return self._conversations[dm_id]

    def _stored_message(self, channel_id: str, ts: str) -> dict[str, Any]:
        message = next((m for m in self._messages.get(channel_id, []) if m["ts"] == ts), None)
        if message is None:
            raise _SlackError("message_not_found")
        return message

    def _store_message(self, channel_id: str, message: dict[str, Any]) -> dict[str, Any]:
        stored = {**copy.deepcopy(message), "ts": self._next_ts()}
        self._messages[channel_id].append(stored)
        return copy.deepcopy(stored)

    def _next_ts(self) -> str:
        """Slack-style "seconds.micros" timestamps: close to now, unique and increasing."""
        self._last_ts_micros = max(time.time_ns() // 1000, self._last_ts_micros + 1)
        seconds, micros = divmod(self._last_ts_micros, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _bot_message(self, args: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": args.get("text", ""),
        }
        for name in ("blocks", "attachments", "thread_ts", "metadata"):
            if name in args:
                message[name] = args[name]
        return message

    # --- Web API methods (dispatched through _METHOD_HANDLERS) --------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": WORKSPACE_URL,
            "team": "Fake Workspace",
            "user": "pmo-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_mode_url is None:
            raise _SlackError("fake_slack_has_no_socket_mode_server")
        return {"ok": True, "url": self.socket_mode_url}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self._postable_conversation(args["channel"])
        message = self._store_message(conversation.id, self._bot_message(args))
        return {"ok": True, "channel": conversation.id, "ts": message["ts"], "message": message}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self._postable_conversation(args["channel"])
        if args["user"] not in conversation.members:
            raise _SlackError("user_not_in_channel")
        return {"ok": True, "message_ts": self._next_ts()}  # ephemeral: shown once, never stored

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible_conversation(args["channel"])
        message = self._stored_message(conversation.id, args["ts"])
        if message.get("user") != self.bot_user_id:
            raise _SlackError("cant_update_message")
        for name in ("text", "blocks", "attachments", "metadata"):
            if name in args:
                message[name] = copy.deepcopy(args[name])
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": conversation.id,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible_conversation(args["channel"])
        message = self._stored_message(conversation.id, args["ts"])
        if message.get("user") != self.bot_user_id:
            raise _SlackError("cant_delete_message")
        self._messages[conversation.id].remove(message)
        return {"ok": True, "channel": conversation.id, "ts": message["ts"]}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible_conversation(args["channel"])
        message = self._stored_message(conversation.id, args["message_ts"])
        permalink = f"{WORKSPACE_URL}archives/{conversation.id}/p{message['ts'].replace('.', '')}"
        if message.get("thread_ts", message["ts"]) != message["ts"]:
            permalink += f"?thread_ts={message['thread_ts']}&cid={conversation.id}"
        return {"ok": True, "channel": conversation.id, "permalink": permalink}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible_conversation(args["channel"])
        return {"ok": True, "channel": conversation.to_api(self.team_id)}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self._conversations.get(args["channel"])
        if conversation is None:
            raise _SlackError("channel_not_found")
        if conversation.kind != "public":
            raise _SlackError("method_not_supported_for_channel_type")
        if conversation.is_archived:
            raise _SlackError("is_archived")
        response: dict[str, Any] = {"ok": True}
        if conversation.bot_is_member:
            response["warning"] = "already_in_channel"
        conversation.bot_is_member = True
        response["channel"] = conversation.to_api(self.team_id)
        return response

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("users"):
            user_ids = str(args["users"]).split(",")
            if len(user_ids) > 1:
                raise _SlackError("fake_slack_does_not_simulate_group_dms")
            conversation = self._open_dm(user_ids[0], inactive_error="user_disabled")
        else:
            conversation = self._visible_conversation(args["channel"])
            if conversation.kind != "im":
                raise _SlackError("method_not_supported_for_channel_type")
        if _truthy(args.get("return_im")):
            return {"ok": True, "channel": conversation.to_api(self.team_id)}
        return {"ok": True, "channel": {"id": conversation.id}}

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        conversation = self._visible_conversation(args["channel"])
        members = list(conversation.members)
        if conversation.bot_is_member and self.bot_user_id not in members:
            members.append(self.bot_user_id)
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(args["user"])
        if user is None:
            raise _SlackError("user_not_found")
        return {"ok": True, "user": user.to_api(self.team_id, with_email="users:read.email" in self.granted_scopes)}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args["email"]).lower()
        user = next((u for u in self._users.values() if u.email and u.email.lower() == email and not u.deleted), None)
        if user is None:
            raise _SlackError("users_not_found")
        return {"ok": True, "user": user.to_api(self.team_id, with_email=True)}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        self._exchange_trigger(args)
        return {"ok": True, "view": self._store_view(args["view"])}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        self._exchange_trigger(args)
        return {"ok": True, "view": self._store_view(args["view"])}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id") or self._view_ids_by_external_id.get(args.get("external_id", ""))
        current = self._views.get(view_id or "")
        if current is None:
            raise _SlackError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        return {"ok": True, "view": self._store_view(args["view"], replacing=current)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        if args["view"].get("type") != "home":
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] views.publish takes home views only"]}
            )
        current = self._views.get(self._home_view_ids.get(args["user_id"], ""))
        if current is not None and args.get("hash") and args["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        view = self._store_view(args["view"], replacing=current)
        self._home_view_ids[args["user_id"]] = view["id"]
        return {"ok": True, "view": view}

    def _exchange_trigger(self, args: dict[str, Any]) -> None:
        trigger = self._triggers.get(args.get("trigger_id") or args.get("interactivity_pointer") or "")
        if trigger is None:
            raise _SlackError("invalid_trigger_id")
        if trigger.exchanged:
            raise _SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued_at > TRIGGER_LIFETIME_SECONDS:
            raise _SlackError("expired_trigger_id")
        trigger.exchanged = True

    def _store_view(self, submitted: dict[str, Any], *, replacing: dict[str, Any] | None = None) -> dict[str, Any]:
        """The view as Slack returns it: Slack's defaults, the submitted fields, and its ids."""
        view_id = replacing["id"] if replacing else self._new_id("V")
        external_id = submitted.get("external_id") or ""
        if external_id and self._view_ids_by_external_id.get(external_id, view_id) != view_id:
            raise _SlackError("duplicate_external_id")
        view = {
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "submit": None,
            "close": None,
            "clear_on_close": False,
            "notify_on_close": False,
            **copy.deepcopy(submitted),
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "root_view_id": replacing["root_view_id"] if replacing else view_id,
            "previous_view_id": replacing.get("previous_view_id") if replacing else None,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }
        self._views[view_id] = view
        if external_id:
            self._view_ids_by_external_id[external_id] = view_id
        return copy.deepcopy(view)

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(args["length"])
        except ValueError:
            raise _SlackError("invalid_arguments") from None
        if length <= 0:
            raise _SlackError("missing_argument")
        file_id = self._new_id("F")
        self._uploads[file_id] = _Upload(filename=str(args["filename"]), title=str(args["filename"]))
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args["files"]
        if not isinstance(files, list) or not all(isinstance(f, dict) and "id" in f for f in files):
            raise _SlackError("invalid_arguments")
        uploads: list[tuple[dict[str, Any], _Upload]] = []
        for requested in files:
            upload = self._uploads.get(requested["id"])
            if upload is None or upload.content is None:  # no such ticket, or the bytes never arrived
                raise _SlackError("file_not_found")
            uploads.append((requested, upload))
        channel_ids = [args["channel_id"]] if args.get("channel_id") else str(args.get("channels", "")).split(",")
        conversations = [self._postable_conversation(channel_id) for channel_id in channel_ids if channel_id]
        shared = []
        for requested, upload in uploads:
            upload.title = requested.get("title") or upload.title
            upload.completed = True
            upload.channels = [conversation.id for conversation in conversations]
            shared.append({"id": requested["id"], "name": upload.filename, "title": upload.title})
        for conversation in conversations:
            message = {**self._bot_message({"text": args.get("initial_comment", "")}), "files": shared, "upload": True}
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            self._store_message(conversation.id, message)
        return {"ok": True, "files": [{"id": item["id"], "title": item["title"]} for item in shared]}

    def _usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        groups = [
            {"id": group_id, "team_id": self.team_id, "is_usergroup": True, "handle": handle, "name": handle.title()}
            for group_id, handle in self._usergroup_handles.items()
        ]
        return {"ok": True, "usergroups": groups}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        users = self._usergroups.get(args["usergroup"])
        if users is None:
            raise _SlackError("no_such_subteam")
        return {"ok": True, "users": list(users)}

    # --- response_url and file upload endpoints -----------------------------------------

    def _response_url_post(self, url: str, body: bytes) -> _Reply:
        with self._cond:
            if url not in self._response_url_uses:
                return _Reply.text(404, "invalid_url")
            if self._response_url_uses[url] >= RESPONSE_URL_MAX_USES:
                return self._reject_response(url, 404, "used_url", body.decode(errors="replace"))
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                return self._reject_response(url, 400, "invalid_payload", body.decode(errors="replace"))
            if not _truthy(payload.get("delete_original")):
                try:
                    _check_message_content(payload)
                except _SlackError as error:
                    return self._reject_response(url, 400, error.error, payload)
            self._response_url_uses[url] += 1
            self._responses.append({**payload, "url": url})
            self._answered_urls.add(url)
            self._cond.notify_all()
        # Slack's classic answer; slack_sdk's WebhookClient (Bolt's respond) does not parse it.
        return _Reply.text(200, "ok")

    def _reject_response(self, url: str, status: int, error: str, payload: Any) -> _Reply:
        self._rejected_responses.append({"url": url, "error": error, "payload": payload})
        self._cond.notify_all()
        return _Reply.text(status, error)

    def _file_upload(self, file_id: str, body: bytes) -> _Reply:
        with self._cond:
            upload = self._uploads.get(file_id)
            if upload is None:
                return _Reply.text(404, "not_found")
            upload.content = body
        return _Reply.text(200, f"OK - {len(body)}")

    def _describe_recent_calls(self) -> str:
        recent = self._calls[-RECENT_CALLS_IN_TIMEOUT_REPORT:]
        if not recent:
            return "  (none)"
        lines = []
        for call in recent:
            outcome = "ok" if call.ok else f"{call.error} (HTTP {call.status})"
            lines.append(f"  {call.method} -> {outcome}; args={_abbreviate(call.args)}")
        return "\n".join(lines)


_METHOD_HANDLERS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": FakeSlack._auth_test,
    "apps.connections.open": FakeSlack._apps_connections_open,
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "chat.update": FakeSlack._chat_update,
    "chat.delete": FakeSlack._chat_delete,
    "chat.getPermalink": FakeSlack._chat_get_permalink,
    "conversations.info": FakeSlack._conversations_info,
    "conversations.join": FakeSlack._conversations_join,
    "conversations.open": FakeSlack._conversations_open,
    "conversations.members": FakeSlack._conversations_members,
    "users.info": FakeSlack._users_info,
    "users.lookupByEmail": FakeSlack._users_lookup_by_email,
    "views.open": FakeSlack._views_open,
    "views.push": FakeSlack._views_push,
    "views.update": FakeSlack._views_update,
    "views.publish": FakeSlack._views_publish,
    "files.getUploadURLExternal": FakeSlack._files_get_upload_url_external,
    "files.completeUploadExternal": FakeSlack._files_complete_upload_external,
    "usergroups.list": FakeSlack._usergroups_list,
    "usergroups.users.list": FakeSlack._usergroups_users_list,
}


# --- checks that need no world state ------------------------------------------------------


def _check_required_args(method: str, spec: dict[str, Any], args: dict[str, Any]) -> None:
    missing = [name for name in spec["args"].get("required", []) if name != "token" and _is_blank(args.get(name))]
    if missing:
        raise _SlackError(
            "invalid_arguments",
            response_metadata={"messages": [f"[ERROR] missing required field: {name}" for name in missing]},
        )
    if method in ONE_OF_REQUIRED_ARGS:
        alternatives, error = ONE_OF_REQUIRED_ARGS[method]
        if all(_is_blank(args.get(name)) for name in alternatives):
            raise _SlackError(
                error,
                response_metadata={"messages": [f"[ERROR] one of {', '.join(alternatives)} is required"]},
            )


def _check_message_content(message: dict[str, Any]) -> None:
    """What Slack checks in a message body (Web API or response_url) before posting it."""
    blocks = message.get("blocks")
    if _is_blank(message.get("text")) and not blocks and not message.get("attachments"):
        raise _SlackError("no_text")
    if len(str(message.get("text") or "")) > blockkit.MAX_MESSAGE_TEXT:
        raise _SlackError("msg_too_long")
    if blocks is None:
        return
    if not isinstance(blocks, list):
        raise _SlackError("invalid_blocks_format")
    problems = blockkit.message_problems(blocks)
    if problems:
        raise _SlackError(
            "invalid_blocks", errors=problems, response_metadata={"messages": [f"[ERROR] {p}" for p in problems]}
        )


def _check_view(view: Any) -> None:
    if blockkit.view_size(view) > blockkit.MAX_VIEW_BYTES:
        raise _SlackError("view_too_large")
    problems = blockkit.view_problems(view)
    if problems:
        raise _SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})


# --- request parsing ----------------------------------------------------------------------


def _parse_args(content_type: str, body: bytes, query: str, *, accepts_json: bool) -> dict[str, Any]:
    """Arguments from the query string and the body (JSON or form-encoded), as Slack reads them."""
    args: dict[str, Any] = _form_fields(query)
    if content_type.startswith("application/json"):
        if accepts_json and body:
            try:
                payload = json.loads(body)
            except ValueError:
                raise _SlackError("invalid_json") from None
            if not isinstance(payload, dict):
                raise _SlackError("invalid_json")
            args.update(payload)
    elif content_type.startswith("application/x-www-form-urlencoded"):
        args.update(_form_fields(body.decode("utf-8")))
    for name in JSON_STRING_ARGS:
        if isinstance(args.get(name), str):
            with contextlib.suppress(ValueError):  # if malformed, left as the string for the checks to report
                args[name] = json.loads(args[name])
    return args


def _form_fields(encoded: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(encoded, keep_blank_values=True).items()}


def _bearer_token(headers: Message) -> str | None:
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token.strip():
        return None
    return token.strip()


def _manifest_bot_scopes(manifest_path: Path) -> list[str]:
    manifest = yaml.safe_load(manifest_path.read_text()) or {}
    return list(((manifest.get("oauth_config") or {}).get("scopes") or {}).get("bot") or [])


def _is_blank(value: Any) -> bool:
    return value in (None, "", [])


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _is_user_id(conversation_id: str) -> bool:
    return conversation_id.startswith(("U", "W"))


def _dm_id(user_id: str) -> str:
    """The bot's DM with a user: one stable ID per user."""
    return f"D{user_id}"


def _abbreviate(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


# --- small types ----------------------------------------------------------------------------


class _SlackError(Exception):
    """Ends a request with Slack's error shape: {"ok": false, "error": ..., **fields}."""

    def __init__(self, error: str, *, status: int = 200, headers: dict[str, str] | None = None, **fields: Any):
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.body: dict[str, Any] = {"ok": False, "error": error, **fields}


@dataclass
class _Conversation:
    id: str
    name: str
    kind: str  # "public", "private" or "im"
    is_archived: bool = False
    bot_is_member: bool = True
    members: list[str] = field(default_factory=list)
    is_ext_shared: bool = False
    connected_team_ids: list[str] = field(default_factory=list)
    dm_user: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def scope_family(self) -> str:
        return {"public": "channels", "private": "groups", "im": "im"}[self.kind]

    @property
    def visible_to_bot(self) -> bool:
        return self.kind == "public" or self.bot_is_member

    def to_api(self, team_id: str) -> dict[str, Any]:
        if self.kind == "im":
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.dm_user,
                "is_open": True,
            }
        # Private channels made before March 2021 have G ids and is_group; apps should use is_private.
        is_group = self.id.startswith("G")
        channel: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "created": self.created,
            "is_channel": not is_group,
            "is_group": is_group,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.kind == "private",
            "is_archived": self.is_archived,
            "is_general": False,
            "is_member": self.bot_is_member,
            "is_shared": self.is_ext_shared,
            "is_ext_shared": self.is_ext_shared,
            "is_org_shared": False,
            "context_team_id": team_id,
            "shared_team_ids": [team_id],
        }
        if self.is_ext_shared:
            channel["connected_team_ids"] = list(self.connected_team_ids)
        return channel


@dataclass
class _User:
    id: str
    name: str
    email: str | None
    tz: str
    deleted: bool

    def to_api(self, team_id: str, *, with_email: bool) -> dict[str, Any]:
        """Slack leaves profile.email out unless the token has users:read.email."""
        now = datetime.now(ZoneInfo(self.tz))
        offset = now.utcoffset()
        profile: dict[str, Any] = {"real_name": self.name, "display_name": self.name}
        if with_email and self.email:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.name,
            "deleted": self.deleted,
            "is_bot": False,
            "tz": self.tz,
            "tz_label": now.tzname(),
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "profile": profile,
        }


@dataclass
class _Trigger:
    issued_at: float  # time.monotonic()
    exchanged: bool = False


@dataclass
class _Upload:
    filename: str
    title: str
    content: bytes | None = None  # set when the app POSTs the bytes to the upload URL
    completed: bool = False
    channels: list[str] = field(default_factory=list)


@dataclass
class _Fault:
    status: int
    retry_after: int
    error: str
    remaining: int


class _SlidingWindow:
    """At most `capacity` calls per key within `window` seconds: `per_second` calls a second,
    over at least one second (0.5 per second is one call every two seconds).
    Not locked itself: the fake calls it under its own lock."""

    def __init__(self, per_second: float) -> None:
        self.capacity = max(1, int(per_second))
        self.window = self.capacity / per_second
        self._accepted: dict[str, deque[float]] = defaultdict(deque)

    def seconds_until_allowed(self, key: str, now: float) -> float:
        accepted = self._accepted[key]
        while accepted and now - accepted[0] >= self.window:
            accepted.popleft()
        return accepted[0] + self.window - now if len(accepted) >= self.capacity else 0.0

    def record(self, key: str, now: float) -> None:
        self._accepted[key].append(now)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> _Reply:
        return cls(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers or {})

    @classmethod
    def text(cls, status: int, text: str) -> _Reply:
        return cls(status, text.encode(), "text/plain; charset=utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung request must not keep the test run alive
    # socketserver's default backlog of 5 drops connections under concurrent load, and the
    # client's TCP retry then adds a whole second: that would distort fan-out timings.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-call (the crash tests) leaves a broken pipe: not the fake's error."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.server.fake._route(self.path, self.headers, body)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: every request is recorded (FakeSlack.calls) instead of logged."""
