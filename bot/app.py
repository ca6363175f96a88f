"""The composition root: builds the Bolt app and the WSGI application around it."""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import io
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.request.internals import parse_body

import handlers
from bot.context import AppContext
from bot.errors import UserError
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.webhooks import IncidentWebhooks
from handlers.incidents import announce as announce_incident
from handlers.request import add_actor_and_clock, clean_body, reply_to_user_error
from storage import audit
from storage.session import database_is_reachable

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's own payloads are far smaller (a full modal's state is tens of kilobytes).
MAX_SLACK_BODY_BYTES = 1024 * 1024
SIGNATURE_MAX_AGE_SECONDS = 5 * 60  # Slack's advice, and what Bolt allows
METRICS_PATH = "/metrics"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

SORRY = "Sorry, something went wrong on my side and it has been logged. Please try again in a minute."


class ContextCarryingExecutor(Executor):
    """Runs each listener with its request's context variables: who acts and through which door
    (storage/audit.py), set by `_audit_origin` before Bolt hands the listener to a worker thread."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        return self._inner.submit(contextvars.copy_context().run, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)


_DOORS = {"block_actions": audit.Door.BUTTON, "view_submission": audit.Door.FORM, "event_callback": audit.Door.EVENT}


def _audit_origin(body: dict, context: BoltContext, next: Callable[[], Any]) -> None:  # noqa: A002  (Bolt's name)
    """The audit trail's actor, door and instant (the request's `now`) for everything this request changes."""
    user = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    door = audit.Door.COMMAND if body.get("command") else _DOORS.get(body.get("type", ""), audit.Door.UNKNOWN)
    # Bolt runs the listener after every middleware has returned, on another thread
    # (ContextCarryingExecutor copies this context there), so this is not undone on return.
    audit.begin(user if isinstance(user, str) else audit.SYSTEM, door, at=context["now"])
    next()


def _not_the_token_warning(record: logging.LogRecord) -> bool:
    # Bolt reads SLACK_BOT_TOKEN from the environment on its own and warns that the client we
    # hand it wins; that client carries the same token, so the warning only alarms operators.
    return "`token` will be unused" not in record.getMessage()


def create_app(ctx: AppContext, *, socket_mode: bool = False, listener_executor: Executor | None = None) -> App:
    """The Bolt app with every listener registered.

    `listener_executor` runs listeners after they ack; tests pass one they can wait on.
    """
    settings = ctx.settings
    if not socket_mode:
        settings.require("SLACK_SIGNING_SECRET")
    bolt_logger = logging.getLogger("slack_bolt")
    bolt_logger.addFilter(_not_the_token_warning)
    app = App(
        client=ctx.client,
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None,
        # Socket Mode requests arrive over the app-level websocket, which is already authenticated.
        request_verification_enabled=not socket_mode,
        logger=bolt_logger,
        listener_executor=ContextCarryingExecutor(
            listener_executor
            or ThreadPoolExecutor(max_workers=settings.listener_threads, thread_name_prefix="listener")
        ),
    )
    # First, so the audit trail records the same instant the listener is handed.
    app.use(add_actor_and_clock(ctx))
    app.use(_audit_origin)

    @app.error
    def on_listener_error(
        error: Exception, body: dict, respond: Any, client: Any, response: BoltResponse | None
    ) -> BoltResponse | None:
        if isinstance(error, UserError):
            return reply_to_user_error(error, body, respond, client, response)
        log.error(
            "unhandled %s from %s in %s: %r",
            body.get("type") or body.get("command") or "request",
            (body.get("user") or {}).get("id") or body.get("user_id"),
            body.get("team_id") or (body.get("team") or {}).get("id"),
            error,
            exc_info=error,
        )
        if respond is not None and (body.get("response_url") or body.get("response_urls")):
            try:
                respond(text=SORRY, replace_original=False)
            except Exception:  # the apology is best effort; the error is already logged
                log.warning("could not tell the user about the error", exc_info=True)
        return None

    @app.middleware
    def use_the_paced_client(context: BoltContext, next: Callable[[], None]) -> None:
        # Bolt hands listeners a fresh WebClient per request; ours shares the process's send
        # rate limiter and metrics, so listeners' messages take their turn with everyone else's.
        context["client"] = ctx.client
        next()

    app.use(clean_body)
    handlers.register_all(app, ctx)
    return app


def _plain_response(start_response: Callable[..., Any], status: str, text: str) -> Iterable[bytes]:
    body = f"{text}\n".encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def _parses_as_slack_sends(body: bytes, content_type: str) -> bool:
    """Whether Bolt can read the body: UTF-8, and a JSON object or a form (whose `payload` is a JSON object)."""
    try:
        parsed = parse_body(body.decode("utf-8"), content_type.split(";")[0].strip() or None)
    except ValueError:  # bad UTF-8 or bad JSON (JSONDecodeError is a ValueError)
        return False
    return isinstance(parsed, dict)


def _signed_by_slack(secret: str, body: bytes, timestamp: str, signature: str) -> bool:
    """Slack's v0 signature over the raw bytes (slack_sdk's verifier decodes them first, and fails on bad UTF-8)."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    if age > SIGNATURE_MAX_AGE_SECONDS:
        return False
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def guarded_slack_events(slack: WsgiApp, signing_secret: str | None) -> WsgiApp:
    """`/slack/events` behind the checks Bolt makes too late or not at all.

    Bolt parses the body before it checks the signature, so a malformed body got a 500
    from anyone. Here the size is checked first (413), then the signature on the raw bytes
    (401), then that the body parses (400); only then does Bolt see it.
    """

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != SLACK_EVENTS_PATH:
            return slack(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _plain_response(start_response, "400 Bad Request", "bad Content-Length")
        if length > MAX_SLACK_BODY_BYTES:
            return _plain_response(start_response, "413 Payload Too Large", "request body over 1 MiB")
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        if signing_secret is not None and not _signed_by_slack(
            signing_secret,
            body,
            environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
            environ.get("HTTP_X_SLACK_SIGNATURE", ""),
        ):
            return _plain_response(start_response, "401 Unauthorized", "invalid request signature")
        if not _parses_as_slack_sends(body, environ.get("CONTENT_TYPE", "")):
            log.warning("refused a signed /slack/events body that does not parse (%d bytes)", len(body))
            return _plain_response(start_response, "400 Bad Request", "body does not parse")
        return slack({**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}, start_response)

    return application


def create_wsgi_app(app: App, ctx: AppContext, *, background: Executor | None = None) -> WsgiApp:
    """`/slack/events` for Slack, the incident webhooks, `GET /healthz` for load balancers and orchestrators,
    `GET /metrics` for Prometheus.

    `background` runs what a webhook triggers after it is answered; tests pass one they can wait on.
    """
    secret = ctx.settings.slack_signing_secret
    slack = guarded_slack_events(
        SlackRequestHandler(app, path=SLACK_EVENTS_PATH), secret.get_secret_value() if secret else None
    )
    webhooks = IncidentWebhooks(
        ctx.settings,
        ctx.session_factory,
        ctx.clock,
        lambda change, now: announce_incident(ctx, change, now),
        background or ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhook"),
    )

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if webhooks.handles(environ.get("PATH_INFO")):
            return webhooks(environ, start_response)
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            healthy = database_is_reachable(ctx.session_factory)
            body = b"ok\n" if healthy else b"database unreachable\n"
            start_response(
                "200 OK" if healthy else "503 Service Unavailable",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [body]
        if environ.get("PATH_INFO") == METRICS_PATH and environ.get("REQUEST_METHOD") == "GET":
            page = ctx.metrics.exposition(ctx.session_factory, ctx.clock)
            start_response("200 OK", [("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(page)))])
            return [page]
        return slack(environ, start_response)

    return application
