"""The App Home tab: each person's own view, published when they open it and refreshed
whenever something it shows changes (`refresh_home`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.services import status
from handlers.blocks.home import home_view
from storage.session import unit_of_work

log = logging.getLogger(__name__)


def publish_home(ctx: AppContext, user_id: str, now: datetime) -> None:
    """Build this person's Home tab as of `now` and publish it; a refusal by Slack is logged."""
    today = now.astimezone(ZoneInfo(ctx.settings.default_timezone)).date()
    with unit_of_work(ctx.session_factory) as session:
        view = status.personal_view(
            session,
            user_id,
            today=today,
            now=now,
            default_cadence=ctx.settings.default_cadence,
            tolerance=ctx.settings.benefit_tolerance,
            is_pmo_admin=ctx.settings.is_pmo_admin(user_id),
        )
    try:
        ctx.client.views_publish(user_id=user_id, view=home_view(view, now=now))
    except SlackApiError as error:
        # The tab is refreshed again the next time the person opens it; nothing else depends on it.
        log.warning("could not publish the Home tab of %s: %s", user_id, error.response.get("error"))


def refresh_home(ctx: AppContext, user_ids: Iterable[str | None], now: datetime) -> None:
    """Re-publish the Home tab of each of these people (each once; None and blanks are skipped).

    For features that change what the tab shows: a check-in submitted, an action assigned,
    done or snoozed. Slack refusing one person's tab does not stop the others.
    """
    for user_id in dict.fromkeys(user_id for user_id in user_ids if user_id):
        publish_home(ctx, user_id, now)


def register(app: App, ctx: AppContext) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict) -> None:
        # The event also fires for the Messages tab, which the bot does not draw.
        if event.get("tab") == "home":
            publish_home(ctx, event["user"], ctx.clock())
