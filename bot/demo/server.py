"""`pmo-bot demo`: the real bot and a local Slack workspace in the browser, on 127.0.0.1 only.

One waitress server holds both sides. The bot's own WSGI app (`create_app`, every listener,
the webhooks, `/healthz`) answers `/slack/events` as in production; the page and its JSON
API answer `/`, `/static/`, `/files/` and `/api/`. A click in the page becomes the request
Slack would send (`DemoRequests`: signed, over HTTP, to `/slack/events`), and the bot's Web
API calls go to `DemoSlack`, the test suite's fake Slack. The clock is simulated: the bot's
interactive clock reads it, and the clock buttons run `run_due_work` at the new instant.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import waitress
from sqlalchemy import select
from waitress import wasyncore

from bot.app import create_app, create_wsgi_app
from bot.context import AppContext
from bot.services import portfolio
from bot.settings import Settings, load_settings
from bot.slack_client import make_web_client
from handlers.jobs import run_due_work
from storage.models import Project, ProjectStatus
from storage.session import make_engine, make_session_factory, prepare_schema, unit_of_work

from . import seed
from .workspace import DemoRequests, DemoSlack, SimulatedClock

log = logging.getLogger(__name__)

BANNER = "Local demo: nothing here reaches Slack"
HOST = "127.0.0.1"
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}
CLOCK_STEPS = ("checkin", "workday", "hour", "week")
BOT_NAME = "pmo-bot"

StartResponse = Callable[..., Any]


def manifest_path() -> Path:
    """manifest.yml at the top of the source tree, which declares the scopes the fake grants."""
    path = Path(__file__).resolve().parents[2] / "manifest.yml"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the demo from a checkout of pmo-bot (pip install -e .)")
    return path


class BadRequest(Exception):
    """The page sent something the demo cannot act on; answered 400 with this text."""


@dataclass
class Demo:
    """The running demo's parts, and the page's JSON API over them."""

    slack: DemoSlack
    ctx: AppContext
    clock: SimulatedClock
    requests: DemoRequests | None = None  # set once the server knows its port

    # --- the page's API ------------------------------------------------------------------

    def state(self, user_id: str, channel_id: str) -> dict[str, Any]:
        now = self.clock()
        local = now.astimezone(ZoneInfo(self.ctx.settings.default_timezone))
        people = [{"id": p.user_id, "name": p.name, "role": p.role} for p in seed.PEOPLE]
        channels = [{"id": seed.PMO_CHANNEL, "name": "pmo", "kind": "channel"}] + [
            {"id": p.channel_id, "name": p.channel_name, "kind": "channel"} for p in seed.PROJECTS
        ]
        dm = {"id": self.slack.dm_id(user_id), "name": BOT_NAME, "kind": "dm"}
        names = {p["id"]: p["name"] for p in people} | {self.slack.bot_user_id: BOT_NAME}
        return {
            "banner": BANNER,
            "version": self.slack.version,
            "now": now.isoformat(),
            "now_text": local.strftime("%a %d %b %Y, %H:%M") + f" ({self.ctx.settings.default_timezone})",
            "people": people,
            "channels": channels,
            "dm": dm,
            "user_names": names,
            "channel_names": {c["id"]: c["name"] for c in channels},
            "bot_user_id": self.slack.bot_user_id,
            "messages": [] if channel_id == "home" else self.slack.conversation_view(channel_id, user_id),
            "home": self.slack.home_view(user_id) if channel_id == "home" else None,
            "modal": self.slack.open_modal(user_id),
        }

    def command(self, user_id: str, channel_id: str, text: str) -> dict[str, Any]:
        command, _, rest = text.strip().partition(" ")
        if command != "/pmo":
            return {"ok": False, "error": f"{command} is not a valid command. This workspace has /pmo."}
        channel_name = self._channel_name(channel_id)
        response = self._requests().command(
            rest.strip(), user_id=user_id, channel_id=channel_id, channel_name=channel_name
        )
        return self._relay(response)

    def action(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        selection = {
            name: body[name] for name in ("selected_date", "selected_options", "selected_conversation") if name in body
        }
        common: dict[str, Any] = {
            "user_id": user_id,
            "block_id": body.get("block_id"),
            "selected_option": body.get("selected_option"),
            "selected_user": body.get("selected_user"),
            "selected": selection or None,
        }
        if body.get("view_id"):
            view = self.slack.view(body["view_id"])
            if view is None:
                raise BadRequest("that view is no longer open")
            response = self._requests().block_action(body["action_id"], view=view, **common)
        else:
            channel_id = body.get("channel_id") or ""
            message = self.slack.message(channel_id, body.get("message_ts") or "", user_id)
            if message is None:
                raise BadRequest("that message is gone")
            ephemeral = bool(message.get("ephemeral"))
            for name in ("ephemeral", "channel", "for_user"):
                message.pop(name, None)
            response = self._requests().block_action(
                body["action_id"], channel_id=channel_id, message=message, ephemeral=ephemeral, **common
            )
        return self._relay(response)

    def submit(self, user_id: str, view_id: str, values: dict[str, Any]) -> dict[str, Any]:
        view = self.slack.view(view_id)
        if view is None:
            raise BadRequest("that view is no longer open")
        response = self._requests().view_submission(
            view.get("callback_id") or "",
            values,
            user_id=user_id,
            private_metadata=view.get("private_metadata") or "",
            view_id=view_id,
            hash=view["hash"],
        )
        if response.status_code != 200:
            return {"ok": False, "error": f"the app answered HTTP {response.status_code}"}
        answer = response.json() if response.content.strip() else {}
        kind = answer.get("response_action")
        if kind == "errors":
            self.slack.show_modal_errors(view_id, answer.get("errors") or {})
            return {"ok": True, "errors": answer.get("errors") or {}}
        if kind == "update":
            self.slack.replace_modal(user_id, view_id, answer["view"])
        elif kind == "push":
            self.slack.push_modal(user_id, answer["view"])
        else:
            self.slack.close_modal(user_id, all_views=kind == "clear")
        return {"ok": True}

    def close(self, user_id: str) -> dict[str, Any]:
        self.slack.close_modal(user_id)
        return {"ok": True}

    def open_home(self, user_id: str) -> dict[str, Any]:
        event = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.slack.dm_id(user_id),
            "tab": "home",
            "event_ts": f"{self.clock().timestamp():.6f}",
        }
        return self._relay(self._requests().event(event))

    def advance_clock(self, step: str) -> dict[str, Any]:
        if step not in CLOCK_STEPS:
            raise BadRequest(f"step must be one of {', '.join(CLOCK_STEPS)}")
        now = self.clock()
        target = {
            "checkin": lambda: self._next_checkin(now),
            "workday": lambda: next_working_day_0930(now, ZoneInfo(self.ctx.settings.default_timezone)),
            "hour": lambda: now + timedelta(hours=1),
            "week": lambda: now + timedelta(weeks=1),
        }[step]()
        self.tick(target)
        return {"ok": True, "now": self.clock().isoformat()}

    def tick(self, at: datetime) -> None:
        """Move the simulated clock to `at` and run the bot's scheduled work for that instant."""
        now = self.clock.advance_to(at)
        run_due_work(self.ctx, now)
        self.slack.mark_changed()

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        return {p.channel_id: p.channel_name for p in seed.PROJECTS}.get(channel_id, "pmo")

    # --- internals -----------------------------------------------------------------------

    def _requests(self) -> DemoRequests:
        assert self.requests is not None, "the demo server is not started"
        return self.requests

    def _relay(self, response: Any) -> dict[str, Any]:
        if response.status_code != 200:
            return {"ok": False, "error": f"the app answered HTTP {response.status_code}"}
        return {"ok": True}

    def _next_checkin(self, now: datetime) -> datetime:
        default = self.ctx.settings.default_cadence
        with unit_of_work(self.ctx.session_factory) as session:
            projects = session.scalars(select(Project).where(Project.status == ProjectStatus.ACTIVE)).all()
            instants = [portfolio.effective_cadence(project, default).next_due(now)[2] for project in projects]
        return min(instants, default=default.next_due(now)[2])

    # --- WSGI ----------------------------------------------------------------------------

    def wsgi(self, bot_app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            path = environ.get("PATH_INFO") or "/"
            method = environ.get("REQUEST_METHOD")
            if path == "/" and method == "GET":
                return _static("index.html", start_response)
            if path.startswith("/static/") and method == "GET":
                return _static(path.removeprefix("/static/"), start_response)
            if path.startswith("/files/") and method == "GET":
                return self._file(path.removeprefix("/files/"), start_response)
            if path.startswith("/api/"):
                return self._api(path.removeprefix("/api/"), method, environ, start_response)
            return bot_app(environ, start_response)

        return application

    def _api(
        self, name: str, method: str | None, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        try:
            if name == "state" and method == "GET":
                query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
                user_id = query.get("user") or seed.PEOPLE[0].user_id
                answer = self.state(user_id, query.get("channel") or seed.PMO_CHANNEL)
            elif method == "POST":
                body = _json_body(environ)
                user_id = str(body.get("user") or "")
                if user_id not in {p.user_id for p in seed.PEOPLE}:
                    raise BadRequest("choose who you are first")
                answer = self._post(name, user_id, body)
            else:
                return _reply(start_response, 404, {"ok": False, "error": "no such endpoint"})
        except BadRequest as error:
            return _reply(start_response, 400, {"ok": False, "error": str(error)})
        return _reply(start_response, 200, answer)

    def _post(self, name: str, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if name == "command":
            return self.command(user_id, str(body.get("channel_id") or ""), str(body.get("text") or ""))
        if name == "action":
            return self.action(user_id, body)
        if name == "submit":
            return self.submit(user_id, str(body.get("view_id") or ""), body.get("values") or {})
        if name == "close":
            return self.close(user_id)
        if name == "home":
            return self.open_home(user_id)
        if name == "clock":
            return self.advance_clock(str(body.get("step") or ""))
        raise BadRequest(f"no such action: {name}")

    def _file(self, file_id: str, start_response: StartResponse) -> list[bytes]:
        found = self.slack.file_content(file_id)
        if found is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such file"]
        filename, content = found
        kind = "image/png" if filename.lower().endswith(".png") else "application/octet-stream"
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(content)))])
        return [content]


