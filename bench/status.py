"""`/pmo status` for a PMO admin on a 5,000-project portfolio with 50,000 actions.

Starts the real app (Bolt behind waitress, as `pmo-bot serve` runs it) against the fake
Slack Web API and sends N signed slash commands, one after another. Prints the ack
latency (the HTTP response time of the command, which Slack wants within 3 s), the time
until the table arrives at the response_url, and the Block Kit size of the reply and
whether Slack would accept it (tests/slack/blockkit.message_problems).

    python bench/status.py                          # 5,000 projects, SQLite
    python bench/status.py --database-url postgresql://postgres@127.0.0.1/bench

Targets: ack p99 under 300 ms; every reply valid Block Kit.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import waitress  # noqa: E402
from sqlalchemy import text  # noqa: E402
from waitress import wasyncore  # noqa: E402

from bench.portfolio import PMO_ADMIN, TEAM_ID, seed  # noqa: E402
from bot.app import create_app, create_wsgi_app  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.demo.blockkit import message_problems  # noqa: E402
from bot.demo.fake_slack import FakeSlack  # noqa: E402
from bot.demo.signed import SignedRequests  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack_client import make_web_client  # noqa: E402
from storage.session import make_engine, make_session_factory, rebuild_schema  # noqa: E402

AT = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)  # Wednesday of 2026-W48
SIGNING_SECRET = "bench"
WARM_UP = 5


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--actions-per-project", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as scratch:
        database_url = args.database_url or f"sqlite:///{scratch}/status.sqlite3"
        settings_url = load_settings(_env_file=None, database_url=database_url).database_url
        engine = make_engine(settings_url)
        rebuild_schema(engine)
        session_factory = make_session_factory(engine)
        started = time.perf_counter()
        portfolio = seed(session_factory, projects=args.projects, actions_per_project=args.actions_per_project)
        seeded_in = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))  # as autovacuum would have done after the history built up

        with FakeSlack(REPO_ROOT / "manifest.yml", team_id=TEAM_ID) as fake:
            fake.add_channel("C0PMO", "pmo")
            settings = load_settings(
                _env_file=None,
                slack_bot_token=fake.bot_token,
                slack_signing_secret=SIGNING_SECRET,
                slack_api_url=fake.url,
                database_url=database_url,
                pmo_channel_id="C0PMO",
                pmo_admin_ids=PMO_ADMIN,
            )
            ctx = AppContext(settings=settings, session_factory=session_factory, client=make_web_client(settings))
            ctx = replace(ctx, clock=lambda: AT)
            server = waitress.create_server(create_wsgi_app(create_app(ctx), ctx), host="127.0.0.1", port=0, threads=4)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            slack = SignedRequests(
                f"http://127.0.0.1:{server.effective_port}/slack/events", SIGNING_SECRET, fake, team_id=TEAM_ID
            )

            acks: list[float] = []
            replies: list[float] = []
            sizes: set[tuple[int, int]] = set()
            invalid = 0
            for number in range(WARM_UP + args.requests):
                answered = {response["url"] for response in fake.responses}
                sent = time.perf_counter()
                response = slack.command("status", user_id=PMO_ADMIN, channel_id="C0PMO")
                acked = time.perf_counter()
                reply = fake.wait_for_response(lambda r, seen=answered: r["url"] not in seen, timeout=30)
                replied = time.perf_counter()
                if response.status_code != 200:
                    raise SystemExit(f"the command was answered {response.status_code}")
                if number < WARM_UP:
                    continue
                acks.append((acked - sent) * 1000)
                replies.append((replied - sent) * 1000)
                blocks = reply.get("blocks") or []
                sizes.add((len(json.dumps(blocks, ensure_ascii=False).encode()), len(blocks)))
                invalid += bool(message_problems(blocks)) or not blocks

            server.task_dispatcher.shutdown()
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            thread.join(timeout=5)
        engine.dispose()

    print(f"database:        {database_url.split(':', 1)[0]}")
    print(f"portfolio:       {portfolio.projects} projects, {portfolio.actions} actions (seeded in {seeded_in:.1f} s)")
    print(f"requests:        {args.requests} (after {WARM_UP} to warm up), one at a time")
    print(
        f"ack latency:     p50 {percentile(acks, 0.5):.1f} ms, p99 {percentile(acks, 0.99):.1f} ms  (target p99 < 300)"
    )
    print(
        f"reply latency:   p50 {percentile(replies, 0.5):.0f} ms, p99 {percentile(replies, 0.99):.0f} ms, "
        f"mean {statistics.mean(replies):.0f} ms  (command sent -> table at the response_url)"
    )
    for size, blocks in sorted(sizes):
        print(f"reply size:      {size:,} bytes of blocks, {blocks} blocks (a message may have 50)")
    print(f"invalid replies: {invalid}  (target 0)")


if __name__ == "__main__":
    main()
