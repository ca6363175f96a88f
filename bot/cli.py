"""`pmo-bot`: serve, socket, tick, db upgrade, import, export, sync, demo, and the records
commands (export-project, export-person, retention, forget)."""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import waitress
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot import web
from bot.app import create_app, create_wsgi_app
from bot.clock import parse_instant, system_clock
from bot.context import AppContext
from bot.errors import UserError
from bot.foi_formats import FORMATS, render
from bot.metrics import Metrics
from bot.scheduler import create_scheduler
from bot.services import cost_csv, foi, milestones_csv, raid_csv, retention
from bot.services.foi import Export
from bot.services.portfolio_csv import ImportRejected, ImportSummary, export_portfolio, import_portfolio
from bot.settings import ConfigError, Settings, load_settings
from bot.slack_client import SlackUnusable, lookup_user_id_by_email, make_web_client, verify_bot_token
from handlers.delivery import deliver, join_linked_channels
from handlers.jobs import run_due_work
from handlers.outcomes import claim_pmo_alert, send_starting_lessons
from handlers.sync import run_sync
from storage import audit
from storage.session import (
    PendingMigrations,
    make_engine,
    make_session_factory,
    prepare_schema,
    unit_of_work,
    upgrade_to_head,
)

log = logging.getLogger("pmo_bot")


# `--kind` of import and export. The portfolio needs Slack (emails to users, channels to join),
# and so do the RAID log's tables (owners by email); these kinds are plain tables.
PORTFOLIO = "portfolio"
TABLE_KINDS: dict[str, tuple[Callable[..., ImportSummary], Callable[[Session], str]]] = {
    "milestones": (milestones_csv.import_milestones, milestones_csv.export_milestones),
    "dependencies": (milestones_csv.import_dependencies, milestones_csv.export_dependencies),
    "costs": (cost_csv.import_costs, cost_csv.export_costs),
}
KINDS = (PORTFOLIO, *raid_csv.KINDS, *TABLE_KINDS)


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date: use YYYY-MM-DD, e.g. 2026-04-01") from None


_EXTENSIONS = {"json": "json", "csv": "zip", "html": "html"}


def _write_export(export: Export, format_name: str, output: Path | None, stem: str) -> None:
    file = output or Path(f"{stem}-export.{_EXTENSIONS[format_name]}")
    file.write_bytes(render(export, format_name))
    rows = sum(len(rows) for rows in export.tables.values())
    print(f"{file}: {export.title}, {rows} rows in {len(export.tables)} tables ({format_name})")


def _export_project(settings: Settings, args: argparse.Namespace) -> int:
    session_factory = make_session_factory(_open_database(settings))
    try:
        with unit_of_work(session_factory) as session:
            export = foi.export_project(session, args.key, foi.Window(args.first, args.last), now=system_clock())
    except UserError as error:
        print(f"pmo-bot: {error}", file=sys.stderr)
        return 1
    _write_export(export, args.format, args.output, export.record["key"])
    return 0


def _export_person(settings: Settings, args: argparse.Namespace) -> int:
    session_factory = make_session_factory(_open_database(settings))
    try:
        with unit_of_work(session_factory) as session:
            export = foi.export_person(session, args.who, now=system_clock())
    except UserError as error:
        print(f"pmo-bot: {error}", file=sys.stderr)
        return 1
    _write_export(export, args.format, args.output, "person")
    return 0


def _retention(settings: Settings, *, apply: bool) -> int:
    session_factory = make_session_factory(_open_database(settings))
    now = system_clock()
    try:
        with audit.acting("cli", audit.Door.CLI, at=now), unit_of_work(session_factory) as session:
            removals = retention.run_retention(
                session, now=now, years=settings.retention_years_after_closure, apply=apply
            )
    except UserError as error:
        print(f"pmo-bot: {error}", file=sys.stderr)
        return 1
    verb = "removed" if apply else "would remove"
    if not removals:
        print(f"retention: no project was closed over {settings.retention_years_after_closure} years ago")
    for removal in removals:
        counts = ", ".join(f"{count} {what}" for what, count in removal.as_changes().items())
        kept = f"; kept (active elsewhere): {', '.join(removal.people_kept)}" if removal.people_kept else ""
        print(f"{removal.key} (closed {removal.closed_on.isoformat()}): {verb} {counts}{kept}")
    return 0


