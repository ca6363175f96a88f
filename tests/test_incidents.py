"""Incidents end to end: services, declaring, impact notices, the pause, impacts, updates, resolving.

Driven through signed requests, `tick` instants and the fake Slack. The app's clock is a
movable one, so declarations and resolutions happen at chosen instants around the
check-in cadence: NOW (conftest) is Monday 2026-11-23 09:00 UTC and the default cadence
is Monday 09:30 Europe/London (09:30 UTC in November).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from bot.context import AppContext
from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import checkboxes, plain_input, static_select
from bot.services import incident_views, incidents, live_services
from bot.services.access import Actor
from bot.services.incidents import ExternalSource, ImpactChange, NewIncident
from bot.services.live_services import NewService
from handlers.blocks import incidents as blocks
from handlers.jobs import run_due_work
from storage.models import (
    Action,
    ActionEvent,
    CheckinPeriod,
    Escalation,
    Incident,
    IncidentImpact,
    IncidentSeverity,
    Project,
    ServiceRelation,
)
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL, make_test_client
from tests.factories import LEAD, SPONSOR, STRANGER, add_project, load_project

DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
NEXT_DUE = DUE + timedelta(days=7)
HR_LEAD = "U0HRLEAD"
WEB_LEAD = "U0WEBLEAD"
WEB_SPONSOR = "U0WEBSPONSOR"
ADMIN = Actor(PMO_ADMIN, is_pmo_admin=True)
# Projects exist since the day before, so the first prompt any of them is owed is DUE's.
YESTERDAY = NOW - timedelta(days=1)


@pytest.fixture
def app_context(settings, session_factory, clock) -> AppContext:
    return AppContext(
        settings=settings, session_factory=session_factory, client=make_test_client(settings), clock=clock
    )


def add_service(session_factory, key: str, name: str) -> None:
    with unit_of_work(session_factory) as session:
        live_services.save_service(session, ADMIN, NewService(key, name), now=YESTERDAY)


def relate(session_factory, project_key: str, relation: ServiceRelation, *service_keys: str) -> None:
    with unit_of_work(session_factory) as session:
        live_services.set_related_services(session, ADMIN, project_key, relation, service_keys)


@pytest.fixture
def field(fake_slack, session_factory):
    """PAY is down in most tests: CRM-2 depends on it, HR-1 shares its people, WEB-1 only uses WEB."""
    for channel, name in (("C0CRM", "crm-team"), ("C0HR", "hr-team"), ("C0WEB", "web-team")):
        fake_slack.add_channel(channel, name, members=(LEAD, HR_LEAD, WEB_LEAD))
    for person in (LEAD, SPONSOR, HR_LEAD, WEB_LEAD, WEB_SPONSOR):
        fake_slack.add_user(person)
    add_service(session_factory, "PAY", "Payments platform")
    add_service(session_factory, "WEB", "Website")
    add_project(session_factory, "CRM-2", "Customer records", channels=("C0CRM",), created_at=YESTERDAY)
    add_project(session_factory, "HR-1", "HR system", lead=HR_LEAD, channels=("C0HR",), created_at=YESTERDAY)
    add_project(
        session_factory,
        "WEB-1",
        "New website",
        sponsor=WEB_SPONSOR,
        lead=WEB_LEAD,
        channels=("C0WEB",),
        created_at=YESTERDAY,
    )
    relate(session_factory, "CRM-2", ServiceRelation.DEPENDS_ON, "PAY")
    relate(session_factory, "HR-1", ServiceRelation.SHARES_PEOPLE, "PAY")
    relate(session_factory, "WEB-1", ServiceRelation.DEPENDS_ON, "WEB")


def tick(app_context, at: datetime) -> None:
    run_due_work(app_context, at)


def multi_select(values: list[str]) -> dict[str, Any]:
    return {
        "type": "multi_static_select",
        "selected_options": [{"text": {"type": "plain_text", "text": v, "emoji": True}, "value": v} for v in values],
    }


def declare(slack, listeners, *, services=("PAY",), severity="SEV1", summary="Card payments failing", user_id=STRANGER):
    response = slack.view_submission(
        "incident.new",
        {
            "services": {"services": multi_select(list(services))},
            "severity": {"severity": static_select(severity)},
            "summary": {"summary": plain_input(summary)},
        },
        user_id=user_id,
    )
    listeners.wait_idle()
    return response


def latest_key(session_factory) -> str:
    with unit_of_work(session_factory) as session:
        return session.query(Incident).order_by(Incident.id.desc()).first().key


def notices(fake_slack, channel: str) -> list[dict]:
    return [m for m in fake_slack.messages_in(channel) if "are paused" in m["text"] and not m.get("thread_ts")]


def prompts(fake_slack, channel: str) -> list[dict]:
    return [m for m in fake_slack.messages_in(channel) if "weekly check-in" in m["text"]]


def replans(fake_slack, channel: str) -> list[dict]:
    return [m for m in fake_slack.messages_in(channel) if "time to re-plan" in m["text"]]


def summaries(fake_slack) -> list[dict]:
    return [m for m in fake_slack.messages_in(PMO_CHANNEL) if m["text"].startswith("SEV1 on Payments platform")]


def pmo_messages(fake_slack, containing: str) -> list[dict]:
    return [m for m in fake_slack.messages_in(PMO_CHANNEL) if containing in m["text"] and not m.get("thread_ts")]


def last_reply(slack, fake_slack, text: str, *, user_id: str = LEAD, channel_id: str = "C0CRM") -> str:
    """The reply to this command (replies are ephemeral posts to its response_url)."""
    before = len(fake_slack.responses)
    slack.command(text, user_id=user_id, channel_id=channel_id)
    fake_slack.wait_for_response(lambda _response: len(fake_slack.responses) > before)
    return fake_slack.responses[before]["text"]


def latest_version(fake_slack, channel: str, ts: str) -> dict:
    return next(m for m in fake_slack.messages_in(channel) if m["ts"] == ts)


# --- the service catalogue ---------------------------------------------------------------------


def test_services_are_added_and_related_by_the_accountable_only(slack, fake_slack, session_factory, field):
    assert "is in the portfolio" in last_reply(
        slack, fake_slack, 'service add CRM "CRM Customer database"', user_id=PMO_ADMIN
    )
    assert "Only PMO admins and project sponsors or leads" in last_reply(
        slack, fake_slack, "service add OPS Ops tooling", user_id="U0NOBODY"
    )
    assert "CRM-2 now depends on PAY, CRM" in last_reply(slack, fake_slack, "depends crm-2 pay crm")
    assert "Only PMO admins and CRM-2's sponsor or lead" in last_reply(
        slack, fake_slack, "shares CRM-2 PAY", user_id=HR_LEAD
    )
    assert "No service has the key NOPE" in last_reply(slack, fake_slack, "depends CRM-2 NOPE")
    assert "CRM-2 now changes CRM" in last_reply(slack, fake_slack, "changes CRM-2 CRM")

    with unit_of_work(session_factory) as session:
        crm = session.query(Project).filter_by(key="CRM-2").one()
        services = {link.service.key: link.relation for link in crm.service_links}
    assert services == {"PAY": ServiceRelation.DEPENDS_ON, "CRM": ServiceRelation.CHANGES}


def test_service_add_without_arguments_opens_a_form_that_checks_its_fields(slack, fake_slack, session_factory, field):
    fake_slack.add_usergroup("S0OPS", [], handle="ops")
    fake_slack.add_usergroup("S0WEB", [], handle="web-team")
    slack.command("service add", user_id=PMO_ADMIN, channel_id="C0CRM")
    view = fake_slack.wait_for("views.open").args["view"]
    assert view["callback_id"] == "service.new" and view_problems(view) == []
    [picker] = [block["element"] for block in view["blocks"] if block.get("block_id") == "usergroup"]
    assert picker["type"] == "static_select"  # picked from Slack's list, not typed as an ID
    assert [option["value"] for option in picker["options"]] == ["S0OPS", "S0WEB"]
    assert picker["options"][0]["text"]["text"] == "@ops · Ops"

    def submit(key: str) -> Any:
        values = {
            "key": {"key": plain_input(key)},
            "name": {"name": plain_input("Ops tooling")},
            "owning_team": {"owning_team": plain_input("Platform team")},
            "usergroup": {"usergroup": static_select("S0OPS")},
        }
        return slack.view_submission("service.new", values, user_id=PMO_ADMIN)

    assert "key" in submit("9ops").json()["errors"]
    saved = submit("ops")

    assert saved.json()["response_action"] == "update"
    with unit_of_work(session_factory) as session:
        ops = live_services.find_service(session, "ops tooling")
        assert (ops.key, ops.owning_team, ops.slack_usergroup_id) == ("OPS", "Platform team", "S0OPS")


def test_the_service_form_shows_a_taken_name_on_its_name_and_a_refusal_on_its_first_input(
    slack, session_factory, field
):
    def submit(key: str, name: str, user_id: str = PMO_ADMIN) -> Any:
        values = {"key": {"key": plain_input(key)}, "name": {"name": plain_input(name)}}
        return slack.view_submission("service.new", values, user_id=user_id)

    taken = submit("PAY2", "Payments platform")
    refused = submit("OPS", "Ops tooling", user_id=STRANGER)

    assert taken.json() == {
        "response_action": "errors",
        "errors": {"name": "PAY is already called 'Payments platform'. Choose another name."},
    }
    assert refused.json()["response_action"] == "errors"
    assert refused.json()["errors"]["key"].startswith("Only PMO admins and project sponsors or leads")
    with unit_of_work(session_factory) as session:
        assert [live_services.find_service(session, key) for key in ("PAY2", "OPS")] == [None, None]


# --- declaring -----------------------------------------------------------------------------------


def test_a_declaration_naming_a_service_removed_meanwhile_is_shown_on_the_services_input(
    slack, listeners, session_factory, field
):
    response = declare(slack, listeners, services=("PAY", "GONE"))

    assert response.json()["response_action"] == "errors"
    assert list(response.json()["errors"]) == ["services"]
    assert response.json()["errors"]["services"].startswith("No service has the key GONE.")
    with unit_of_work(session_factory) as session:
        assert session.query(Incident).count() == 0


def test_pmo_incident_opens_a_form_listing_the_services(slack, fake_slack, field):
    slack.command("incident", user_id=STRANGER, channel_id="C0CRM")

    view = fake_slack.wait_for("views.open").args["view"]
    assert view["callback_id"] == "incident.new" and view_problems(view) == []
    services = view["blocks"][0]["element"]["options"]
    assert [option["value"] for option in services] == ["PAY", "WEB"]


def test_declaring_tells_exactly_the_affected_channels_once(app_context, slack, fake_slack, field, listeners):
    response = declare(slack, listeners)

    assert response.json()["response_action"] == "update"
    [crm] = notices(fake_slack, "C0CRM")
    [hr] = notices(fake_slack, "C0HR")
    assert notices(fake_slack, "C0WEB") == []
    assert "SEV1 on Payments platform" in crm["text"] and "CRM-2" in str(crm["blocks"])
    assert "Record impact" in str(crm["blocks"]) and "We're not affected" in str(crm["blocks"])
    assert message_problems(crm["blocks"]) == [] and "HR-1" in str(hr["blocks"])
    # One DM per sponsor per incident, naming all of their affected projects.
    [dm] = fake_slack.messages_in(SPONSOR)
    assert "CRM-2" in str(dm["blocks"]) and "HR-1" in str(dm["blocks"])
    assert fake_slack.messages_in(WEB_SPONSOR) == []
    [summary] = summaries(fake_slack)
    assert "*Projects affected:* 2" in str(summary["blocks"])

    tick(app_context, NOW + timedelta(minutes=1))  # the safety net finds nothing left to send

    assert len(fake_slack.ok_calls_to("chat.postMessage")) == 4  # 2 notices, 1 DM, 1 summary


def test_a_summary_pinging_everyone_is_shown_as_typed(slack, fake_slack, field, listeners):
    declare(slack, listeners, summary="<!channel> payments down")

    [crm] = notices(fake_slack, "C0CRM")
    assert "<!channel>" not in json.dumps(crm) and "&lt;!channel&gt; payments down" in str(crm["blocks"])


def test_the_declarer_hears_how_many_projects_were_actually_told(slack, fake_slack, session_factory, field, listeners):
    fake_slack.archive("C0HR")
    fake_slack.add_user(STRANGER)

    declare(slack, listeners, user_id=STRANGER)

    [report] = [m for m in fake_slack.messages_in(STRANGER) if "were told" in m["text"] or "was told" in m["text"]]
    assert "1 of 2 affected projects was told in their channels." in report["text"]
    assert "Could not tell: HR-1 (is_archived)." in report["text"]


def test_an_archived_channel_is_marked_broken_and_the_pmo_told(slack, fake_slack, session_factory, field, listeners):
    fake_slack.archive("C0HR")

    declare(slack, listeners)

    assert len(notices(fake_slack, "C0CRM")) == 1
    assert load_project(session_factory, "HR-1").channel_links[0].broken_reason == "is_archived"
    [alert] = pmo_messages(fake_slack, "Escalation: HR-1")
    assert "impact notice" in str(alert["blocks"]) and "/pmo link HR-1" in str(alert["blocks"])


# --- the pause ------------------------------------------------------------------------------------


def test_while_open_paused_projects_get_no_prompts_but_others_do(app_context, slack, fake_slack, field, listeners):
    declare(slack, listeners)

    tick(app_context, DUE)

    assert prompts(fake_slack, "C0CRM") == [] and prompts(fake_slack, "C0HR") == []
    assert len(prompts(fake_slack, "C0WEB")) == 1


def test_while_open_no_reminders_and_no_missed_check_ins(app_context, slack, fake_slack, clock, field, listeners):
    tick(app_context, DUE)  # everyone is prompted; then PAY goes down
    clock.at = DUE + timedelta(hours=1)
    declare(slack, listeners)

    tick(app_context, DUE + timedelta(hours=24))
    tick(app_context, DUE + timedelta(hours=48))

    assert fake_slack.messages_in(LEAD) == [] and fake_slack.messages_in(HR_LEAD) == []
    assert len(fake_slack.messages_in(WEB_LEAD)) == 1  # WEB-1 is not paused: reminded as usual
    assert pmo_messages(fake_slack, "CRM-2 · Customer records: No check-in") == []
    assert len(pmo_messages(fake_slack, "WEB-1")) == 1


def test_paused_means_an_open_incident_and_an_impact_the_team_did_not_wave_off(settings, session_factory, field):
    with unit_of_work(session_factory) as session:
        pay = live_services.find_service(session, "PAY")
        incidents.declare(session, NewIncident((pay.id,), IncidentSeverity.SEV2, "Slow"), now=NOW)

    def paused() -> set[str]:
        with unit_of_work(session_factory) as session:
            ids = set(session.scalars(incidents.paused_project_ids()))
            return {project.key for project in session.query(Project).filter(Project.id.in_(ids))}

    assert paused() == {"CRM-2", "HR-1"}
    with unit_of_work(session_factory) as session:
        key = session.query(Incident).one().key
        incidents.mark_not_affected(session, Actor(HR_LEAD, False), key, "HR-1", now=NOW)
    assert paused() == {"CRM-2"}
    with unit_of_work(session_factory) as session:
        incidents.resolve(session, key, now=NOW + timedelta(hours=1), default_cadence=settings.default_cadence)
    assert paused() == set()


# --- what the team records -------------------------------------------------------------------------


def test_the_lead_records_impact_and_a_priority_ask_escalates(app_context, slack, fake_slack, field, listeners):
    declare(slack, listeners)
    [notice] = notices(fake_slack, "C0CRM")

    slack.block_action("incident.record_impact", user_id=STRANGER, channel_id="C0CRM", message=notice)
    assert "Only CRM-2's lead" in fake_slack.wait_for_response()["text"]
    slack.block_action("incident.record_impact", user_id=LEAD, channel_id="C0CRM", message=notice)
    form = fake_slack.wait_for("views.open").args["view"]
    assert form["callback_id"] == "incident.impact" and view_problems(form) == []

    def submit(delay: str, *, priority: bool) -> Any:
        values = {
            "delay": {"delay": plain_input(delay)},
            "milestones": {"milestones": plain_input("Go-live on 1 Dec")},
            "people": {"people": plain_input("Two developers on the payments bridge")},
            "contingency": {"contingency": plain_input("Test with stubs meanwhile")},
            "priority": {"priority": checkboxes(["priority"] if priority else [])},
        }
        return slack.view_submission("incident.impact", values, user_id=LEAD, private_metadata=form["private_metadata"])

    assert "is not a number of days" in submit("soon", priority=False).json()["errors"]["delay"]
    submit("3", priority=True)
    listeners.wait_idle()

    recorded = latest_version(fake_slack, "C0CRM", notice["ts"])
    assert "Impact recorded by" in str(recorded["blocks"]) and "3 days' delay" in str(recorded["blocks"])
    [summary] = summaries(fake_slack)
    assert "*Delay recorded so far:* 3 days" in str(summary["blocks"]) and "*CRM-2* (<@U0LEAD>)" in str(
        summary["blocks"]
    )
    [alert] = pmo_messages(fake_slack, "Escalation: CRM-2")
    assert "asks for priority" in str(alert["blocks"]) and "Test with stubs meanwhile" in str(alert["blocks"])
    [dm] = fake_slack.messages_in(SPONSOR)  # the sponsor's one DM now shows the impact too
    assert "*CRM-2* · Customer records: 3 days' delay expected" in str(dm["blocks"])

    submit("2", priority=False)  # the team thinks again: the alert says so, no second alert
    listeners.wait_idle()

    assert len(pmo_messages(fake_slack, "Escalation: CRM-2")) == 1
    assert "Withdrawn" in str(latest_version(fake_slack, PMO_CHANNEL, alert["ts"])["blocks"])


def test_recording_impact_without_priority_does_not_escalate(slack, fake_slack, session_factory, field, listeners):
    declare(slack, listeners)
    key = latest_key(session_factory)

    slack.view_submission(
        "incident.impact",
        {"delay": {"delay": plain_input("0")}},
        user_id=LEAD,
        private_metadata=blocks.ImpactTarget(key, "CRM-2").to_json(),
    )
    listeners.wait_idle()

    with unit_of_work(session_factory) as session:
        assert session.query(Escalation).count() == 0
        assert session.query(IncidentImpact).filter_by(expected_delay_days=0).count() == 1


def test_not_affected_lets_the_prompts_come(app_context, slack, fake_slack, field, listeners):
    declare(slack, listeners)
    [notice] = notices(fake_slack, "C0HR")

    slack.block_action("incident.not_affected", user_id=HR_LEAD, channel_id="C0HR", message=notice)
    listeners.wait_idle()
    tick(app_context, DUE)

    assert "is not affected" in str(latest_version(fake_slack, "C0HR", notice["ts"])["blocks"])
    assert len(prompts(fake_slack, "C0HR")) == 1 and prompts(fake_slack, "C0CRM") == []
    [summary] = summaries(fake_slack)
    assert "*Projects affected:* 1 (1 more say they are not)" in str(summary["blocks"])


def test_a_team_waving_the_incident_off_after_the_prompts_time_gets_that_weeks_prompt(
    app_context, slack, fake_slack, field, listeners
):
    declare(slack, listeners)
    [notice] = notices(fake_slack, "C0HR")
    tick(app_context, DUE)
    assert prompts(fake_slack, "C0HR") == []

    slack.block_action("incident.not_affected", user_id=HR_LEAD, channel_id="C0HR", message=notice)
    listeners.wait_idle()
    tick(app_context, DUE + timedelta(minutes=5))

    assert len(prompts(fake_slack, "C0HR")) == 1 and prompts(fake_slack, "C0CRM") == []


# --- updates and resolving -------------------------------------------------------------------------


def test_an_update_goes_in_the_thread_of_each_notice(slack, fake_slack, session_factory, field, listeners):
    declare(slack, listeners)
    key = latest_key(session_factory)

    reply = last_reply(
        slack, fake_slack, f"incident update {key} We're at 50%, it's \"nearly\" fixed <!here>", user_id=STRANGER
    )
    listeners.wait_idle()

    assert "2 project channels" in reply
    for channel in ("C0CRM", "C0HR"):
        [notice] = notices(fake_slack, channel)
        [update] = [m for m in fake_slack.messages_in(channel) if m.get("thread_ts") == notice["ts"]]
        assert "We're at 50%, it's \"nearly\" fixed &lt;!here&gt;" in update["text"]
    assert [m for m in fake_slack.messages_in("C0WEB") if "Update" in m["text"]] == []
    assert len([m for m in fake_slack.messages_in(PMO_CHANNEL) if m.get("thread_ts")]) == 1


def test_resolving_asks_each_affected_channel_to_re_plan(
    app_context, slack, fake_slack, clock, session_factory, field, listeners
):
    declare(slack, listeners)
    key = latest_key(session_factory)
    clock.at = NOW + timedelta(hours=5, minutes=20)

    reply = last_reply(slack, fake_slack, f"incident resolve {key.lower()}", user_id=STRANGER)
    listeners.wait_idle()

    assert f"{key} is resolved" in reply
    [crm] = replans(fake_slack, "C0CRM")
    assert "after 5 h 20 min" in str(crm["blocks"]) and message_problems(crm["blocks"]) == []
    assert "Submit a check-in now" in str(crm["blocks"]) and "Shift open actions by 1 day" in str(crm["blocks"])
    assert len(replans(fake_slack, "C0HR")) == 1 and replans(fake_slack, "C0WEB") == []
    [summary] = summaries(fake_slack)
    assert "*Resolved*" in str(summary["blocks"]) and "*Total delay recorded:* 0 days" in str(summary["blocks"])

    sent = len(fake_slack.ok_calls_to("chat.postMessage"))
    assert "already resolved" in last_reply(slack, fake_slack, f"incident resolve {key}", user_id=STRANGER)
    assert "No incident has the key INC-999999" in last_reply(
        slack, fake_slack, "incident resolve INC-999999", user_id=STRANGER
    )
    listeners.wait_idle()
    assert len(fake_slack.ok_calls_to("chat.postMessage")) == sent


def test_the_pmo_resolves_from_the_summary_button(slack, fake_slack, field, listeners):
    declare(slack, listeners)
    [summary] = summaries(fake_slack)

    slack.block_action("incident.resolve", user_id=PMO_ADMIN, channel_id=PMO_CHANNEL, message=summary)
    listeners.wait_idle()

    assert "is resolved" in fake_slack.wait_for_response()["text"]
    assert len(replans(fake_slack, "C0CRM")) == 1
    assert "Resolve" not in str(
        [e for b in latest_version(fake_slack, PMO_CHANNEL, summary["ts"])["blocks"] for e in b.get("elements", [])]
    )


def test_submit_a_check_in_now_opens_this_weeks_form(
    app_context, slack, fake_slack, clock, session_factory, field, listeners
):
    declare(slack, listeners)
    clock.at = NOW + timedelta(hours=2)
    last_reply(slack, fake_slack, f"incident resolve {latest_key(session_factory)}", user_id=STRANGER)
    listeners.wait_idle()
    [replan] = replans(fake_slack, "C0CRM")

    slack.block_action("checkin.submit", user_id=LEAD, channel_id="C0CRM", message=replan)

    view = fake_slack.wait_for("views.open").args["view"]
    assert view["callback_id"] == "checkin.submit" and "2026-W48" in view["private_metadata"]


def test_shifting_open_actions_moves_them_once_by_the_incidents_length(
    slack, fake_slack, clock, session_factory, field, listeners
):
    with unit_of_work(session_factory) as session:
        crm = session.query(Project).filter_by(key="CRM-2").one()
        lead_id = crm.lead_id
        for title, status in (("Agree the protocol", "open"), ("Old thing", "done")):
            session.add(
                Action(
                    project_id=crm.id,
                    title=title,
                    owner_id=lead_id,
                    due_date=date(2026, 12, 1),
                    status=status,
                    created_at=NOW,
                )
            )
    declare(slack, listeners)
    clock.at = NOW + timedelta(hours=30)  # a day and a quarter: two days
    last_reply(slack, fake_slack, f"incident resolve {latest_key(session_factory)}", user_id=STRANGER)
    listeners.wait_idle()
    [replan] = replans(fake_slack, "C0CRM")
    assert "Shift open actions by 2 days" in str(replan["blocks"])

    slack.block_action("incident.shift_actions", user_id=LEAD, channel_id="C0CRM", message=replan)
    listeners.wait_idle()
    slack.block_action("incident.shift_actions", user_id=LEAD, channel_id="C0CRM", message=replan)

    assert "already shifted" in fake_slack.wait_for_response(lambda r: "already" in r["text"])["text"]
    with unit_of_work(session_factory) as session:
        due = {action.title: action.due_date for action in session.query(Action)}
        assert due == {"Agree the protocol": date(2026, 12, 3), "Old thing": date(2026, 12, 1)}
        [event] = session.query(ActionEvent).all()
        assert event.kind == "shifted" and event.detail["days"] == 2 and event.detail["from"] == "2026-12-01"
    [note] = [m for m in fake_slack.messages_in("C0CRM") if m.get("thread_ts") == replan["ts"]]
    assert "moved 1 open action of CRM-2 2 days later" in note["text"]


def test_shifting_never_lands_an_action_on_a_weekend_and_the_note_says_so(
    slack, fake_slack, clock, session_factory, field, listeners
):
    with unit_of_work(session_factory) as session:
        crm = session.query(Project).filter_by(key="CRM-2").one()
        session.add(
            Action(
                project_id=crm.id,
                title="Agree the protocol",
                owner_id=crm.lead_id,
                due_date=date(2026, 12, 3),  # a Thursday: two days later is Saturday
                status="open",
                created_at=NOW,
            )
        )
    declare(slack, listeners)
    clock.at = NOW + timedelta(hours=30)
    last_reply(slack, fake_slack, f"incident resolve {latest_key(session_factory)}", user_id=STRANGER)
    listeners.wait_idle()
    [replan] = replans(fake_slack, "C0CRM")

    slack.block_action("incident.shift_actions", user_id=LEAD, channel_id="C0CRM", message=replan)
    listeners.wait_idle()

    with unit_of_work(session_factory) as session:
        assert session.query(Action).one().due_date == date(2026, 12, 7)
    [note] = [m for m in fake_slack.messages_in("C0CRM") if m.get("thread_ts") == replan["ts"]]
    assert "1 of them would have fallen on a weekend or skip date, so they are due the next working day" in note["text"]


# --- the whole story ----------------------------------------------------------------------------------


def test_declare_pause_impact_priority_resolve_replan_resume(
    app_context, slack, fake_slack, clock, session_factory, field, listeners
):
    declare(slack, listeners)  # 09:00, half an hour before the weekly prompt
    assert len(notices(fake_slack, "C0CRM")) == 1 and notices(fake_slack, "C0WEB") == []

    tick(app_context, DUE)
    assert prompts(fake_slack, "C0CRM") == [] and len(prompts(fake_slack, "C0WEB")) == 1

    clock.at = NOW + timedelta(hours=2)
    key = latest_key(session_factory)
    slack.view_submission(
        "incident.impact",
        {"delay": {"delay": plain_input("5")}, "priority": {"priority": checkboxes(["priority"])}},
        user_id=LEAD,
        private_metadata=blocks.ImpactTarget(key, "CRM-2").to_json(),
    )
    listeners.wait_idle()
    assert len(pmo_messages(fake_slack, "Escalation: CRM-2")) == 1

    clock.at = NOW + timedelta(hours=4)
    last_reply(slack, fake_slack, f"incident resolve {key}", user_id=STRANGER)
    listeners.wait_idle()
    assert len(replans(fake_slack, "C0CRM")) == 1
    [summary] = summaries(fake_slack)
    assert "*Total delay recorded:* 5 days across 1 projects" in str(summary["blocks"])

    tick(app_context, NOW + timedelta(hours=4, minutes=1))  # the prompt that fell in the pause is not sent late
    assert prompts(fake_slack, "C0CRM") == []
    with unit_of_work(session_factory) as session:
        crm = session.query(Project).filter_by(key="CRM-2").one()
        [period] = session.query(CheckinPeriod).filter_by(project_id=crm.id).all()
        assert (period.period, period.excused_reason, period.prompted_at) == ("2026-W48", "incident", None)

    tick(app_context, NEXT_DUE)  # prompts resume at the next cadence
    assert [prompt["text"][-8:] for prompt in prompts(fake_slack, "C0CRM")] == ["2026-W49"]


def test_a_week_prompted_before_the_incident_is_excused_when_it_ends(
    app_context, slack, fake_slack, clock, session_factory, field, listeners
):
    tick(app_context, DUE)
    clock.at = DUE + timedelta(hours=1)
    declare(slack, listeners)
    clock.at = DUE + timedelta(hours=50)
    last_reply(slack, fake_slack, f"incident resolve {latest_key(session_factory)}", user_id=STRANGER)
    listeners.wait_idle()

    tick(app_context, DUE + timedelta(hours=51))

    assert fake_slack.messages_in(LEAD) == []  # no reminder, and no miss in the PMO channel
    assert pmo_messages(fake_slack, "Escalation: CRM-2") == []
    with unit_of_work(session_factory) as session:
        reasons = sorted(str(period.excused_reason) for period in session.query(CheckinPeriod).all())
    assert reasons == ["None", "incident", "incident"]  # CRM-2 and HR-1; WEB-1's week runs its course


def test_what_a_crash_left_unsent_goes_out_with_the_next_tick(
    app_context, settings, fake_slack, session_factory, field
):
    with unit_of_work(session_factory) as session:  # declared, then the process died before announcing
        pay = live_services.find_service(session, "PAY")
        key = incidents.declare(session, NewIncident((pay.id,), IncidentSeverity.SEV2, "Slow"), now=NOW).key

    tick(app_context, NOW + timedelta(minutes=1))
    tick(app_context, NOW + timedelta(minutes=2))

    assert len(notices(fake_slack, "C0CRM")) == 1 and len(notices(fake_slack, "C0HR")) == 1
    assert len(fake_slack.messages_in(SPONSOR)) == 1
    assert len([m for m in fake_slack.messages_in(PMO_CHANNEL) if m["text"].startswith("SEV2 on Payments")]) == 1

    with unit_of_work(session_factory) as session:  # resolved, and again nothing was announced
        incidents.resolve(session, key, now=NOW + timedelta(hours=1), default_cadence=settings.default_cadence)
    tick(app_context, NOW + timedelta(hours=1, minutes=1))
    tick(app_context, NOW + timedelta(hours=1, minutes=2))

    assert len(replans(fake_slack, "C0CRM")) == 1 and len(replans(fake_slack, "C0HR")) == 1


# --- listing ------------------------------------------------------------------------------------------


def test_pmo_incidents_lists_open_and_recent_ones_with_their_impacts(
    slack, fake_slack, clock, session_factory, field, listeners
):
    declare(slack, listeners, services=("WEB",), severity="SEV3", summary="Search is slow")
    last_reply(slack, fake_slack, f"incident resolve {latest_key(session_factory)}", user_id=STRANGER)
    declare(slack, listeners)
    listeners.wait_idle()

    before = len(fake_slack.responses)
    slack.command("incidents", user_id=STRANGER, channel_id="C0CRM")
    fake_slack.wait_for_response(lambda _response: len(fake_slack.responses) > before)
    reply = fake_slack.responses[before]

    assert reply["text"] == "1 open incidents, 1 resolved lately."
    listed = str(reply["blocks"])
    assert listed.index("SEV1 on Payments platform") < listed.index("SEV3 on Website")
    assert "2 projects affected" in listed and "WEB-1" in listed and message_problems(reply["blocks"]) == []


# --- builders and domain rules --------------------------------------------------------------------


def _big_view(projects: int) -> incident_views.IncidentView:
    lines = tuple(
        incident_views.ImpactLine(
            project_id=n,
            project_key=f"PROJECT-{n}",
            project_name="A project with a long name " * 4,
            sponsor_user_id="U0SPONSOR",
            lead_user_id="U0LEAD",
            not_affected=False,
            recorded_by_user_id="U0LEAD",
            expected_delay_days=n % 30,
            milestones_at_risk="Milestone " * 200,
            people_diverted="People " * 300,
            contingency_plan="Plan " * 400,
            asks_for_priority=n % 3 == 0,
        )
        for n in range(projects)
    )
    return incident_views.IncidentView(
        incident_id=1,
        key="INC-1",
        severity="SEV1",
        summary="Down " * 400,
        service_names=("Payments platform",) * 20,
        is_open=False,
        declared_at=NOW,
        resolved_at=NOW + timedelta(hours=3),
        declared_by_user_id=None,
        external_source="pagerduty",
        impacts=lines,
    )


def test_every_incident_message_stays_within_slacks_limits_for_a_thousand_projects():
    view = _big_view(1000)
    line = view.impacts[0]

    assert message_problems(blocks.summary_blocks(view)) == []
    assert message_problems(blocks.notice_blocks(view, line)) == []
    assert message_problems(blocks.replan_blocks(view, line, period="2026-W48", shift_days=3)) == []
    assert message_problems(blocks.sponsor_dm(view, list(view.impacts))[1]) == []
    assert message_problems(blocks.incidents_blocks([view] * 30)) == []
    assert (
        view_problems(blocks.impact_modal(blocks.ImpactTarget("INC-1", "P-1"), blocks.headline(view), "x" * 200, None))
        == []
    )
    assert view_problems(blocks.declare_modal([(f"S{n}", "Service " * 20) for n in range(150)])) == []


def test_a_monitoring_retry_declares_one_incident_and_an_unknown_service_stores_nothing(session_factory, field):
    def from_monitoring(service: str, external_id: str = "alert-1") -> incidents.IncidentChange:
        with unit_of_work(session_factory) as session:
            return incidents.declare_from_monitoring(
                session, ExternalSource.WEBHOOK, external_id, service, IncidentSeverity.SEV2, "Slow", now=NOW
            )

    first, repeat = from_monitoring("payments PLATFORM"), from_monitoring("PAY")

    assert (first.key, first.is_new) == (repeat.key, not repeat.is_new)
    with pytest.raises(incidents.UnknownService):
        from_monitoring("Mainframe", "alert-2")
    with unit_of_work(session_factory) as session:
        assert session.query(Incident).count() == 1 and session.query(IncidentImpact).count() == 2


def test_priority_cause_only_when_asked_or_withdrawn(session_factory, field):
    with unit_of_work(session_factory) as session:
        pay = live_services.find_service(session, "PAY")
        change = incidents.declare(session, NewIncident((pay.id,), IncidentSeverity.SEV1, "Down"), now=NOW)
        crm = session.query(Project).filter_by(key="CRM-2").one()
        quiet = ImpactChange(change.incident_id, change.key, crm.id, "CRM-2", False, withdrew_priority=False)

        assert incidents.priority_cause(session, quiet) is None
