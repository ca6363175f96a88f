"""The daily nudge pass (part of `tick`) and `/pmo away` / `/pmo back`.

Each owner gets at most one DM a day, at NUDGE_TIME in their own timezone, listing every
action of theirs that reached a ladder step that day; each sponsor likewise; the PMO gets
one alert per action, refreshed as it ages. The ledger keys carry the recipient's local
date, so re-running a tick, or two instances ticking at once, sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError

from bot.context import AppContext
from bot.services import actions, message_keys, nudges, outbox, risks
from bot.services.nudges import Chased, DailyNudge, ids_of
from handlers.blocks.actions import (
    OVERDUE,
    ActionDm,
    absence_added_text,
    absence_removed_text,
    absences_text,
    back_text,
    sponsor_digest,
)
from handlers.blocks.risks import overdue_review_alert
from handlers.commands import CommandRequest, Subcommand, Usage
from handlers.delivery import chat_message, claim, claim_action_dm, deliver, deliver_dm, fan_out
from handlers.outcomes import deliver_owed
from storage.session import unit_of_work


def send_nudges(ctx: AppContext, now: datetime) -> None:
    """Scheduled work: the owners', sponsors' and PMO's share of the ladder that is due at `now`."""
    plan = _plan(ctx, now)
    if plan.unknown_timezones:
        _learn_timezones(ctx, plan.unknown_timezones, now)
        plan = _plan(ctx, now)
    owner_digests = _not_yet_sent(ctx, plan.owner_digests, message_keys.owner_nudge)
    sponsor_digests = _not_yet_sent(ctx, plan.sponsor_digests, message_keys.sponsor_nudge)
    fan_out(ctx, owner_digests, lambda digest: _send_owner_digest(ctx, digest, now))
    fan_out(ctx, sponsor_digests, lambda digest: _send_sponsor_digest(ctx, digest, now))
    if plan.pmo_day is not None and plan.pmo_alerts:
        _refresh_pmo_alerts(ctx, ids_of(plan.pmo_alerts, Chased.ACTION), plan.pmo_day, now)
        _alert_overdue_reviews(ctx, ids_of(plan.pmo_alerts, Chased.RISK_REVIEW), plan.pmo_day, now)


def _plan(ctx: AppContext, now: datetime) -> nudges.NudgePlan:
    with unit_of_work(ctx.session_factory) as session:
        return nudges.plan(session, now=now, ladder=ctx.settings.ladder, pass_time=ctx.settings.nudge_pass)


def _not_yet_sent(ctx: AppContext, digests: list[DailyNudge], key_of: Callable[[str, date], str]) -> list[DailyNudge]:
    """The digests whose DM is not in the ledger yet: after a person's first tick of the day, the
    others find theirs there, and skipping them here keeps those ticks cheap."""
    with unit_of_work(ctx.session_factory) as session:
        claimed = outbox.claimed_keys(session, [key_of(digest.user_id, digest.local_day) for digest in digests])
    return [digest for digest in digests if key_of(digest.user_id, digest.local_day) not in claimed]


def _learn_timezones(ctx: AppContext, user_ids: list[str], now: datetime) -> None:
    """Ask Slack, once each, the timezone of owners and sponsors the pass must reach."""
    for user_id in user_ids:
        try:
            user = ctx.client.users_info(user=user_id)["user"]
        except SlackApiError:
            # Slack cannot describe them (e.g. user_not_found): the workspace's timezone is
            # remembered instead, so the tick does not ask again every minute.
            user = {}
        with unit_of_work(ctx.session_factory) as session:
            timezone = nudges.known_timezone(user.get("tz"), ctx.settings.default_timezone)
            nudges.remember_timezone(session, user_id, timezone, now=now)


def _send_owner_digest(ctx: AppContext, digest: DailyNudge, now: datetime) -> None:
    key = message_keys.owner_nudge(digest.user_id, digest.local_day)
    with unit_of_work(ctx.session_factory) as session:
        if outbox.find(session, key) is not None:
            return  # today's DM already went (or is going) out
        dm = ActionDm(OVERDUE, digest.local_day.isoformat(), digest.action_ids, risk_ids=digest.risk_ids)
        claimed = claim_action_dm(session, ctx, dm, key=key, recipient=digest.user_id, now=now)
    if claimed is not None:
        deliver_dm(ctx, claimed, now=now)


def _send_sponsor_digest(ctx: AppContext, digest: DailyNudge, now: datetime) -> None:
    key = message_keys.sponsor_nudge(digest.user_id, digest.local_day)
    with unit_of_work(ctx.session_factory) as session:
        if outbox.find(session, key) is not None:
            return
        rows = actions.actions_by_id(session, digest.action_ids)
        zone = ZoneInfo(ctx.settings.default_timezone)
        lines = actions.action_lines(session, rows, as_of=digest.local_day, zone=zone)
        reviews = risks.lines_by_id(session, digest.risk_ids, as_of=digest.local_day, zone=zone)
        text, blocks = sponsor_digest(lines, reviews)
        claimed = claim(session, chat_message(key, digest.user_id, text, blocks), now=now)
    if claimed is not None:
        deliver_dm(ctx, claimed, now=now)


