"""Monday-morning fan-out: N linked projects due at the same minute, against a rate-limited Slack.

Runs the real tick job (`send_checkin_prompts`) against the fake Slack Web API with Slack's
chat.postMessage limits switched on (1 message/second/channel and an overall limit, over
which it answers 429 + Retry-After). Prints the time taken, its ratio to the minimum the
rate limit allows, the share of calls answered 429, and the prompts lost and duplicated.
The bot runs at its default settings (SLACK_MESSAGES_PER_SECOND unset) unless told otherwise.

    python bench/fanout.py                     # 2,000 projects, SQLite
    python bench/fanout.py --projects 500 --database-url postgresql://postgres@127.0.0.1/test

Targets: ratio <= 1.2, at most 2% of calls answered 429, zero lost, zero duplicated.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import insert  # noqa: E402

from bench._common import bot_settings, chosen_database, limit_fake, outcome, parse_options, report  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.demo.fake_slack import FakeSlack  # noqa: E402
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
    options = parse_options(__doc__, projects=2000)
    with tempfile.TemporaryDirectory() as scratch:
        database_url = chosen_database(options.database_url, scratch, "fanout")
        engine = make_engine(database_url)
        rebuild_schema(engine)
        session_factory = make_session_factory(engine)
        seed(session_factory, options.projects)

        with FakeSlack(REPO_ROOT / "manifest.yml", team_id=TEAM_ID) as fake:
            for n in range(options.projects):
                fake.add_channel(f"C{n:07d}", f"project-{n}")
            limit_fake(fake, options)
            settings = bot_settings(fake, database_url, options)
            ctx = AppContext(settings=settings, session_factory=session_factory, client=make_web_client(settings))

            started = time.perf_counter()
            send_checkin_prompts(ctx, DUE)
            elapsed = time.perf_counter() - started

            per_channel = [len(fake.messages_in(f"C{n:07d}")) for n in range(options.projects)]
            result = outcome(
                fake, elapsed=elapsed, minimum=options.projects / options.overall_per_second, per_channel=per_channel
            )
        engine.dispose()
    report(options, database_url, settings, result, timed="time taken")


if __name__ == "__main__":
    main()
