"""The RAID log through Slack's doors: risk and issue forms, paginated lists, the risk card's
Review / Close / Add note, the PMO's alert per item, late reviews on the actions' ladder (in the
same daily DM as overdue actions), and the check-in's "still accurate?" boxes.

NOW (conftest) is Monday 2026-11-23 09:00 UTC.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest

from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import datepicker, plain_input, static_select
from bot.services import risks
from bot.services.access import Actor
from bot.services.risks import NewIssue, NewRisk
from handlers.jobs import run_due_work
from storage.models import Issue, RaidStatus, Risk
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL
from tests.factories import ACTION_OWNER, LEAD, SPONSOR, STRANGER, add_action, add_project

OWNER = ACTION_OWNER
MONDAY = NOW.date()
TICKS = (time(0, 5), time(9, 30), time(9, 31), time(14, 30), time(23, 55))


@pytest.fixture
def app_context(app_context, clock):
    return replace(app_context, clock=clock)


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, OWNER))
    for person in (LEAD, SPONSOR, OWNER, STRANGER, PMO_ADMIN):
        fake_slack.add_user(person)
    add_project(session_factory, channels=("C0CRM",))


def add_risk(
    session_factory,
    title: str = "Supplier may go bust",
    *,
    probability: int = 3,
    impact: int = 3,
    next_review: date = MONDAY + timedelta(days=14),
    owner: str = OWNER,
    key: str = "CRM-2",
) -> int:
    new = NewRisk(key, title, owner, probability, impact, "reduce", next_review, mitigation="Second supplier lined up")
    with unit_of_work(session_factory) as session:
        # Created through the domain as the form does; a review date in the past is how a late review starts.
        return risks.create_risk(session, Actor(LEAD, False), new, today=MONDAY, now=NOW, validate=False).id


def add_issue(session_factory, title: str = "Data feed is late", *, severity: str = "high") -> int:
    with unit_of_work(session_factory) as session:
        new = NewIssue("CRM-2", title, OWNER, severity, MONDAY + timedelta(days=7))
        return risks.create_issue(session, Actor(LEAD, False), new, today=MONDAY, now=NOW).id


def stored_risks(session_factory) -> list[Risk]:
    with unit_of_work(session_factory) as session:
        rows = session.query(Risk).order_by(Risk.id).all()
        for row in rows:
            _ = row.owner.slack_user_id, [event.kind for event in row.events]
        return rows


def risk_values(title="Supplier may go bust", *, owner=OWNER, probability="4", impact="5", review="2026-12-07"):
    values = {
        "title": {"title": plain_input(title)},
        "probability": {"probability": static_select(probability)} if probability else {},
        "impact": {"impact": static_select(impact)},
        "response": {"response": static_select("reduce")},
        "mitigation": {"mitigation": plain_input("Line up a second supplier")},
        "next_review": {"next_review": datepicker(review)},
    }
    if owner:
        values["owner"] = {"owner": {"type": "users_select", "selected_user": owner}}
    return values


def submit_risk(slack, values, *, user_id=LEAD, key="CRM-2"):
    return slack.view_submission("risk.new", values, user_id=user_id, private_metadata=f'{{"project_key":"{key}"}}')


def risk_list(slack, fake_slack, listeners, *, user_id=LEAD, key="CRM-2", channel_id="C0CRM") -> dict:
    before = len(fake_slack.responses)
    slack.command(f"risks {key}".strip(), user_id=user_id, channel_id=channel_id)
    listeners.wait_idle()
    [response] = fake_slack.responses[before:]
    return {"ts": "1700000000.000100", **response}


def controls_of(blocks: list[dict], title: str) -> str:
    for card, following in zip(blocks, blocks[1:], strict=False):
        if card["type"] == "section" and title in card["text"]["text"] and following["type"] == "actions":
            return following["block_id"]
    raise AssertionError(f"no card with controls for {title!r}")


def click(slack, action_id, message, title, *, user_id, channel_id="C0CRM"):
    return slack.block_action(
        action_id,
        user_id=user_id,
        message=message,
        channel_id=channel_id,
        block_id=controls_of(message["blocks"], title),
    )


# --- adding ---------------------------------------------------------------------------------------


def test_risk_add_opens_the_form_for_the_project(slack, fake_slack, crm):
    slack.command("risk add crm-2", user_id=LEAD, channel_id="C0CRM")

    view = fake_slack.wait_for("views.open").args["view"]
    assert view["callback_id"] == "risk.new" and view_problems(view) == []
    assert "CRM-2 · Customer records" in str(view["blocks"])


def test_the_risk_form_says_what_to_fix_next_to_each_field(slack, crm, session_factory):
    missing = submit_risk(slack, risk_values("", owner=None, probability=""))
    in_the_past = submit_risk(slack, risk_values(review="2026-11-23"))

    assert set(missing.json()["errors"]) == {"title", "owner", "probability"}
    assert in_the_past.json()["errors"] == {
        "next_review": "2026-11-23 is not after today: choose when to look at it again."
    }
    assert stored_risks(session_factory) == []


def test_a_risk_scoring_20_alerts_the_pmo_once_and_a_lower_one_does_not(
    slack, fake_slack, crm, session_factory, listeners
):
    high = submit_risk(slack, risk_values("Supplier may go bust", probability="4", impact="5"))
    low = submit_risk(slack, risk_values("Room may be double-booked", probability="2", impact="3"))
    listeners.wait_idle()

    assert high.json()["response_action"] == "update" and "the PMO has been told" in str(high.json()["view"])
    assert "PMO" not in str(low.json()["view"])
    [alert] = fake_slack.messages_in(PMO_CHANNEL)
    assert "New risk scoring 20 on CRM-2" in str(alert["blocks"]) and message_problems(alert["blocks"]) == []
    [stored_high, stored_low] = stored_risks(session_factory)
    assert (stored_high.score, stored_high.owner.slack_user_id, stored_low.score) == (20, OWNER, 6)


def test_a_critical_issue_alerts_the_pmo_once(slack, fake_slack, crm, session_factory, listeners):
    values = {
        "title": {"title": plain_input("Payments are <!here> failing")},
        "owner": {"owner": {"type": "users_select", "selected_user": OWNER}},
        "severity": {"severity": static_select("critical")},
    }
    slack.view_submission("issue.new", values, user_id=LEAD, private_metadata='{"project_key":"CRM-2"}')
    slack.view_submission(
        "issue.new",
        {**values, "severity": {"severity": static_select("medium")}},
        user_id=LEAD,
        private_metadata='{"project_key":"CRM-2"}',
    )
    listeners.wait_idle()

    [alert] = fake_slack.messages_in(PMO_CHANNEL)
    assert "New critical issue on CRM-2" in str(alert["blocks"]) and "&lt;!here&gt;" in str(alert["blocks"])
    with unit_of_work(session_factory) as session:
        assert [issue.severity.value for issue in session.query(Issue).order_by(Issue.id)] == ["critical", "medium"]


# --- lists ----------------------------------------------------------------------------------------


def test_risks_are_listed_highest_score_first_and_issues_most_severe_first(
    slack, fake_slack, crm, session_factory, listeners
):
    add_risk(session_factory, "Low one", probability=1, impact=2)
    add_risk(session_factory, "Top one", probability=5, impact=4)
    add_risk(session_factory, "Middle one", probability=3, impact=3)
    add_issue(session_factory, "A medium issue", severity="medium")
    add_issue(session_factory, "A critical issue", severity="critical")

    listed = risk_list(slack, fake_slack, listeners, key="")  # in CRM-2's channel: CRM-2
    slack.command("issues", user_id=LEAD, channel_id="C0CRM")
    issues = fake_slack.wait_for_response(lambda response: "open issues" in response.get("text", ""))

    text = str(listed["blocks"])
    assert text.index("Top one") < text.index("Middle one") < text.index("Low one")
    assert "score 20 (probability 5 × impact 4)" in text
    assert str(issues["blocks"]).index("A critical issue") < str(issues["blocks"]).index("A medium issue")


def test_a_hundred_risks_are_paged_within_slacks_limits(slack, fake_slack, crm, session_factory, listeners):
    for number in range(100):
        add_risk(session_factory, f"Risk number {number:03d} " + "x" * 400, probability=1 + number % 5, impact=3)

    first = risk_list(slack, fake_slack, listeners)
    assert message_problems(first["blocks"]) == [] and len(first["blocks"]) <= 50
    assert "100 open" in str(first["blocks"]) and "Page 1 of 7" in str(first["blocks"])
    slack.block_action("risks.next", user_id=LEAD, message=first, channel_id="C0CRM")
    second = fake_slack.wait_for_response(lambda response: "Page 2 of 7" in str(response.get("blocks")))

    assert message_problems(second["blocks"]) == []
    assert "Previous" in str(second["blocks"]) and "Next" in str(second["blocks"])


def test_with_no_key_outside_a_linked_channel_the_sponsor_sees_their_projects(
    slack, fake_slack, crm, session_factory, listeners
):
    add_project(session_factory, "HR-1", "HR system", sponsor=STRANGER, lead=STRANGER)
    add_risk(session_factory, "Ours")
    add_risk(session_factory, "Theirs", key="HR-1")

    listed = risk_list(slack, fake_slack, listeners, user_id=SPONSOR, key="", channel_id=PMO_CHANNEL)
    everything = risk_list(slack, fake_slack, listeners, user_id=PMO_ADMIN, key="", channel_id=PMO_CHANNEL)

    assert "Projects you sponsor or lead" in str(listed["blocks"])
    assert "Ours" in str(listed["blocks"]) and "Theirs" not in str(listed["blocks"])
    assert "Ours" in str(everything["blocks"]) and "Theirs" in str(everything["blocks"])


# --- the card ----------------------------------------------------------------------------------------


def test_the_owner_reviews_a_risk_from_its_card(slack, fake_slack, crm, session_factory, listeners):
    risk_id = add_risk(session_factory, probability=3, impact=3)
    listed = risk_list(slack, fake_slack, listeners)

    click(slack, "risk.review", listed, "Supplier may go bust", user_id=OWNER)
    view = fake_slack.wait_for("views.open").args["view"]
    assert view["callback_id"] == "risk.review" and view_problems(view) == []
    values = {
        "probability": {"probability": static_select("2")},
        "impact": {"impact": static_select("3")},
        "next_review": {"next_review": datepicker("2026-12-21")},
    }
    response = slack.view_submission("risk.review", values, user_id=OWNER, private_metadata=view["private_metadata"])

    assert response.json()["response_action"] == "update"
    [risk] = stored_risks(session_factory)
    assert (risk.id, risk.score, risk.next_review) == (risk_id, 6, date(2026, 12, 21))
    assert [event.kind for event in risk.events] == ["created", "reviewed"]


def test_someone_without_rights_can_note_a_risk_but_not_review_or_close_it(
    slack, fake_slack, crm, session_factory, listeners
):
    add_risk(session_factory)
    listed = risk_list(slack, fake_slack, listeners)

    click(slack, "risk.close", listed, "Supplier may go bust", user_id=STRANGER)
    refused = fake_slack.wait_for_response(lambda response: response.get("text", "").startswith("Only"))
    click(slack, "risk.review", listed, "Supplier may go bust", user_id=STRANGER)
    click(slack, "risk.add_note", listed, "Supplier may go bust", user_id=STRANGER)
    note_form = fake_slack.wait_for("views.open").args["view"]
    slack.view_submission(
        "risk.note",
        {"note": {"note": plain_input("Heard they lost a contract")}},
        user_id=STRANGER,
        private_metadata=note_form["private_metadata"],
    )
    listeners.wait_idle()

    assert "Only the risk's owner" in refused["text"] and "sponsor or lead" in refused["text"]
    assert [call.args["view"]["callback_id"] for call in fake_slack.calls_to("views.open")] == ["risk.note"]
    [risk] = stored_risks(session_factory)
    assert risk.status is RaidStatus.OPEN and [event.kind for event in risk.events] == ["created", "note"]


def test_the_sponsor_closes_a_risk_and_the_list_is_redrawn_without_it(
    slack, fake_slack, crm, session_factory, listeners
):
    add_risk(session_factory, "Going away")
    add_risk(session_factory, "Staying")
    listed = risk_list(slack, fake_slack, listeners)

    click(slack, "risk.close", listed, "Going away", user_id=SPONSOR)
    redrawn = fake_slack.wait_for_response(
        lambda response: response.get("replace_original") and "1 open" in str(response.get("blocks"))
    )

    assert "Going away" not in str(redrawn["blocks"]) and "Staying" in str(redrawn["blocks"])
    assert [risk.status for risk in stored_risks(session_factory)] == [RaidStatus.CLOSED, RaidStatus.OPEN]


def test_the_issues_owner_closes_it_from_the_list(slack, fake_slack, crm, session_factory, listeners):
    add_issue(session_factory, "Data feed is late")
    add_issue(session_factory, "Printer is broken", severity="low")
    slack.command("issues CRM-2", user_id=OWNER, channel_id="C0CRM")
    listed = {"ts": "1700000000.000100", **fake_slack.wait_for_response(lambda r: "open issues" in r.get("text", ""))}

    click(slack, "issue.close", listed, "Data feed is late", user_id=OWNER)
    redrawn = fake_slack.wait_for_response(lambda r: r.get("replace_original") and "1 open" in str(r.get("blocks")))

    assert "Data feed is late" not in str(redrawn["blocks"]) and "Printer is broken" in str(redrawn["blocks"])
    with unit_of_work(session_factory) as session:
        assert [issue.status for issue in session.query(Issue).order_by(Issue.id)] == [
            RaidStatus.CLOSED,
            RaidStatus.OPEN,
        ]


def issue_list(slack, fake_slack, *, user_id=LEAD) -> dict:
    before = len(fake_slack.responses)
    slack.command("issues CRM-2", user_id=user_id, channel_id="C0CRM")
    listed = fake_slack.wait_for_response(
        lambda response: "open issues" in response.get("text", "") and response in fake_slack.responses[before:]
    )
    return {"ts": "1700000000.000100", **listed}


def test_anyone_notes_an_issue_and_its_card_shows_the_latest_notes_and_changes(
    slack, fake_slack, crm, session_factory, listeners
):
    issue_id = add_issue(session_factory, "Data feed is late")
    listed = issue_list(slack, fake_slack)

    click(slack, "issue.add_note", listed, "Data feed is late", user_id=STRANGER)
    note_form = fake_slack.wait_for("views.open").args["view"]
    assert note_form["callback_id"] == "issue.note" and view_problems(note_form) == []
    empty = slack.view_submission(
        "issue.note",
        {"note": {"note": plain_input("  ")}},
        user_id=STRANGER,
        private_metadata=note_form["private_metadata"],
    )
    done = slack.view_submission(
        "issue.note",
        {"note": {"note": plain_input("Supplier says <!channel> Friday")}},
        user_id=STRANGER,
        private_metadata=note_form["private_metadata"],
    )
    redrawn = str(issue_list(slack, fake_slack, user_id=OWNER)["blocks"])

    assert empty.json()["errors"] == {"note": "Write the note, or cancel."}
    assert done.json()["response_action"] == "update" and "Your note is on *Data feed is late*" in str(done.json())
    assert "1 note" in redrawn and "issue.add_note" in redrawn
    assert f"<@{LEAD}> recorded it" in redrawn
    assert f"<@{STRANGER}> noted: Supplier says &lt;!channel&gt; Friday" in redrawn
    with unit_of_work(session_factory) as session:
        issue = session.get_one(Issue, issue_id)
        assert [(event.kind, event.detail) for event in issue.events] == [
            ("created", {"severity": "high"}),
            ("note", {"text": "Supplier says <!channel> Friday"}),
        ]


def test_an_issues_history_keeps_its_closing_and_the_severity_an_import_changed(
    cli_env, slack, fake_slack, crm, session_factory, listeners
):
    issue_id = add_issue(session_factory, "Data feed is late", severity="high")
    (cli_env / "issues.csv").write_text(ISSUES_HEADER + f"CRM-2,{issue_id},Data feed is late,{OWNER},critical,,open\n")
    assert run_cli("import", "--kind", "issues", "issues.csv") == 0

    card = str(issue_list(slack, fake_slack)["blocks"])
    click(slack, "issue.close", issue_list(slack, fake_slack), "Data feed is late", user_id=OWNER)
    fake_slack.wait_for_response(lambda response: response.get("replace_original"))
    slack.command("history CRM-2", user_id=SPONSOR, channel_id="C0CRM")
    trail = str(fake_slack.wait_for_response(lambda r: "History of CRM-2" in r.get("text", ""))["blocks"])

    assert "The import changed the severity from high to critical" in card and ":red_circle: critical" in card
    with unit_of_work(session_factory) as session:
        kinds = [event.kind for event in session.get_one(Issue, issue_id).events]
    assert kinds == ["created", "severity", "closed"]
    assert "issue event" in trail and "kind: – → closed" in trail and "kind: – → severity" in trail


# --- late reviews on the ladder ------------------------------------------------------------------------


def run_days(app_context, clock, fake_slack, first: int, last: int, people=(OWNER, SPONSOR)) -> dict:
    seen = {person: len(fake_slack.messages_in(person)) for person in people}
    got: dict = {person: {} for person in people}
    for offset in range(first, last + 1):
        for moment in TICKS:
            clock.at = datetime.combine(MONDAY + timedelta(days=offset), moment, tzinfo=timezone.utc)
            run_due_work(app_context, clock.at)
        for person in people:
            messages = fake_slack.messages_in(person)
            if len(messages) > seen[person]:
                got[person][offset] = messages[seen[person] :]
            seen[person] = len(messages)
    return got


def test_a_late_review_is_chased_owner_then_sponsor_then_pmo_in_the_actions_daily_dm(
    app_context, clock, fake_slack, session_factory, crm
):
    add_action(session_factory, "Agree the protocol")  # due Monday, as the review is
    add_risk(session_factory, "Supplier may go bust", next_review=MONDAY)

    dms = run_days(app_context, clock, fake_slack, 0, 10)

    owner, sponsor = dms[OWNER], dms[SPONSOR]
    assert list(owner) == [1, 3, 10]  # Tue, Thu, and Thu a week later (8 working days), as for the action
    assert all(len(messages) == 1 for messages in owner.values())  # one DM a day: actions and reviews together
    [tuesday] = owner[1]
    assert tuesday["text"].startswith("One of your actions is overdue: 'Agree the protocol'")
    assert "'Supplier may go bust' (CRM-2) to review" in tuesday["text"]
    assert "risk.review" in str(tuesday["blocks"]) and message_problems(tuesday["blocks"]) == []
    assert list(sponsor) == [3] and "1 risk review on projects you sponsor is late" in str(sponsor[3][0]["blocks"])
    reviews = [m for m in fake_slack.messages_in(PMO_CHANNEL) if "risk review on CRM-2" in m.get("text", "")]
    assert len(reviews) == 1 and "7 working days late" in reviews[0]["text"]


def test_an_owner_with_only_a_late_review_gets_a_dm_about_it_and_can_review_from_there(
    app_context, clock, fake_slack, session_factory, crm, slack, listeners
):
    add_risk(session_factory, "Supplier may go bust", next_review=MONDAY)

    [dm] = run_days(app_context, clock, fake_slack, 0, 1)[OWNER][1]

    assert dm["text"].startswith("1 of your risks is due for review: 'Supplier may go bust' (CRM-2) to review")
    assert message_problems(dm["blocks"]) == []
    click(slack, "risk.close", dm, "Supplier may go bust", user_id=OWNER, channel_id=f"D{OWNER}")
    listeners.wait_idle()
    assert "No risk on this list needs a review any more" in str(fake_slack.messages_in(OWNER)[-1]["blocks"])


def test_a_review_chase_stops_while_the_owner_is_away_and_once_it_is_reviewed(
    app_context, clock, fake_slack, session_factory, crm
):
    risk_id = add_risk(session_factory, "Supplier may go bust", next_review=MONDAY)
    with unit_of_work(session_factory) as session:
        risks.review(
            session,
            Actor(OWNER, False),
            risk_id,
            probability=2,
            impact=2,
            next_review=MONDAY + timedelta(days=30),
            today=MONDAY,
            now=NOW,
        )

    dms = run_days(app_context, clock, fake_slack, 0, 4)

    assert dms[OWNER] == {}


# --- the check-in form --------------------------------------------------------------------------------


def test_the_checkin_form_asks_whether_high_risks_and_issues_are_still_accurate(
    slack, fake_slack, crm, session_factory, listeners
):
    high = add_risk(session_factory, "Supplier may go bust", probability=5, impact=3)
    add_risk(session_factory, "A small risk", probability=1, impact=2)
    add_issue(session_factory, "Data feed is late", severity="high")
    add_issue(session_factory, "Typo on the site", severity="low")

    slack.command("checkin CRM-2", user_id=LEAD, channel_id="C0CRM")
    view = fake_slack.wait_for("views.open").args["view"]

    assert view_problems(view) == []
    text = str(view["blocks"])
    assert "Still accurate?" in text and "Supplier may go bust" in text and "Data feed is late" in text
    assert "A small risk" not in text and "Typo on the site" not in text
    values = {
        "overall": {"overall": static_select("green")},
        f"raid_confirm:risk:{high}": {f"raid_confirm:risk:{high}": {"type": "checkboxes", "selected_options": []}},
    }
    slack.view_submission("checkin.submit", values, user_id=LEAD, private_metadata=view["private_metadata"])
    listeners.wait_idle()
    [dm] = [m for m in fake_slack.messages_in(LEAD) if "RAID log changed" in m.get("text", "")]
    assert "Supplier may go bust" in str(dm["blocks"]) and "risk.review" in str(dm["blocks"])
    assert "Data feed is late" not in str(dm["blocks"])


# --- import and export --------------------------------------------------------------------------------

RISKS_CSV = (
    "key,id,title,owner,probability,impact,proximity,response,mitigation,next_review,status\n"
    "CRM-2,,Supplier may go bust,owner@council.example,4,5,2027-03-01,reduce,Second supplier,2026-12-07,open\n"
    'crm-2,,=HYPERLINK("http://evil"),U0LEAD,2,2,,accept,,2026-12-14,open\n'
)


@pytest.fixture
def cli_env(tmp_path, monkeypatch, fake_slack, database_url, engine):
    """The CLI on the tests' own database, Slack pointed at the fake."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": fake_slack.url,
        "DATABASE_URL": database_url,
        "PMO_CHANNEL_ID": PMO_CHANNEL,
    }.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def run_cli(*argv: str) -> int:
    from bot.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    return int(exit_info.value.code or 0)


