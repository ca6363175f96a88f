"""The workspace's working-day calendar: the one calendar behind nudges, the digest and the
pack's timing, snooze and help-action due dates.

A working day is Monday to Friday and not on the workspace's skip list. The skip list holds
the days people typed (`/pmo skip`) and the bank holidays of BANK_HOLIDAYS, which
`sync_bank_holidays` writes there, named, for last year, this year and next. Because bank
holidays are ordinary skip-list rows, every rule that reads the skip list (prompts,
reminders, compliance, the ladder) honours them without knowing about them. Taking a bank
holiday off the list (`/pmo skip remove`) records the day in `kept_working_days`, so the
next sync does not put it back: that day stays a working day.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, timedelta

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.distinct import distinct_values
from storage.models import ChannelLink, KeptWorkingDay, SkipDate

WORKING_WEEKDAYS = range(5)  # Monday to Friday

# --- counting working days ---------------------------------------------------------------


def _weekdays(first: date, last: date) -> int:
    """How many of the days from `first` to `last` (both included) are Monday to Friday."""
    if last < first:
        return 0
    full_weeks, extra = divmod((last - first).days + 1, 7)
    return full_weeks * 5 + sum((first.weekday() + offset) % 7 in WORKING_WEEKDAYS for offset in range(extra))


class WorkingCalendar:
    """Monday to Friday, minus the workspace's skip dates (bank holidays included)."""

    def __init__(self, skip_dates: Iterable[date] = ()) -> None:
        self.skip_dates = frozenset(skip_dates)
        # Skip dates that fall on weekdays, sorted, to count those in a range by bisection.
        self._weekday_skips = sorted(day for day in self.skip_dates if day.weekday() in WORKING_WEEKDAYS)
        # Many actions share a due date, so a tick asks for the same few ranges over and over.
        self._counted: dict[tuple[date, date], int] = {}

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in WORKING_WEEKDAYS and day not in self.skip_dates

    def working_days(self, first: date, last: date) -> int:
        """How many working days there are from `first` to `last`, both included."""
        if last < first:
            return 0
        counted = self._counted.get((first, last))
        if counted is None:
            skipped = bisect_right(self._weekday_skips, last) - bisect_left(self._weekday_skips, first)
            counted = self._counted[(first, last)] = _weekdays(first, last) - skipped
        return counted

    def on_or_after(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (`start` itself never counts)."""
        day = start
        for _ in range(count):
            day = self.on_or_after(day + timedelta(days=1))
        return day


def calendar_between(session: Session, first: date, last: date) -> WorkingCalendar:
    """The calendar with every skip date from `first` to `last` loaded.

    pmo-bot serves one workspace (one bot token), so every skip list row is that workspace's.
    """
    return WorkingCalendar(session.scalars(select(SkipDate.day).where(SkipDate.day >= first, SkipDate.day <= last)))


def first_working_day(session: Session, year: int, month: int) -> date:
    """The month's first working day (the governance pack's day)."""
    first = date(year, month, 1)
    # A month never starts with more than a few weeks of non-working days.
    return calendar_between(session, first, first + timedelta(days=62)).on_or_after(first)


# --- bank holidays -------------------------------------------------------------------------

NO_BANK_HOLIDAYS = "none"
# The UK's three bank-holiday calendars, as the `holidays` package names them.
UK_REGIONS = {
    "england-and-wales": ("GB", "ENG"),
    "scotland": ("GB", "SCT"),
    "northern-ireland": ("GB", "NIR"),
}
BANK_HOLIDAYS_EXAMPLE = "england-and-wales, scotland, northern-ireland, an ISO country code such as IE, or none"


def parse_bank_holidays(text: str) -> str:
    """BANK_HOLIDAYS as written by an operator, normalised: a UK region, a country code, or "none"."""
    value = text.strip()
    if value.lower() in UK_REGIONS or value.lower() == NO_BANK_HOLIDAYS:
        return value.lower()
    if value.upper() in holidays.list_supported_countries():
        return value.upper()
    raise ValueError(f"'{text}' is not a bank-holiday calendar: use {BANK_HOLIDAYS_EXAMPLE}")


def default_bank_holidays(timezone_name: str) -> str:
    return "england-and-wales" if timezone_name == "Europe/London" else NO_BANK_HOLIDAYS


def bank_holidays(region: str, years: Iterable[int]) -> dict[date, str]:
    """The region's bank holidays in those years, by day, with their names."""
    if region == NO_BANK_HOLIDAYS:
        return {}
    country, subdivision = UK_REGIONS.get(region, (region, None))
    found = holidays.country_holidays(country, subdiv=subdivision, years=list(years))
    return {day: str(name) for day, name in sorted(found.items())}


def _synced_years(today: date) -> range:
    return range(today.year - 1, today.year + 2)


def known_team_ids(session: Session) -> set[str]:
    """The workspaces the bot has seen: through linked channels or an existing skip list.

    Every tick asks, so each table's few workspace ids are read off its (team_id, ...) index
    rather than by reading every channel link."""
    return {
        team_id
        for column in (ChannelLink.team_id, SkipDate.team_id, KeptWorkingDay.team_id)
        for team_id in distinct_values(session, column)
    }


def sync_bank_holidays(session: Session, region: str, *, today: date, team_ids: Iterable[str]) -> int:
    """Put the region's bank holidays on each workspace's skip list; returns how many rows changed.

    Days someone typed stay as they are; days someone kept as working days stay off; bank
    holidays of another region (BANK_HOLIDAYS changed) come off. Cheap when nothing changed:
    two small reads per workspace.
    """
    years = _synced_years(today)
    first, last = date(years[0], 1, 1), date(years[-1], 12, 31)
    expected = bank_holidays(region, years)
    changed = 0
    for team_id in sorted(set(team_ids)):
        listed = {
            row.day: row
            for row in session.scalars(
                select(SkipDate).where(SkipDate.team_id == team_id, SkipDate.day >= first, SkipDate.day <= last)
            )
        }
        kept = set(
            session.scalars(
                select(KeptWorkingDay.day).where(
                    KeptWorkingDay.team_id == team_id, KeptWorkingDay.day >= first, KeptWorkingDay.day <= last
                )
            )
        )
        for day, row in listed.items():
            if row.bank_holiday and day not in expected:
                session.delete(row)
                changed += 1
        for day, name in expected.items():
            if day not in listed and day not in kept:
                session.add(SkipDate(team_id=team_id, day=day, note=name[:200], bank_holiday=True))
                changed += 1
    session.flush()
    return changed
