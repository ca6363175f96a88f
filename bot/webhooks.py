"""Inbound incident webhooks: monitoring tools declare and resolve incidents without a person.

This is the HTTP layer only. It limits and reads the body, verifies the signature, parses
the event, applies it with the incident domain in one transaction, and answers. What the
change means in Slack is `announce`'s job (the handlers' notice sender, handed in by the
composition root), run after the answer so a monitoring tool never waits on a fan-out.

Answers: 200 with the incident key (also for a repeat of the same external id and action),
401 bad, missing or stale signature, 400 bad JSON or missing fields, 422 unknown service
(or, for a resolve, unknown incident), 413 body over 256 KiB, 405 not a POST, and 404 when
the endpoint's secret is not configured. Nothing is stored on any 4xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr

from bot.clock import Clock
from bot.errors import NotFound, UserError
from bot.services import incidents
from bot.services.incidents import ExternalSource, IncidentChange, UnknownService
from bot.settings import Settings
from bot.text import without_control_characters
from storage import audit
from storage.models import IncidentSeverity
from storage.session import SessionFactory, unit_of_work

log = logging.getLogger(__name__)

GENERIC_PATH = "/webhooks/incidents"
PAGERDUTY_PATH = "/webhooks/pagerduty"
MAX_BODY_BYTES = 256 * 1024
SIGNATURE_MAX_AGE = timedelta(minutes=5)
MAX_EXTERNAL_ID_LENGTH = 200  # the column's size
PAGERDUTY_EVENTS = {"incident.triggered": "trigger", "incident.resolved": "resolve"}
PAGERDUTY_PRIORITIES = {"P1": IncidentSeverity.SEV1, "P2": IncidentSeverity.SEV2}

Announce = Callable[[IncidentChange, datetime], None]  # the change, and the instant of the webhook that made it
StartResponse = Callable[..., Any]

HTTP_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    422: "Unprocessable Content",
}


class Refused(Exception):
    """The request is answered with a 4xx and `error`; nothing was stored."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class MonitoringEvent:
    """What a monitoring tool asked for, whichever format it came in."""

    action: str  # "trigger" or "resolve"
    source: ExternalSource
    external_id: str
    service: str | None = None
    severity: IncidentSeverity | None = None
    summary: str | None = None


# --- reading and verifying --------------------------------------------------------------------


def read_body(environ: dict[str, Any]) -> bytes:
    """The raw body, refusing one over MAX_BODY_BYTES without reading it all."""
    declared = environ.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Refused(413, f"the body is over {MAX_BODY_BYTES // 1024} KiB")
    wanted = int(declared) if declared.isdigit() else MAX_BODY_BYTES + 1
    body = environ["wsgi.input"].read(wanted)
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, f"the body is over {MAX_BODY_BYTES // 1024} KiB")
    return body


def _hex_hmac(secret: SecretStr, message: bytes) -> str:
    return hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def verify_generic_signature(
    secret: SecretStr, timestamp: str | None, signature: str | None, body: bytes, *, now: float
) -> None:
    """Slack's v0 scheme: "v0=" + hex HMAC-SHA256 of "v0:{timestamp}:{raw body}", within five minutes."""
    if not timestamp or not signature:
        raise Refused(401, "missing X-PMO-Request-Timestamp or X-PMO-Signature")
    if not timestamp.isdigit():
        raise Refused(401, "X-PMO-Request-Timestamp is not unix seconds")
    if abs(now - int(timestamp)) > SIGNATURE_MAX_AGE.total_seconds():
        raise Refused(401, "the request timestamp is more than five minutes away from now")
    expected = "v0=" + _hex_hmac(secret, b"v0:" + timestamp.encode() + b":" + body)
    if not hmac.compare_digest(expected, signature.strip()):
        raise Refused(401, "the signature does not match")