def test_risks_import_export_round_trip_is_a_no_op(cli_env, fake_slack, session_factory, capsys):
    add_project(session_factory)
    fake_slack.add_user(OWNER, email="owner@council.example")
    (cli_env / "in.csv").write_text(RISKS_CSV)

    assert run_cli("import", "--kind", "risks", "in.csv") == 0
    assert run_cli("export", "--kind", "risks", "out.csv") == 0
    assert run_cli("import", "--kind", "risks", "out.csv") == 0
    assert run_cli("export", "--kind", "issues", "issues.csv") == 0

    out = capsys.readouterr().out
    assert "2 created, 0 updated, 0 unchanged" in out and "0 created, 0 updated, 2 unchanged" in out
    exported = (cli_env / "out.csv").read_text(encoding="utf-8-sig").splitlines()
    [supplier, formula] = stored_risks(session_factory)
    assert exported[1].startswith(f"CRM-2,{supplier.id},Supplier may go bust,owner@council.example,4,5,2027-03-01,")
    assert exported[2].startswith(f"CRM-2,{formula.id},\"'=HYPERLINK")  # defused for spreadsheets
    assert (supplier.owner.slack_user_id, supplier.score) == (OWNER, 20) and formula.title.startswith("=HYPERLINK")


ISSUES_HEADER = "key,id,title,owner,severity,due,status\n"


