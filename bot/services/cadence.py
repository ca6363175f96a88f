"""Check-in cadences: a weekday and a local time in a named timezone, and the periods they make.

A period is the ISO week (e.g. "2026-W48") of the cadence's local date. The instant a
period's prompt is due is computed in the project's own timezone, so 09:30 stays 09:30
for the team across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import UserError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_BY_NAME = {
    name: weekday for weekday, names in enumerate(zip(DAY_NAMES, _FULL_DAY_NAMES, strict=True)) for name in names
}
# Spreadsheets drop the leading zero of a time ("9:30"), so one-digit hours are accepted.
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_weekday(text: str) -> int:
    """0 = Monday; accepts mon..sun and full names, any case."""
    weekday = _WEEKDAY_BY_NAME.get(text.strip().lower())
    if weekday is None:
        raise UserError(f"'{text}' is not a day: use mon..sun")
    return weekday


def parse_time_of_day(text: str) -> str:
    """Canonical "HH:MM", 24 h."""
    match = _TIME.match(text.strip())
    if match is None:
        raise UserError(f"'{text}' is not a time: use HH:MM, 24 h (e.g. 09:30)")
    return f"{int(match[1]):02d}:{match[2]}"


def parse_timezone(text: str) -> str:
    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"'{text}' is not an IANA timezone name: use one such as Europe/London") from None
    return text.strip()


@dataclass(frozen=True)
class Cadence:
    weekday: int  # 0 = Monday
    time_of_day: str  # "HH:MM"
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> str:
        return f"{DAY_NAMES[self.weekday].capitalize()} {self.time_of_day} {self.timezone}"

    def instant_on(self, local_day: date) -> datetime:
        """The UTC instant of this cadence's local time on a local date."""
        hours, minutes = (int(part) for part in self.time_of_day.split(":"))
        local = datetime.combine(local_day, time(hours, minutes), tzinfo=self.zone)
        return local.astimezone(timezone.utc)

    def latest_due(self, now: datetime) -> tuple[str, date, datetime]:
        """The most recent cadence instant at or before `now`: (period, local date, instant).

        A tick that runs late therefore finds the current period, never a backlog of older ones.
        """
        local_today = now.astimezone(self.zone).date()
        day = local_today - timedelta(days=(local_today.weekday() - self.weekday) % 7)
        instant = self.instant_on(day)
        if instant > now:
            day -= timedelta(days=7)
            instant = self.instant_on(day)
        return period_of(day), day, instant

    def next_due(self, now: datetime) -> tuple[str, date, datetime]:
        """The first cadence instant strictly after `now`: (period, local date, instant)."""
        local_today = now.astimezone(self.zone).date()
        day = local_today + timedelta(days=(self.weekday - local_today.weekday()) % 7)
        instant = self.instant_on(day)
        if instant <= now:
            day += timedelta(days=7)
            instant = self.instant_on(day)
        return period_of(day), day, instant


def period_of(local_day: date) -> str:
    year, week, _ = local_day.isocalendar()
    return f"{year}-W{week:02d}"


def previous_period(period: str) -> str:
    monday = date.fromisocalendar(int(period[:4]), int(period[6:]), 1)
    return period_of(monday - timedelta(days=7))
