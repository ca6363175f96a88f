"""Syncing the portfolio from an external system: `pmo-bot sync` and the daily scheduled run."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.context import AppContext
from bot.integrations.portfolio_source import SourceError, fetch_portfolio
from bot.services import escalations, message_keys, sync
from bot.services.cadence import Cadence
from bot.services.escalations import Cause
from bot.services.portfolio_csv import ImportRejected, ImportSummary, import_records
from bot.slack_client import lookup_user_id_by_email
from handlers.delivery import join_linked_channels
from handlers.outcomes import deliver_owed, send_starting_lessons
from storage import audit
from storage.models import EscalationKind
from storage.session import unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOutcome:
    summary: ImportSummary | None  # None: the source said nothing changed (304)
    error: str | None = None
    # Private channels it linked that the bot is not in: someone must `/invite @pmo-bot`.
    to_invite: tuple[str, ...] = ()


def run_sync(ctx: AppContext, now: datetime) -> SyncOutcome:
    """Fetch and upsert the whole portfolio, all or nothing; failures alert the PMO once per streak."""
    settings = ctx.settings
    url = settings.portfolio_source_url
    if url is None:
        raise ValueError("PORTFOLIO_SOURCE_URL is not set")
    with unit_of_work(ctx.session_factory) as session:
        etag = sync.state_for(session, url).etag
    try:
        fetched = fetch_portfolio(
            url,
            etag=etag,
            token=settings.portfolio_source_token.get_secret_value() if settings.portfolio_source_token else None,
            field_map=settings.portfolio_field_map,
            first_backoff=settings.sync_backoff_seconds,
        )
        summary = None
        origin = audit.current_origin()
        door = origin.door if origin else audit.Door.CLI
        with audit.acting("sync", door, at=now), unit_of_work(ctx.session_factory) as session:
            if fetched.projects is not None:
                summary = import_records(
                    session,
                    fetched.projects,
                    resolve_email=lambda email: lookup_user_id_by_email(ctx.client, email),
                    team_id=ctx.client.auth_test()["team_id"],
                    now=now,
                )
            ended_streak = sync.record_success(sync.state_for(session, url), etag=fetched.etag, now=now)
            recovered = (
                escalations.settle_alert(
                    session, message_keys.portfolio_sync_failure_cause(ended_streak), {"how": "recovered"}, now=now
                )
                if ended_streak is not None
                else []
            )
    except (SourceError, ImportRejected) as error:
        _failed(ctx, url, str(error), now)
        return SyncOutcome(None, str(error))
    deliver_owed(ctx, recovered, now=now)
    to_invite = join_linked_channels(ctx.client, summary.linked_channel_ids) if summary else []
    for channel in to_invite:
        log.warning("portfolio sync linked %s, a private channel the bot is not in: invite @pmo-bot to it", channel)
    send_starting_lessons(ctx, summary.created if summary else (), now=now)
    return SyncOutcome(summary, to_invite=tuple(to_invite))


def _failed(ctx: AppContext, url: str, error: str, now: datetime) -> None:
    log.warning("portfolio sync from %s failed: %s", url, error)
    with unit_of_work(ctx.session_factory) as session:
        state = sync.state_for(session, url)
        first = sync.record_failure(state, error, now=now)
        streak_started = state.failing_since
        owed = (
            [
                escalations.raise_alert(
                    session,
                    Cause(
                        message_keys.portfolio_sync_failure_cause(streak_started),
                        EscalationKind.PORTFOLIO_SYNC,
                        {"error": error},
                    ),
                    project=None,
                    now=now,
                )
            ]
            if first and streak_started is not None
            else []
        )
    deliver_owed(ctx, owed, now=now)


def sync_portfolio_daily(ctx: AppContext, now: datetime) -> None:
    """Scheduled work: one sync a day at SYNC_TIME in the workspace timezone, on one instance."""
    settings = ctx.settings
    if settings.portfolio_source_url is None:
        return
    daily = Cadence(weekday=0, time_of_day=settings.sync_time, timezone=settings.default_timezone)
    due_at = daily.instant_on(now.astimezone(daily.zone).date())
    with unit_of_work(ctx.session_factory) as session:
        taken = sync.take_daily_run(session, settings.portfolio_source_url, due_at=due_at, now=now)
    if taken:
        run_sync(ctx, now)
