"""The in-process scheduler: calls the same tick as `pmo-bot tick`, at the top of every minute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock


def create_scheduler(tick: Callable[[datetime], None], clock: Clock) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        lambda: tick(clock()),
        CronTrigger(second=0, timezone="UTC"),
        id="tick",
        # A slow tick must not pile up copies of itself; a missed minute is caught up by the
        # next tick, because every job works out for itself what is due at "now".
        max_instances=1,
        coalesce=True,
        misfire_grace_time=30,
    )
    return scheduler
