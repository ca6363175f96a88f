"""The one Slack Web API client the app uses: paced, retried, and counted.

Every message-sending call waits for a slot from the process's one `SendRateLimiter`
(bot/pacing.py), whoever makes it: a fan-out, an announcement, a DM, an update. A 429 tells
the limiter (which halves the rate and pauses every sender for `Retry-After`), and the call
is retried when its next slot comes.
"""

from __future__ import annotations

import logging
import time
import urllib.error
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler, RetryIntervalCalculator, RetryState
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.web import SlackResponse

from bot.metrics import Metrics
from bot.pacing import SendRateLimiter
from bot.settings import Settings

log = logging.getLogger(__name__)

# Rate limits clear within a few Retry-After waits; a Slack outage does not clear in
# seconds, so 5xx gets few retries and the idempotency ledger retries later instead.
RATE_LIMIT_RETRIES = 5
SERVER_ERROR_RETRIES = 2
CONNECTION_ERROR_RETRIES = 2
# The methods that post or change messages: they share Slack's message budget.
PACED_METHODS = frozenset({"chat.postMessage", "chat.update", "files.completeUploadExternal"})
DEFAULT_RETRY_AFTER_SECONDS = 1.0


class RateLimitRetryHandler(RetryHandler):
    """Retries a 429: a paced call tells the limiter and waits for its next slot; any other
    call waits out its own `Retry-After`."""

    def __init__(self, limiter: SendRateLimiter, metrics: Metrics, *, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._limiter = limiter
        self._metrics = metrics

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code == 429

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None  # _can_retry only accepts 429 responses
        method = _method_of(request.url)
        retry_after = _retry_after(response)
        self._metrics.record_rate_limited(method)
        state.next_attempt_requested = True
        if method in PACED_METHODS:
            self._limiter.record_rate_limited(retry_after)
            self._limiter.acquire()
        else:
            time.sleep(retry_after)
        state.increment_current_attempt()


class PacedWebClient(WebClient):
    """A WebClient whose message-sending calls take turns under the shared limiter."""

    def __init__(self, *, limiter: SendRateLimiter, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limiter = limiter
        self.metrics = metrics
        metrics.send_rate.set_function(lambda: limiter.rate)

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        paced = api_method in PACED_METHODS
        if paced:
            self.limiter.acquire()
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            rate_limited = error.response.status_code == 429
            if paced and not rate_limited:
                self.limiter.record_accepted()
            self.metrics.record_slack_call(api_method, "rate_limited" if rate_limited else "error")
            raise
        except Exception:
            self.metrics.record_slack_call(api_method, "unreachable")
            raise
        if paced:
            self.limiter.record_accepted()
        self.metrics.record_slack_call(api_method, "ok")
        return response


def make_web_client(
    settings: Settings,
    metrics: Metrics | None = None,
    *,
    limiter: SendRateLimiter | None = None,
    logger: logging.Logger | None = None,
    retry_interval: RetryIntervalCalculator | None = None,
) -> PacedWebClient:
    """The process's client; build it once (in the composition root), so its limiter is the only one.

    `retry_interval` replaces slack_sdk's backoff between 5xx and connection retries (tests: zero).
    """
    backoff = {"interval_calculator": retry_interval} if retry_interval is not None else {}
    metrics = metrics or Metrics()
    limiter = limiter or SendRateLimiter(settings.slack_messages_per_second)
    return PacedWebClient(
        limiter=limiter,
        metrics=metrics,
        token=settings.bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        logger=logger,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_ERROR_RETRIES, **backoff),
            RateLimitRetryHandler(limiter, metrics, max_retry_count=RATE_LIMIT_RETRIES),
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


def _method_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def _retry_after(response: HttpResponse) -> float:
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                break
    return DEFAULT_RETRY_AFTER_SECONDS
