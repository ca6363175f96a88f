"""The composition root: builds the Bolt app and the WSGI application around it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.adapter.wsgi import SlackRequestHandler

import handlers
from bot.context import AppContext
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.webhooks import IncidentWebhooks
from handlers.incidents import announce as announce_incident
from storage.session import database_is_reachable

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

SORRY = "Sorry, something went wrong on my side and it has been logged. Please try again in a minute."


def create_app(ctx: AppContext, *, socket_mode: bool = False, listener_executor: Executor | None = None) -> App:
    """The Bolt app with every listener registered.

    `listener_executor` runs listeners after they ack; tests pass one they can wait on.
    """
    settings = ctx.settings
    if not socket_mode:
        settings.require("SLACK_SIGNING_SECRET")
    app = App(
        client=ctx.client,
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None,
        # Socket Mode requests arrive over the app-level websocket, which is already authenticated.
        request_verification_enabled=not socket_mode,
        logger=logging.getLogger("slack_bolt"),
        listener_executor=listener_executor,
    )

    @app.error
    def on_unexpected_error(error: Exception, body: dict, respond: Any) -> None:
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

    @app.middleware
    def use_the_paced_client(context: BoltContext, next: Callable[[], None]) -> None:
        # Bolt hands listeners a fresh WebClient per request; ours shares the process's send
        # rate limiter and metrics, so listeners' messages take their turn with everyone else's.
        context["client"] = ctx.client
        next()

    handlers.register_all(app, ctx)
    return app


def create_wsgi_app(app: App, ctx: AppContext, *, background: Executor | None = None) -> WsgiApp:
    """`/slack/events` for Slack, the incident webhooks, `GET /healthz` for load balancers and orchestrators,
    `GET /metrics` for Prometheus.

    `background` runs what a webhook triggers after it is answered; tests pass one they can wait on.
    """
    slack = SlackRequestHandler(app, path=SLACK_EVENTS_PATH)
    webhooks = IncidentWebhooks(
        ctx.settings,
        ctx.session_factory,
        ctx.clock,
        lambda change: announce_incident(ctx, change, ctx.clock()),
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
