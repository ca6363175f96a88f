"""The one Slack Web API client the app uses, with slack_sdk's own retry handlers."""

from __future__ import annotations

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


def make_web_client(settings: Settings, *, retry_interval: RetryIntervalCalculator | None = None) -> WebClient:
    """The client; `retry_interval` replaces slack_sdk's backoff between 5xx and connection retries (tests: zero)."""
    backoff = {"interval_calculator": retry_interval} if retry_interval is not None else {}
    return WebClient(
        token=settings.bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_ERROR_RETRIES, **backoff),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES, **backoff),
        ],
    )


def lookup_user_id_by_email(client: WebClient, email: str) -> str | None:
    """The Slack user with this email, or None when Slack knows no such user."""
    try:
        return client.users_lookupByEmail(email=email)["user"]["id"]
    except SlackApiError as error:
        if error.response.get("error") == "users_not_found":
            return None
        raise