def alerts_in_pmo_channel(fake_slack) -> list[str]:
    return [str(message["blocks"]) for message in fake_slack.messages_in(PMO_CHANNEL) if "New " in message["text"]]


def test_imported_risks_scoring_20_and_critical_issues_alert_the_pmo_once_and_a_round_trip_sends_nothing(
    cli_env, fake_slack, session_factory
):
    add_project(session_factory)
    fake_slack.add_user(OWNER, email="owner@council.example")
    (cli_env / "risks.csv").write_text(RISKS_CSV)  # one scoring 20, one scoring 4
    (cli_env / "issues.csv").write_text(
        ISSUES_HEADER
        + "CRM-2,,Payments are <!here> failing,U0LEAD,critical,,open\n"
        + "CRM-2,,Printer is broken,U0LEAD,low,,open\n"
        + "CRM-2,,Old outage,U0LEAD,critical,,closed\n"
    )

    assert run_cli("import", "--kind", "risks", "risks.csv") == 0
    assert run_cli("import", "--kind", "issues", "issues.csv") == 0
    first = alerts_in_pmo_channel(fake_slack)
    for kind in ("risks", "issues"):
        assert run_cli("export", "--kind", kind, f"{kind}-out.csv") == 0
        assert run_cli("import", "--kind", kind, f"{kind}-out.csv") == 0

    [risk_alert, issue_alert] = first
    assert "New risk scoring 20 on CRM-2" in risk_alert and "Supplier may go bust" in risk_alert
    assert "New critical issue on CRM-2" in issue_alert and "&lt;!here&gt;" in issue_alert
    assert alerts_in_pmo_channel(fake_slack) == first