def _forget(settings: Settings, who: str, *, force: bool) -> int:
    session_factory = make_session_factory(_open_database(settings))
    now = system_clock()
    try:
        with audit.acting("cli", audit.Door.CLI, at=now), unit_of_work(session_factory) as session:
            outcome = retention.forget(session, who, now=now, force=force)
    except UserError as error:
        print(f"pmo-bot: {error}", file=sys.stderr)
        return 1
    if not outcome.done:
        print(
            f"{outcome.slack_user_id} still owns open actions; reassign them first (or use --force):", file=sys.stderr
        )
        for action in outcome.open_actions:
            print(f"  {action.project_key} action {action.action_id}: {action.title}", file=sys.stderr)
        return 1
    closed = ", ".join(outcome.closed_projects) or "none"
    print(f"{outcome.slack_user_id} forgotten: name and email removed; replaced on closed projects: {closed}")
    return 0


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
    import_ = commands.add_parser(
        "import", help="load the portfolio (or --kind) from a CSV file (upsert, all or nothing)"
    )
    import_.add_argument("file", type=Path, metavar="FILE.csv")
    import_.add_argument("--kind", choices=KINDS, default=PORTFOLIO, help="what the file holds (default: portfolio)")
    export = commands.add_parser("export", help="write the portfolio (or --kind) to a CSV file")
    export.add_argument("file", type=Path, metavar="FILE.csv")
    export.add_argument("--kind", choices=KINDS, default=PORTFOLIO, help="what to write (default: portfolio)")
    commands.add_parser("sync", help="sync the portfolio from PORTFOLIO_SOURCE_URL now (all or nothing)")
    demo = commands.add_parser(
        "demo", help="try the bot without Slack: a local workspace in the browser with a sample portfolio"
    )
    demo.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (default: 3000)")
    demo.add_argument(
        "--db", type=Path, default=None, metavar="FILE", help="SQLite file for the demo (default: a fresh one)"
    )
    export_project = commands.add_parser(
        "export-project", help="everything held about one project, for an FOI / EIR request (JSON, CSV zip or HTML)"
    )
    export_project.add_argument("key", metavar="KEY")
    export_project.add_argument("--from", dest="first", type=_day, metavar="YYYY-MM-DD", help="first day included")
    export_project.add_argument("--to", dest="last", type=_day, metavar="YYYY-MM-DD", help="last day included")
    export_project.add_argument("--format", choices=FORMATS, required=True)
    export_project.add_argument("--output", type=Path, metavar="FILE", help="default: KEY-export.json/.zip/.html")
    export_person = commands.add_parser("export-person", help="everything held about one person (subject access)")
    export_person.add_argument("who", metavar="@person|EMAIL")
    export_person.add_argument("--format", choices=FORMATS, default="json")
    export_person.add_argument("--output", type=Path, metavar="FILE", help="default: person-export.json/.zip/.html")
    retention_ = commands.add_parser(
        "retention", help="remove the operational detail of projects closed over RETENTION_YEARS_AFTER_CLOSURE ago"
    )
    mode = retention_.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="list what would go, change nothing")
    mode.add_argument("--apply", action="store_true", help="remove it (the audit trail records what went)")
    forget = commands.add_parser("forget", help="a leaver: replace their name and Slack ID on closed projects")
    forget.add_argument("who", metavar="@person|EMAIL")
    forget.add_argument("--force", action="store_true", help="even while they still own open actions")
    return parser


def _open_database(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url)
    prepare_schema(engine, auto_migrate=settings.auto_migrate)
    return engine


def _context(settings: Settings, engine: Engine, client: WebClient | None = None) -> AppContext:
    metrics = Metrics()
    return AppContext(
        settings=settings,
        session_factory=make_session_factory(engine),
        client=client or make_web_client(settings, metrics),
        metrics=metrics,
    )


