"""Portfolio sync from an external system, against a local HTTP source that can misbehave."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.context import AppContext
from handlers.jobs import run_due_work
from handlers.sync import run_sync
from storage.models import Project
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_CHANNEL

SIX_AM_LONDON = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)  # GMT in November


class PortfolioSource:
    """A portfolio system on localhost: serves `body` with an ETag, or fails as told."""

    def __init__(self) -> None:
        self.body: object = {"projects": []}
        self.failure: int | str | None = None  # an HTTP status, or "garbage"
        self.requests: list[dict[str, str]] = []
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                source.requests.append(dict(self.headers))
                if isinstance(source.failure, int):
                    self._answer(source.failure, b"{}")
                elif source.failure == "garbage":
                    self._answer(200, b"<html>maintenance</html>")
                else:
                    payload = json.dumps(source.body).encode()
                    etag = f'"{hash(payload) & 0xFFFFFFFF:x}"'
                    if self.headers.get("If-None-Match") == etag:
                        self._answer(304, b"", etag)
                    else:
                        self._answer(200, payload, etag)

            def _answer(self, status: int, body: bytes, etag: str | None = None) -> None:
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/portfolio"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def source() -> Iterator[PortfolioSource]:
    portfolio_source = PortfolioSource()
    yield portfolio_source
    portfolio_source.server.shutdown()
    portfolio_source.server.server_close()


@pytest.fixture
def sync_context(app_context: AppContext, source: PortfolioSource) -> AppContext:
    settings = app_context.settings.model_copy(
        update={
            "portfolio_source_url": source.url,
            "portfolio_field_map": {"code": "key", "title": "name"},
            "sync_backoff_seconds": 0.0,
        }
    )
    return AppContext(settings=settings, session_factory=app_context.session_factory, client=app_context.client)


def project_names(session_factory) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session:
        return {project.key: project.name for project in session.query(Project).all()}


def test_sync_upserts_projects_with_renamed_fields(sync_context, source, session_factory):
    source.body = {"projects": [{"code": "CRM-2", "title": "Customer records", "status": "active", "extra": 1}]}

    outcome = run_sync(sync_context, NOW)

    assert outcome.summary is not None and outcome.summary.created == ["CRM-2"]
    assert project_names(session_factory) == {"CRM-2": "Customer records"}


def test_an_unchanged_source_answers_304_and_nothing_is_touched(sync_context, source, session_factory):
    source.body = {"projects": [{"code": "CRM-2", "title": "Customer records"}]}
    run_sync(sync_context, NOW)

    second = run_sync(sync_context, NOW + timedelta(days=1))

    assert second.summary is None and second.error is None
    assert source.requests[-1].get("If-None-Match")


def test_a_source_that_is_down_changes_nothing_and_alerts_the_pmo_once(
    sync_context, source, fake_slack, session_factory
):
    source.body = {"projects": [{"code": "CRM-2", "title": "Customer records"}]}
    run_sync(sync_context, NOW)
    source.failure = 503

    first = run_sync(sync_context, NOW + timedelta(days=1))
    run_sync(sync_context, NOW + timedelta(days=2))

    assert "HTTP 503 after 4 attempts" in (first.error or "")
    assert len(source.requests) == 1 + 4 + 4  # retried with backoff, then given up
    assert project_names(session_factory) == {"CRM-2": "Customer records"}
    [alert] = fake_slack.messages_in(PMO_CHANNEL)
    assert "Portfolio sync failed" in str(alert["blocks"])

    source.failure = None
    run_sync(sync_context, NOW + timedelta(days=3))
    recovered = fake_slack.ok_calls_to("chat.update")[-1].args
    assert recovered["ts"] == alert["ts"] and "recovered" in str(recovered["blocks"])


def test_garbage_and_bad_rows_change_nothing_and_say_why(sync_context, source, fake_slack, session_factory):
    source.failure = "garbage"
    assert "did not answer JSON" in (run_sync(sync_context, NOW).error or "")

    source.failure = None
    source.body = {"projects": [{"code": "OK-1", "title": "Fine"}, {"code": "BAD-1", "title": "Bad", "status": "done"}]}
    outcome = run_sync(sync_context, NOW + timedelta(days=1))

    assert "project 2: status 'done' is not a status" in (outcome.error or "")
    assert project_names(session_factory) == {}


def test_the_daily_sync_runs_once_a_day_at_sync_time(sync_context, source):
    source.body = {"projects": []}

    run_due_work(sync_context, SIX_AM_LONDON - timedelta(minutes=1))
    run_due_work(sync_context, SIX_AM_LONDON)
    run_due_work(sync_context, SIX_AM_LONDON + timedelta(minutes=1))
    run_due_work(sync_context, SIX_AM_LONDON + timedelta(days=1))

    assert len(source.requests) == 2
