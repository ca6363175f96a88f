"""The App Home tab: each person's own view, published when they open it (and, through the
delivery core's `refresh_home`, whenever something it shows changes)."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import App

from bot.context import AppContext
from handlers.delivery import publish_home


def register(app: App, ctx: AppContext) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict, now: datetime) -> None:
        # The event also fires for the Messages tab, which the bot does not draw.
        if event.get("tab") == "home":
            publish_home(ctx, event["user"], now)