def next_working_day_0930(now: datetime, zone: ZoneInfo) -> datetime:
    """09:30 local time on the first Monday-to-Friday day after `now`'s local date."""
    day = now.astimezone(zone).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(9, 30), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _static(name: str, start_response: StartResponse) -> list[bytes]:
    folder = resources.files("bot.demo") / "static"
    if "/" in name or name.startswith(".") or not (folder / name).is_file():
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    content = (folder / name).read_bytes()
    kind = STATIC_TYPES.get(Path(name).suffix, "application/octet-stream")
    start_response(
        "200 OK", [("Content-Type", kind), ("Content-Length", str(len(content))), ("Cache-Control", "no-store")]
    )
    return [content]


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _reply(start_response: StartResponse, status: int, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload, default=str).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def demo_settings(slack: DemoSlack, database_url: str, signing_secret: str) -> Settings:
    """The bot's settings for the demo: the fake's token and URL, never the environment's Slack ones."""
    return load_settings(
        _env_file=None,
        slack_bot_token=slack.bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=None,
        slack_api_url=slack.url,
        database_url=database_url,
        pmo_channel_id=seed.PMO_CHANNEL,
        pmo_admin_ids=seed.PMO_ADMIN.user_id,
        default_timezone=str(seed.TIMEZONE),
        scheduler_enabled=False,
        incident_webhook_secret=None,
        pagerduty_webhook_secret=None,
        portfolio_source_url=None,
    )