def _serve(settings: Settings, *, socket_mode: bool) -> None:
    if socket_mode:
        settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    else:
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    verify_bot_token(settings)
    if not socket_mode and settings.web_concurrency > 1:
        _open_database(settings).dispose()  # the schema is checked once, before any worker starts
        log.info(
            "listening on port %d with %d workers of %d threads: POST /slack/events, GET /healthz",
            settings.port,
            settings.web_concurrency,
            settings.web_threads,
        )
        web.serve_forked(
            lambda runs_scheduler: _wsgi_app(settings, scheduler=runs_scheduler),
            port=settings.port,
            workers=settings.web_concurrency,
            threads=settings.web_threads,
            scheduler=settings.scheduler_enabled,
        )
        return
    ctx = _context(settings, _open_database(settings))
    app = create_app(ctx, socket_mode=socket_mode)
    if settings.scheduler_enabled:
        _start_scheduler(ctx)
    if socket_mode:
        assert settings.slack_app_token is not None
        # websocket-client's adapter keeps acking within a second through Slack's periodic
        # `disconnect` (refresh_requested), where slack_sdk's built-in client took over 2.5 s.
        SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
        return
    log.info("listening on port %d: POST /slack/events, GET /healthz", settings.port)
    waitress.serve(
        create_wsgi_app(app, ctx), host="0.0.0.0", port=settings.port, threads=settings.web_threads, ident="pmo-bot"
    )


def _start_scheduler(ctx: AppContext) -> None:
    create_scheduler(lambda now: run_due_work(ctx, now), system_clock).start()
    log.info("scheduler started: scheduled work runs every minute in this process")


def _wsgi_app(settings: Settings, *, scheduler: bool) -> web.WsgiApp:
    """One gunicorn worker's app, built after the fork: its own engine, pool and Slack client."""
    ctx = _context(settings, make_engine(settings.database_url))
    if scheduler:
        _start_scheduler(ctx)
    application = create_wsgi_app(create_app(ctx), ctx)
    # What the worker built to start (modules, the app, the models) lives as long as it does:
    # kept out of the collector's sight, a full collection during a request walks only what
    # requests made, a pause of a few ms instead of tens that every thread of the worker waits out.
    gc.freeze()
    return application


def _tick(settings: Settings, at: datetime | None) -> None:
    settings.require("SLACK_BOT_TOKEN")
    now = at or system_clock()
    run_due_work(_context(settings, _open_database(settings)), now)
    print(f"tick done for {now.isoformat()}")


def _rejected(file: Path, rejected: ImportRejected) -> int:
    """An import refused whole: every bad line on stderr, and the exit status that says so."""
    print(f"{file}: nothing imported; fix these rows and run the import again:", file=sys.stderr)
    for problem in rejected.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def _import_table(settings: Settings, file: Path, kind: str) -> int:
    load, _dump = TABLE_KINDS[kind]
    session_factory = make_session_factory(_open_database(settings))
    try:
        with audit.acting("import", audit.Door.CLI), unit_of_work(session_factory) as session:
            summary = load(session, file.read_text(encoding="utf-8-sig"), now=system_clock())
    except ImportRejected as rejected:
        return _rejected(file, rejected)
    print(f"{file}: {kind}: {summary.describe()}")
    return 0


def _export_table(settings: Settings, file: Path, kind: str) -> None:
    _load, dump = TABLE_KINDS[kind]
    with unit_of_work(make_session_factory(_open_database(settings))) as session:
        text = dump(session)
    file.write_text(text, encoding="utf-8-sig", newline="")
    print(f"{file}: {text.count(chr(10)) - 1} {kind} written")


def _import(settings: Settings, file: Path) -> int:
    settings.require("SLACK_BOT_TOKEN")
    team_id = verify_bot_token(settings)["team_id"]
    ctx = _context(settings, _open_database(settings))
    try:
        with audit.acting("import", audit.Door.CLI), unit_of_work(ctx.session_factory) as session:
            summary = import_portfolio(
                session,
                file.read_text(encoding="utf-8-sig"),
                resolve_email=lambda email: lookup_user_id_by_email(ctx.client, email),
                team_id=team_id,
                now=system_clock(),
            )
    except ImportRejected as rejected:
        return _rejected(file, rejected)
    print(f"{file}: {summary.describe()}")
    send_starting_lessons(ctx, summary.created, now=system_clock())
    for channel in join_linked_channels(ctx.client, summary.linked_channel_ids):
        print(f"  invite @pmo-bot to {channel}: it is private, so the bot cannot join it to post the prompts")
    return 0