def test_an_issue_imported_as_changed_to_critical_alerts_once_and_a_later_change_does_not(
    cli_env, fake_slack, session_factory
):
    add_project(session_factory)
    issue_id = add_issue(session_factory, "Data feed is late", severity="high")  # the form: no alert
    (cli_env / "critical.csv").write_text(ISSUES_HEADER + f"CRM-2,{issue_id},Data feed is late,U0LEAD,critical,,open\n")
    (cli_env / "renamed.csv").write_text(ISSUES_HEADER + f"CRM-2,{issue_id},Data feed is down,U0LEAD,critical,,open\n")

    assert alerts_in_pmo_channel(fake_slack) == []
    assert run_cli("import", "--kind", "issues", "critical.csv") == 0
    assert run_cli("import", "--kind", "issues", "renamed.csv") == 0

    [alert] = alerts_in_pmo_channel(fake_slack)
    assert "New critical issue on CRM-2" in alert and "Data feed is late" in alert


def test_an_imported_alert_slack_refused_is_sent_by_the_next_tick(cli_env, fake_slack, session_factory):
    add_project(session_factory)
    fake_slack.add_user(OWNER, email="owner@council.example")
    (cli_env / "risks.csv").write_text(RISKS_CSV)
    fake_slack.fail_next("chat.postMessage", status=200, error="fatal_error")

    assert run_cli("import", "--kind", "risks", "risks.csv") == 0
    assert alerts_in_pmo_channel(fake_slack) == []
    later = datetime.now(timezone.utc) + timedelta(minutes=10)  # past the ledger's first retry delay
    assert run_cli("tick", "--at", later.isoformat()) == 0
    assert run_cli("tick", "--at", (later + timedelta(minutes=1)).isoformat()) == 0

    [alert] = alerts_in_pmo_channel(fake_slack)
    assert "New risk scoring 20 on CRM-2" in alert


def test_a_bad_risks_file_imports_nothing_and_names_each_bad_line(cli_env, session_factory, capsys):
    add_project(session_factory)
    (cli_env / "bad.csv").write_text(
        "key,id,title,owner,probability,impact,proximity,response,mitigation,next_review,status\n"
        "CRM-2,,Fine,U0LEAD,1,1,,accept,,2026-12-07,open\n"
        "NOPE-1,,Unknown project,U0LEAD,1,1,,accept,,2026-12-07,open\n"
        "CRM-2,,Bad score,U0LEAD,9,1,,accept,,2026-12-07,open\n"
        "CRM-2,77,Unknown id,U0LEAD,1,1,,accept,,next week,open\n"
    )

    assert run_cli("import", "--kind", "risks", "bad.csv") == 1

    err = capsys.readouterr().err
    assert "nothing imported" in err and "line 2:" not in err
    assert "line 3: no project has the key 'NOPE-1'" in err
    assert "line 4: probability '9' is not a score" in err
    assert "line 5: CRM-2 has no risk with id 77" in err and "line 5: next_review 'next week' is not a date" in err
    assert stored_risks(session_factory) == []
