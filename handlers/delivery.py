"""Sending triggered messages exactly once, through the idempotency ledger."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.services import outbox
from bot.services.outbox import OutgoingRequest
from storage.models import DeliveryStatus, OutgoingMessage
from storage.session import unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    status: DeliveryStatus
    message_ts: str | None = None
    error: str | None = None


def chat_message(
    idempotency_key: str, channel: str, text: str, blocks: list | None = None, **extra: Any
) -> OutgoingRequest:
    """A chat.postMessage for the ledger; `channel` may be a user ID, which Slack delivers as a DM."""
    payload: dict[str, Any] = {"channel": channel, "text": text, **extra}
    if blocks is not None:
        payload["blocks"] = blocks
    return OutgoingRequest(idempotency_key, "chat.postMessage", channel, payload)


def send_once(ctx: AppContext, request: OutgoingRequest, *, now: datetime) -> Delivery | None:
    """Send unless this key was already claimed; None means someone else owns the message."""
    with unit_of_work(ctx.session_factory) as session:
        row = outbox.claim(session, request, now=now)
        if row is None:
            return None
        claimed = ClaimedMessage(row.id, request)
    return deliver(ctx, claimed, now=now)


@dataclass(frozen=True)
class ClaimedMessage:
    """A ledger row claimed inside a caller's transaction, to deliver once that commits.

    Claiming together with the state change that calls for the message (a period opened,
    a reminder taken) means a crash between the two can neither lose nor double it.
    """

    row_id: int
    request: OutgoingRequest


def claim(session: Session, request: OutgoingRequest, *, now: datetime) -> ClaimedMessage | None:
    row = outbox.claim(session, request, now=now)
    return ClaimedMessage(row.id, request) if row is not None else None


def deliver(ctx: AppContext, claimed: ClaimedMessage, *, now: datetime) -> Delivery:
    return _attempt(ctx, claimed.row_id, claimed.request.method, claimed.request.payload, now=now)


def post_or_update(ctx: AppContext, request: OutgoingRequest, *, now: datetime) -> None:
    """Post a message once under its key, or bring the already-posted one up to date.

    For alerts and prompts that change after they are posted (acknowledged, amended): an
    update is harmless to repeat, so it goes straight to chat.update. A message not yet
    delivered gets the new content in the ledger, so its retry sends the latest version.
    """
    with unit_of_work(ctx.session_factory) as session:
        row = outbox.find(session, request.idempotency_key)
        if row is not None and row.status is not DeliveryStatus.SENT:
            row.payload = request.payload
            return
        posted = (row.channel_id, row.message_ts) if row is not None and row.message_ts else None
    if posted is None:
        send_once(ctx, request, now=now)
        return
    channel_id, ts = posted
    try:
        ctx.client.chat_update(channel=channel_id, ts=ts, **_update_fields(request.payload))
    except SlackApiError as exc:
        log.warning(
            "could not update %s (%s %s): %s", request.idempotency_key, channel_id, ts, exc.response.get("error")
        )


def _update_fields(payload: dict) -> dict:
    # chat.update takes the content fields of chat.postMessage, but not threading ones.
    return {name: value for name, value in payload.items() if name in ("text", "blocks", "attachments")}


FANOUT_WORKERS = 8
Item = TypeVar("Item")


def fan_out(ctx: AppContext, items: Sequence[Item], send: Callable[[Item], None]) -> None:
    """Send one message (or a few) per item in parallel; the client paces them under Slack's rate limit.

    For bursts such as Monday's prompts or an incident's impact notices. `send` must
    claim its messages in the ledger, so running a fan-out twice sends nothing twice;
    one item's failure is logged and does not stop the others.
    """
    if not items:
        return

    def send_logged(item: Item) -> None:
        try:
            send(item)
        except Exception:
            log.exception("fan-out send failed for %r", item)

    with ThreadPoolExecutor(max_workers=FANOUT_WORKERS, thread_name_prefix="fan-out") as pool:
        list(pool.map(send_logged, items))


def retry_failed_messages(ctx: AppContext, now: datetime) -> None:
    """Scheduled work: re-send the messages whose earlier attempt failed for a passing reason,
    and the ones whose sender died between claiming and recording Slack's answer."""
    with unit_of_work(ctx.session_factory) as session:
        due = outbox.claim_due_retries(session, now=now)
    for row in due:
        if row.abandoned:
            log.warning(
                "taking over %s: claimed but never confirmed (its sender stopped); sending it now", row.idempotency_key
            )
        _attempt(ctx, row.row_id, row.method, row.payload, now=now)


def _attempt(ctx: AppContext, row_id: int, method: str, payload: dict, *, now: datetime) -> Delivery:
    message_ts: str | None = None
    channel_id: str | None = None
    error: str | None = None
    try:
        # The ledger carries methods that take JSON bodies (chat.*, files.completeUploadExternal).
        response = ctx.client.api_call(method, json=payload)
        message_ts = response.get("ts")
        channel_id = response.get("channel")
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
    except (SlackClientError, OSError) as exc:
        # The connection retry handler already tried again; the ledger tries again later.
        error = f"connection: {type(exc).__name__}"
    with unit_of_work(ctx.session_factory) as session:
        row = session.get_one(OutgoingMessage, row_id)
        if error is None:
            outbox.record_sent(row, message_ts=message_ts, channel_id=channel_id, now=now)
        else:
            outbox.record_failure(row, error, now=now)
            log.warning(
                "slack %s failed for %s in %s: %s (attempt %d, now %s)",
                method,
                row.idempotency_key,
                row.channel_id,
                error,
                row.attempts,
                row.status.value,
            )
        ctx.metrics.record_delivery(row.idempotency_key, sent=error is None, attempts=row.attempts)
        return Delivery(row.status, message_ts, error)