@dataclass(frozen=True)
class RunningDemo:
    url: str
    demo: Demo


@contextmanager
def running_demo(database_url: str, *, port: int = 0, start: datetime | None = None) -> Iterator[RunningDemo]:
    """The demo served on 127.0.0.1:`port` (0: a free port) until the block ends.

    The portfolio is seeded into an empty database; the clock starts at `start` (default:
    the coming Monday at 09:30) and the scheduled work due then has run before this yields.
    """
    start = start or seed.demo_start(datetime.now(seed.TIMEZONE).date())
    clock = SimulatedClock(start)
    slack = DemoSlack(manifest_path(), clock, team_id=seed.TEAM_ID)
    seed.populate_workspace(slack)
    with slack:
        signing_secret = secrets.token_hex(16)
        settings = demo_settings(slack, database_url, signing_secret)
        engine = make_engine(settings.database_url)
        prepare_schema(engine, auto_migrate=True)
        session_factory = make_session_factory(engine)
        if not seed.is_seeded(session_factory):
            seed.seed_portfolio(session_factory, start)
        ctx = AppContext(
            settings=settings, session_factory=session_factory, client=make_web_client(settings), clock=clock
        )
        demo = Demo(slack=slack, ctx=ctx, clock=clock)
        # Listeners and webhook follow-ups run here, so stopping the demo waits for them
        # before the fake Slack they call goes away.
        background = ThreadPoolExecutor(max_workers=8, thread_name_prefix="demo-listener")
        bot = create_wsgi_app(create_app(ctx, listener_executor=background), ctx, background=background)
        server = waitress.create_server(demo.wsgi(bot), host=HOST, port=port, threads=8, ident="pmo-bot-demo")
        url = f"http://{HOST}:{server.effective_port}"
        demo.requests = DemoRequests(f"{url}/slack/events", signing_secret, slack, team_id=seed.TEAM_ID)
        thread = threading.Thread(target=server.run, name="demo-server", daemon=True)
        thread.start()
        try:
            demo.tick(start)
            yield RunningDemo(url=url, demo=demo)
        finally:
            server.task_dispatcher.shutdown()
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            thread.join(timeout=5)
            background.shutdown(wait=True)
            engine.dispose()


def demo_refusal(settings: Settings, *, db_given: bool) -> str | None:
    """Why the demo will not start in this environment, or None.

    The demo never uses the environment's token or database, but a real token or a
    PostgreSQL URL says this is a production shell: there the demo's database must be named.
    """
    if db_given:
        return None
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    if token.startswith("xox") and "fake" not in token:
        return (
            "SLACK_BOT_TOKEN looks like a real Slack token. The demo never uses it, but to be safe it starts here "
            "only with its own database named: pmo-bot demo --db demo.sqlite3"
        )
    if settings.database_url.startswith("postgresql"):
        return (
            "DATABASE_URL points at PostgreSQL. The demo never writes there, but to be safe it starts here only "
            "with its own database named: pmo-bot demo --db demo.sqlite3"
        )
    return None
