"""Scheduled work. `run_due_work` is the one entry point: `pmo-bot tick` and the in-process
scheduler both call it with the instant to act for."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import text

from bot.context import AppContext
from handlers.bank_holidays import sync_bank_holiday_skip_dates
from handlers.checkins import record_missed_checkins, send_checkin_prompts, send_checkin_reminders
from handlers.delivery import retry_failed_messages
from handlers.digest import send_governance_pack, send_weekly_digest
from handlers.escalations import publish_unposted_alerts
from handlers.incidents import send_pending_incident_messages
from handlers.milestones import send_slip_notices
from handlers.nudges import send_nudges
from handlers.overlaps import post_overlap_note
from handlers.retention import apply_retention_monthly
from handlers.status import refresh_status_summary
from handlers.sync import sync_portfolio_daily
from storage import audit

log = logging.getLogger(__name__)

Job = Callable[[AppContext, datetime], None]

# Each job decides for itself what is due at `now` and must be safe to run again for the
# same instant (the outgoing-message ledger makes repeated sends no-ops).
JOBS: tuple[Job, ...] = (
    sync_bank_holiday_skip_dates,
    send_checkin_prompts,
    send_checkin_reminders,
    record_missed_checkins,
    send_nudges,
    publish_unposted_alerts,
    send_pending_incident_messages,
    send_slip_notices,
    sync_portfolio_daily,
    post_overlap_note,
    send_weekly_digest,
    send_governance_pack,
    retry_failed_messages,
    apply_retention_monthly,
    refresh_status_summary,
)


# pg_try_advisory_lock's key for "a tick is running": any number, the same in every instance.
TICK_LOCK_KEY = 7_246_501


def run_due_work(ctx: AppContext, now: datetime) -> None:
    """Run every job due at `now`, in one instance at a time.

    On PostgreSQL a session-level advisory lock, held on a connection of its own for the whole
    tick, makes the other instances skip this run; a crashed instance's lock goes with its
    connection. SQLite serves one instance (one file, one host), where the in-process
    scheduler never overlaps its ticks, so there is no lock to take; the ledger stays the
    second line of defence either way.
    """
    with ctx.session_factory() as session:
        engine = session.get_bind()
    if engine.dialect.name != "postgresql":
        _run_jobs(ctx, now)
        return
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": TICK_LOCK_KEY}):
            log.debug("another instance is running the scheduled work; skipping the tick for %s", now.isoformat())
            return
        try:
            _run_jobs(ctx, now)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": TICK_LOCK_KEY})


def _run_jobs(ctx: AppContext, now: datetime) -> None:
    with ctx.metrics.tick(now) as tick:
        for job in JOBS:
            with tick.job(job.__name__):
                try:
                    with audit.acting("scheduler", audit.Door.SCHEDULER, at=now):
                        job(ctx, now)
                except Exception:
                    # One broken job must not starve the others; the next tick tries it again.
                    log.exception("scheduled job %s failed at %s", job.__name__, now.isoformat())
