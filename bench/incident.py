"""An incident on a service that 1,000 projects depend on, against a rate-limited Slack.

Declares the incident through the domain and runs the real announcement (PMO summary,
one impact notice per project channel, one DM per sponsor) against the fake Slack Web API
with Slack's chat.postMessage limits switched on (1 message/second/channel and an overall
limit, over which it answers 429 + Retry-After). Prints the time from the declaration until
the last impact notice is accepted, its ratio to the minimum the rate limit allows (the
notices and the summary before them), the share of calls answered 429, and the notices
lost and duplicated. The bot runs at its default settings (SLACK_MESSAGES_PER_SECOND unset)
unless told otherwise.

    python bench/incident.py                     # 1,000 projects, SQLite
    python bench/incident.py --projects 500 --database-url postgresql://postgres@127.0.0.1/test

Targets: ratio <= 1.2, at most 2% of calls answered 429, zero lost, zero duplicated.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench._common import bot_settings, chosen_database, limit_fake, outcome, parse_options, report  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.demo.fake_slack import FakeSlack  # noqa: E402
from bot.services import incidents  # noqa: E402
from bot.services.incidents import NewIncident  # noqa: E402
from bot.slack_client import make_web_client  # noqa: E402
from handlers.incidents import announce  # noqa: E402
from storage.models import (  # noqa: E402
    ChannelLink,
    IncidentSeverity,
    Person,
    Project,
    ProjectService,
    ProjectStatus,
    Service,
    ServiceRelation,
)
from storage.session import make_engine, make_session_factory, rebuild_schema, unit_of_work  # noqa: E402

CREATED = datetime(2026, 11, 16, tzinfo=timezone.utc)
DECLARED = datetime(2026, 11, 23, 11, 0, tzinfo=timezone.utc)
TEAM_ID = "T0FAKE"
PMO_CHANNEL = "C0PMO"
PROJECTS_PER_SPONSOR = 20


def channel_of(n: int) -> str:
    return f"C{n:07d}"


def seed(session_factory, projects: int) -> int:  # type: ignore[no-untyped-def]
    """Bulk insert: the benchmark measures the announcement, not building the portfolio. Returns the service id."""
    with session_factory() as session:
        sponsors = (projects + PROJECTS_PER_SPONSOR - 1) // PROJECTS_PER_SPONSOR
        session.execute(
            insert(Person), [{"slack_user_id": f"U0SPONSOR{n}", "created_at": CREATED} for n in range(sponsors)]
        )
        sponsor_ids = dict(session.execute(select(Person.slack_user_id, Person.id)).all())
        session.execute(
            insert(Project),
            [
                {
                    "key": f"P-{n}",
                    "name": f"Project {n}",
                    "status": ProjectStatus.ACTIVE,
                    "sponsor_id": sponsor_ids[f"U0SPONSOR{n // PROJECTS_PER_SPONSOR}"],
                    "created_at": CREATED,
                    "updated_at": CREATED,
                }
                for n in range(projects)
            ],
        )
        ids = dict(session.execute(select(Project.key, Project.id)).all())
        session.execute(
            insert(ChannelLink),
            [
                {
                    "team_id": TEAM_ID,
                    "channel_id": channel_of(n),
                    "project_id": ids[f"P-{n}"],
                    "is_primary": True,
                    "created_at": CREATED,
                }
                for n in range(projects)
            ],
        )
        service = Service(key="PAY", name="Payments platform", created_at=CREATED)
        session.add(service)
        session.flush()
        session.execute(
            insert(ProjectService),
            [
                {"project_id": ids[f"P-{n}"], "service_id": service.id, "relation": ServiceRelation.DEPENDS_ON}
                for n in range(projects)
            ],
        )
        session.commit()
        return service.id


def main() -> None:
    options = parse_options(__doc__, projects=1000)
    channels = {channel_of(n) for n in range(options.projects)}

    with tempfile.TemporaryDirectory() as scratch:
        database_url = chosen_database(options.database_url, scratch, "incident")
        engine = make_engine(database_url)
        rebuild_schema(engine)
        session_factory = make_session_factory(engine)
        service_id = seed(session_factory, options.projects)

        with FakeSlack(REPO_ROOT / "manifest.yml", team_id=TEAM_ID) as fake:
            fake.add_channel(PMO_CHANNEL, "pmo")
            for n in range(options.projects):
                fake.add_channel(channel_of(n), f"project-{n}")
            for n in range((options.projects + PROJECTS_PER_SPONSOR - 1) // PROJECTS_PER_SPONSOR):
                fake.add_user(f"U0SPONSOR{n}")
            limit_fake(fake, options)
            settings = bot_settings(fake, database_url, options, pmo_channel_id=PMO_CHANNEL, scheduler_enabled=False)
            ctx = AppContext(settings=settings, session_factory=session_factory, client=make_web_client(settings))

            def declare_and_announce() -> None:
                with unit_of_work(session_factory) as session:
                    new = NewIncident((service_id,), IncidentSeverity.SEV1, "Card payments failing")
                    change = incidents.declare(session, new, now=DECLARED)
                announce(ctx, change, DECLARED)

            def notices_accepted() -> int:
                return sum(1 for call in fake.ok_calls_to("chat.postMessage") if call.args["channel"] in channels)

            started = time.perf_counter()
            worker = threading.Thread(target=declare_and_announce)
            worker.start()
            while notices_accepted() < options.projects and worker.is_alive():
                time.sleep(0.02)
            last_notice = time.perf_counter() - started
            worker.join()
            everything = time.perf_counter() - started

            per_channel = [len(fake.messages_in(channel_of(n))) for n in range(options.projects)]
            # The PMO summary goes first, so the notices wait behind one message.
            minimum = (options.projects + 1) / options.overall_per_second
            result = outcome(fake, elapsed=last_notice, minimum=minimum, per_channel=per_channel)
            dms = sum(1 for call in fake.ok_calls_to("chat.postMessage") if call.args["channel"].startswith("U0"))
        engine.dispose()

    report(options, database_url, settings, result, timed="last notice after")
    print(f"all done after:      {everything:.1f} s  (with {dms} sponsor DMs)")


if __name__ == "__main__":
    main()
