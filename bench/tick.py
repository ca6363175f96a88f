"""One scheduler tick on a 5,000-project portfolio: with nothing due, and with K prompts due.

Seeds the portfolio of bench/portfolio.py (eight weeks of history, 50,000 actions), in
which K projects check in on Wednesdays at 12:00 Europe/London and everything else this
week is already done. Then times `run_due_work` (every scheduled job, as `pmo-bot tick`
runs it) against the fake Slack:

- at 11:59, when nothing is due: the cost of looking;
- at 12:00, when the K prompts are due (they are sent; the bot's own pacing is lifted to
  1,000 messages a second, so the number is the bot's work, not Slack's rate limit).

Prints both (median of several runs), their ratio, and each job's share of the empty tick.

    python bench/tick.py                            # 5,000 projects, 50 due, SQLite
    python bench/tick.py --projects 500 --due 50 --database-url postgresql://postgres@127.0.0.1/bench

Targets: the empty tick well under a second, and the same for 500 and for 5,000 projects.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import delete, text  # noqa: E402

from bench.portfolio import TEAM_ID, WEEKS, seed  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.demo.fake_slack import FakeSlack  # noqa: E402
from bot.pacing import SendRateLimiter  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack_client import make_web_client  # noqa: E402
from handlers.jobs import JOBS, run_due_work  # noqa: E402
from storage.models import CheckinPeriod, OutgoingMessage  # noqa: E402
from storage.session import make_engine, make_session_factory, rebuild_schema  # noqa: E402

NOTHING_DUE = datetime(2026, 11, 25, 11, 59, tzinfo=timezone.utc)  # Wednesday of 2026-W48
PROMPTS_DUE = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)  # the late projects' cadence instant


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--due", type=int, default=50, help="prompts due at 12:00 (K)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as scratch:
        database_url = args.database_url or f"sqlite:///{scratch}/tick.sqlite3"
        engine = make_engine(load_settings(_env_file=None, database_url=database_url).database_url)
        rebuild_schema(engine)
        session_factory = make_session_factory(engine)
        portfolio = seed(session_factory, projects=args.projects, late=args.due)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))  # as autovacuum would have done after the history built up

        with FakeSlack(REPO_ROOT / "manifest.yml", team_id=TEAM_ID) as fake:
            fake.add_channel("C0PMO", "pmo")
            for user_id in portfolio.people:
                fake.add_user(user_id)
            for channel_id in portfolio.channel_ids:
                fake.add_channel(channel_id, f"project-{channel_id}")
            settings = load_settings(
                _env_file=None,
                slack_bot_token=fake.bot_token,
                slack_signing_secret="bench",
                slack_api_url=fake.url,
                database_url=database_url,
                pmo_channel_id="C0PMO",
                slack_messages_per_second=1000,
            )
            # Sending at 1,000/s from the first message: the time is the bot's own work, not pacing.
            client = make_web_client(settings, limiter=SendRateLimiter(1000, start=1000))
            ctx = AppContext(settings=settings, session_factory=session_factory, client=client)

            def forget_the_prompts() -> None:
                """Undo the due prompts' claims, so the next run finds them due again."""
                with session_factory.begin() as session:
                    session.execute(
                        delete(CheckinPeriod).where(
                            CheckinPeriod.project_id.in_(portfolio.late_project_ids), CheckinPeriod.period == WEEKS[-1]
                        )
                    )
                    keys = [f"checkin-prompt:{project_id}:{WEEKS[-1]}" for project_id in portfolio.late_project_ids]
                    session.execute(delete(OutgoingMessage).where(OutgoingMessage.idempotency_key.in_(keys)))

            run_due_work(ctx, NOTHING_DUE)  # warm up: connections, imports, the fake's first answers
            empty = [timed(lambda: run_due_work(ctx, NOTHING_DUE)) for _ in range(args.runs)]
            by_job = {job.__name__: timed(lambda job=job: job(ctx, NOTHING_DUE)) for job in JOBS}
            posted_while_empty = len(fake.calls_to("chat.postMessage"))
            busy = []
            for _ in range(args.runs):
                forget_the_prompts()
                busy.append(timed(lambda: run_due_work(ctx, PROMPTS_DUE)))
            prompts_per_run = (len(fake.calls_to("chat.postMessage")) - posted_while_empty) / args.runs
        engine.dispose()

    nothing, due = statistics.median(empty), statistics.median(busy)
    print(f"database:            {database_url.split(':', 1)[0]}")
    print(f"portfolio:           {portfolio.projects} projects, {portfolio.actions} actions, 8 weeks of history")
    print(f"tick, nothing due:   {nothing:.0f} ms  (median of {args.runs}; {posted_while_empty} messages sent)")
    print(f"tick, {args.due} prompts due: {due:.0f} ms  (median of {args.runs}; {prompts_per_run:.0f} sent a run)")
    print(f"ratio:               {due / nothing:.1f}")
    print("empty tick by job:   " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in by_job.items()))


if __name__ == "__main__":
    main()
