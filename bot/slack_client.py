"""The one Slack Web API client the app uses, with slack_sdk's own retry handlers."""

from __future__ import annotations

import logging
import urllib.error

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryIntervalCalculator
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings

# Rate limits clear within a few Retry-After waits; a Slack outage does not clear in
# seconds, so 5xx gets few retries and the idempotency ledger retries later instead.
RATE_LIMIT_RETRIES = 5
SERVER_ERROR_RETRIES = 2
CONNECTION_ERROR_RETRIES = 2


def make_web_client(
    settings: Settings,
    *,
    logger: logging.Logger | None = None,
    retry_interval: RetryIntervalCalculator | None = None,
) -> WebClient:
    """The client; `retry_interval` replaces slack_sdk's backoff between 5xx and connection retries (tests: zero)."""
    backoff = {"interval_calculator": retry_interval} if retry_interval is not None else {}
    return WebClient(
        token=settings.bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        logger=logger,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_ERROR_RETRIES, **backoff),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES, **backoff),
        ],
    )


class SlackUnusable(Exception):
    """Slack refuses the bot token or cannot be reached; `str(error)` is one line saying what to do."""


def _silent_logger() -> logging.Logger:
    logger = logging.getLogger("pmo_bot.token_check")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    return logger


def verify_bot_token(settings: Settings) -> dict:
    """auth.test, turned into a one-line SlackUnusable when the bot could not work at all.

    The client's own log lines about each retry are silenced: the one line says it all.
    """
    api_url = settings.slack_api_url
    try:
        return make_web_client(settings, logger=_silent_logger()).auth_test().data  # type: ignore[return-value]
    except SlackApiError as error:
        reason = error.response.get("error") or f"HTTP {error.response.status_code}"
        raise SlackUnusable(
            f"Slack rejected SLACK_BOT_TOKEN ({reason}): copy the Bot User OAuth Token (xoxb-...) from your app's "
            "OAuth & Permissions page into SLACK_BOT_TOKEN in .env, then start again"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise SlackUnusable(
            f"could not reach Slack at SLACK_API_URL={api_url} ({reason}): check that URL "
            "(https://slack.com/api/, or https://slack-gov.com/api/ for GovSlack) and this machine's network"
        ) from None


def lookup_user_id_by_email(client: WebClient, email: str) -> str | None:
    """The Slack user with this email, or None when Slack knows no such user."""
    try:
        return client.users_lookupByEmail(email=email)["user"]["id"]
    except SlackApiError as error:
        if error.response.get("error") == "users_not_found":
            return None
        raise
