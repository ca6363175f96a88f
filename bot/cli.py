"""`pmo-bot`: serve, socket, tick, db upgrade, import, export."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import waitress
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.app import create_app, create_wsgi_app
from bot.clock import parse_instant, system_clock
from bot.context import AppContext
from bot.scheduler import create_scheduler
from bot.services.portfolio_csv import ImportRejected, export_portfolio, import_portfolio
from bot.settings import ConfigError, Settings, load_settings
from bot.slack_client import lookup_user_id_by_email, make_web_client
from handlers.channels import join_linked_channels
from handlers.jobs import run_due_work
from handlers.sync import run_sync
from storage.session import (
    PendingMigrations,
    make_engine,
    make_session_factory,
    prepare_schema,
    unit_of_work,
    upgrade_to_head,
)

log = logging.getLogger("pmo_bot")


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmo-bot",
        description="A Slack bot for Portfolio Management Offices. Settings come from the environment or .env.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="run in HTTP mode: POST /slack/events, GET /healthz, on PORT")
    commands.add_parser("socket", help="run in Socket Mode (no public URL needed; needs SLACK_APP_TOKEN)")
    tick = commands.add_parser("tick", help="run the scheduled work due at an instant, once, and exit")
    tick.add_argument(
        "--at",
        type=_instant,
        default=None,
        metavar="ISO-8601",
        help="the instant to act for (default: now; no offset means UTC), e.g. 2026-11-23T09:30:00+00:00",
    )
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_commands.add_parser("upgrade", help="apply the Alembic migrations up to the latest")
    import_ = commands.add_parser("import", help="load the portfolio from a CSV file (upsert by key, all or nothing)")
    import_.add_argument("file", type=Path, metavar="FILE.csv")
    export = commands.add_parser("export", help="write the portfolio to a CSV file")
    export.add_argument("file", type=Path, metavar="FILE.csv")
    commands.add_parser("sync", help="sync the portfolio from PORTFOLIO_SOURCE_URL now (all or nothing)")
    return parser


def _open_database(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url)
    prepare_schema(engine, auto_migrate=settings.auto_migrate)
    return engine


def _context(settings: Settings, engine: Engine, client: WebClient | None = None) -> AppContext:
    return AppContext(
        settings=settings,
        session_factory=make_session_factory(engine),
        client=client or make_web_client(settings),
    )


def _serve(settings: Settings, *, socket_mode: bool) -> None:
    if socket_mode:
        settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    else:
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    ctx = _context(settings, _open_database(settings))
    app = create_app(ctx, socket_mode=socket_mode)
    if settings.scheduler_enabled:
        create_scheduler(lambda now: run_due_work(ctx, now), system_clock).start()
        log.info("scheduler started: scheduled work runs every minute in this process")
    if socket_mode:
        assert settings.slack_app_token is not None
        SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
        return
    log.info("listening on port %d: POST /slack/events, GET /healthz", settings.port)
    waitress.serve(create_wsgi_app(app, ctx), host="0.0.0.0", port=settings.port, threads=8, ident="pmo-bot")


def _tick(settings: Settings, at: datetime | None) -> None:
    settings.require("SLACK_BOT_TOKEN")
    now = at or system_clock()
    run_due_work(_context(settings, _open_database(settings)), now)
    print(f"tick done for {now.isoformat()}")


def _import(settings: Settings, file: Path) -> int:
    settings.require("SLACK_BOT_TOKEN")
    ctx = _context(settings, _open_database(settings))
    team_id = ctx.client.auth_test()["team_id"]
    try:
        with unit_of_work(ctx.session_factory) as session:
            summary = import_portfolio(
                session,
                file.read_text(encoding="utf-8-sig"),
                resolve_email=lambda email: lookup_user_id_by_email(ctx.client, email),
                team_id=team_id,
                now=system_clock(),
            )
    except ImportRejected as rejected:
        print(f"{file}: nothing imported; fix these rows and run the import again:", file=sys.stderr)
        for problem in rejected.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"{file}: {summary.describe()}")
    for channel in join_linked_channels(ctx.client, summary.linked_channel_ids):
        print(f"  invite @pmo-bot to {channel}: it is private, so the bot cannot join it to post the prompts")
    return 0


def _sync(settings: Settings) -> int:
    settings.require("SLACK_BOT_TOKEN", "PORTFOLIO_SOURCE_URL")
    outcome = run_sync(_context(settings, _open_database(settings)), system_clock())
    if outcome.error is not None:
        print(f"sync failed, nothing changed: {outcome.error}", file=sys.stderr)
        return 1
    if outcome.summary is None:
        print("sync: the source reports no change since the last sync")
    else:
        print(f"sync: {outcome.summary.describe()}")
    for channel in outcome.to_invite:
        print(f"  invite @pmo-bot to {channel}: it is private, so the bot cannot join it to post the prompts")
    return 0


def _export(settings: Settings, file: Path) -> None:
    session_factory = make_session_factory(_open_database(settings))
    with unit_of_work(session_factory) as session:
        text = export_portfolio(session)
    # The BOM makes Excel read the file as UTF-8, so names with accents survive a round trip.
    file.write_text(text, encoding="utf-8-sig", newline="")
    print(f"{file}: {text.count(chr(10)) - 1} projects written")


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        _serve(settings, socket_mode=False)
    elif args.command == "socket":
        _serve(settings, socket_mode=True)
    elif args.command == "tick":
        _tick(settings, args.at)
    elif args.command == "db":
        upgrade_to_head(make_engine(settings.database_url))
        print("database is at the latest migration")
    elif args.command == "import":
        return _import(settings, args.file)
    elif args.command == "export":
        _export(settings, args.file)
    elif args.command == "sync":
        return _sync(settings)
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = run(argv)
    except ConfigError as error:
        for line in error.lines:
            print(f"pmo-bot: configuration: {line}", file=sys.stderr)
        code = 2
    except PendingMigrations as error:
        print(f"pmo-bot: {error}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
