"""Sending triggered messages exactly once, through the idempotency ledger."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.errors import SlackApiError, SlackClientError

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


def send_once(ctx: AppContext, request: OutgoingRequest, *, now: datetime) -> Delivery | None:
    """Send unless this key was already claimed; None means someone else owns the message."""
    with unit_of_work(ctx.session_factory) as session:
        row = outbox.claim(session, request, now=now)
        if row is None:
            return None
        row_id = row.id
    return _attempt(ctx, row_id, request.method, request.payload, now=now)


def retry_failed_messages(ctx: AppContext, now: datetime) -> None:
    """Scheduled work: re-send the messages whose earlier attempt failed for a passing reason."""
    with unit_of_work(ctx.session_factory) as session:
        due = [(row.id, row.method, row.payload) for row in outbox.claim_due_retries(session, now=now)]
    for row_id, method, payload in due:
        _attempt(ctx, row_id, method, payload, now=now)


def _attempt(ctx: AppContext, row_id: int, method: str, payload: dict, *, now: datetime) -> Delivery:
    message_ts: str | None = None
    error: str | None = None
    try:
        # The ledger carries chat.* messages, which Slack accepts as JSON bodies.
        response = ctx.client.api_call(method, json=payload)
        message_ts = response.get("ts")
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
    except (SlackClientError, OSError) as exc:
        # The connection retry handler already tried again; the ledger tries again later.
        error = f"connection: {type(exc).__name__}"
    with unit_of_work(ctx.session_factory) as session:
        row = session.get_one(OutgoingMessage, row_id)
        if error is None:
            outbox.record_sent(row, message_ts=message_ts, now=now)
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
        return Delivery(row.status, message_ts, error)
