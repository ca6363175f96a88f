"""Where coaching would help most, `/pmo coach`, "Plan a conversation" and coaching notes.

NOW (conftest) is Monday 2026-11-23 09:00 UTC, week 2026-W48, before that week's prompts;
the latest check-ins are those of 2026-W47. The seeded portfolio has one candidate of each
kind whose leverage (3 per project + 1 per overdue action or unanswered help request) is
known, and a weaker rival for the sponsor and the programme kinds.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.cli import main as cli_main
from bot.context import AppContext
from bot.demo.signed import datepicker, plain_input
from bot.services import benefits, closure, coaching
from bot.services.access import Actor
from bot.services.cadence import Cadence
from bot.services.closure import ClosureInput
from bot.services.coaching import CoachingMonth, Topic
from bot.services.escalations import Cause
from handlers.blocks.coaching import pack_coaching_section
from handlers.jobs import run_due_work
from handlers.outcomes import send_starting_lessons
from storage.models import Action, CoachingNote, Escalation, EscalationKind, Person
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL, make_test_client
from tests.factories import LEAD, SPONSOR, STRANGER, TODAY, add_action, add_benefit, add_project
from tests.portfolio_history import action, checkin, in_programme, prompted, raise_escalation

DEFAULT_CADENCE = Cadence(0, "09:30", "Europe/London")
OTHER_SPONSOR = "U0SPONSOR2"
GREEN_SPONSOR = "U0SPONSOR3"
AMBER_LEAD = "U0LEADAMBER"
SLIP_LEAD = "U0LEADSLIP"
GREEN_LEAD = "U0LEADGREEN"
LONG_AGO = NOW - timedelta(days=200)


@pytest.fixture
def app_context(settings, session_factory, clock) -> AppContext:
    """Requests see the test's clock (NOW unless moved); the digest is switched on."""
    switched_on = settings.model_copy(update={"digest_enabled": True})
    return AppContext(
        settings=switched_on, session_factory=session_factory, client=make_test_client(switched_on), clock=clock
    )


def _project(session_factory, key: str, *, sponsor: str | None = None, lead: str | None = None) -> None:
    add_project(session_factory, key, f"Project {key}", sponsor=sponsor, lead=lead, created_at=LONG_AGO)


@pytest.fixture
def portfolio(session_factory) -> None:
    # A sponsor with 2 projects holding 3 overdue actions and 1 unanswered help request: 3*2 + 4 = 10.
    _project(session_factory, "SPO-1", sponsor=SPONSOR, lead=LEAD)
    _project(session_factory, "SPO-2", sponsor=SPONSOR, lead=LEAD)
    action(session_factory, "SPO-1", "Sign the supplier contract", due=TODAY - timedelta(days=10))
    action(session_factory, "SPO-1", "Name a data owner", due=TODAY - timedelta(days=3))
    action(session_factory, "SPO-2", "Book the user research", due=TODAY - timedelta(days=5))
    checkin(session_factory, "SPO-2", "2026-W47", "green", help_needed="A decision on hosting")
    # A rival sponsor with one overdue action (3 + 1 = 4): not their kind's pick.
    _project(session_factory, "RIV-1", sponsor=OTHER_SPONSOR, lead=LEAD)
    action(session_factory, "RIV-1", "Send the minutes", due=TODAY - timedelta(days=4))

    # Programme Digital: 1 of 4 owed check-ins answered over two projects (3*2 = 6);
    # programme Care answered everything and is no candidate.
    for key, programme in (("DIG-1", "Digital"), ("DIG-2", "Digital"), ("CAR-1", "Care")):
        _project(session_factory, key, lead=LEAD)
        in_programme(session_factory, key, programme)
    for period in ("2026-W45", "2026-W46"):
        prompted(session_factory, "DIG-1", period, missed=True)
        prompted(session_factory, "CAR-1", period)
        checkin(session_factory, "CAR-1", period, "green")
    prompted(session_factory, "DIG-2", "2026-W45", missed=True)
    prompted(session_factory, "DIG-2", "2026-W46")
    checkin(session_factory, "DIG-2", "2026-W46", "green")

    # A lead whose project has been Amber for 5 weeks, with a steady path-to-green date: 3.
    _project(session_factory, "AMB-1", lead=AMBER_LEAD)
    for period in ("2026-W43", "2026-W44", "2026-W45", "2026-W46", "2026-W47"):
        checkin(session_factory, "AMB-1", period, "amber", green_by=date(2027, 3, 1))

    # A team whose path-to-green date moved 35 days later in three check-ins: 3.
    _project(session_factory, "SLP-1", lead=SLIP_LEAD)
    for period, green_by in (("2026-W45", date(2026, 12, 1)), ("2026-W46", date(2026, 12, 15))):
        checkin(session_factory, "SLP-1", period, "amber", green_by=green_by)
    checkin(session_factory, "SLP-1", "2026-W47", "amber", green_by=date(2027, 1, 5))

    # Green, with a benefit well behind plan and one overdue action: 3 + 1 = 4.
    _project(session_factory, "GRN-1", sponsor=GREEN_SPONSOR, lead=GREEN_LEAD)
    checkin(session_factory, "GRN-1", "2026-W47", "green")
    action(session_factory, "GRN-1", "Publish the new form", due=TODAY - timedelta(days=2), owner=GREEN_LEAD)
    benefit_id = add_benefit(
        session_factory, "GRN-1", target_date=TODAY + timedelta(days=100), created_at=NOW - timedelta(days=100)
    )
    with unit_of_work(session_factory) as session:
        benefits.report_value(
            session, Actor(PMO_ADMIN, True), benefit_id, Decimal(100), TODAY - timedelta(days=3), now=NOW, today=TODAY
        )