def verify_pagerduty_signature(secret: SecretStr, header: str | None, body: bytes) -> None:
    """PagerDuty's v1 scheme: the header lists "v1=<hex HMAC-SHA256 of the body>" values; one must match."""
    if not header:
        raise Refused(401, "missing X-PagerDuty-Signature")
    expected = "v1=" + _hex_hmac(secret, body)
    # Compare with every listed signature, not just until a match, so timing says nothing.
    matches = [hmac.compare_digest(expected, candidate.strip()) for candidate in header.split(",")]
    if not any(matches):
        raise Refused(401, "no signature matches")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise Refused(400, "the body must be a JSON object")
    # As on the Slack request path: the same text is stored on SQLite and PostgreSQL.
    return without_control_characters(parsed)


def _text(container: dict[str, Any], name: str, where: str = "") -> str:
    value = container.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise Refused(400, f"missing field: {where}{name}")
    return value.strip()


def _external_id(container: dict[str, Any], where: str = "") -> str:
    external_id = _text(container, "id", where)
    if len(external_id) > MAX_EXTERNAL_ID_LENGTH:
        raise Refused(400, f"{where}id is longer than {MAX_EXTERNAL_ID_LENGTH} characters")
    return external_id


def parse_generic(body: bytes) -> MonitoringEvent:
    """{"action": "trigger"|"resolve", "id", "service", "severity", "summary"}; a resolve needs only the id."""
    event = _json_object(body)
    action = event.get("action")
    if action not in ("trigger", "resolve"):
        raise Refused(400, 'action must be "trigger" or "resolve"')
    external_id = _external_id(event)
    if action == "resolve":
        return MonitoringEvent("resolve", ExternalSource.WEBHOOK, external_id)
    service, severity_text, summary = (_text(event, name) for name in ("service", "severity", "summary"))
    try:
        severity = incidents.parse_severity(severity_text)
    except UserError as error:
        raise Refused(400, str(error)) from None
    return MonitoringEvent("trigger", ExternalSource.WEBHOOK, external_id, service, severity, summary)


def _pagerduty_severity(data: dict[str, Any]) -> IncidentSeverity:
    """P1 is SEV1 and P2 SEV2; other priorities SEV3. Without a priority, high urgency is SEV2."""
    priority = data.get("priority")
    if isinstance(priority, dict) and isinstance(priority.get("summary"), str):
        return PAGERDUTY_PRIORITIES.get(priority["summary"].strip().upper(), IncidentSeverity.SEV3)
    return IncidentSeverity.SEV2 if data.get("urgency") == "high" else IncidentSeverity.SEV3


def parse_pagerduty(body: bytes) -> MonitoringEvent | str:
    """A V3 webhook's incident.triggered or incident.resolved; any other event type is returned to be ignored."""
    envelope = _json_object(body)
    event = envelope.get("event")
    if not isinstance(event, dict):
        raise Refused(400, "missing field: event")
    event_type = _text(event, "event_type", "event.")
    action = PAGERDUTY_EVENTS.get(event_type)
    if action is None:
        return event_type
    data = event.get("data")
    if not isinstance(data, dict):
        raise Refused(400, "missing field: event.data")
    external_id = _external_id(data, "event.data.")
    if action == "resolve":
        return MonitoringEvent("resolve", ExternalSource.PAGERDUTY, external_id)
    service = data.get("service")
    if not isinstance(service, dict):
        raise Refused(400, "missing field: event.data.service")
    return MonitoringEvent(
        "trigger",
        ExternalSource.PAGERDUTY,
        external_id,
        _text(service, "summary", "event.data.service."),
        _pagerduty_severity(data),
        _text(data, "title", "event.data."),
    )


def _audit_actor(source: ExternalSource) -> str:
    """Who the audit trail names for a monitoring tool's change: webhook:pagerduty, webhook:incidents."""
    return "webhook:incidents" if source is ExternalSource.WEBHOOK else f"webhook:{source.value}"


# --- the WSGI endpoint ------------------------------------------------------------------------


