"""Recording that a scheduled job's work for a period is done when it ended without a message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.inserts import insert_unless_taken
from storage.models import JobRun


def is_done(session: Session, run_key: str) -> bool:
    return session.scalar(select(JobRun.id).where(JobRun.run_key == run_key)) is not None


def mark_done(session: Session, run_key: str, *, now: datetime) -> None:
    """A second instance marking the same key is not an error, and undoes nothing of the caller's."""
    insert_unless_taken(session, JobRun, {"run_key": run_key, "completed_at": now}, ["run_key"])