def where_to_coach(session_factory) -> list[coaching.Opportunity]:
    with unit_of_work(session_factory) as session:
        return coaching.where_to_coach(
            session,
            now=NOW,
            today=TODAY,
            tolerance=0.1,
            default_cadence=DEFAULT_CADENCE,
            answer_window=timedelta(hours=48),
        )


def test_the_seeded_portfolio_ranks_one_conversation_of_each_kind_by_leverage(session_factory, portfolio):
    found = where_to_coach(session_factory)

    assert [(o.topic, o.subject, o.project_keys, o.leverage) for o in found] == [
        (Topic.SPONSOR_BACKLOG, SPONSOR, ("SPO-1", "SPO-2"), 10),
        (Topic.PROGRAMME_COMPLIANCE, "Digital", ("DIG-1", "DIG-2"), 6),
        (Topic.GREEN_BENEFITS_OFF_TRACK, "GRN-1", ("GRN-1",), 4),
        # Equal leverage: the kinds' own order decides.
        (Topic.LEAD_STUCK_AMBER, AMBER_LEAD, ("AMB-1",), 3),
        (Topic.PATH_TO_GREEN_SLIPPED, "SLP-1", ("SLP-1",), 3),
    ]
    sponsor, programme, green, amber, slip = found
    assert sponsor.with_user_id == SPONSOR and sponsor.evidence == (
        "SPO-1: 2 overdue actions, the oldest “Sign the supplier contract” 6 working days overdue.",
        "SPO-2: 1 overdue action, the oldest “Book the user research” 3 working days overdue.",
        "SPO-2: asked for help in 2026-W47, no action since.",
    )
    assert programme.with_user_id is None
    assert programme.evidence[0] == "1 of 4 check-ins owed since 2026-08-24 answered (25%)."
    assert programme.evidence[1:] == ("DIG-1: 0 of 2 answered.", "DIG-2: 1 of 2 answered.")
    assert green.with_user_id == GREEN_LEAD
    assert green.evidence[1] == "Benefit “Calls avoided” is off trajectory: 100 calls/month, plan 500 by now."
    assert amber.evidence == ("AMB-1: Amber for 5 consecutive periods, since 2026-W43.",)
    assert slip.with_user_id == SLIP_LEAD and "moved 35 days later" in slip.evidence[0]


def test_a_help_request_answered_by_an_action_is_not_unanswered(session_factory):
    _project(session_factory, "HLP-1", sponsor=SPONSOR, lead=LEAD)
    checkin(session_factory, "HLP-1", "2026-W47", "green", help_needed="A decision on hosting")
    assert [o.evidence for o in where_to_coach(session_factory)] == [
        ("HLP-1: asked for help in 2026-W47, no action since.",)
    ]

    add_action(session_factory, "Decide on hosting", key="HLP-1", owner=LEAD, due=TODAY, created_at=NOW)

    assert where_to_coach(session_factory) == ()


