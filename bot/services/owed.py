"""What a domain operation decided it owes people, as data: decide, then deliver.

A service changes the records and returns these; one step in the handler layer
(`handlers.outcomes.deliver_owed`) renders each with its builder and sends it through the
delivery core. Nothing here is worded: the builders word it when it is sent, so a message
kept up to date in place (the prompt, an alert) always shows the present.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.milestones import ForecastMove
from storage.models import Rag


@dataclass(frozen=True)
class PromptAnswered:
    """The period's prompt, already posted, now says who answered and the RAG."""

    project_id: int
    project_key: str
    project_name: str
    period: str
    channel_id: str
    overall: Rag
    answered_by: str
    revision: int
    confidence: str | None = None  # the level given on a dca scale, as stored


@dataclass(frozen=True)
class CheckinSummary:
    """The check-in's summary: in the prompt's thread, or in the primary channel when no prompt went out."""

    checkin_id: int
    project_key: str
    period: str
    channel_id: str
    thread_ts: str | None
    overall: Rag
    answered_by: str
    revision: int
    # For an amendment: the names of the fields it changed from the revision before.
    changed: tuple[str, ...]
    # The summary asks for help and the project has a sponsor: offer to make it their action.
    offers_help_action: bool
    forecasts_moved: tuple[ForecastMove, ...] = ()  # milestones whose forecast this check-in moved


@dataclass(frozen=True)
class AlertChanged:
    """An escalation was raised, refreshed or settled: its PMO-channel alert is shown as it now is."""

    escalation_id: int
    cause_key: str


@dataclass(frozen=True)
class SponsorDm:
    """One DM to the sponsor for one check-in that turned Red, asks for their help, or both
    (without a sponsor, the PMO channel reads it instead of nobody)."""

    idempotency_key: str
    sponsor_user_id: str | None
    project_id: int
    project_key: str
    project_name: str
    period: str
    turned_red: bool
    progress: str | None
    path_to_green: str | None
    help_needed: str | None
    confidence: str | None = None  # the level given on a dca scale, as stored


@dataclass(frozen=True)
class HomeRefresh:
    """These people's Home tabs show something that changed."""

    user_ids: tuple[str, ...]


Owed = PromptAnswered | CheckinSummary | AlertChanged | SponsorDm | HomeRefresh


def home_refresh(*user_ids: str | None) -> HomeRefresh:
    """Each person once, in order; None and blanks (no lead, no deputy) left out."""
    return HomeRefresh(tuple(dict.fromkeys(user_id for user_id in user_ids if user_id)))
