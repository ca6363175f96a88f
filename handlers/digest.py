"""The weekly PMO digest, the monthly governance pack with its charts, and `/pmo digest`."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx
from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import ColumnElement

from bot.context import AppContext
from bot.errors import NotAllowed
from bot.services import decisions, digest, message_keys, outbox, partners
from bot.services.governance import EVERY_PROJECT
from bot.services.outbox import OutgoingRequest
from bot.services.pack import (
    GovernancePack,
    build_pack,
    has_a_month_of_checkins,
    has_health_data,
    month_of,
    pack_due_month,
)
from handlers import charts
from handlers.blocks import digest as blocks
from handlers.blocks.common import Block
from handlers.blocks.pack_tables import pack_tables_blocks, pack_tables_text
from handlers.blocks.risks import pack_decisions_section
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.delivery import PERMANENT_ERRORS, chat_message, claim, deliver, send_once
from handlers.request import channel_audience
from storage.session import unit_of_work

log = logging.getLogger(__name__)

# Completing the upload is what shares the charts in the channel, so it is the step the
# ledger guards: the uploads before it are invisible and harmless to repeat. Slack takes it
# as JSON, so the ledger's retry can send it again with the same file IDs.
SHARE_FILES_METHOD = "files.completeUploadExternal"
UPLOAD_TIMEOUT_SECONDS = 30


# --- the digest -------------------------------------------------------------------------


def _alert_links(ctx: AppContext, client: WebClient, cause_keys: list[str]) -> dict[str, str]:
    """Permalinks of the PMO alerts posted for these causes; an alert not posted gets none."""
    with unit_of_work(ctx.session_factory) as session:
        posted = {key: outbox.sent_message(session, message_keys.alert(key)) for key in cause_keys}
    links = {}
    for cause_key, message in posted.items():
        if message is None:
            continue
        channel_id, ts = message
        try:
            links[cause_key] = client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"]
        except SlackApiError as exc:
            # The line still names the project and how to see it; the link is a convenience.
            log.info("no permalink for alert %s: %s", cause_key, exc.response.get("error"))
    return links


def _digest_message(
    ctx: AppContext, client: WebClient, now: datetime, scope: ColumnElement[bool] = EVERY_PROJECT
) -> tuple[str, list[Block]]:
    settings = ctx.settings
    with unit_of_work(ctx.session_factory) as session:
        current = digest.build_digest(
            session,
            now=now,
            timezone=settings.default_timezone,
            tolerance=settings.benefit_tolerance,
            default_cadence=settings.default_cadence,
            answer_window=timedelta(hours=settings.checkin_missed_hours),
            scope=scope,
            pmo_admin_ids=settings.pmo_admin_ids,
            scale=settings.confidence_scale,
        )
    links = _alert_links(ctx, client, blocks.alerts_to_link(current))
    return blocks.digest_text(current), blocks.digest_blocks(current, links)


def send_weekly_digest(ctx: AppContext, now: datetime) -> None:
    """Scheduled work: the week's digest in the PMO channel, once, at DIGEST_DAY DIGEST_TIME
    (or the first tick after it, within a day: never a backlog)."""
    settings = ctx.settings
    channel_id = settings.pmo_channel_id
    period = digest.digest_due_period(now, settings.digest_cadence)
    if not settings.digest_enabled or channel_id is None or period is None:
        return
    key = message_keys.pmo_digest(period)
    with unit_of_work(ctx.session_factory) as session:
        # Checked first so that, once the digest is out, ticks skip building it all week.
        if outbox.find(session, key) is not None:
            return
    text, digest_blocks = _digest_message(ctx, ctx.client, now)
    payload = {"channel": channel_id, "text": text, "blocks": digest_blocks}
    send_once(ctx, OutgoingRequest(key, "chat.postMessage", channel_id, payload), now=now)


def digest_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if request.args:
        raise DIGEST.usage_error("`/pmo digest` takes no more words.")
    if not request.actor.is_pmo_admin:
        raise NotAllowed(
            "Only PMO admins can see the digest: it covers the whole portfolio. "
            "For one project, `/pmo status KEY` shows its record."
        )
    # In a Slack Connect channel, only the projects shared with every partner in it.
    audience = channel_audience(client, request.channel_id, request.team_id)
    scope = EVERY_PROJECT if audience.is_internal else partners.visible_condition(audience)
    text, digest_blocks = _digest_message(ctx, client, request.now, scope)
    respond(text=text, blocks=digest_blocks)


# --- the governance pack ----------------------------------------------------------------


def send_governance_pack(ctx: AppContext, now: datetime) -> None:
    """Scheduled work: the month's pack, once, from its first working day at DIGEST_TIME
    (within a week; a tick after downtime sends it late).

    The message and the charts are sent under keys of their own, so each is sent once and
    one failing does not hold back or repeat the other; charts that could not be uploaded
    are tried again at the next tick.
    """
    settings = ctx.settings
    channel_id = settings.pack_channel
    if not settings.digest_enabled or channel_id is None:
        return
    month = month_of(digest.local_today(now, settings.default_timezone))
    message_key, charts_key = message_keys.governance_pack(month), message_keys.governance_pack_charts(month)
    tables_key = message_keys.governance_pack_tables(month)
    with unit_of_work(ctx.session_factory) as session:
        unsent = [key for key in (message_key, charts_key, tables_key) if outbox.find(session, key) is None]
        if not unsent:
            return
        due = pack_due_month(session, now=now, time_of_day=settings.digest_time, timezone=settings.default_timezone)
        if due != month:
            return
        if not has_a_month_of_checkins(session, now=now):
            log.info("no governance pack for %s: the bot has less than a month of check-ins to report", month)
            return
        pack = build_pack(
            session,
            now=now,
            timezone=settings.default_timezone,
            tolerance=settings.benefit_tolerance,
            default_cadence=settings.default_cadence,
            cost_tolerance=settings.cost_tolerance,
            scale=settings.confidence_scale,
        )
        today = digest.local_today(now, settings.default_timezone)
        decisions_asked = pack_decisions_section(decisions.open_lines(session), today=today)
    if message_key in unsent:
        pack_blocks = [*blocks.pack_blocks(pack), *decisions_asked]
        payload = {"channel": channel_id, "text": blocks.pack_text(pack), "blocks": pack_blocks}
        send_once(ctx, OutgoingRequest(message_key, "chat.postMessage", channel_id, payload), now=now)
    if charts_key in unsent:
        _share_charts(ctx, pack, channel_id, charts_key, now)
    if tables_key in unsent:
        _post_chart_tables(ctx, pack, message_key, tables_key, now)


def _post_chart_tables(ctx: AppContext, pack: GovernancePack, message_key: str, key: str, now: datetime) -> None:
    """The charts' numbers as text, in the pack's thread (once the pack itself is posted)."""
    with unit_of_work(ctx.session_factory) as session:
        posted = outbox.sent_message(session, message_key)
    if posted is None:
        return  # the pack did not go out this tick; its tables follow it when it does
    channel_id, ts = posted
    payload = {
        "channel": channel_id,
        "thread_ts": ts,
        "text": pack_tables_text(pack.weeks, pack.objectives),
        "blocks": pack_tables_blocks(pack.weeks, pack.objectives, pack.milestones, scale=pack.scale),
    }
    send_once(ctx, OutgoingRequest(key, "chat.postMessage", channel_id, payload), now=now)


def _upload(ctx: AppContext, filename: str, content: bytes, alt_text: str) -> str:
    """Upload one file to Slack without sharing it anywhere yet; returns its file ID."""
    ticket = ctx.client.files_getUploadURLExternal(filename=filename, length=len(content), alt_txt=alt_text)
    response = httpx.post(ticket["upload_url"], content=content, timeout=UPLOAD_TIMEOUT_SECONDS)
    response.raise_for_status()
    return str(ticket["file_id"])


def _share_charts(ctx: AppContext, pack: GovernancePack, channel_id: str, key: str, now: datetime) -> None:
    # A chart with nothing to show is not drawn: an empty axis reads as a fault, not as "too early".
    drawn = []
    if has_health_data(pack.weeks):
        drawn.append(
            (
                f"portfolio-health-{pack.month}.png",
                charts.RAG_MIX_TITLE,
                charts.rag_mix_png(pack.weeks, pack.scale),
                charts.rag_mix_alt_text(pack.weeks, pack.scale),
            )
        )
    if any(objective.measured for objective in pack.objectives):
        drawn.append(
            (
                f"benefits-{pack.month}.png",
                charts.BENEFITS_TITLE,
                charts.benefits_png(pack.objectives),
                charts.benefits_alt_text(pack.objectives),
            )
        )
    if pack.milestones:
        drawn.append(
            (
                f"milestones-{pack.month}.png",
                charts.MILESTONES_TITLE,
                charts.milestones_png(pack.milestones),
                charts.milestones_alt_text(pack.milestones),
            )
        )
    drawn_titles = {title for _name, title, _png, _alt in drawn}
    all_titles = (charts.RAG_MIX_TITLE, charts.BENEFITS_TITLE, charts.MILESTONES_TITLE)
    not_drawn = [title for title in all_titles if title not in drawn_titles]
    comment = blocks.pack_charts_comment(pack, not_drawn)
    if not drawn:
        send_once(ctx, chat_message(key, channel_id, comment), now=now)
        return
    request = OutgoingRequest(
        key, SHARE_FILES_METHOD, channel_id, {"channel_id": channel_id, "initial_comment": comment, "files": []}
    )
    try:
        files = [{"id": _upload(ctx, name, png, alt), "title": title} for name, title, png, alt in drawn]
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
        if error in PERMANENT_ERRORS:
            # e.g. missing_scope: retrying every minute all month would not help; the ledger
            # records why, and no later tick tries this month's charts again.
            _give_up(ctx, request, error, now)
        log.warning("governance pack charts for %s not uploaded: %s", pack.month, error)
        return
    except (SlackClientError, httpx.HTTPError, OSError) as exc:
        log.warning("governance pack charts for %s not uploaded (tried again next tick): %r", pack.month, exc)
        return
    request = OutgoingRequest(key, SHARE_FILES_METHOD, channel_id, {**request.payload, "files": files})
    with unit_of_work(ctx.session_factory) as session:
        claimed = claim(session, request, now=now)
    if claimed is not None:
        deliver(ctx, claimed, now=now)


def _give_up(ctx: AppContext, request: OutgoingRequest, error: str, now: datetime) -> None:
    with unit_of_work(ctx.session_factory) as session:
        claimed = outbox.claim(session, request, now=now)
        if claimed is not None:
            row = outbox.lock_for_recording(session, claimed.id)
            outbox.record_failure(row, error, permanent=True, now=now)


DIGEST = Subcommand(
    name="digest",
    handler=digest_command,
    usages=(
        Usage(
            "/pmo digest", "this week's PMO digest, shown only to you (PMO admins)", audience=HelpAudience.PMO_ADMINS
        ),
    ),
)

SUBCOMMANDS = (DIGEST,)