# --- through Slack ----------------------------------------------------------------------------


def _next_response(fake_slack, send) -> dict:  # type: ignore[no-untyped-def]
    answered = {response["url"] for response in fake_slack.responses}
    send()
    return fake_slack.wait_for_response(lambda response: response["url"] not in answered)


def coach(slack, fake_slack, user_id: str = PMO_ADMIN) -> dict:
    return _next_response(fake_slack, lambda: slack.command("coach", user_id=user_id, channel_id=PMO_CHANNEL))


def test_pmo_coach_shows_the_ranked_list_with_a_plan_button_on_each_line(slack, fake_slack, portfolio):
    reply = coach(slack, fake_slack)

    lines = [block for block in reply["blocks"] if block.get("accessory")]
    assert [line["text"]["text"].split(" (leverage")[0] for line in lines] == [
        f"1. <@{SPONSOR}>, sponsor of SPO-1, SPO-2: overdue actions and unanswered help",
        "2. Programme *Digital*: the lowest check-in compliance (DIG-1, DIG-2)",
        f"3. *GRN-1* (lead <@{GREEN_LEAD}>): reports Green, benefits off trajectory",
        f"4. <@{AMBER_LEAD}>, lead of AMB-1: stuck Amber",
        f"5. *SLP-1* (lead <@{SLIP_LEAD}>): the path-to-green date keeps slipping",
    ]
    assert "leverage 10: 2 projects, 4 overdue actions or help requests" in lines[0]["text"]["text"]
    assert all(line["accessory"]["text"]["text"] == "Plan a conversation" for line in lines)


def test_only_pmo_admins_see_where_to_coach(slack, fake_slack, portfolio):
    reply = coach(slack, fake_slack, user_id=STRANGER)

    assert reply["text"].startswith("Only PMO admins plan coaching")


def test_planning_a_conversation_records_the_note_and_its_follow_up_is_chased_to_the_planner(
    app_context, slack, fake_slack, session_factory, portfolio, clock, listeners
):
    fake_slack.add_user(PMO_ADMIN)
    reply = coach(slack, fake_slack)
    message = {"type": "message", "ts": "1700000000.000100", "blocks": reply["blocks"]}
    slack.block_action("coaching.plan", user_id=PMO_ADMIN, channel_id=PMO_CHANNEL, message=message)
    view = fake_slack.wait_for("views.open").args["view"]
    values = {block["block_id"]: block["element"] for block in view["blocks"] if block["type"] == "input"}
    assert values["with"]["initial_user"] == SPONSOR
    assert values["about"]["initial_value"].startswith("Overdue actions and unanswered help requests (SPO-1, SPO-2).")
    assert values["follow_up"]["initial_date"] == "2026-12-07"

    follow_up = date(2026, 11, 30)
    answer = slack.view_submission(
        "coaching.plan_form",
        {
            "with": {"with": {"type": "users_select", "selected_user": SPONSOR}},
            "about": {"about": plain_input("Your overdue actions on SPO-1 and SPO-2")},
            "follow_up": {"follow_up": datepicker(follow_up.isoformat())},
        },
        user_id=PMO_ADMIN,
        private_metadata=view["private_metadata"],
    )

    assert answer.json()["response_action"] == "update"
    assert "Your conversation with" in json.dumps(answer.json()["view"])
    with unit_of_work(session_factory) as session:
        [note] = session.scalars(select(CoachingNote)).all()
        planner = session.get_one(Person, note.planned_by_id)
        with_whom = session.get_one(Person, note.with_person_id)
        chased = session.get_one(Action, note.follow_up_action_id)
        assert (planner.slack_user_id, with_whom.slack_user_id, note.topic) == (PMO_ADMIN, SPONSOR, "sponsor_backlog")
        assert note.about == "Your overdue actions on SPO-1 and SPO-2" and note.follow_up_on == follow_up
        assert chased.owner_id == planner.id and chased.due_date == follow_up
        assert chased.title.startswith("Follow up the coaching conversation: Your overdue actions")

    # The actions' own ladder chases it: the planner's DM on the first working day after the date.
    run_due_work(app_context, datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc))
    [nudge] = fake_slack.messages_in(PMO_ADMIN)
    assert "Follow up the coaching conversation" in nudge["text"]


