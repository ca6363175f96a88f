"""What every listener and scheduled job needs, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

from bot.clock import Clock, system_clock
from bot.metrics import Metrics
from bot.settings import Settings
from storage.session import SessionFactory


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    session_factory: SessionFactory
    client: WebClient
    # Read once per request (handlers/request.py) or per tick (the scheduler); everything below is handed "now".
    clock: Clock = system_clock
    # The Slack client should report into the same one (make_web_client(settings, metrics)).
    metrics: Metrics = field(default_factory=Metrics)

    def workspace_day(self, now: datetime) -> date:
        """The date `now` falls on in the workspace's calendar (the default timezone), for date rules and defaults."""
        return now.astimezone(ZoneInfo(self.settings.default_timezone)).date()
