"""The demo's Slack workspace: the fake Web API plus what a Slack client would show.

`DemoSlack` is the test suite's `FakeSlack` (same checks: scopes from the manifest, Block
Kit limits, membership) with what a person sees in Slack added on top: ephemeral messages,
replies through response_url applied to the conversation they came from, each person's
open modals, and message timestamps from the simulated clock. `DemoRequests` is the
test suite's `SignedRequests`, telling the workspace where each interaction came from so
replies land in the right place.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from .fake_slack import FakeSlack, _dm_id, _Reply, _truthy
from .signed import SignedRequests


class SimulatedClock:
    """The demo's "now": the bot's interactive clock and the instant scheduled work runs for."""

    def __init__(self, at: datetime) -> None:
        self._at = at
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._at

    def advance_to(self, at: datetime) -> datetime:
        with self._lock:
            self._at = max(self._at, at)  # time never runs backwards in the demo
            return self._at

    def advance_by(self, delta: timedelta) -> datetime:
        with self._lock:
            self._at += delta
            return self._at


@dataclass(frozen=True)
class Origin:
    """Where an interaction happened, so a reply through its response_url lands there."""

    user_id: str
    channel_id: str | None
    message_ts: str | None = None
    ephemeral: bool = False


class DemoSlack(FakeSlack):
    def __init__(self, manifest_path: Path, clock: Callable[[], datetime], **kwargs: Any) -> None:
        self.clock = clock
        super().__init__(manifest_path, **kwargs)

    def _reset_state(self) -> None:
        super()._reset_state()
        self._ephemerals: list[dict[str, Any]] = []  # each with "channel" and "for_user"
        self._origins: dict[str, Origin] = {}  # by response_url
        self._trigger_users: dict[str, str] = {}
        self._modals: dict[str, list[str]] = {}  # user -> view ids, the top one last
        self._modal_errors: dict[str, dict[str, str]] = {}  # view id -> block id -> message
        self.version = 0

    # --- what the browser asks -----------------------------------------------------------

    def conversation_view(self, channel_id: str, user_id: str) -> list[dict[str, Any]]:
        """The messages this person sees in a conversation: stored ones and their own ephemerals."""
        with self._cond:
            stored = copy.deepcopy(self._messages.get(channel_id, []))
            mine = [
                copy.deepcopy(m) for m in self._ephemerals if m["channel"] == channel_id and m["for_user"] == user_id
            ]
        return sorted(stored + mine, key=lambda message: float(message["ts"]))

    def open_modal(self, user_id: str) -> dict[str, Any] | None:
        with self._cond:
            stack = self._modals.get(user_id) or []
            if not stack:
                return None
            view = copy.deepcopy(self._views[stack[-1]])
            view["errors"] = dict(self._modal_errors.get(view["id"], {}))
            view["stack_depth"] = len(stack)
            return view

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        return self.home_views.get(user_id)

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._cond:
            view = self._views.get(view_id)
            return copy.deepcopy(view) if view else None

    def file_content(self, file_id: str) -> tuple[str, bytes] | None:
        with self._cond:
            upload = self._uploads.get(file_id)
            if upload is None or upload.content is None:
                return None
            return upload.filename, upload.content

    def message(self, channel_id: str, ts: str, user_id: str) -> dict[str, Any] | None:
        return next((m for m in self.conversation_view(channel_id, user_id) if m["ts"] == ts), None)

    def dm_id(self, user_id: str) -> str:
        return _dm_id(user_id)

    # --- what the browser does to modals -------------------------------------------------

    def close_modal(self, user_id: str, *, all_views: bool = False) -> None:
        with self._cond:
            stack = self._modals.get(user_id) or []
            if all_views:
                stack.clear()
            elif stack:
                stack.pop()
            self._changed()

    def show_modal_errors(self, view_id: str, errors: dict[str, str]) -> None:
        with self._cond:
            self._modal_errors[view_id] = dict(errors)
            self._changed()

    def replace_modal(self, user_id: str, view_id: str, view: dict[str, Any]) -> None:
        """response_action "update": the submitted view becomes `view`, as Slack does."""
        with self._cond:
            self._store_view(view, replacing=self._views[view_id])
            self._modal_errors.pop(view_id, None)
            self._changed()

    def push_modal(self, user_id: str, view: dict[str, Any]) -> None:
        with self._cond:
            stored = self._store_view(view)
            self._modals.setdefault(user_id, []).append(stored["id"])
            self._changed()

    # --- bookkeeping hooks ---------------------------------------------------------------

    def register_origin(self, response_url: str | None, trigger_id: str | None, origin: Origin) -> None:
        with self._cond:
            if response_url:
                self._origins[response_url] = origin
            if trigger_id:
                self._trigger_users[trigger_id] = origin.user_id

    def mark_changed(self) -> None:
        """Tell the page to redraw: something it shows (the clock) moved without a Web API call."""
        with self._cond:
            self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._cond.notify_all()

    def _next_ts(self) -> str:
        """Timestamps from the simulated clock, so messages read as sent at the demo's "now"."""
        self._last_ts_micros = max(int(self.clock().timestamp() * 1_000_000), self._last_ts_micros + 1)
        seconds, micros = divmod(self._last_ts_micros, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _answer(self, method: str, spec: dict[str, Any] | None, args: dict[str, Any], token: str | None) -> dict:
        response = super()._answer(method, spec, args, token)
        if method == "chat.postEphemeral":
            channel_id = self._postable_conversation(args["channel"]).id
            message = {**self._bot_message(args), "ts": response["message_ts"], "ephemeral": True}
            self._ephemerals.append({**message, "channel": channel_id, "for_user": args["user"]})
        elif method == "views.open":
            user_id = self._trigger_users.get(args.get("trigger_id") or "")
            if user_id:
                self._modals[user_id] = [response["view"]["id"]]
        elif method == "views.push":
            user_id = self._trigger_users.get(args.get("trigger_id") or "")
            if user_id:
                self._modals.setdefault(user_id, []).append(response["view"]["id"])
        elif method == "views.update":
            self._modal_errors.pop(response["view"]["id"], None)
        self._changed()
        return response

    def _response_url_post(self, url: str, body: bytes) -> _Reply:
        reply = super()._response_url_post(url, body)
        if reply.status == 200:
            with self._cond:
                payload = next(r for r in reversed(self._responses) if r["url"] == url)
                self._apply_response(url, payload)
                self._changed()
        return reply

    def _apply_response(self, url: str, payload: dict[str, Any]) -> None:
        """What Slack shows for a response_url post: a replaced, deleted or new message."""
        origin = self._origins.get(url)
        if origin is None or origin.channel_id is None:
            return
        content = {name: payload[name] for name in ("text", "blocks", "attachments") if name in payload}
        if _truthy(payload.get("delete_original")) or _truthy(payload.get("replace_original")):
            pool = self._ephemerals if origin.ephemeral else self._messages.get(origin.channel_id, [])
            original = next((m for m in pool if m["ts"] == origin.message_ts), None)
            if original is None:
                return
            if _truthy(payload.get("delete_original")):
                pool.remove(original)
            else:
                original.pop("blocks", None)
                original.update(copy.deepcopy(content))
            return
        message = self._bot_message(content)
        if payload.get("thread_ts"):
            message["thread_ts"] = payload["thread_ts"]
        if payload.get("response_type") == "in_channel":
            self._store_message(origin.channel_id, message)
        else:
            ephemeral = {**message, "ts": self._next_ts(), "ephemeral": True}
            self._ephemerals.append({**ephemeral, "channel": origin.channel_id, "for_user": origin.user_id})


class DemoRequests(SignedRequests):
    """Slack's requests to the bot, each telling the workspace where it came from."""

    fake: DemoSlack

    def _post_form(self, fields: dict[str, str], *, signature: str | None, timestamp: int | None) -> httpx.Response:
        if "payload" in fields:
            payload = json.loads(fields["payload"])
            container = payload.get("container") or {}
            origin = Origin(
                user_id=payload["user"]["id"],
                channel_id=container.get("channel_id") or (payload.get("channel") or {}).get("id"),
                message_ts=container.get("message_ts"),
                ephemeral=bool(container.get("is_ephemeral")),
            )
            self.fake.register_origin(payload.get("response_url"), payload.get("trigger_id"), origin)
        else:
            origin = Origin(user_id=fields["user_id"], channel_id=fields["channel_id"])
            self.fake.register_origin(fields.get("response_url"), fields.get("trigger_id"), origin)
        return super()._post_form(fields, signature=signature, timestamp=timestamp)