def test_a_follow_up_in_the_past_is_refused_on_the_form(slack, fake_slack, session_factory, portfolio):
    reply = coach(slack, fake_slack)
    message = {"type": "message", "ts": "1700000000.000100", "blocks": reply["blocks"]}
    slack.block_action("coaching.plan", user_id=PMO_ADMIN, channel_id=PMO_CHANNEL, message=message)
    view = fake_slack.wait_for("views.open").args["view"]

    answer = slack.view_submission(
        "coaching.plan_form",
        {
            "with": {"with": {"type": "users_select", "selected_user": SPONSOR}},
            "about": {"about": plain_input("Overdue actions")},
            "follow_up": {"follow_up": datepicker("2026-11-01")},
        },
        user_id=PMO_ADMIN,
        private_metadata=view["private_metadata"],
    )

    assert answer.json()["response_action"] == "errors"
    assert "is in the past" in json.dumps(answer.json()["errors"])
    with unit_of_work(session_factory) as session:
        assert session.scalars(select(CoachingNote)).all() == []


def test_offering_coaching_on_an_alert_records_one_note_with_the_lead(slack, fake_slack, session_factory, listeners):
    add_project(session_factory)
    raise_escalation(
        session_factory,
        Cause("test:red", EscalationKind.CHECKIN_ATTENTION, {"period": "2026-W47", "rag": "red"}),
        "CRM-2",
    )
    with unit_of_work(session_factory) as session:
        escalation_id = session.scalars(select(Escalation.id)).one()
    alert = {
        "ts": "1700000000.000100",
        "blocks": [
            {
                "type": "actions",
                "block_id": "b1",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "escalation.coaching",
                        "text": {"type": "plain_text", "text": "Offer coaching"},
                        "value": str(escalation_id),
                    }
                ],
            }
        ],
    }

    for _ in range(2):
        slack.block_action("escalation.coaching", user_id=PMO_ADMIN, channel_id=PMO_CHANNEL, message=alert)
        listeners.wait_idle()

    with unit_of_work(session_factory) as session:
        [note] = session.scalars(select(CoachingNote)).all()
        assert note.topic == "alert" and note.escalation_id == escalation_id
        assert session.get_one(Person, note.with_person_id).slack_user_id == LEAD
        months = coaching.coaching_months(session, today=TODAY)
    assert months[-1] == CoachingMonth("2026-11", conversations=1, alerts_raised=1)
    assert "2026-11: 1 coaching conversation, 1 alert raised" in pack_coaching_section(months)["text"]["text"]


def test_the_weekly_digest_says_where_coaching_would_help_most(app_context, fake_slack, portfolio):
    run_due_work(app_context, NOW)

    [digest] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if m["text"].startswith("PMO digest")]
    texts = [block["text"]["text"] for block in digest["blocks"] if block["type"] == "section"]
    start = texts.index("*Where coaching would help most*, most leverage first")
    assert texts[start + 1].startswith(f"1. <@{SPONSOR}>, sponsor of SPO-1, SPO-2")
    assert texts[start + 5].startswith("5. *SLP-1*")


# --- accountability stays with the owners -------------------------------------------------------

QUESTION = "The PMO coaches; should the project's lead or sponsor own this?"


@pytest.fixture
def people(fake_slack) -> None:
    for person in (PMO_ADMIN, LEAD, SPONSOR, STRANGER):
        fake_slack.add_user(person)


def owner_of(session_factory, title: str) -> str:
    with unit_of_work(session_factory) as session:
        action = session.scalars(select(Action).where(Action.title == title)).one()
        return action.owner.slack_user_id


def questions(fake_slack, user_id: str) -> list[dict]:
    return [m for m in fake_slack.messages_in(user_id) if "should the project's lead or sponsor" in m["text"]]


def assign_to_the_pmo(slack, fake_slack, listeners, by: str = LEAD) -> dict:
    slack.command(f"action CRM-2 <@{PMO_ADMIN}> 2026-11-30 Draft the plan", user_id=by, channel_id=PMO_CHANNEL)
    listeners.wait_idle()
    [question] = questions(fake_slack, by)
    return question


