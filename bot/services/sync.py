"""Portfolio sync bookkeeping: when the daily sync is due, and failure streaks the PMO hears about once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.inserts import insert_unless_taken
from storage.models import SyncState


def state_for(session: Session, source_url: str) -> SyncState:
    state = session.scalar(select(SyncState).where(SyncState.source_url == source_url))
    if state is None:
        # Another instance may create it at the same moment; either insert will do.
        insert_unless_taken(session, SyncState, {"source_url": source_url}, ["source_url"])
        state = session.scalars(select(SyncState).where(SyncState.source_url == source_url)).one()
    return state


def take_daily_run(session: Session, source_url: str, *, due_at: datetime, now: datetime) -> bool:
    """True for exactly one caller once today's sync instant has passed (the UPDATE is the lock)."""
    if now < due_at:
        return False
    state_for(session, source_url)
    result = session.execute(
        update(SyncState)
        .where(
            SyncState.source_url == source_url,
            or_(SyncState.last_attempt_at.is_(None), SyncState.last_attempt_at < due_at),
        )
        .values(last_attempt_at=now)
    )
    return result.rowcount == 1


def record_success(state: SyncState, *, etag: str | None, now: datetime) -> datetime | None:
    """Store the new ETag; returns when the failure streak this ends began, if one did."""
    ended_streak = state.failing_since
    state.etag = etag
    state.last_success_at = now
    state.failing_since = None
    state.last_error = None
    return ended_streak


def record_failure(state: SyncState, error: str, *, now: datetime) -> bool:
    """True when this failure starts a streak, so the PMO is alerted once per streak."""
    state.last_error = error
    if state.failing_since is None:
        state.failing_since = now
        return True
    return False
