"""Messages kept up to date in place show the present, whatever order the work runs in.

Driven through the signed incident webhook: a trigger and its resolve a moment later run
side by side in the app's background pool, while the fake Slack answers slowly.
"""

from __future__ import annotations

import pytest

from bot.services import live_services
from bot.services.access import Actor
from bot.services.live_services import NewService
from storage.models import ServiceRelation
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL
from tests.factories import LEAD, SPONSOR, add_project
from tests.test_webhooks import post, settings, trigger  # noqa: F401  (settings: the webhook secrets)


@pytest.fixture
def two_projects(fake_slack, session_factory):
    """CRM-2 and HR-1 depend on PAY and share a sponsor."""
    for channel in ("C0CRM", "C0HR"):
        fake_slack.add_channel(channel, channel.lower())
    fake_slack.add_user(LEAD)
    fake_slack.add_user(SPONSOR)
    add_project(session_factory, "CRM-2", "Customer records", channels=("C0CRM",))
    add_project(session_factory, "HR-1", "HR system", channels=("C0HR",))
    with unit_of_work(session_factory) as session:
        admin = Actor(PMO_ADMIN, is_pmo_admin=True)
        live_services.save_service(session, admin, NewService("PAY", "Payments platform"), now=NOW)
        for key in ("CRM-2", "HR-1"):
            live_services.set_related_services(session, admin, key, ServiceRelation.DEPENDS_ON, ["PAY"])


def _summary(fake_slack, incident_key: str) -> dict:
    [summary] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if incident_key in m["text"]]
    return summary


@pytest.mark.parametrize("latency", [0.0, 0.3])
def test_a_resolve_right_after_the_trigger_leaves_the_summary_and_the_sponsor_dm_resolved(
    app_url, fake_slack, two_projects, listeners, latency
):
    fake_slack.set_latency("chat.postMessage", latency)
    declared = post(app_url, trigger())
    resolved = post(app_url, {"action": "resolve", "id": "alert-1"})
    listeners.wait_idle()

    key = declared.json()["incident"]
    assert (declared.status_code, resolved.status_code) == (200, 200)
    assert ", resolved:" in _summary(fake_slack, key)["text"]
    [dm] = [m for m in fake_slack.messages_in(SPONSOR) if key in m["text"]]
    assert "is resolved: 2 of your projects were affected, 0 days delay recorded" in dm["text"]


def test_the_sponsor_dm_is_updated_when_the_incident_is_resolved(app_url, fake_slack, two_projects, listeners):
    key = post(app_url, trigger()).json()["incident"]
    listeners.wait_idle()
    [before] = [m for m in fake_slack.messages_in(SPONSOR) if key in m["text"]]
    post(app_url, {"action": "resolve", "id": "alert-1"})
    listeners.wait_idle()

    [after] = [m for m in fake_slack.messages_in(SPONSOR) if key in m["text"]]
    assert "affects 2 of your projects" in before["text"]
    assert after["ts"] == before["ts"] and "is resolved" in after["text"]
    assert ", resolved:" in _summary(fake_slack, key)["text"]