@pytest.mark.parametrize(
    ("button", "new_owner", "answer"),
    [
        ("coaching.owner_to_lead", LEAD, "to the project's lead"),
        ("coaching.owner_to_sponsor", SPONSOR, "to the project's sponsor"),
        ("coaching.owner_keep", PMO_ADMIN, "the PMO really owns this"),
    ],
)
def test_an_action_given_to_the_pmo_asks_once_whether_its_owners_should_own_it(
    button, new_owner, answer, slack, fake_slack, session_factory, listeners, people
):
    add_project(session_factory)

    question = assign_to_the_pmo(slack, fake_slack, listeners)

    assert QUESTION in question["text"]
    labels = [e["text"]["text"] for b in question["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Give it to the lead", "Give it to the sponsor", "Keep it (the PMO really owns this)"]
    slack.block_action(button, user_id=LEAD, channel_id=LEAD, message=question)
    listeners.wait_idle()

    assert owner_of(session_factory, "Draft the plan") == new_owner
    [answered] = [m for m in fake_slack.messages_in(LEAD) if m["ts"] == question["ts"]]
    assert answer in answered["text"] and "actions" not in [b["type"] for b in answered["blocks"]]
    with unit_of_work(session_factory) as session:
        events = [e.detail for e in session.scalars(select(Action)).one().events if e.kind == "pmo_owner_choice"]
    assert events == [{"choice": button.rsplit("_", 1)[1], "by": LEAD}]
    if new_owner == SPONSOR:
        assert any("gave you action" in m["text"] for m in fake_slack.messages_in(SPONSOR))

    # Asked once: the same button again changes nothing.
    reply = _next_response(
        fake_slack, lambda: slack.block_action(button, user_id=LEAD, channel_id=LEAD, message=question)
    )
    assert "already" in reply["text"] or "no longer" in reply["text"]
    assert owner_of(session_factory, "Draft the plan") == new_owner


def test_no_question_when_the_pmo_admin_leads_the_project_or_the_owner_is_not_the_pmo(
    slack, fake_slack, session_factory, listeners, people
):
    add_project(session_factory, "PMO-1", "PMO's own tooling", lead=PMO_ADMIN)
    add_project(session_factory)

    slack.command(f"action PMO-1 <@{PMO_ADMIN}> 2026-11-30 Renew the licence", user_id=SPONSOR, channel_id=PMO_CHANNEL)
    slack.command(f"action CRM-2 <@{SPONSOR}> 2026-11-30 Agree the budget", user_id=LEAD, channel_id=PMO_CHANNEL)
    listeners.wait_idle()

    assert questions(fake_slack, SPONSOR) == [] and questions(fake_slack, LEAD) == []


def test_reassigning_to_a_pmo_admin_asks_too_and_someone_without_rights_is_asked_through_the_owner(
    slack, fake_slack, session_factory, listeners, people
):
    add_project(session_factory)
    action_id = add_action(session_factory, "Agree the budget", owner=SPONSOR, due=TODAY + timedelta(days=7))
    ref = json.dumps({"action_id": action_id, "shown_in": "list", "key": "CRM-2"}, separators=(",", ":"))
    card = {
        "ts": "1700000000.000100",
        "blocks": [
            {"type": "actions", "block_id": ref, "elements": [{"type": "users_select", "action_id": "action.reassign"}]}
        ],
    }

    slack.block_action(
        "action.reassign", user_id=SPONSOR, channel_id=PMO_CHANNEL, message=card, selected_user=PMO_ADMIN
    )
    listeners.wait_idle()
    # The lead recorded the action (created_by=LEAD) and may reassign it: the lead is asked.
    [question] = questions(fake_slack, LEAD)
    assert "Agree the budget" in question["text"]

    # A stranger's action for the PMO: the stranger may not hand it over, so the PMO admin is asked.
    slack.command(f"action CRM-2 <@{PMO_ADMIN}> 2026-11-30 Check the figures", user_id=STRANGER, channel_id=PMO_CHANNEL)
    listeners.wait_idle()
    assert questions(fake_slack, STRANGER) == []
    assert [q for q in questions(fake_slack, PMO_ADMIN) if "Check the figures" in q["text"]]


def test_the_digest_counts_the_actions_pmo_admins_own_per_project(app_context, fake_slack, session_factory):
    add_project(session_factory)
    add_project(session_factory, "HR-1", "HR system")
    for title in ("Draft the plan", "Book the room"):
        add_action(session_factory, title, owner=PMO_ADMIN, due=TODAY + timedelta(days=7))
    add_action(session_factory, "Check the figures", key="HR-1", owner=PMO_ADMIN, due=TODAY + timedelta(days=7))
    add_action(session_factory, "Not the PMO's", key="HR-1", due=TODAY + timedelta(days=7))

    run_due_work(app_context, NOW)

    [digest] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if m["text"].startswith("PMO digest")]
    [owned] = [b["text"]["text"] for b in digest["blocks"] if "*Actions the PMO owns*" in str(b)]
    assert owned.splitlines()[1:] == ["• CRM-2 · Customer records: 2 open", "• HR-1 · HR system: 1 open"]


