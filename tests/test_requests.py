"""What reaches the app over HTTP: signatures, retries, health."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.app import create_app, create_wsgi_app
from bot.context import AppContext
from bot.errors import NotFound
from storage.session import make_engine, make_session_factory
from tests.conftest import PMO_ADMIN
from tests.factories import LEAD, add_project, linked_channels, load_project
from tests.test_projects import _new_project_values


def test_forged_signature_gets_401_and_changes_nothing(slack, fake_slack, session_factory, listeners):
    add_project(session_factory)
    fake_slack.add_channel("C0CRM", "crm-team")

    link = slack.command("link CRM-2", user_id=LEAD, channel_id="C0CRM", signature="v0=" + "0" * 64)
    create = slack.view_submission(
        "project.new", _new_project_values("HR-1", "HR"), user_id=PMO_ADMIN, signature="v0=deadbeef"
    )
    listeners.wait_idle()

    assert (link.status_code, create.status_code) == (401, 401)
    assert linked_channels(session_factory, "CRM-2") == []
    assert fake_slack.responses == [] and fake_slack.calls_to("conversations.join") == []


def test_stale_request_gets_401(slack, session_factory):
    six_minutes_ago = int(time.time()) - 6 * 60

    response = slack.view_submission(
        "project.new", _new_project_values("HR-1", "HR"), user_id=PMO_ADMIN, timestamp=six_minutes_ago
    )

    assert response.status_code == 401
    with pytest.raises(NotFound):
        load_project(session_factory, "HR-1")


def test_url_verification_echoes_the_challenge(slack):
    response = slack.url_verification("challenge-123")

    assert response.status_code == 200 and response.json()["challenge"] == "challenge-123"


def test_healthz_answers_200_when_the_database_is_reachable(app_url):
    response = httpx.get(f"{app_url}/healthz")

    assert (response.status_code, response.text) == (200, "ok\n")


def test_unknown_path_is_404(app_url):
    assert httpx.get(f"{app_url}/nope").status_code == 404


def test_healthz_answers_503_when_the_database_is_down(app_context):
    unreachable = make_session_factory(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    ctx = AppContext(settings=app_context.settings, session_factory=unreachable, client=app_context.client)
    statuses: list[str] = []

    body = create_wsgi_app(create_app(ctx), ctx)(
        {"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"}, lambda status, headers: statuses.append(status)
    )

    assert statuses == ["503 Service Unavailable"] and b"database unreachable" in b"".join(body)
