"""Shared fixtures: a real database (SQLite file, or PostgreSQL via TEST_DATABASE_URL).

The schema is built once per run with the Alembic migrations (so the migrations are what
the tests exercise), and every table is emptied before each test.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from pathlib import Path

import pytest
import waitress
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from waitress import wasyncore

from bot.app import create_app, create_wsgi_app
from bot.context import AppContext
from bot.demo.fake_slack import FakeSlack
from bot.demo.signed import SignedRequests
from bot.metrics import Metrics
from bot.settings import Settings, load_settings
from bot.slack_client import make_web_client
from storage.base import Base
from storage.models import AuditEvent
from storage.session import make_engine, make_session_factory, rebuild_schema

REPO_ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # a Monday


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'pmo-bot-test.sqlite3'}"


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    rebuild_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    with migrated_engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == AuditEvent.__tablename__ and connection.dialect.name == "postgresql":
                # A trigger refuses DELETE on the audit trail; TRUNCATE is the test's way past it.
                connection.execute(text(f"TRUNCATE {table.name}"))
            else:
                connection.execute(table.delete())
    return migrated_engine


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


class MovableClock:
    """The app's clock for interactive requests, pinned to an instant tests move between steps."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> MovableClock:
    """Starts at NOW; a test file opts in by building its app_context with it."""
    return MovableClock(NOW)


# --- the running app, over real HTTP, against the fake Slack ---------------------------

SIGNING_SECRET = "test-signing-secret"
PMO_ADMIN = "U0PMOADMIN"
PMO_CHANNEL = "C0PMO"
TEAM_ID = "T0FAKE"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(REPO_ROOT / "manifest.yml", team_id=TEAM_ID) as fake:
        fake.add_channel(PMO_CHANNEL, "pmo")
        yield fake


@pytest.fixture
def settings(fake_slack: FakeSlack, database_url: str) -> Settings:
    return load_settings(
        _env_file=None,
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        database_url=database_url,
        pmo_channel_id=PMO_CHANNEL,
        pmo_admin_ids=PMO_ADMIN,
        # The weekly digest and monthly pack would land in the PMO channel of every test that
        # ticks on a Monday morning; tests/test_digest.py switches them on.
        digest_enabled=False,
        # Bank holidays would move the prompts and nudges of tests dated on them (Easter 2027);
        # tests/test_bank_holidays.py switches them on.
        bank_holidays="none",
    )


def make_test_client(settings: Settings, metrics: Metrics | None = None) -> WebClient:
    """The app's client, retrying 5xx and dropped connections at once instead of after real seconds."""
    return make_web_client(settings, metrics, retry_interval=FixedValueRetryIntervalCalculator(0))


@pytest.fixture
def app_context(settings: Settings, session_factory: sessionmaker[Session]) -> AppContext:
    metrics = Metrics()
    return AppContext(
        settings=settings, session_factory=session_factory, client=make_test_client(settings, metrics), metrics=metrics
    )


class ListenerExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, with a way to wait until every listener has finished.

    Bolt answers Slack as soon as a listener acks and keeps working in this pool; tests
    wait here instead of sleeping before they assert that something did *not* happen.
    """

    def __init__(self) -> None:
        # As many as Bolt's own default pool has, so a slow listener never holds up the next ack.
        super().__init__(max_workers=10, thread_name_prefix="listener")
        self._futures: list[Future] = []
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._futures.append(future)
        return future

    def wait_idle(self, timeout: float = 10.0) -> None:
        while True:
            with self._lock:
                pending = [future for future in self._futures if not future.done()]
                self._futures = pending
            if not pending:
                return
            _done, not_done = wait(pending, timeout=timeout)
            assert not not_done, f"{len(not_done)} listeners still running after {timeout}s"


@pytest.fixture
def listeners() -> Iterator[ListenerExecutor]:
    executor = ListenerExecutor()
    yield executor
    executor.shutdown(wait=True)


@pytest.fixture
def app_url(app_context: AppContext, listeners: ListenerExecutor) -> Iterator[str]:
    """The real WSGI app (Bolt inside) served by waitress on a free port."""
    app = create_app(app_context, listener_executor=listeners)
    wsgi_app = create_wsgi_app(app, app_context, background=listeners)
    server = waitress.create_server(wsgi_app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    # Stop the workers first, then close the sockets from the server's own loop thread:
    # closing them from here races the loop and ends in "Bad file descriptor".
    server.task_dispatcher.shutdown()
    try:
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    except OSError:
        # The wake-up pipe is already gone (seen rarely on a loaded machine, after the test's
        # requests were all answered): nothing can wake the loop, so close its sockets from here.
        wasyncore.close_all(server._map)
    thread.join(timeout=5)


@pytest.fixture
def slack(app_url: str, fake_slack: FakeSlack) -> SignedRequests:
    return SignedRequests(f"{app_url}/slack/events", SIGNING_SECRET, fake_slack, team_id=TEAM_ID)