# --- nobody accountable ---------------------------------------------------------------------


def status_of(slack, fake_slack, key: str) -> str:
    reply = _next_response(fake_slack, lambda: slack.command(f"status {key}", user_id=STRANGER, channel_id=PMO_CHANNEL))
    return json.dumps(reply["blocks"])


def leaves_the_workspace(session_factory, user_id: str) -> None:
    """What the delivery core records when Slack answers a DM to them with account_inactive."""
    with unit_of_work(session_factory) as session:
        session.scalars(select(Person).where(Person.slack_user_id == user_id)).one().unreachable_since = NOW


def test_a_project_without_a_sponsor_or_whose_lead_left_is_flagged_in_its_status_and_the_digest(
    app_context, slack, fake_slack, session_factory
):
    add_project(session_factory, "NOS-1", "No sponsor", sponsor=None)
    add_project(session_factory, "LFT-1", "Lead left", lead="U0GONE")
    add_project(session_factory)
    leaves_the_workspace(session_factory, "U0GONE")

    assert "NOS-1: nobody is accountable*: no sponsor." in status_of(slack, fake_slack, "NOS-1")
    assert "the lead <@U0GONE> has left the workspace" in status_of(slack, fake_slack, "LFT-1")
    assert "nobody is accountable" not in status_of(slack, fake_slack, "CRM-2")

    run_due_work(app_context, NOW)
    [digest] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if m["text"].startswith("PMO digest")]
    [section] = [b["text"]["text"] for b in digest["blocks"] if "*Nobody accountable*" in str(b)]
    assert section.splitlines()[1:] == [
        "• LFT-1 · Lead left: the lead <@U0GONE> has left the workspace",
        "• NOS-1 · No sponsor: no sponsor",
    ]


def test_a_red_check_in_of_a_project_without_a_sponsor_reaches_the_pmo_with_the_reason(
    slack, fake_slack, session_factory, listeners
):
    fake_slack.add_channel("C0NOS", "no-sponsor", members=(LEAD,))
    add_project(session_factory, "CRM-2", "Customer records", sponsor=None, channels=("C0NOS",))

    slack.view_submission(
        "checkin.submit",
        {
            "overall": {"overall": {"type": "static_select", "selected_option": {"value": "red"}}},
            "progress": {"progress": plain_input("Supplier gone")},
            "path_to_green": {"path_to_green": plain_input("Find a new supplier")},
            "path_to_green_date": {"path_to_green_date": datepicker("2027-01-15")},
        },
        user_id=LEAD,
        private_metadata='{"project_key": "CRM-2", "period": "2026-W48"}',
    )
    listeners.wait_idle()

    [redirected] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if "nobody is accountable" in m["text"]]
    assert redirected["text"].startswith(
        ":warning: *CRM-2 · Customer records: nobody is accountable* (no sponsor), "
        "so this message for its sponsor comes to the PMO:"
    )
    assert "Red" in redirected["text"]


# --- lessons at the start -------------------------------------------------------------------


def closed_with_lessons(session_factory, key: str, name: str, objective: str, *, repeat: str, avoid: str, at):
    add_project(session_factory, key, name, objective=objective, created_at=at - timedelta(days=300))
    with unit_of_work(session_factory) as session:
        closure.close_project(
            session,
            Actor(PMO_ADMIN, True),
            key,
            ClosureInput("delivered", "All realised", repeat=repeat, avoid=avoid),
            now=at,
        )


