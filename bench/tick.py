"""One scheduler tick on a 5,000- and a 50,000-project portfolio: with nothing due, and with K prompts due.

Seeds the portfolio of bench/portfolio.py (eight weeks of history, 50,000 actions), in
which K projects check in on Wednesdays at 12:00 Europe/London and everything else this
week is already done. Then times `run_due_work` (every scheduled job, as `pmo-bot tick`
runs it) against the fake Slack:

- at 11:59, when nothing is due: the cost of looking;
- at 12:00, when the K prompts are due (they are sent; the bot's own pacing is lifted to
  1,000 messages a second, so the number is the bot's work, not Slack's rate limit);
- at 11:59 again after every project's prompt schedule was cleared, as the first tick after
  the upgrade that adds it, or after a new default cadence, finds it: each project looked at once.

Prints both (median of several runs) and each job's share of the empty tick, for each
portfolio size in turn, and how the idle tick grows from one size to the next.

    python bench/tick.py                            # 5,000 then 50,000 projects, 50 due, SQLite
    python bench/tick.py --projects 5000 --database-url postgresql://postgres@127.0.0.1/bench

Targets: the idle tick under 50 ms at 5,000 projects, and at 50,000 within 2x of that.
"""

from __future__ import annotations

import itertools
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import delete, text, update  # noqa: E402

from bench._common import chosen_database  # noqa: E402
from bench._common import parser as bench_parser  # noqa: E402
from bench.portfolio import TEAM_ID, WEEKS, seed  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.demo.fake_slack import FakeSlack  # noqa: E402
from bot.pacing import SendRateLimiter  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack_client import make_web_client  # noqa: E402
from handlers.jobs import JOBS, run_due_work  # noqa: E402
from storage.models import CheckinPeriod, OutgoingMessage, PromptSchedule  # noqa: E402
from storage.session import make_engine, make_session_factory, rebuild_schema  # noqa: E402

NOTHING_DUE = datetime(2026, 11, 25, 11, 59, tzinfo=timezone.utc)  # Wednesday of 2026-W48
PROMPTS_DUE = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)  # the late projects' cadence instant


TARGET_IDLE_MS = 50
RESET_RUNS = 3  # each looks at the whole portfolio: fewer than the cheap runs
TARGET_GROWTH = 2.0


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


@dataclass(frozen=True)
class Measured:
    database: str
    projects: int
    actions: int
    nothing_due_ms: float
    due_ms: float
    after_reset_ms: float
    posted_while_empty: int
    prompts_per_run: float
    by_job: dict[str, float]


def measure(url: str, *, projects: int, due: int, runs: int) -> Measured:
    """Seed a portfolio of `projects` on `url` (rebuilt) and time the idle and the busy tick."""
    engine = make_engine(load_settings(_env_file=None, database_url=url).database_url)
    rebuild_schema(engine)
    session_factory = make_session_factory(engine)
    portfolio = seed(session_factory, projects=projects, late=due)

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
            database_url=url,
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

        # Warm up: connections, imports, the fake's first answers, and the first tick's once-only
        # work (the seeded alerts and answered periods are found in the ledger and recorded).
        run_due_work(ctx, NOTHING_DUE)
        if engine.dialect.name == "postgresql":
            # As autovacuum would have done after the history built up (planner statistics, and
            # the index entries of the rows the warm-up updated).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        empty = [timed(lambda: run_due_work(ctx, NOTHING_DUE)) for _ in range(runs)]
        by_job = {
            job.__name__: statistics.median(timed(lambda job=job: job(ctx, NOTHING_DUE)) for _ in range(runs))
            for job in JOBS
        }
        posted_while_empty = len(fake.calls_to("chat.postMessage"))
        busy = []
        for _ in range(runs):
            forget_the_prompts()
            busy.append(timed(lambda: run_due_work(ctx, PROMPTS_DUE)))
        prompts_per_run = (len(fake.calls_to("chat.postMessage")) - posted_while_empty) / runs
        after_reset = []
        for _ in range(RESET_RUNS):
            with session_factory.begin() as session:
                session.execute(update(PromptSchedule).values(check_at=None, version=PromptSchedule.version + 1))
            after_reset.append(timed(lambda: run_due_work(ctx, NOTHING_DUE)))
    engine.dispose()
    return Measured(
        engine.dialect.name,
        portfolio.projects,
        portfolio.actions,
        statistics.median(empty),
        statistics.median(busy),
        statistics.median(after_reset),
        posted_while_empty,
        prompts_per_run,
        by_job,
    )


def main() -> None:
    parser = bench_parser(__doc__, projects=[5000, 50000])
    parser.add_argument("--due", type=int, default=50, help="prompts due at 12:00 (K)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    results = []
    for projects in args.projects:
        with tempfile.TemporaryDirectory() as scratch:
            url = chosen_database(args.database_url, scratch, "tick")
            results.append(measure(url, projects=projects, due=args.due, runs=args.runs))

    print(f"database:            {results[0].database}  ({os.cpu_count()} cores, shared with other work while it ran)")
    for result in results:
        print(f"portfolio:           {result.projects} projects, {result.actions} actions, 8 weeks of history")
        print(
            f"  tick, nothing due:   {result.nothing_due_ms:.0f} ms  (median of {args.runs};"
            f" target < {TARGET_IDLE_MS} ms; {result.posted_while_empty} messages sent, by the warm-up)"
        )
        print(
            f"  tick, {args.due} prompts due: {result.due_ms:.0f} ms  (median of {args.runs};"
            f" {result.prompts_per_run:.0f} sent a run)"
        )
        print(
            f"  first tick after the prompt schedule is cleared (upgrade, new default cadence): "
            f"{result.after_reset_ms:.0f} ms  (median of {RESET_RUNS})"
        )
        print("  idle tick by job:    " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in result.by_job.items()))
    for smaller, larger in itertools.pairwise(results):
        print(
            f"idle tick, {larger.projects} vs {smaller.projects} projects: "
            f"{larger.nothing_due_ms / smaller.nothing_due_ms:.1f}x  (target <= {TARGET_GROWTH}x)"
        )


if __name__ == "__main__":
    main()
