"""Monday-morning fan-out: N linked projects due at the same minute, against a rate-limited Slack.

Runs the real tick job (`send_checkin_prompts`) against the fake Slack Web API with Slack's
chat.postMessage limits switched on (1 message/second/channel and an overall limit, over
which it answers 429 + Retry-After). Prints the time taken, its ratio to the minimum the
rate limit allows, and the prompts lost and duplicated.

    python bench/fanout.py                     # 2,000 projects, SQLite
    python bench/fanout.py --projects 500 --database-url postgresql://postgres@127.0.0.1/test

Targets: ratio <= 1.2, zero lost, zero duplicated.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import insert  # noqa: E402

from bot.context import AppContext  # noqa: E402
from bot.demo.fake_slack import FakeSlack  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack_client import make_web_client  # noqa: E402
from handlers.checkins import send_checkin_prompts  # noqa: E402
from storage.models import ChannelLink, Project, ProjectStatus  # noqa: E402
from storage.session import make_engine, make_session_factory, rebuild_schema  # noqa: E402

CREATED = datetime(2026, 11, 16, tzinfo=timezone.utc)
DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # Monday 09:30 Europe/London
TEAM_ID = "T0FAKE"


def seed(session_factory, projects: int) -> None:  # type: ignore[no-untyped-def]
    """Bulk insert: the benchmark measures the fan-out, not project creation."""
    with session_factory() as session:
        session.execute(
            insert(Project),
            [
                {
                    "key": f"P-{n}",
                    "name": f"Project {n}",
                    "status": ProjectStatus.ACTIVE,
                    "created_at": CREATED,
                    "updated_at": CREATED,
                }
                for n in range(projects)
            ],
        )
        ids = dict(session.execute(Project.__table__.select().with_only_columns(Project.key, Project.id)).all())
        session.execute(
            insert(ChannelLink),
            [
                {
                    "team_id": TEAM_ID,
                    "channel_id": f"C{n:07d}",
                    "project_id": ids[f"P-{n}"],
                    "is_primary": True,
                    "created_at": CREATED,
                }
                for n in range(projects)
            ],
        )
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--overall-per-second", type=float, default=50.0, help="the fake's workspace-wide limit")
    parser.add_argument("--channel-per-second", type=float, default=1.0, help="the fake's per-channel limit")
    parser.add_argument(
        "--pace", type=float, default=None, help="SLACK_MESSAGES_PER_SECOND for the bot (default: 90%% of the limit)"
    )
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    pace = args.pace or args.overall_per_second * 0.9

    with tempfile.TemporaryDirectory() as scratch:
        database_url = args.database_url or f"sqlite:///{scratch}/fanout.sqlite3"
        engine = make_engine(database_url)
        rebuild_schema(engine)
        session_factory = make_session_factory(engine)
        seed(session_factory, args.projects)

        with FakeSlack(REPO_ROOT / "manifest.yml", team_id=TEAM_ID) as fake:
            for n in range(args.projects):
                fake.add_channel(f"C{n:07d}", f"project-{n}")
            fake.set_rate_limit(
                per_channel_per_second=args.channel_per_second, overall_per_second=args.overall_per_second
            )
            settings = load_settings(
                _env_file=None,
                slack_bot_token=fake.bot_token,
                slack_signing_secret="bench",
                slack_api_url=fake.url,
                database_url=database_url,
                slack_messages_per_second=pace,
            )
            ctx = AppContext(settings=settings, session_factory=session_factory, client=make_web_client(settings))

            started = time.perf_counter()
            send_checkin_prompts(ctx, DUE)
            elapsed = time.perf_counter() - started

            per_channel = [len(fake.messages_in(f"C{n:07d}")) for n in range(args.projects)]
            rate_limited = sum(1 for call in fake.calls_to("chat.postMessage") if call.status == 429)
        engine.dispose()

    minimum = args.projects / args.overall_per_second
    print(f"projects:          {args.projects}")
    print(f"database:          {database_url.split(':', 1)[0]}")
    print(f"limit:             {args.overall_per_second:g} msg/s overall, {args.channel_per_second:g} msg/s/channel")
    print(f"bot pace:          {pace:g} msg/s")
    print(f"time taken:        {elapsed:.1f} s")
    print(f"minimum possible:  {minimum:.1f} s")
    print(f"ratio:             {elapsed / minimum:.2f}  (target <= 1.2)")
    print(f"answered 429:      {rate_limited}")
    print(f"lost:              {sum(1 for count in per_channel if count == 0)}  (target 0)")
    print(f"duplicated:        {sum(1 for count in per_channel if count > 1)}  (target 0)")


if __name__ == "__main__":
    main()
