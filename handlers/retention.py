"""Scheduled work: retention (RETENTION_YEARS_AFTER_CLOSURE), once a month, on one instance."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import AppContext
from bot.services import job_runs, message_keys, retention
from storage.session import unit_of_work

log = logging.getLogger(__name__)


def apply_retention_monthly(ctx: AppContext, now: datetime) -> None:
    years = ctx.settings.retention_years_after_closure
    if years is None:
        return
    run_key = message_keys.retention_run(now)
    with unit_of_work(ctx.session_factory) as session:
        if job_runs.is_done(session, run_key):
            return
        removals = retention.run_retention(session, now=now, years=years, apply=True)
        # In the same transaction: a second instance doing the same month fails on the key and rolls back.
        job_runs.mark_done(session, run_key, now=now)
    if removals:
        log.info("retention removed the operational detail of %s", ", ".join(r.key for r in removals))
