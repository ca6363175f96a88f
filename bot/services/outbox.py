"""The idempotency ledger for messages that schedules and events trigger.

A message is claimed under its idempotency key in a committed transaction before it is
sent. Whoever inserts the row first sends; everyone else (a retried event, a second
instance, a re-run tick) sees the row and stays quiet. Failures that may pass are retried
later with backoff from the stored payload; failures that will not pass stop there.

A claim is a lease: a pending row's `next_attempt_at` is when its claim runs out. A sender
records Slack's answer as soon as it comes; if its process died first (SIGKILL, a crash,
a redeploy mid fan-out) the row stays pending, and once the lease has run out the retry
job takes it over and sends it. So nothing claimed is ever lost; a message Slack accepted
just before the sender died, with no time to record it, may be sent a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.insert_once import insert_once
from storage.models import DeliveryStatus, OutgoingMessage

MAX_ATTEMPTS = 6
FIRST_RETRY_DELAY = timedelta(minutes=1)
# Far longer than one send takes, even paced behind a whole Monday fan-out's queue (the
# slowest sender of a 2,000-prompt fan-out waits about 45 s), so a live sender's claim is
# never taken over; short enough that a crash costs a few minutes' delay, not a message.
CLAIM_LEASE = timedelta(minutes=10)

# Slack errors that retrying will not fix; the caller decides what else to do (e.g. mark
# a channel link broken and tell the PMO).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "user_not_found",
        "account_inactive",
        "cannot_dm_bot",
        "message_not_found",
        "cant_update_message",
        "missing_scope",
        "not_authed",
        "invalid_auth",
        "token_revoked",
        "restricted_action",
    }
)


@dataclass(frozen=True)
class OutgoingRequest:
    idempotency_key: str
    method: str
    channel_id: str
    payload: dict[str, Any]


def claim(session: Session, request: OutgoingRequest, *, now: datetime) -> OutgoingMessage | None:
    """Insert the ledger row; None when the key is already taken (someone else sends it).

    Commit before sending: the unique key is the lock, and it only protects once other
    instances can see it. Losing the race leaves the rest of the caller's transaction as
    it was, so a claim can sit beside the state change that calls for the message.
    """
    if find(session, request.idempotency_key) is not None:
        return None
    row_id = insert_once(
        session,
        OutgoingMessage,
        {
            "idempotency_key": request.idempotency_key,
            "method": request.method,
            "channel_id": request.channel_id,
            "payload": request.payload,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now + CLAIM_LEASE,
        },
        unique=("idempotency_key",),
    )
    return session.get(OutgoingMessage, row_id) if row_id is not None else None


def find(session: Session, idempotency_key: str) -> OutgoingMessage | None:
    return session.scalar(select(OutgoingMessage).where(OutgoingMessage.idempotency_key == idempotency_key))


def claimed_keys(session: Session, idempotency_keys: list[str], *, batch: int = 500) -> set[str]:
    """Which of these keys the ledger already holds, asked in batches of bound parameters."""
    found: set[str] = set()
    for start in range(0, len(idempotency_keys), batch):
        chunk = idempotency_keys[start : start + batch]
        found.update(
            session.scalars(select(OutgoingMessage.idempotency_key).where(OutgoingMessage.idempotency_key.in_(chunk)))
        )
    return found


def sent_message(session: Session, idempotency_key: str) -> tuple[str, str] | None:
    """(channel, ts) of a message the ledger sent, for threading replies and updating it."""
    row = find(session, idempotency_key)
    if row is None or row.status is not DeliveryStatus.SENT or row.message_ts is None:
        return None
    return row.channel_id, row.message_ts


def record_sent(row: OutgoingMessage, *, message_ts: str | None, now: datetime, channel_id: str | None = None) -> None:
    """`channel_id` is where Slack says it posted: a DM sent to a user ID lands in a D... channel,
    and that is the channel chat.update and thread replies need."""
    row.status = DeliveryStatus.SENT
    if channel_id:
        row.channel_id = channel_id
    row.attempts += 1
    row.message_ts = message_ts
    row.sent_at = now
    row.last_error = None
    row.next_attempt_at = None


def record_failure(row: OutgoingMessage, error: str, *, now: datetime) -> None:
    row.attempts += 1
    row.last_error = error[:200]
    if error in PERMANENT_ERRORS or row.attempts >= MAX_ATTEMPTS:
        row.status = DeliveryStatus.UNDELIVERABLE
        row.next_attempt_at = None
    else:
        row.status = DeliveryStatus.FAILED
        row.next_attempt_at = now + FIRST_RETRY_DELAY * (2 ** (row.attempts - 1))


@dataclass(frozen=True)
class TakenRow:
    """A ledger row this worker now holds the lease on, to send from its stored payload."""

    row_id: int
    idempotency_key: str
    method: str
    payload: dict[str, Any]
    # True when an earlier sender's claim ran out unconfirmed (it crashed mid-send).
    abandoned: bool


def claim_due_retries(session: Session, *, now: datetime, limit: int = 100) -> list[TakenRow]:
    """Failed messages whose retry time has come, and pending ones whose claim ran out
    (their sender died before recording Slack's answer), each taken by exactly one worker.

    The conditional UPDATE is the lock: it matches the row's status and due time as read,
    so it succeeds for one instance only, on SQLite and PostgreSQL alike; the winner holds
    a fresh lease. Commit before sending, as with `claim`.
    """
    due = session.execute(
        select(OutgoingMessage.id, OutgoingMessage.status, OutgoingMessage.next_attempt_at)
        .where(
            or_(OutgoingMessage.status == DeliveryStatus.FAILED, OutgoingMessage.status == DeliveryStatus.PENDING),
            OutgoingMessage.next_attempt_at <= now,
        )
        .order_by(OutgoingMessage.next_attempt_at)
        .limit(limit)
    ).all()
    taken: list[TakenRow] = []
    for row_id, status, due_at in due:
        result = session.execute(
            update(OutgoingMessage)
            .where(
                OutgoingMessage.id == row_id,
                OutgoingMessage.status == status,
                OutgoingMessage.next_attempt_at == due_at,
            )
            .values(status=DeliveryStatus.PENDING, next_attempt_at=now + CLAIM_LEASE)
            .returning(OutgoingMessage.idempotency_key, OutgoingMessage.method, OutgoingMessage.payload)
        )
        won = result.one_or_none()
        if won is not None:
            taken.append(
                TakenRow(row_id, won.idempotency_key, won.method, won.payload, status is DeliveryStatus.PENDING)
            )
    return taken
