"""Each request reads the clock once: through signed requests (and a signed incident webhook), with
an app clock that is a day later at every read, what a request stores and answers is all dated on
the day it arrived.

The clock starts at NOW (conftest): Monday 2026-11-23 09:00 UTC, a Monday in Europe/London too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import SecretStr

from bot.services import live_services
from bot.services.access import Actor
from bot.services.live_services import NewService
from handlers.blocks.common import slack_date
from storage.models import Absence, Action, AuditEvent, Checkin, Incident, ServiceRelation
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN
from tests.factories import ACTION_OWNER, LEAD, add_project
from tests.test_checkins import submit
from tests.test_webhooks import WEBHOOK_SECRET, post, trigger

MONDAY, FRIDAY = date(2026, 11, 23), date(2026, 11, 27)


class ClockADayLaterAtEachRead:
    """A request that read this twice would see two different days."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        return self.start + timedelta(days=self.reads - 1)


@pytest.fixture
def clock() -> ClockADayLaterAtEachRead:
    return ClockADayLaterAtEachRead(NOW)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"incident_webhook_secret": SecretStr(WEBHOOK_SECRET)})


@pytest.fixture
def app_context(app_context, clock):
    return replace(app_context, clock=clock)


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, ACTION_OWNER))
    fake_slack.add_user(LEAD)
    fake_slack.add_user(ACTION_OWNER)
    add_project(session_factory, channels=("C0CRM",))


def _audited_at(session_factory, record_type: str) -> set[datetime]:
    with unit_of_work(session_factory) as session:
        return {event.at for event in session.query(AuditEvent).filter_by(record_type=record_type)}


def test_an_action_due_today_is_due_the_day_it_was_typed_and_everything_is_dated_then(
    slack, fake_slack, crm, session_factory, listeners, clock
):
    slack.command(f"action CRM-2 <@{ACTION_OWNER}|doer> today Send the figures", user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()

    [reply] = [response for response in fake_slack.responses if response["text"].startswith("Added")]
    assert "due today." in reply["text"]
    with unit_of_work(session_factory) as session:
        [action] = session.query(Action).all()
        assert (action.due_date, action.created_at) == (MONDAY, NOW)
    assert _audited_at(session_factory, "actions") == {NOW}
    [dm] = fake_slack.messages_in(ACTION_OWNER)
    assert "due today." in dm["text"]
    assert clock.reads == 1


def test_away_until_friday_starts_the_day_it_was_typed(slack, fake_slack, crm, session_factory, listeners, clock):
    slack.command("away until fri", user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()

    [reply] = fake_slack.responses
    assert f"you are away {slack_date(MONDAY)} to {slack_date(FRIDAY)}." in reply["text"]
    with unit_of_work(session_factory) as session:
        [absence] = session.query(Absence).all()
        assert (absence.first_day, absence.last_day) == (MONDAY, FRIDAY)
    assert clock.reads == 1


def test_a_webhook_checks_its_signature_and_declares_the_incident_at_one_instant(
    app_url, fake_slack, session_factory, listeners, clock
):
    # The webhook's signature is checked against the app's clock, so this one starts at the real time.
    clock.start = datetime.now(timezone.utc).replace(microsecond=0)
    fake_slack.add_channel("C0CRM", "crm-team")
    add_project(session_factory, "CRM-2", "Customer records", channels=("C0CRM",), sponsor=None)
    with unit_of_work(session_factory) as session:
        admin = Actor(PMO_ADMIN, is_pmo_admin=True)
        live_services.save_service(session, admin, NewService("PAY", "Payments platform"), now=NOW)
        live_services.set_related_services(session, admin, "CRM-2", ServiceRelation.DEPENDS_ON, ["PAY"])

    response = post(app_url, trigger())
    listeners.wait_idle()  # the announcement, sent after the answer

    assert response.status_code == 200
    with unit_of_work(session_factory) as session:
        [incident] = session.query(Incident).all()
        assert incident.declared_at == clock.start
    assert _audited_at(session_factory, "incidents") == {clock.start}


def test_a_check_in_just_after_local_midnight_takes_the_workspace_day_not_utcs(
    slack, fake_slack, crm, session_factory, clock
):
    # 23:30 UTC on Monday 7 June 2027 is 00:30 on Tuesday 8 June in London (BST): Monday is past there.
    clock.start = datetime(2027, 6, 7, 23, 30, tzinfo=timezone.utc)

    response = submit(slack, fake_slack, period="2027-W23", overall="red", path="Hire a tester", by="2027-06-07")

    assert response.json()["errors"]["path_to_green_date"].startswith("The date to be Green again is in the past")
    with unit_of_work(session_factory) as session:
        assert session.query(Checkin).count() == 0
