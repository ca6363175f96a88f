"""The in-process scheduler calls the same tick as `pmo-bot tick`, at the top of each minute."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.scheduler import create_scheduler
from tests.conftest import NOW


def test_scheduler_ticks_every_minute_with_the_clocks_now():
    seen: list[datetime] = []
    job = create_scheduler(seen.append, lambda: NOW).get_job("tick")

    job.func()

    assert seen == [NOW]
    after = datetime(2026, 11, 23, 9, 0, 30, tzinfo=timezone.utc)
    assert job.trigger.get_next_fire_time(None, after) == datetime(2026, 11, 23, 9, 1, tzinfo=timezone.utc)
