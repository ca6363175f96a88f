"""Incident webhooks over real HTTP: signatures, retries, bad bodies, and what they set off in Slack."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.app import create_app, create_wsgi_app
from bot.context import AppContext
from bot.demo.signed import slack_signature
from bot.services import live_services
from bot.services.access import Actor
from bot.services.live_services import NewService
from storage.models import AuditEvent, Incident, IncidentSeverity, IncidentStatus, OutgoingMessage, ServiceRelation
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL
from tests.factories import LEAD, add_project

WEBHOOK_SECRET = "test-incident-webhook-secret"
PAGERDUTY_SECRET = "test-pagerduty-secret"


@pytest.fixture
def settings(settings):
    return settings.model_copy(
        update={
            "incident_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "pagerduty_webhook_secret": SecretStr(PAGERDUTY_SECRET),
        }
    )


@pytest.fixture
def crm(fake_slack, session_factory):
    """CRM-2 depends on PAY (Payments platform) and has a channel; nothing else is affected by PAY."""
    fake_slack.add_channel("C0CRM", "crm-team")
    fake_slack.add_user(LEAD)
    add_project(session_factory, "CRM-2", "Customer records", channels=("C0CRM",), sponsor=None)
    with unit_of_work(session_factory) as session:
        admin = Actor(PMO_ADMIN, is_pmo_admin=True)
        live_services.save_service(session, admin, NewService("PAY", "Payments platform"), now=NOW)
        live_services.set_related_services(session, admin, "CRM-2", ServiceRelation.DEPENDS_ON, ["PAY"])


def trigger(external_id: str = "alert-1", **fields: Any) -> dict[str, Any]:
    return {
        "action": "trigger",
        "id": external_id,
        "service": "PAY",
        "severity": "SEV2",
        "summary": "Card payments failing",
        **fields,
    }


def post(
    app_url: str,
    payload: dict[str, Any] | bytes,
    *,
    timestamp: int | str | None = None,
    signature: str | None = None,
    omit: tuple[str, ...] = (),
) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent_at = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/json",
        "X-PMO-Request-Timestamp": str(sent_at),
        # The same v0 scheme as Slack's, so the test harness's signer serves both.
        "X-PMO-Signature": signature if signature is not None else slack_signature(WEBHOOK_SECRET, int(sent_at), body),
    }
    for name in omit:
        del headers[name]
    return httpx.post(f"{app_url}/webhooks/incidents", content=body, headers=headers, timeout=10)


def pagerduty_event(event_type: str, incident_id: str = "PT4KHLK", **data: Any) -> bytes:
    event = {
        "event": {
            "id": "5ac64822-4adc-4fda-ade0-410becf0de4f",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-11-23T09:00:00.000Z",
            "data": {
                "id": incident_id,
                "type": "incident",
                "number": 1234,
                "status": event_type.removeprefix("incident."),
                "title": "The server is on fire.",
                "service": {"id": "PIJ90N7", "type": "service_reference", "summary": "Payments Platform"},
                "urgency": "high",
                "priority": {"id": "P1D", "type": "priority_reference", "summary": "P1"},
                **data,
            },
        }
    }
    return json.dumps(event).encode()


def pagerduty_signature(body: bytes, secret: str = PAGERDUTY_SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_pagerduty(app_url: str, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    return httpx.post(f"{app_url}/webhooks/pagerduty", content=body, headers=headers, timeout=10)


def stored_incidents(session_factory) -> list[tuple[str, str, str]]:
    with unit_of_work(session_factory) as session:
        return [(i.key, i.severity.value, i.status.value) for i in session.query(Incident).order_by(Incident.id)]


def notices(fake_slack) -> list[dict]:
    return [m for m in fake_slack.messages_in("C0CRM") if "are paused" in m["text"]]


def nothing_stored(session_factory, fake_slack) -> bool:
    with unit_of_work(session_factory) as session:
        ledger = session.query(OutgoingMessage).count()
    return stored_incidents(session_factory) == [] and ledger == 0 and fake_slack.calls_to("chat.postMessage") == []


# --- the generic webhook ---------------------------------------------------------------------------


def test_a_signed_trigger_declares_the_incident_and_tells_the_affected_channel(
    app_url, fake_slack, session_factory, crm, listeners
):
    response = post(app_url, trigger())
    listeners.wait_idle()

    [(key, severity, status)] = stored_incidents(session_factory)
    assert response.status_code == 200
    assert response.json() == {"incident": key, "action": "trigger", "repeat": False}
    assert (severity, status) == ("SEV2", "open")
    [notice] = notices(fake_slack)
    assert "SEV2 on Payments platform" in notice["text"]
    assert len(fake_slack.messages_in(PMO_CHANNEL)) == 1


def test_a_retry_with_the_same_id_is_the_same_incident(app_url, fake_slack, session_factory, crm, listeners):
    first = post(app_url, trigger())
    listeners.wait_idle()
    retry = post(app_url, trigger(summary="Card payments failing (retry)"))
    listeners.wait_idle()

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == {"incident": first.json()["incident"], "action": "trigger", "repeat": True}
    assert len(stored_incidents(session_factory)) == 1 and len(notices(fake_slack)) == 1


def test_the_service_may_be_named_in_any_case(app_url, session_factory, crm, listeners):
    response = post(app_url, trigger(service="payments PLATFORM", severity="sev1"))
    listeners.wait_idle()

    assert response.status_code == 200 and stored_incidents(session_factory)[0][1] == "SEV1"


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "tampered body", "no signature", "no timestamp", "stale", "from the future", "not a number"],
)
def test_bad_missing_and_stale_signatures_get_401_and_store_nothing(app_url, fake_slack, session_factory, crm, how):
    body = json.dumps(trigger()).encode()
    now = int(time.time())
    requests = {
        "wrong secret": {"signature": slack_signature("guessed", now, body)},
        "tampered body": {"signature": slack_signature(WEBHOOK_SECRET, now, body + b" ")},
        "no signature": {"omit": ("X-PMO-Signature",)},
        "no timestamp": {"omit": ("X-PMO-Request-Timestamp",)},
        "stale": {"timestamp": now - 6 * 60},
        "from the future": {"timestamp": now + 6 * 60},
        "not a number": {"timestamp": "yesterday", "signature": "v0=abc"},
    }

    response = post(app_url, body, **requests[how])

    assert response.status_code == 401 and "error" in response.json()
    assert nothing_stored(session_factory, fake_slack)


def test_a_body_over_256_kib_gets_413(app_url, fake_slack, session_factory, crm):
    oversize = json.dumps(trigger(summary="x" * (256 * 1024))).encode()

    response = post(app_url, oversize)

    assert response.status_code == 413 and nothing_stored(session_factory, fake_slack)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps({"action": "explode", "id": "a"}).encode(),
        json.dumps({"action": "trigger", "service": "PAY", "severity": "SEV1", "summary": "x"}).encode(),
        json.dumps(trigger(service="")).encode(),
        json.dumps(trigger(severity="SEV9")).encode(),
        json.dumps(trigger(summary=None)).encode(),
        json.dumps(trigger(external_id="x" * 201)).encode(),
    ],
    ids=[
        "bad json",
        "not utf-8",
        "not an object",
        "bad action",
        "no id",
        "empty service",
        "bad severity",
        "no summary",
        "long id",
    ],
)
def test_bad_json_or_missing_fields_get_400_and_store_nothing(app_url, fake_slack, session_factory, crm, body):
    response = post(app_url, body)

    assert response.status_code == 400 and response.json()["error"]
    assert nothing_stored(session_factory, fake_slack)


def test_an_unknown_service_gets_422_and_stores_nothing(app_url, fake_slack, session_factory, crm):
    response = post(app_url, trigger(service="Mainframe"))

    assert response.status_code == 422 and "Mainframe" in response.json()["error"]
    assert nothing_stored(session_factory, fake_slack)


def test_resolve_asks_for_a_re_plan_once_and_an_unknown_id_is_refused(
    app_url, fake_slack, session_factory, crm, listeners
):
    key = post(app_url, trigger()).json()["incident"]
    listeners.wait_idle()

    resolved = post(app_url, {"action": "resolve", "id": "alert-1"})
    listeners.wait_idle()
    repeat = post(app_url, {"action": "resolve", "id": "alert-1"})
    unknown = post(app_url, {"action": "resolve", "id": "alert-404"})
    listeners.wait_idle()

    assert resolved.json() == {"incident": key, "action": "resolve", "repeat": False}
    assert repeat.status_code == 200 and repeat.json()["repeat"] is True
    assert unknown.status_code == 422 and "alert-404" in unknown.json()["error"]
    assert stored_incidents(session_factory) == [(key, "SEV2", "resolved")]
    assert len([m for m in fake_slack.messages_in("C0CRM") if "time to re-plan" in m["text"]]) == 1


def test_only_post_is_answered(app_url, crm):
    response = httpx.get(f"{app_url}/webhooks/incidents")

    assert response.status_code == 405 and response.headers["Allow"] == "POST"


def test_a_webhook_without_a_configured_secret_is_404_and_says_why(app_context, caplog):
    unconfigured = app_context.settings.model_copy(
        update={"incident_webhook_secret": None, "pagerduty_webhook_secret": None}
    )
    ctx = AppContext(settings=unconfigured, session_factory=app_context.session_factory, client=app_context.client)
    statuses: list[str] = []
    body = json.dumps(trigger()).encode()
    environ = {
        "PATH_INFO": "/webhooks/pagerduty",
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }

    with caplog.at_level(logging.WARNING, logger="bot.webhooks"):
        create_wsgi_app(create_app(ctx), ctx)(environ, lambda status, headers: statuses.append(status))

    assert statuses == ["404 Not Found"]
    assert "PAGERDUTY_WEBHOOK_SECRET (or INCIDENT_WEBHOOK_SECRET) is not set" in caplog.text


# --- PagerDuty --------------------------------------------------------------------------------------


def test_pagerduty_triggered_and_resolved_with_any_listed_signature_matching(
    app_url, fake_slack, session_factory, crm, listeners
):
    triggered = pagerduty_event("incident.triggered")
    old_secret = pagerduty_signature(triggered, "rotated-away")

    declared = post_pagerduty(app_url, triggered, f"{old_secret}, {pagerduty_signature(triggered)}")
    listeners.wait_idle()
    resolved_body = pagerduty_event("incident.resolved")
    resolved = post_pagerduty(app_url, resolved_body, pagerduty_signature(resolved_body))
    listeners.wait_idle()

    [(key, severity, status)] = stored_incidents(session_factory)
    assert declared.json() == {"incident": key, "action": "trigger", "repeat": False}
    assert resolved.json() == {"incident": key, "action": "resolve", "repeat": False}
    assert (severity, status) == ("SEV1", IncidentStatus.RESOLVED.value)  # P1 is SEV1
    assert len(notices(fake_slack)) == 1


@pytest.mark.parametrize("signature", [None, "", "v1=" + "0" * 64, "v0=whatever"])
def test_pagerduty_without_a_matching_signature_gets_401(app_url, fake_slack, session_factory, crm, signature):
    response = post_pagerduty(app_url, pagerduty_event("incident.triggered"), signature)

    assert response.status_code == 401 and nothing_stored(session_factory, fake_slack)


def test_other_pagerduty_events_are_acknowledged_and_ignored(app_url, fake_slack, session_factory, crm):
    body = pagerduty_event("incident.acknowledged")

    response = post_pagerduty(app_url, body, pagerduty_signature(body))

    assert response.json() == {"ignored": "incident.acknowledged"} and nothing_stored(session_factory, fake_slack)


def test_pagerduty_severity_comes_from_priority_then_urgency(app_url, session_factory, crm, listeners):
    for number, data in enumerate([{"priority": {"summary": "P2"}}, {"priority": None, "urgency": "low"}]):
        body = pagerduty_event("incident.triggered", f"PD-{number}", **data)
        assert post_pagerduty(app_url, body, pagerduty_signature(body)).status_code == 200
    listeners.wait_idle()

    assert [severity for _key, severity, _status in stored_incidents(session_factory)] == [
        IncidentSeverity.SEV2.value,
        IncidentSeverity.SEV3.value,
    ]


def test_a_pagerduty_service_unknown_by_name_gets_422(app_url, fake_slack, session_factory, crm):
    body = pagerduty_event("incident.triggered", service={"summary": "Mainframe"})

    response = post_pagerduty(app_url, body, pagerduty_signature(body))

    assert response.status_code == 422 and nothing_stored(session_factory, fake_slack)


def test_a_pagerduty_incident_is_on_the_audit_trail_as_pagerduty_through_the_webhook(
    app_url, session_factory, crm, listeners
):
    triggered = pagerduty_event("incident.triggered")
    post_pagerduty(app_url, triggered, pagerduty_signature(triggered))
    listeners.wait_idle()

    with unit_of_work(session_factory) as session:
        rows = session.query(AuditEvent).filter(AuditEvent.record_type.like("incident%")).all()
    assert "incidents" in {row.record_type for row in rows}
    assert {(row.actor, row.door) for row in rows} == {("webhook:pagerduty", "webhook")}


def test_nul_and_control_characters_are_dropped_from_a_webhook_on_every_database(
    app_url, fake_slack, session_factory, crm, listeners
):
    generic = post(app_url, trigger(summary="Card\u0000 payments\u0007 failing", service="P\u0000AY"))
    triggered = pagerduty_event("incident.triggered", title="The server\u0000 is on fire.")
    paged = post_pagerduty(app_url, triggered, pagerduty_signature(triggered))
    listeners.wait_idle()

    assert (generic.status_code, paged.status_code) == (200, 200)
    with unit_of_work(session_factory) as session:
        summaries = [incident.summary for incident in session.query(Incident).order_by(Incident.id)]
    assert summaries == ["Card payments failing", "The server is on fire."]
    shown = [json.dumps(notice["blocks"], ensure_ascii=False) for notice in notices(fake_slack)]
    assert len(shown) == 2 and not any("\u0000" in text or "\u0007" in text for text in shown)
    # Each webhook's announcement runs in its own listener thread: either notice may come first.
    assert sorted("Card payments failing" in text for text in shown) == [False, True]
    assert sorted("The server is on fire." in text for text in shown) == [False, True]