class IncidentWebhooks:
    """`POST /webhooks/incidents` and `POST /webhooks/pagerduty`, as one WSGI application."""

    def __init__(
        self,
        settings: Settings,
        session_factory: SessionFactory,
        clock: Clock,
        announce: Announce,
        background: Executor,
    ) -> None:
        self._settings = settings
        self._session_factory = session_factory
        self._clock = clock
        self._announce = announce
        self._background = background

    @staticmethod
    def handles(path: str | None) -> bool:
        return path in (GENERIC_PATH, PAGERDUTY_PATH)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST":
            return _respond(start_response, 405, {"error": "use POST"}, [("Allow", "POST")])
        # Read once: the signature's age, the stored change and its announcement share one instant.
        now = self._clock()
        try:
            event = self._event(path, environ, now)
            if isinstance(event, str):
                return _respond(start_response, 200, {"ignored": event})
            change = self._apply(event, now)
        except Refused as refused:
            log.warning("%s answered %d: %s", path, refused.status, refused.error)
            return _respond(start_response, refused.status, {"error": refused.error})
        if change.is_new:
            self._background.submit(self._announce_logged, change, now)
        return _respond(
            start_response,
            200,
            {"incident": change.key, "action": event.action, "repeat": not change.is_new},
        )

    def _secret(self, path: str) -> SecretStr:
        if path == GENERIC_PATH:
            secret, setting = self._settings.incident_webhook_secret, "INCIDENT_WEBHOOK_SECRET"
        else:
            secret = self._settings.pagerduty_webhook_secret or self._settings.incident_webhook_secret
            setting = "PAGERDUTY_WEBHOOK_SECRET (or INCIDENT_WEBHOOK_SECRET)"
        if secret is None or not secret.get_secret_value():
            # As if the endpoint did not exist: an unsigned webhook must never declare incidents.
            raise Refused(404, f"{setting} is not set, so this webhook is switched off")
        return secret

    def _event(self, path: str, environ: dict[str, Any], now: datetime) -> MonitoringEvent | str:
        secret = self._secret(path)
        body = read_body(environ)
        if path == GENERIC_PATH:
            verify_generic_signature(
                secret,
                environ.get("HTTP_X_PMO_REQUEST_TIMESTAMP"),
                environ.get("HTTP_X_PMO_SIGNATURE"),
                body,
                now=now.timestamp(),
            )
            return parse_generic(body)
        verify_pagerduty_signature(secret, environ.get("HTTP_X_PAGERDUTY_SIGNATURE"), body)
        return parse_pagerduty(body)

    def _apply(self, event: MonitoringEvent, now: datetime) -> IncidentChange:
        try:
            with (
                audit.acting(_audit_actor(event.source), audit.Door.WEBHOOK, at=now),
                unit_of_work(self._session_factory) as session,
            ):
                if event.action == "resolve":
                    return incidents.resolve_from_monitoring(
                        session,
                        event.source,
                        event.external_id,
                        now=now,
                        default_cadence=self._settings.default_cadence,
                    )
                assert event.service is not None and event.severity is not None and event.summary is not None
                return incidents.declare_from_monitoring(
                    session, event.source, event.external_id, event.service, event.severity, event.summary, now=now
                )
        except (UnknownService, NotFound) as error:
            raise Refused(422, str(error)) from None
        except UserError as error:
            raise Refused(400, str(error)) from None

    def _announce_logged(self, change: IncidentChange, now: datetime) -> None:
        try:
            self._announce(change, now)
        except Exception:
            # The incident is stored; the tick's safety net sends whatever this could not.
            log.exception("announcing %s %s failed", change.key, change.kind.value)


def _respond(
    start_response: StartResponse, status: int, body: dict[str, Any], headers: list[tuple[str, str]] | None = None
) -> list[bytes]:
    encoded = json.dumps(body).encode()
    start_response(
        f"{status} {HTTP_REASONS[status]}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(encoded))), *(headers or [])],
    )
    return [encoded]