@pytest.fixture
def closed_projects(session_factory) -> None:
    closed_with_lessons(
        session_factory,
        "OLD-1",
        "Customer records portal",
        "Better services online",
        repeat="Test with residents early\nKeep the supplier in the stand-up",
        avoid="Big-bang cut-over",
        at=NOW - timedelta(days=60),
    )
    closed_with_lessons(
        session_factory,
        "OLD-2",
        "Customer portal phase one",
        "Better services online",
        repeat="Publish the roadmap\nTrain the contact centre first",
        avoid="Launching in December",
        at=NOW - timedelta(days=30),
    )
    closed_with_lessons(
        session_factory,
        "FLT-1",
        "Fleet tracking",
        "Greener council",
        repeat="Unrelated lesson",
        avoid="Also unrelated",
        at=NOW - timedelta(days=10),
    )


def lesson_dms(fake_slack, user_id: str) -> list[dict]:
    return [m for m in fake_slack.messages_in(user_id) if m["text"].startswith("Lessons from closed projects like")]


def new_project_form(
    key: str, name: str, objective: str = "Better services online", description: str | None = "A portal for customers"
) -> dict:
    return {
        "key": {"key": plain_input(key)},
        "name": {"name": plain_input(name)},
        "sponsor": {"sponsor": {"type": "users_select", "selected_user": SPONSOR}},
        "lead": {"lead": {"type": "users_select", "selected_user": LEAD}},
        "objective": {"objective": plain_input(objective)},
        "programme": {"programme": plain_input(None)},
        "description": {"description": plain_input(description)},
    }


def test_a_project_created_by_the_form_gets_the_lessons_of_closed_projects_like_it_once(
    app_context, slack, fake_slack, session_factory, listeners, closed_projects, people
):
    slack.view_submission("project.new", new_project_form("WEB-9", "Customer portal"), user_id=PMO_ADMIN)
    listeners.wait_idle()

    for person in (LEAD, SPONSOR):
        [dm] = lesson_dms(fake_slack, person)
        lessons = dm["blocks"][1]["text"]["text"].splitlines()
        # Up to five, newest first, each with the project it came from; the unlike project's are left out.
        assert len(lessons) == 5 and all("FLT-1" not in line for line in lessons)
        assert [line.split(" (")[1].split(" ·")[0] for line in lessons] == ["OLD-2"] * 3 + ["OLD-1"] * 2
        assert "(OLD-2 · Customer portal phase one, <!date^" in lessons[0]
    # Once: telling again (a retry, a second instance) sends nothing more.
    send_starting_lessons(app_context, ("WEB-9",), now=NOW)
    assert len(lesson_dms(fake_slack, LEAD)) == 1

    # The check-in form links to them in the project's first four weeks.
    slack.command("checkin WEB-9", user_id=LEAD, channel_id=PMO_CHANNEL)
    view = fake_slack.wait_for("views.open").args["view"]
    hint = json.dumps(view["blocks"])
    assert "Lessons from closed projects like this one: <https://" in hint and "`/pmo lessons OLD-2`" in hint


def test_a_project_like_no_closed_one_gets_no_lessons(slack, fake_slack, listeners, closed_projects, people):
    form = new_project_form("PAR-1", "Parking permits", objective="Safer streets", description=None)
    slack.view_submission("project.new", form, user_id=PMO_ADMIN)
    listeners.wait_idle()

    assert lesson_dms(fake_slack, LEAD) == [] and lesson_dms(fake_slack, SPONSOR) == []


def test_a_project_created_by_the_import_gets_its_lessons_once(
    tmp_path, monkeypatch, database_url, fake_slack, closed_projects, people
):
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_API_URL": fake_slack.url,
        "DATABASE_URL": database_url,  # the test database, with the closed projects in it
        "BANK_HOLIDAYS": "none",
    }.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "new.csv").write_text(
        "key,name,programme,objective,sponsor,lead,services,channel,checkin_day,checkin_time,timezone,status\n"
        f"WEB-9,Customer portal,,Better services online,{SPONSOR},{LEAD},,,,,,\n"
    )

    for _ in range(2):  # the second import changes nothing and tells nobody again
        with pytest.raises(SystemExit) as exit_info:
            cli_main(["import", "new.csv"])
        assert not exit_info.value.code

    for person in (LEAD, SPONSOR):
        [dm] = lesson_dms(fake_slack, person)
        assert "OLD-2 · Customer portal phase one" in str(dm["blocks"])