def _refresh_pmo_alerts(ctx: AppContext, action_ids: list[int], pmo_day: date, now: datetime) -> None:
    """Raise each alert the day its action reaches the PMO step, and refresh it once a day after."""
    start_of_day = datetime.combine(pmo_day, time(), tzinfo=ZoneInfo(ctx.settings.default_timezone))
    with unit_of_work(ctx.session_factory) as session:
        refreshed = actions.overdue_alerts_updated_since(session, start_of_day)
    stale = [action_id for action_id in action_ids if action_id not in refreshed]
    fan_out(ctx, stale, lambda action_id: _refresh_pmo_alert(ctx, action_id, pmo_day, now))


def _refresh_pmo_alert(ctx: AppContext, action_id: int, pmo_day: date, now: datetime) -> None:
    zone = ZoneInfo(ctx.settings.default_timezone)
    try:
        with unit_of_work(ctx.session_factory) as session:
            [line] = actions.action_lines(
                session, actions.actions_by_id(session, [action_id]), as_of=pmo_day, zone=zone
            )
            owed = actions.raise_overdue_alert(session, line, now=now, zone=zone)
    except IntegrityError:
        return  # another instance raised this alert at the same moment, and posts it
    deliver_owed(ctx, owed, now=now)


def _alert_overdue_reviews(ctx: AppContext, risk_ids: list[int], pmo_day: date, now: datetime) -> None:
    """The ladder's PMO step for late reviews: one alert per risk and review date, through the ledger."""
    if not ctx.settings.pmo_channel_id:
        return
    pmo_channel_id = ctx.settings.pmo_channel_id
    zone = ZoneInfo(ctx.settings.default_timezone)

    def send(risk_id: int) -> None:
        with unit_of_work(ctx.session_factory) as session:
            [line] = risks.lines_by_id(session, [risk_id], as_of=pmo_day, zone=zone)
            text, blocks = overdue_review_alert(line)
            key = message_keys.risk_review_alert(risk_id, line.next_review)
            claimed = claim(session, chat_message(key, pmo_channel_id, text, blocks), now=now)
        if claimed is not None:
            deliver(ctx, claimed, now=now)

    fan_out(ctx, risk_ids, send)


# --- away and back ----------------------------------------------------------------------------


def _day(word: str, today: date) -> date:
    with AWAY.usage_on_error():
        return actions.parse_due(word, today=today)


def away_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    now = request.now
    today = ctx.workspace_day(now)
    words = request.args
    if not words:
        with unit_of_work(ctx.session_factory) as session:
            upcoming = nudges.upcoming_absences(session, request.user_id, today=today, now=now)
        respond(text=absences_text(upcoming))
        return
    if words[0].lower() == "remove":
        if len(words) != 2:
            raise AWAY.usage_error("Give the first day of the time away to cancel.")
        first = _day(words[1], today)
        with unit_of_work(ctx.session_factory) as session:
            removed = nudges.remove_absence(session, request.user_id, first, today=today, now=now)
        respond(text=absence_removed_text(removed, today=today))
        return
    if len(words) != 2:
        raise AWAY.usage_error("Give the first and the last day you are away, or `until` and the last day.")
    first = today if words[0].lower() == "until" else _day(words[0], today)
    last = _day(words[1], today)
    with unit_of_work(ctx.session_factory) as session:
        added = nudges.add_absence(session, request.user_id, first, last, today=today, now=now)
    respond(text=absence_added_text(added))


def back_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if request.args:
        raise BACK.usage_error("`/pmo back` takes no more words.")
    with unit_of_work(ctx.session_factory) as session:
        ended = nudges.come_back(session, request.user_id, today=ctx.workspace_day(request.now), now=request.now)
    respond(text=back_text(ended))


AWAY = Subcommand(
    name="away",
    handler=away_command,
    usages=(
        Usage(
            "/pmo away FIRST LAST",
            "you are away those days (first and last included): no nudges, and your actions stop ageing; "
            "time away that overlaps what you already gave joins it",
            example="/pmo away 2026-12-21 2027-01-01",
        ),
        Usage("/pmo away until LAST", "you are away from today until that day", example="/pmo away until fri"),
        Usage("/pmo away", "lists your time away from today on"),
        Usage(
            "/pmo away remove FIRST",
            "cancels the time away that starts that day",
            example="/pmo away remove 2026-12-21",
        ),
    ),
)

BACK = Subcommand(
    name="back",
    handler=back_command,
    usages=(Usage("/pmo back", "you are back early: the time away you are in ends today, and nudges resume"),),
)

SUBCOMMANDS = (AWAY, BACK)
