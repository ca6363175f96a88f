"""The weekly check-in cycle, driven through `tick` instants, signed requests and the fake Slack.

NOW (conftest) is Monday 2026-11-23 09:00 UTC; the default cadence is Monday 09:30
Europe/London, which is 09:30 UTC in November.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import checkboxes, datepicker, plain_input, static_select
from handlers.checkins import send_checkin_prompts
from handlers.jobs import run_due_work
from storage.models import Benefit, Checkin, EscalationKind, Project, SkipDate
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL, TEAM_ID
from tests.factories import LEAD, SPONSOR, STRANGER, add_benefit, add_project, load_project

DUE = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, "U0MEMBER"))
    fake_slack.add_user(LEAD)
    fake_slack.add_user(SPONSOR)
    add_project(session_factory, channels=("C0CRM",))


def tick(app_context, at: datetime) -> None:
    run_due_work(app_context, at)


def prompts(fake_slack, channel: str = "C0CRM") -> list[dict]:
    return [message for message in fake_slack.messages_in(channel) if "weekly check-in" in message["text"]]


def values(overall: str | None = "green", **fields) -> dict:
    form = {
        "overall": {
            "overall": static_select(overall) if overall else {"type": "static_select", "selected_option": None}
        },
        "progress": {"progress": plain_input(fields.get("progress", "Data migrated"))},
        "help": {"help": plain_input(fields.get("help"))},
        "escalate": {"escalate": checkboxes(["escalate"] if fields.get("escalate") else [])},
        "path_to_green": {"path_to_green": plain_input(fields.get("path"))},
        "path_to_green_date": {"path_to_green_date": datepicker(fields.get("by"))},
    }
    for benefit_id, typed in fields.get("benefits", {}).items():
        form[f"benefit:{benefit_id}"] = {f"benefit:{benefit_id}": plain_input(typed)}
    return form


def submit(slack, fake_slack, user_id: str = LEAD, period: str = "2026-W48", **fields):
    return slack.view_submission(
        "checkin.submit",
        values(**fields),
        user_id=user_id,
        private_metadata=f'{{"project_key": "CRM-2", "period": "{period}"}}',
    )


def alerts(fake_slack) -> list[dict]:
    return fake_slack.messages_in(PMO_CHANNEL)


# --- prompts ------------------------------------------------------------------------------


def test_the_prompt_arrives_at_the_cadence_instant_and_only_once(app_context, fake_slack, crm):
    tick(app_context, DUE - timedelta(minutes=1))
    assert prompts(fake_slack) == []

    tick(app_context, DUE)
    tick(app_context, DUE + timedelta(minutes=1))

    [prompt] = prompts(fake_slack)
    assert "2026-W48" in str(prompt["blocks"]) and "Submit update" in str(prompt["blocks"])
    assert message_problems(prompt["blocks"]) == []


def test_a_late_tick_sends_the_current_period_and_no_backlog(app_context, fake_slack, session_factory):
    fake_slack.add_channel("C0OLD", "old-project")
    add_project(session_factory, "OLD-1", "Old", channels=("C0OLD",), created_at=NOW - timedelta(days=30))

    # Tuesday: down since Monday morning, within CHECKIN_MISSED_HOURS of the prompt's time
    # (later than that the week is let go: tests/test_first_impressions.py).
    tick(app_context, datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc))

    [prompt] = prompts(fake_slack, "C0OLD")
    assert "2026-W48" in prompt["text"]


def test_each_project_is_prompted_in_its_own_timezone(app_context, fake_slack, session_factory):
    fake_slack.add_channel("C0NY", "ny-team")
    add_project(session_factory, "NY-1", "New York office", channels=("C0NY",))
    with unit_of_work(session_factory) as session:
        project = session.query(Project).filter_by(key="NY-1").one()
        project.timezone = "America/New_York"

    tick(app_context, DUE)
    assert prompts(fake_slack, "C0NY") == []

    tick(app_context, datetime(2026, 11, 23, 14, 30, tzinfo=timezone.utc))  # 09:30 in New York
    assert len(prompts(fake_slack, "C0NY")) == 1


def test_the_week_the_clocks_change_the_prompt_keeps_local_time(app_context, fake_slack, session_factory):
    fake_slack.add_channel("C0SPRING", "spring")
    add_project(
        session_factory, "SPR-1", "Spring", channels=("C0SPRING",), created_at=datetime(2027, 3, 1, tzinfo=timezone.utc)
    )

    tick(app_context, datetime(2027, 3, 22, 9, 30, tzinfo=timezone.utc))  # 09:30 GMT, the week before
    tick(app_context, datetime(2027, 3, 29, 8, 29, tzinfo=timezone.utc))
    assert [prompt["text"][-8:] for prompt in prompts(fake_slack, "C0SPRING")] == ["2027-W12"]

    tick(app_context, datetime(2027, 3, 29, 8, 30, tzinfo=timezone.utc))  # 09:30 BST, the day after the change
    assert [prompt["text"][-8:] for prompt in prompts(fake_slack, "C0SPRING")] == ["2027-W12", "2027-W13"]


def test_skip_dates_and_paused_projects_get_no_prompt(app_context, fake_slack, session_factory, crm):
    fake_slack.add_channel("C0PAUSED", "paused")
    add_project(session_factory, "PAU-1", "Paused", channels=("C0PAUSED",))
    with unit_of_work(session_factory) as session:
        session.add(SkipDate(team_id=TEAM_ID, day=DUE.date(), note="Staff day"))
        session.query(Project).filter_by(key="PAU-1").one().status = "paused"

    tick(app_context, DUE)

    assert prompts(fake_slack) == [] and prompts(fake_slack, "C0PAUSED") == []


# A tick reads only the projects whose next cadence instant has come (bot/services/checkins.py's
# prompt schedule): whatever can make a prompt due sooner must bring the project back to it.


def test_a_new_projects_first_prompt_follows_a_cadence_set_after_its_first_tick(slack, app_context, fake_slack, crm):
    fake_slack.add_channel("C0NEW", "new-team", members=(LEAD,))
    add_project(
        app_context.session_factory, "NEW-1", "New", channels=("C0NEW",), created_at=DUE + timedelta(minutes=30)
    )
    tick(app_context, DUE + timedelta(minutes=30))  # created after Monday's instant: nothing owed until next Monday

    slack.command("cadence NEW-1 wed 10:00", user_id=LEAD, channel_id="C0NEW")
    assert "now Wed 10:00" in fake_slack.wait_for_response()["text"]
    tick(app_context, datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc))

    assert [prompt["text"][-8:] for prompt in prompts(fake_slack, "C0NEW")] == ["2026-W48"]


def test_a_new_default_cadence_in_the_settings_reaches_projects_that_follow_it(
    app_context, fake_slack, session_factory
):
    fake_slack.add_channel("C0NEW", "new-team")
    add_project(session_factory, "NEW-1", "New", channels=("C0NEW",), created_at=DUE + timedelta(minutes=30))
    tick(app_context, DUE + timedelta(minutes=30))

    # The operator moves the default to Wednesdays and restarts.
    wednesdays = replace(app_context, settings=app_context.settings.model_copy(update={"default_checkin_day": "wed"}))
    tick(wednesdays, datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc))

    assert [prompt["text"][-8:] for prompt in prompts(fake_slack, "C0NEW")] == ["2026-W48"]


def test_a_skip_date_taken_off_the_list_on_the_day_brings_the_prompt(slack, app_context, fake_slack, crm):
    # Skip dates are for days still to come, and the app's requests run on the real clock.
    monday = datetime(2030, 1, 7, 9, 30, tzinfo=timezone.utc)  # 09:30 GMT
    slack.command("skip 2030-01-07 Staff day", user_id=LEAD, channel_id="C0CRM")
    assert "now a skip date" in fake_slack.wait_for_response()["text"]
    tick(app_context, monday)
    assert prompts(fake_slack) == []

    slack.command("skip remove 2030-01-07", user_id=LEAD, channel_id="C0CRM")
    assert "no longer a skip date" in fake_slack.wait_for_response(lambda reply: "no longer" in reply["text"])["text"]
    tick(app_context, monday + timedelta(minutes=5))

    assert [prompt["text"][-8:] for prompt in prompts(fake_slack)] == ["2030-W02"]


def test_a_channel_linked_after_the_prompts_time_gets_that_weeks_prompt(
    slack, app_context, fake_slack, session_factory
):
    add_project(session_factory, created_at=NOW - timedelta(days=30))
    tick(app_context, DUE)  # no channel yet: nowhere to prompt

    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    slack.command("link CRM-2", user_id=LEAD, channel_id="C0CRM")
    assert "now linked to *CRM-2*" in fake_slack.wait_for_response()["text"]
    tick(app_context, DUE + timedelta(minutes=5))

    assert [prompt["text"][-8:] for prompt in prompts(fake_slack)] == ["2026-W48"]


def test_two_instances_ticking_at_once_post_one_prompt_per_project(app_context, fake_slack, session_factory):
    for number in range(10):
        fake_slack.add_channel(f"C0P{number}", f"p{number}")
        add_project(session_factory, f"P-{number}", f"Project {number}", channels=(f"C0P{number}",))

    instances = [threading.Thread(target=send_checkin_prompts, args=(app_context, DUE)) for _ in range(2)]
    for instance in instances:
        instance.start()
    for instance in instances:
        instance.join()

    assert [len(prompts(fake_slack, f"C0P{number}")) for number in range(10)] == [1] * 10


def test_rate_limited_prompt_is_retried_and_posted_once(app_context, fake_slack, crm):
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0)

    tick(app_context, DUE)

    assert len(prompts(fake_slack)) == 1
    assert [call.status for call in fake_slack.calls_to("chat.postMessage")][:2] == [429, 200]


def test_an_archived_channel_is_marked_broken_and_the_pmo_told_once(app_context, fake_slack, session_factory, crm):
    fake_slack.add_channel("C0GONE", "gone", is_archived=True)
    add_project(session_factory, "GONE-1", "Gone", channels=("C0GONE",))

    tick(app_context, DUE)
    tick(app_context, DUE + timedelta(days=7))

    assert len(prompts(fake_slack)) == 2  # the other project is unaffected, week after week
    [alert] = [alert for alert in alerts(fake_slack) if "GONE-1" in alert["text"]]
    assert "is_archived" in str(alert["blocks"]) and "/pmo link GONE-1" in str(alert["blocks"])
    assert load_project(session_factory, "GONE-1").channel_links[0].broken_reason == "is_archived"
    assert len([c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == "C0GONE"]) == 1


def test_the_digest_names_a_broken_channel_without_escaped_markup(app_context, slack, fake_slack, session_factory, crm):
    fake_slack.add_channel("C0GONE", "gone", is_archived=True)
    add_project(session_factory, "GONE-1", "Gone", channels=("C0GONE",))
    tick(app_context, DUE)

    slack.command("digest", user_id=PMO_ADMIN, channel_id=PMO_CHANNEL)
    digest = str(fake_slack.wait_for_response(lambda r: "blocks" in r)["blocks"])

    assert "could not be posted in <#C0GONE> (is_archived)" in digest
    assert "&lt;" not in digest and "&gt;" not in digest


# --- the form -------------------------------------------------------------------------------


def test_the_prompt_button_opens_the_form(app_context, slack, fake_slack, crm):
    tick(app_context, DUE)
    [prompt] = prompts(fake_slack)

    slack.block_action("checkin.submit", user_id=LEAD, channel_id="C0CRM", message=prompt)

    view = fake_slack.wait_for("views.open").args["view"]
    assert view["callback_id"] == "checkin.submit" and view_problems(view) == []


def test_amend_opens_the_form_with_every_answer_and_the_amendment_says_what_changed(
    app_context, slack, fake_slack, crm, session_factory, listeners
):
    benefit_id = add_benefit(session_factory)
    tick(app_context, DUE)
    submit(
        slack,
        fake_slack,
        overall="amber",
        path="Hire a tester",
        by="2027-01-15",
        help="A tester",
        escalate=True,
        benefits={benefit_id: "120"},
    )
    listeners.wait_idle()
    [prompt] = prompts(fake_slack)
    answered = next(m for m in fake_slack.messages_in("C0CRM") if m["ts"] == prompt["ts"])
    assert "Amend update" in str(answered["blocks"])

    slack.block_action("checkin.submit", user_id=LEAD, channel_id="C0CRM", message=answered)
    view = fake_slack.wait_for("views.open").args["view"]
    inputs = {block["block_id"]: block["element"] for block in view["blocks"] if block["type"] == "input"}
    assert inputs["overall"]["initial_option"]["value"] == "amber"
    assert inputs["progress"]["initial_value"] == "Data migrated"
    assert inputs["help"]["initial_value"] == "A tester"
    assert inputs["escalate"]["initial_options"][0]["value"] == "escalate"
    assert inputs["path_to_green"]["initial_value"] == "Hire a tester"
    assert inputs["path_to_green_date"]["initial_date"] == "2027-01-15"
    assert inputs[f"benefit:{benefit_id}"]["initial_value"] == "120"
    assert view_problems(view) == []

    # Submitted again with only the date moved, as the pre-filled form sends it.
    submit(
        slack,
        fake_slack,
        overall="amber",
        path="Hire a tester",
        by="2027-02-01",
        help="A tester",
        escalate=True,
        benefits={benefit_id: "120"},
    )
    listeners.wait_idle()
    [amended] = [m for m in fake_slack.messages_in("C0CRM") if "Amended update" in str(m.get("blocks"))]
    assert "Changed: Green again by" in str(amended["blocks"])
    assert "Data migrated" in str(amended["blocks"])


def test_pmo_checkin_opens_the_form_any_time(slack, fake_slack, crm):
    slack.command("checkin crm-2", user_id=LEAD, channel_id="C0CRM")

    assert "2026-W" in fake_slack.wait_for("views.open").args["view"]["private_metadata"]


def test_submitting_updates_the_prompt_and_posts_a_summary_in_its_thread(
    app_context, slack, fake_slack, crm, listeners
):
    tick(app_context, DUE)
    [prompt] = prompts(fake_slack)

    response = submit(slack, fake_slack, overall="green", progress="Cut over to the new CRM")
    listeners.wait_idle()

    assert response.status_code == 200 and response.text in ("", "null")
    updated = fake_slack.ok_calls_to("chat.update")[-1].args
    assert (
        updated["ts"] == prompt["ts"] and f"<@{LEAD}>" in str(updated["blocks"]) and "Green" in str(updated["blocks"])
    )
    [summary] = [m for m in fake_slack.messages_in("C0CRM") if m.get("thread_ts") == prompt["ts"]]
    assert "Cut over to the new CRM" in str(summary["blocks"])


def test_a_second_submission_is_an_amendment_not_a_duplicate(
    app_context, slack, fake_slack, crm, session_factory, listeners
):
    tick(app_context, DUE)
    submit(slack, fake_slack, overall="green")
    submit(slack, fake_slack, overall="amber", path="Recruit a tester", by="2026-12-18")
    listeners.wait_idle()

    with unit_of_work(session_factory) as session:
        rows = session.query(Checkin).order_by(Checkin.revision).all()
        assert [(row.revision, row.overall_rag.value) for row in rows] == [(1, "green"), (2, "amber")]
    assert "(amended)" in str(fake_slack.ok_calls_to("chat.update")[-1].args["blocks"])


def test_form_problems_are_shown_inline_and_nothing_is_stored(slack, fake_slack, crm, session_factory):
    no_status = submit(slack, fake_slack, overall=None)
    red_without_path = submit(slack, fake_slack, overall="red")

    assert set(no_status.json()["errors"]) == {"overall"}
    assert set(red_without_path.json()["errors"]) == {"path_to_green", "path_to_green_date"}
    with unit_of_work(session_factory) as session:
        assert session.query(Checkin).count() == 0


def test_someone_outside_the_team_is_refused_and_a_channel_member_is_not(slack, fake_slack, crm, session_factory):
    refused = submit(slack, fake_slack, user_id=STRANGER)
    accepted = submit(slack, fake_slack, user_id="U0MEMBER")

    assert "You can't update CRM-2" in refused.json()["errors"]["overall"]
    assert accepted.status_code == 200 and "errors" not in accepted.text
    with unit_of_work(session_factory) as session:
        assert [row.submitted_by.slack_user_id for row in session.query(Checkin).all()] == ["U0MEMBER"]


# --- reminders, misses and escalations -------------------------------------------------------


def test_no_update_after_a_day_reminds_the_lead_once_without_at_here(app_context, fake_slack, crm):
    tick(app_context, DUE)
    tick(app_context, DUE + timedelta(hours=23))
    assert fake_slack.messages_in(LEAD) == []

    tick(app_context, DUE + timedelta(hours=24))
    tick(app_context, DUE + timedelta(hours=25))

    [dm] = fake_slack.messages_in(LEAD)
    assert "Submit update" in str(dm["blocks"])
    [note] = [m for m in fake_slack.messages_in("C0CRM") if m.get("thread_ts")]
    assert "Reminder" in note["text"] and "@here" not in note["text"] and "@channel" not in note["text"]


def test_an_answered_check_in_gets_no_reminder(app_context, slack, fake_slack, crm, listeners):
    tick(app_context, DUE)
    submit(slack, fake_slack, overall="green")
    listeners.wait_idle()

    tick(app_context, DUE + timedelta(hours=50))

    assert fake_slack.messages_in(LEAD) == [] and alerts(fake_slack) == []


def test_silence_for_two_days_is_a_missed_check_in_escalated_once(app_context, fake_slack, crm):
    tick(app_context, DUE)

    tick(app_context, DUE + timedelta(hours=48))
    tick(app_context, DUE + timedelta(hours=49))

    [alert] = alerts(fake_slack)
    assert "No check-in for 2026-W48" in str(alert["blocks"])
    assert "Acknowledge" in str(alert["blocks"]) and "Offer coaching" in str(alert["blocks"])
    assert f"<@{SPONSOR}>" in str(alert["blocks"]) and f"<@{LEAD}>" in str(alert["blocks"])


def test_a_period_that_fell_due_more_than_a_week_ago_is_no_longer_chased(app_context, fake_slack, crm):
    tick(app_context, DUE)

    tick(app_context, DUE + timedelta(days=9))  # the bot was down from Monday until Wednesday of the next week

    assert fake_slack.messages_in(LEAD) == [] and alerts(fake_slack) == []
    assert [prompt["text"][-8:] for prompt in prompts(fake_slack)] == ["2026-W48", "2026-W49"]


def test_acknowledging_an_alert_records_who_and_updates_it_in_place(app_context, slack, fake_slack, crm, listeners):
    tick(app_context, DUE)
    tick(app_context, DUE + timedelta(hours=48))
    [alert] = alerts(fake_slack)

    slack.block_action("escalation.acknowledge", user_id=STRANGER, channel_id=PMO_CHANNEL, message=alert)
    assert "Only PMO admins" in fake_slack.wait_for_response()["text"]
    slack.block_action("escalation.acknowledge", user_id=PMO_ADMIN, channel_id=PMO_CHANNEL, message=alert)
    listeners.wait_idle()

    [updated] = [call.args for call in fake_slack.ok_calls_to("chat.update") if call.args["ts"] == alert["ts"]]
    assert f"Acknowledged by <@{PMO_ADMIN}>" in str(updated["blocks"])
    assert len(alerts(fake_slack)) == 1


def test_offering_coaching_tells_the_lead_and_sponsor_who_offered(app_context, slack, fake_slack, crm, listeners):
    tick(app_context, DUE)
    tick(app_context, DUE + timedelta(hours=48))
    [alert] = alerts(fake_slack)
    reminders = len(fake_slack.messages_in(LEAD))

    slack.block_action("escalation.coaching", user_id=PMO_ADMIN, channel_id=PMO_CHANNEL, message=alert)
    listeners.wait_idle()

    for person in (LEAD, SPONSOR):
        [told] = [m for m in fake_slack.messages_in(person) if "offered coaching" in m["text"]]
        assert f"<@{PMO_ADMIN}> from the PMO has offered coaching on *CRM-2 · Customer records*" in told["text"]
        assert "No check-in for 2026-W48" in told["text"]
    assert len(fake_slack.messages_in(LEAD)) == reminders + 1


def test_red_alerts_the_pmo_and_tells_the_sponsor_and_an_amendment_updates_the_same_alert(
    app_context, slack, fake_slack, crm, listeners
):
    tick(app_context, DUE)
    submit(slack, fake_slack, overall="red", path="Board decision on budget", by="2027-01-15", help="Approve budget")
    listeners.wait_idle()
    [alert] = alerts(fake_slack)
    assert "Reported Red" in str(alert["blocks"]) and "Approve budget" in str(alert["blocks"])
    [sponsor_dm] = fake_slack.messages_in(SPONSOR)
    assert "reported *Red*" in sponsor_dm["text"] and "asks for your help" in sponsor_dm["text"]
    # Every quoted field says what it is: the path to green is a plan, not a fact.
    assert "*Path to green:*\n> Board decision on budget" in sponsor_dm["text"]
    assert "*Help needed:*\n> Approve budget" in sponsor_dm["text"]
    assert "*Progress:*\n> Data migrated" in sponsor_dm["text"]

    submit(slack, fake_slack, overall="amber", path="Budget agreed", by="2027-01-15")
    listeners.wait_idle()

    assert len(alerts(fake_slack)) == 1
    latest = [c.args for c in fake_slack.ok_calls_to("chat.update") if c.args["ts"] == alert["ts"]][-1]
    assert "now reports Amber" in str(latest["blocks"])


def test_red_with_escalate_ticked_is_one_alert_with_both_reasons_and_one_sponsor_dm(
    app_context, slack, fake_slack, crm, session_factory, listeners
):
    submit(slack, fake_slack, overall="green", period="2026-W47")
    submit(slack, fake_slack, overall="red", path="Re-plan", by="2027-01-15", escalate=True, help="Budget")
    listeners.wait_idle()

    [alert] = alerts(fake_slack)
    assert "Dropped from Green to Red in 2026-W48." in str(alert["blocks"])
    assert "The team asked the PMO for help in 2026-W48 (now Red)." in str(alert["blocks"])
    assert len(fake_slack.messages_in(SPONSOR)) == 1


def test_an_amendment_that_is_no_longer_red_settles_the_alert_which_loses_its_buttons_and_leaves_the_digest(
    app_context, slack, fake_slack, crm, listeners
):
    submit(slack, fake_slack, overall="red", path="Re-plan", by="2027-01-15")
    listeners.wait_idle()
    [alert] = alerts(fake_slack)
    slack.command("digest", user_id=PMO_ADMIN, channel_id=PMO_CHANNEL)
    before = fake_slack.wait_for_response(lambda r: "blocks" in r)
    assert "Reported Red in 2026-W48" in str(before["blocks"])

    submit(slack, fake_slack, overall="amber", path="Budget agreed", by="2027-01-15")
    listeners.wait_idle()

    latest = [c.args for c in fake_slack.ok_calls_to("chat.update") if c.args["ts"] == alert["ts"]][-1]
    assert "now reports Amber, so this no longer applies" in str(latest["blocks"])
    assert "Acknowledge" not in str(latest["blocks"]) and "Offer coaching" not in str(latest["blocks"])
    slack.command("digest", user_id=PMO_ADMIN, channel_id=PMO_CHANNEL)
    after = fake_slack.wait_for_response(lambda r: "blocks" in r and r["blocks"] != before["blocks"])
    assert "Reported Red in 2026-W48" not in str(after["blocks"])


def test_a_late_check_in_settles_the_missed_alert(app_context, slack, fake_slack, crm, listeners):
    tick(app_context, DUE)
    tick(app_context, DUE + timedelta(hours=48))
    [alert] = alerts(fake_slack)
    assert "No check-in for 2026-W48" in alert["text"]

    submit(slack, fake_slack, overall="green")
    listeners.wait_idle()

    latest = [c.args for c in fake_slack.ok_calls_to("chat.update") if c.args["ts"] == alert["ts"]][-1]
    assert f"Answered late: <@{LEAD}> checked in for 2026-W48 (Green)." in str(latest["blocks"])
    assert "Acknowledge" not in str(latest["blocks"])


def test_benefit_values_are_stored_with_the_check_in_and_must_be_numbers(
    app_context, slack, fake_slack, crm, session_factory, listeners
):
    benefit_id = add_benefit(session_factory)

    bad = submit(slack, fake_slack, overall="green", benefits={benefit_id: "lots"})
    good = submit(slack, fake_slack, overall="green", benefits={benefit_id: "1,250"})
    listeners.wait_idle()

    assert "is not a number" in bad.json()["errors"][f"benefit:{benefit_id}"]
    assert good.status_code == 200
    with unit_of_work(session_factory) as session:
        assert [value.value for value in session.get(Benefit, benefit_id).values] == [Decimal(1250)]


def test_pmo_alerts_name_the_benefits_that_are_off_trajectory(
    app_context, slack, fake_slack, crm, session_factory, listeners
):
    benefit_id = add_benefit(session_factory, created_at=NOW - timedelta(days=180))  # halfway to target: 500 expected

    submit(slack, fake_slack, overall="red", path="Re-plan", by="2027-01-15", benefits={benefit_id: "100"})
    listeners.wait_idle()

    [alert] = alerts(fake_slack)
    assert "Benefits off trajectory: Calls avoided 100 calls/month" in str(alert["blocks"])


def test_an_escalation_recorded_but_never_posted_is_posted_by_the_next_tick(
    app_context, fake_slack, session_factory, crm
):
    from bot.services import escalations
    from bot.services.escalations import Cause

    with unit_of_work(session_factory) as session:  # as if the process died right after recording it
        project = session.query(Project).filter_by(key="CRM-2").one()
        escalations.raise_or_update(
            session,
            Cause("checkin-red:CRM-2:2026-W48", EscalationKind.CHECKIN_ATTENTION, {"period": "2026-W48", "red": True}),
            project=project,
            now=NOW,
        )

    tick(app_context, NOW)
    tick(app_context, NOW + timedelta(minutes=1))

    [alert] = alerts(fake_slack)
    assert "Reported Red" in str(alert["blocks"])


def test_an_alert_recorded_after_the_earlier_ones_were_posted_is_still_posted(
    app_context, fake_slack, session_factory, crm
):
    from bot.services import escalations
    from bot.services.escalations import Cause

    def record_unposted(cause_key: str) -> None:
        with unit_of_work(session_factory) as session:  # as if the process died right after recording it
            escalations.raise_or_update(
                session,
                Cause(cause_key, EscalationKind.CHECKIN_ATTENTION, {"period": "2026-W48", "red": True}),
                project=session.query(Project).filter_by(key="CRM-2").one(),
                now=NOW,
            )

    record_unposted("checkin-red:CRM-2:2026-W47")
    tick(app_context, NOW)
    tick(app_context, NOW + timedelta(minutes=1))  # finds the first alert in the ledger, and from then skips it
    record_unposted("checkin-red:CRM-2:2026-W48")
    tick(app_context, NOW + timedelta(minutes=2))
    tick(app_context, NOW + timedelta(minutes=3))

    assert len(alerts(fake_slack)) == 2


def test_after_an_answered_week_the_next_unanswered_week_is_still_chased(
    app_context, slack, fake_slack, crm, listeners
):
    tick(app_context, DUE)
    submit(slack, fake_slack, overall="green")
    listeners.wait_idle()
    for hours in (24, 48):  # the week's chase finds it answered, and from then skips it
        tick(app_context, DUE + timedelta(hours=hours))
    assert fake_slack.messages_in(LEAD) == [] and alerts(fake_slack) == []

    next_week = DUE + timedelta(weeks=1)
    for hours in (0, 24, 48):
        tick(app_context, next_week + timedelta(hours=hours))

    [reminder] = fake_slack.messages_in(LEAD)
    assert "2026-W49" in str(reminder)
    [alert] = alerts(fake_slack)
    assert "No check-in for 2026-W49" in str(alert["blocks"])


def test_a_named_deputy_is_reminded_too(app_context, slack, fake_slack, crm, listeners):
    slack.command("deputy CRM-2 <@U0DEPUTY|dee>", user_id=SPONSOR, channel_id="C0CRM")
    assert "deputy lead" in fake_slack.wait_for_response()["text"]
    fake_slack.add_user("U0DEPUTY")

    tick(app_context, DUE)
    tick(app_context, DUE + timedelta(hours=24))

    assert len(fake_slack.messages_in(LEAD)) == 1 and len(fake_slack.messages_in("U0DEPUTY")) == 1
    slack.command("project CRM-2", user_id=LEAD, channel_id="C0CRM")
    assert "(deputy <@U0DEPUTY>)" in str(fake_slack.wait_for_response(lambda r: "blocks" in r)["blocks"])


def test_only_the_accountable_may_name_a_deputy_and_it_must_be_a_person(slack, fake_slack, crm):
    slack.command("deputy CRM-2 <@U0DEPUTY>", user_id=STRANGER, channel_id="C0CRM")
    assert "Only PMO admins" in fake_slack.wait_for_response()["text"]

    slack.command("deputy CRM-2 dee", user_id=LEAD, channel_id="C0CRM")
    assert "is not a person" in fake_slack.wait_for_response(lambda r: "person" in r["text"])["text"]
