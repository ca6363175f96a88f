"""Scheduled work: keep BANK_HOLIDAYS on every known workspace's skip list."""

from __future__ import annotations

from datetime import datetime

from bot.context import AppContext
from bot.services import calendar
from storage.session import unit_of_work


def sync_bank_holiday_skip_dates(ctx: AppContext, now: datetime) -> None:
    """First in every tick, so the prompts and nudges after it see this year's bank holidays."""
    today = ctx.workspace_day(now)
    with unit_of_work(ctx.session_factory) as session:
        calendar.sync_bank_holidays(
            session, ctx.settings.bank_holiday_region, today=today, team_ids=calendar.known_team_ids(session)
        )
