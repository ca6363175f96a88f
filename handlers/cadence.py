"""`/pmo cadence KEY [...]` and `/pmo skip [...]`: when projects are prompted, and when nobody is."""

from __future__ import annotations

from datetime import date

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.services import calendar, portfolio, project_cadence, skip_dates
from bot.services.cadence import parse_time_of_day, parse_timezone, parse_weekday
from handlers.blocks.cadence import (
    cadence_changed_text,
    cadence_text,
    skip_added_text,
    skip_dates_message,
    skip_removed_text,
)
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from storage.session import unit_of_work


def _parse_new_cadence(words: list[str]) -> tuple[int, str, str | None]:
    """DAY HH:MM [TIMEZONE] as (weekday, time of day, timezone or None to keep the current one)."""
    if len(words) not in (2, 3):
        raise CADENCE.usage_error("Give a day and a time (and optionally a timezone), or `default`.")
    with CADENCE.usage_on_error():
        timezone = parse_timezone(words[2]) if len(words) == 3 else None
        return parse_weekday(words[0]), parse_time_of_day(words[1]), timezone


def cadence_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if not request.args:
        raise CADENCE.usage_error("Which project? Give its key.")
    key, *words = request.args
    resetting = len(words) == 1 and words[0].lower() == "default"
    new_cadence = _parse_new_cadence(words) if words and not resetting else None
    now = request.now
    with unit_of_work(ctx.session_factory) as session:
        if resetting:
            project = project_cadence.reset_cadence(session, request.actor, key, now=now)
        elif new_cadence is not None:
            weekday, time_of_day, timezone = new_cadence
            project = project_cadence.set_cadence(
                session, request.actor, key, weekday=weekday, time_of_day=time_of_day, timezone=timezone, now=now
            )
        else:
            project = portfolio.get_project(session, key)
        view = project_cadence.project_cadence(project, default=ctx.settings.default_cadence, now=now)
    respond(text=cadence_text(view) if not words else cadence_changed_text(view))


def _parse_day(text: str) -> date:
    with SKIP.usage_on_error():
        return skip_dates.parse_day(text)


def skip_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    today = ctx.workspace_day(request.now)
    args = request.args
    if not args:
        with unit_of_work(ctx.session_factory) as session:
            # A workspace the scheduler has not met yet sees its bank holidays at once.
            calendar.sync_bank_holidays(
                session, ctx.settings.bank_holiday_region, today=today, team_ids={request.team_id}
            )
            listed = skip_dates.upcoming_skip_dates(session, request.team_id, today)
            upcoming = [(skip.day, skip.note) for skip in listed]
            bank_holidays = {skip.day for skip in listed if skip.bank_holiday}
        text, blocks = skip_dates_message(upcoming, bank_holidays=bank_holidays)
        respond(text=text, blocks=blocks)
        return
    if args[0].lower() == "remove":
        if len(args) != 2:
            raise SKIP.usage_error("Which date should come off the list? Give it as YYYY-MM-DD.")
        day = _parse_day(args[1])
        with unit_of_work(ctx.session_factory) as session:
            removed = skip_dates.remove_skip_date(session, request.actor, request.team_id, day, now=request.now)
            text = skip_removed_text(day, bank_holiday=removed.note if removed.bank_holiday else None)
        respond(text=text)
        return
    day = _parse_day(args[0])
    with unit_of_work(ctx.session_factory) as session:
        added = skip_dates.add_skip_date(session, request.actor, request.team_id, day, " ".join(args[1:]), today)
        text = skip_added_text(day, added.skip_date.note, already_listed=added.already_listed)
    respond(text=text)


CADENCE = Subcommand(
    name="cadence",
    handler=cadence_command,
    usages=(
        Usage(
            "/pmo cadence KEY",
            "when a project's weekly check-in prompt goes out",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo cadence CRM-2",
        ),
        Usage(
            "/pmo cadence KEY DAY HH:MM [TIMEZONE]",
            "change it, e.g. `mon 09:30 Europe/London` (PMO admins, sponsor or lead)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo cadence CRM-2 tue 10:00 Europe/London",
        ),
        Usage(
            "/pmo cadence KEY default",
            "go back to the workspace default",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo cadence CRM-2 default",
        ),
    ),
)

SKIP = Subcommand(
    name="skip",
    handler=skip_command,
    usages=(
        Usage("/pmo skip", "list the upcoming skip dates (no check-in prompts those days)"),
        Usage(
            "/pmo skip YYYY-MM-DD [note]",
            "add a skip date, e.g. a bank holiday (PMO admins, sponsors, leads)",
            audience=HelpAudience.PMO_ADMINS,
            example="/pmo skip 2026-12-28 Bank holiday",
        ),
        Usage(
            "/pmo skip remove YYYY-MM-DD",
            "take a date off the skip list (a bank holiday: work that day)",
            audience=HelpAudience.PMO_ADMINS,
            example="/pmo skip remove 2026-12-28",
        ),
    ),
)

SUBCOMMANDS = (CADENCE, SKIP)
