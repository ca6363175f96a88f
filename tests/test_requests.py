"""What reaches the app over HTTP: signatures, retries, health."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import httpx
import pytest

from bot.app import create_app, create_wsgi_app
from bot.context import AppContext
from bot.demo.signed import slack_signature
from bot.errors import NotFound
from storage.session import make_engine, make_session_factory
from tests.conftest import PMO_ADMIN, SIGNING_SECRET, TEAM_ID
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


# --- bodies the app cannot read --------------------------------------------------------------

MALFORMED_BODIES = [
    ("application/json", b'{"type": "event_callback", '),
    ("application/x-www-form-urlencoded", b"payload=%7Bnot+json"),
    ("application/x-www-form-urlencoded", b"payload=%5B1%2C2%5D"),  # JSON, but not an object
    ("application/x-www-form-urlencoded", b"\xff\xfe\xfd"),  # not UTF-8
    ("application/json", b"[1, 2]"),
]


def _post_raw(app_url: str, content_type: str, body: bytes, *, signed: bool) -> httpx.Response:
    timestamp = int(time.time())
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(timestamp)}
    if signed:
        headers["X-Slack-Signature"] = slack_signature(SIGNING_SECRET, timestamp, body)
    return httpx.post(f"{app_url}/slack/events", content=body, headers=headers, timeout=10)


@pytest.mark.parametrize(("content_type", "body"), MALFORMED_BODIES)
def test_an_unsigned_malformed_body_gets_401_and_a_signed_one_400_and_the_server_keeps_serving(
    app_url, slack, content_type, body
):
    unsigned = _post_raw(app_url, content_type, body, signed=False)
    signed = _post_raw(app_url, content_type, body, signed=True)

    assert (unsigned.status_code, signed.status_code) == (401, 400)
    assert slack.url_verification("still-here").json()["challenge"] == "still-here"


def test_a_body_over_1_mib_gets_413_whoever_signed_it(app_url, slack):
    body = b"payload=" + b"x" * (1024 * 1024)

    assert _post_raw(app_url, "application/x-www-form-urlencoded", body, signed=True).status_code == 413
    assert slack.url_verification("still-here").status_code == 200


def test_a_form_submitted_without_state_values_is_an_empty_form(app_url, fake_slack, session_factory):
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "fake-workspace"},
        "user": {"id": PMO_ADMIN, "name": "pmo", "team_id": TEAM_ID},
        "api_app_id": fake_slack.app_id,
        "token": "fake-verification-token",
        "trigger_id": fake_slack.new_trigger_id(),
        "view": {"id": "V1", "team_id": TEAM_ID, "type": "modal", "callback_id": "project.new", "state": {}},
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()

    response = _post_raw(app_url, "application/x-www-form-urlencoded", body, signed=True)

    assert response.status_code == 200
    assert response.json()["response_action"] == "errors" and "key" in response.json()["errors"]
    with pytest.raises(NotFound):
        load_project(session_factory, "HR-1")


def test_control_characters_in_typed_text_are_dropped_the_same_on_every_database(slack, session_factory):
    response = slack.view_submission(
        "project.new", _new_project_values("HR-1", "HR\x00 sys\x07tem\x1b"), user_id=PMO_ADMIN
    )

    assert response.json()["response_action"] == "update"
    assert load_project(session_factory, "HR-1").name == "HR system"
