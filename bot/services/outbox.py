"""The idempotency ledger for messages that schedules and events trigger.

A message is claimed under its idempotency key before it is sent: whoever inserts the row
first sends; everyone else (a retried event, a second instance, a re-run tick) sees the row
and stays quiet. A claim is a lease: a pending row's `next_attempt_at` is when its claim
expires. A process that dies between claiming and recording Slack's answer leaves its rows
pending; once the lease has run out, the retry job takes them over and sends them. Failures
that may pass are retried later with backoff from the stored payload; failures that will
not pass stop there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from storage.inserts import insert_unless_taken
from storage.models import DeliveryStatus, OutgoingMessage

MAX_ATTEMPTS = 6
FIRST_RETRY_DELAY = timedelta(minutes=1)
# How long a claim stays its owner's: far longer than the few seconds between claiming and
# Slack's answer, even under rate limits, so only a dead owner's rows are taken over.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class OutgoingRequest:
    idempotency_key: str
    method: str
    channel_id: str
    payload: dict[str, Any]


def claim(
    session: Session, request: OutgoingRequest, *, now: datetime, take_over: bool = False
) -> OutgoingMessage | None:
    """The ledger row, now this caller's to send; None when someone else owns the message.

    Commit before sending: the unique key is the lock, and it only protects once other
    instances can see it. A lost race changes nothing else in the caller's transaction.
    With `take_over`, an expired claim (its owner died before Slack's answer was recorded)
    becomes the caller's, with the caller's payload, the present rendering: for safety nets
    that re-derive what is owed. Without it, the retry job sends such a row as it was stored.
    """
    row_id = insert_unless_taken(
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
            "next_attempt_at": now + LEASE,
        },
        ["idempotency_key"],
    )
    if row_id is None:
        existing = find(session, request.idempotency_key)
        if not take_over or existing is None or not _take_stale(session, existing.id, now=now, payload=request.payload):
            return None
        row_id = existing.id
    return session.get_one(OutgoingMessage, row_id, populate_existing=True)


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


def keys_in_hand(session: Session, idempotency_keys: list[str], *, now: datetime, batch: int = 500) -> set[str]:
    """Which of these keys need nothing from a safety net: sent, given up, waiting for their
    retry, or claimed by a live owner. A claim whose lease expired is not in hand."""
    found: set[str] = set()
    for start in range(0, len(idempotency_keys), batch):
        chunk = idempotency_keys[start : start + batch]
        found.update(
            session.scalars(
                select(OutgoingMessage.idempotency_key).where(
                    OutgoingMessage.idempotency_key.in_(chunk), ~_stale_claim(now)
                )
            )
        )
    return found


def sent_message(session: Session, idempotency_key: str) -> tuple[str, str] | None:
    """(channel, ts) of a message the ledger sent, for threading replies and updating it."""
    row = find(session, idempotency_key)
    if row is None or row.status is not DeliveryStatus.SENT or row.message_ts is None:
        return None
    return row.channel_id, row.message_ts


def lock_for_recording(session: Session, row_id: int) -> OutgoingMessage:
    """The row, locked against a concurrent `replace_unsent_payload` until the caller commits,
    with one more attempt counted.

    The UPDATE comes first so that it takes the lock (a row lock on PostgreSQL, the write lock
    on SQLite) before the row is read: the payload read is then the latest one committed.
    """
    session.execute(
        update(OutgoingMessage).where(OutgoingMessage.id == row_id).values(attempts=OutgoingMessage.attempts + 1)
    )
    return session.get_one(OutgoingMessage, row_id, populate_existing=True)


def lock_by_key(session: Session, idempotency_key: str) -> OutgoingMessage | None:
    """The row under this key, locked until the caller commits (as `lock_for_recording`), or None.

    Rendering a message after taking this lock means the last payload written was rendered
    from the latest committed state: renderers that race are ordered by the lock.
    """
    session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.idempotency_key == idempotency_key)
        .values(attempts=OutgoingMessage.attempts)
    )
    return session.scalar(
        select(OutgoingMessage)
        .where(OutgoingMessage.idempotency_key == idempotency_key)
        .execution_options(populate_existing=True)
    )


def record_sent(row: OutgoingMessage, *, message_ts: str | None, now: datetime, channel_id: str | None = None) -> None:
    """`channel_id` is where Slack says it posted: a DM sent to a user ID lands in a D... channel,
    and that is the channel chat.update and thread replies need."""
    row.status = DeliveryStatus.SENT
    if channel_id:
        row.channel_id = channel_id
    row.message_ts = message_ts
    row.sent_at = now
    row.last_error = None
    row.next_attempt_at = None


def record_failure(row: OutgoingMessage, error: str, *, permanent: bool, now: datetime) -> None:
    """After `lock_for_recording`: `permanent` when retrying cannot help (the caller knows Slack's errors)."""
    row.last_error = error[:200]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = DeliveryStatus.UNDELIVERABLE
        row.next_attempt_at = None
    else:
        row.status = DeliveryStatus.FAILED
        row.next_attempt_at = now + FIRST_RETRY_DELAY * (2 ** (row.attempts - 1))


def replace_unsent_payload(session: Session, idempotency_key: str, payload: dict[str, Any]) -> bool:
    """Give a message not sent yet its latest content; False when it was sent (or never claimed).

    A send in flight records its answer through `lock_for_recording`, sees the new payload and
    brings the posted message up to date; a send recorded first makes this return False.
    """
    result = session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.idempotency_key == idempotency_key, OutgoingMessage.status != DeliveryStatus.SENT)
        .values(payload=payload)
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class TakenMessage:
    row_id: int
    idempotency_key: str
    method: str
    payload: dict[str, Any]
    stale_claim: bool  # a pending claim whose owner never recorded Slack's answer
    claimed_at: datetime


def take_due(session: Session, *, now: datetime, limit: int = 100) -> list[TakenMessage]:
    """Failed messages whose retry time has come, and expired claims, each taken by exactly one worker.

    The conditional UPDATE is the lock: it succeeds for one instance only, on SQLite and
    PostgreSQL alike. Commit before sending, as with `claim`.
    """
    due = session.execute(
        select(OutgoingMessage.id, OutgoingMessage.status)
        .where(or_(_stale_claim(now), _retry_due(now)))
        .order_by(OutgoingMessage.next_attempt_at)
        .limit(limit)
    ).all()
    taken = [(row_id, status) for row_id, status in due if _take(session, row_id, now=now)]
    if not taken:
        return []
    taken_ids = [row_id for row_id, _ in taken]
    rows = {row.id: row for row in session.scalars(select(OutgoingMessage).where(OutgoingMessage.id.in_(taken_ids)))}
    return [
        TakenMessage(
            row_id,
            rows[row_id].idempotency_key,
            rows[row_id].method,
            rows[row_id].payload,
            stale_claim=status is DeliveryStatus.PENDING,
            claimed_at=rows[row_id].created_at,
        )
        for row_id, status in taken
    ]


def _stale_claim(now: datetime):  # type: ignore[no-untyped-def]
    # Rows claimed before leases existed have no expiry; their creation time stands in.
    return and_(
        OutgoingMessage.status == DeliveryStatus.PENDING,
        or_(
            OutgoingMessage.next_attempt_at <= now,
            and_(OutgoingMessage.next_attempt_at.is_(None), OutgoingMessage.created_at <= now - LEASE),
        ),
    )


def _retry_due(now: datetime):  # type: ignore[no-untyped-def]
    return and_(OutgoingMessage.status == DeliveryStatus.FAILED, OutgoingMessage.next_attempt_at <= now)


def _take(session: Session, row_id: int, *, now: datetime) -> bool:
    """Make a stale claim or a due retry this caller's, with a fresh lease; False if someone else did."""
    result = session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.id == row_id, or_(_stale_claim(now), _retry_due(now)))
        .values(status=DeliveryStatus.PENDING, next_attempt_at=now + LEASE)
    )
    return result.rowcount == 1


def _take_stale(session: Session, row_id: int, *, now: datetime, payload: dict[str, Any]) -> bool:
    result = session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.id == row_id, _stale_claim(now))
        .values(payload=payload, next_attempt_at=now + LEASE)
    )
    return result.rowcount == 1