def _import_raid(settings: Settings, kind: str, file: Path) -> int:
    """A project's RAID log (`--kind risks` or `issues`): the portfolio import's checks and all-or-nothing.

    The PMO's alerts about what it made 20+ or critical are claimed with the import and sent once
    it commits: a crash or a Slack failure leaves them in the ledger for the next tick to send.
    """
    settings.require("SLACK_BOT_TOKEN")
    verify_bot_token(settings)
    ctx = _context(settings, _open_database(settings))
    now = system_clock()
    try:
        with audit.acting("import", audit.Door.CLI), unit_of_work(ctx.session_factory) as session:
            summary = raid_csv.import_raid(
                session,
                kind,
                file.read_text(encoding="utf-8-sig"),
                resolve_email=lambda email: lookup_user_id_by_email(ctx.client, email),
                now=now,
            )
            alerts = [claim_pmo_alert(ctx, session, item, now=now) for item in summary.alerting]
    except ImportRejected as rejected:
        return _rejected(file, rejected)
    print(f"{file}: {kind}: {summary.describe()}")
    for claimed in alerts:
        if claimed is not None:
            deliver(ctx, claimed, now=now)
    return 0


def _export_raid(settings: Settings, kind: str, file: Path) -> None:
    session_factory = make_session_factory(_open_database(settings))
    with unit_of_work(session_factory) as session:
        text = raid_csv.export_raid(session, kind)
    file.write_text(text, encoding="utf-8-sig", newline="")
    print(f"{file}: {text.count(chr(10)) - 1} {kind} written")


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


def _demo(settings: Settings, port: int, db: Path | None) -> int:
    # Imported here: the demo's fake Slack and page are not needed to serve the real Slack.
    from bot.demo.server import BANNER, demo_refusal, running_demo

    refusal = demo_refusal(settings, db_given=db is not None)
    if refusal:
        print(f"pmo-bot demo: {refusal}", file=sys.stderr)
        return 2
    if db is None:
        db = Path(tempfile.mkdtemp(prefix="pmo-bot-demo-")) / "demo.sqlite3"
    # Every fake Web API call is an HTTP request; at INFO they would drown the demo's own lines.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    try:
        with running_demo(f"sqlite:///{db.resolve()}", port=port) as demo:
            print(f"{BANNER}.\nOpen {demo.url}/ in your browser (database: {db}). Ctrl+C stops the demo.", flush=True)
            threading.Event().wait()
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        print(f"pmo-bot demo: port {port} is in use on 127.0.0.1; choose another with --port", file=sys.stderr)
        return 2
    return 0


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
    elif args.command == "import" and args.kind in raid_csv.KINDS:
        return _import_raid(settings, args.kind, args.file)
    elif args.command == "import":
        if args.kind == PORTFOLIO:
            return _import(settings, args.file)
        return _import_table(settings, args.file, args.kind)
    elif args.command == "export":
        if args.kind == PORTFOLIO:
            _export(settings, args.file)
        elif args.kind in raid_csv.KINDS:
            _export_raid(settings, args.kind, args.file)
        else:
            _export_table(settings, args.file, args.kind)
    elif args.command == "sync":
        return _sync(settings)
    elif args.command == "demo":
        return _demo(settings, args.port, args.db)
    elif args.command == "export-project":
        return _export_project(settings, args)
    elif args.command == "export-person":
        return _export_person(settings, args)
    elif args.command == "retention":
        return _retention(settings, apply=args.apply)
    elif args.command == "forget":
        return _forget(settings, args.who, force=args.force)
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = run(argv)
    except ConfigError as error:
        for line in error.lines:
            print(f"pmo-bot: configuration: {line}", file=sys.stderr)
        code = 2
    except (PendingMigrations, SlackUnusable) as error:
        print(f"pmo-bot: {error}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
