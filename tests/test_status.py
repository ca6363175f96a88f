"""`/pmo status` (the table, its order, arrows, measures and pages) and `/pmo status KEY`.

The app runs at AT, Monday 2026-11-23 10:00 UTC: after the default cadence instant
(Monday 09:30 Europe/London), so the current period is 2026-W48.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.context import AppContext
from bot.demo.blockkit import message_problems
from bot.services import benefits, checkins, partners, people, portfolio
from bot.services.access import Actor
from bot.services.checkins import CheckinInput
from bot.services.confidence import Scale
from bot.services.cost import CostFigures, CostView
from bot.services.decisions import DecisionLine
from bot.services.health import StatusRow, TablePage, Trend, trend, worst_first
from bot.services.milestones import DependencyLine, MilestoneLine, ProjectSchedule
from bot.services.portfolio import BenefitLine
from bot.services.risks import IssueLine, ProjectRaid, RiskLine
from bot.services.status import (
    ActionLine,
    IncidentLine,
    Narrative,
    PeriodStatus,
    ProjectOverview,
)
from handlers.blocks.common import slack_date
from handlers.blocks.status import PAGE_SIZE, age, project_status_blocks, status_table_blocks
from storage.models import (
    Action,
    ActionStatus,
    CheckinPeriod,
    Incident,
    IncidentImpact,
    IncidentSeverity,
    IncidentStatus,
    ProjectStatus,
    Rag,
)
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN
from tests.factories import LEAD, SPONSOR, STRANGER, add_benefit, add_project, load_project

AT = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
TODAY = AT.date()
OTHER_SPONSOR = "U0OTHERSPONSOR"


@pytest.fixture
def app_context(app_context: AppContext) -> AppContext:
    return replace(app_context, clock=lambda: AT)


# --- building the portfolio ------------------------------------------------------------------


def add_checkin(
    session_factory, key: str, period: str, rag: Rag, *, at: datetime, confidence: str | None = None, **words: str
) -> None:
    """The lead's check-in, through the check-in service (Amber and Red come with a path to green);
    `confidence`: the level given on a dca scale, as stored ("dca5:amber_red")."""
    needs_path = rag is not Rag.GREEN
    form = CheckinInput(
        overall=rag,
        confidence=confidence,
        path_to_green="Recover the plan" if needs_path else None,
        path_to_green_date=at.date() + timedelta(days=30) if needs_path else None,
        **words,
    )
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, key)
        checkins.submit(session, project, Actor(LEAD, False), period, form, now=at, tolerance=0.1)


def add_action(
    session_factory, key: str, title: str, *, due: date, owner: str = SPONSOR, status: ActionStatus = ActionStatus.OPEN
) -> None:
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, key)
        session.add(
            Action(
                project_id=project.id,
                title=title,
                owner_id=people.get_or_create(session, owner, now=NOW).id,
                due_date=due,
                status=status,
                created_at=NOW,
            )
        )


def add_incident(
    session_factory,
    incident_key: str,
    project_keys: tuple[str, ...],
    *,
    status: IncidentStatus = IncidentStatus.OPEN,
    not_affected: bool = False,
    summary: str = "Payments down",
) -> None:
    with unit_of_work(session_factory) as session:
        incident = Incident(
            key=incident_key, summary=summary, severity=IncidentSeverity.SEV1, status=status, declared_at=NOW
        )
        for key in project_keys:
            project = portfolio.get_project(session, key)
            incident.impacts.append(IncidentImpact(project_id=project.id, not_affected=not_affected, created_at=NOW))
        session.add(incident)


def add_off_trajectory_benefit(session_factory, key: str) -> None:
    # 60 days into a 120-day plan from 0 to 1000, 500 is expected; 300 is well behind.
    benefit_id = add_benefit(
        session_factory, key, created_at=NOW - timedelta(days=60), target_date=TODAY + timedelta(60)
    )
    with unit_of_work(session_factory) as session:
        benefits.report_value(session, Actor(PMO_ADMIN, True), benefit_id, Decimal(300), TODAY, now=NOW, today=TODAY)


def set_status(session_factory, key: str, status: ProjectStatus) -> None:
    with unit_of_work(session_factory) as session:
        portfolio.get_project(session, key).status = status


# --- reading the replies ---------------------------------------------------------------------


def _next_response(fake_slack, send) -> dict:  # type: ignore[no-untyped-def]
    answered = {response["url"] for response in fake_slack.responses}
    send()
    return fake_slack.wait_for_response(lambda response: response["url"] not in answered)


def status_reply(slack, fake_slack, text: str = "status", user_id: str = SPONSOR, channel_id: str = "C0PMO") -> dict:
    return _next_response(fake_slack, lambda: slack.command(text, user_id=user_id, channel_id=channel_id))


def shown_text(reply: dict) -> str:
    """Every text in a reply's (or a view's) blocks, one per line, as a reader would scan them."""
    texts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(reply["blocks"])
    return "\n".join(texts)


def listed_keys(reply: dict) -> list[str]:
    """Project keys in table order: each row starts with its status, then *KEY*."""
    rows = [block["text"]["text"] for block in reply["blocks"] if block["type"] == "section"]
    return [match[1] for text in rows if (match := re.search(r"\*([A-Z][A-Z0-9-]*)\* · ", text))]


def row_of(reply: dict, key: str) -> str:
    return next(block["text"]["text"] for block in reply["blocks"] if f"*{key}* · " in str(block.get("text", "")))


def click(slack, fake_slack, reply: dict, action_id: str, user_id: str = SPONSOR) -> dict:
    message = {"type": "message", "ts": "1700000000.000100", "blocks": reply["blocks"]}
    return _next_response(
        fake_slack, lambda: slack.block_action(action_id, user_id=user_id, channel_id="C0PMO", message=message)
    )


# --- pure: the order and the arrows ---------------------------------------------------------


def test_the_trend_compares_with_the_previous_period():
    assert trend(Rag.RED, Rag.GREEN) is Trend.WORSE
    assert trend(Rag.AMBER, Rag.RED) is Trend.BETTER
    assert trend(Rag.AMBER, Rag.AMBER) is Trend.SAME
    assert trend(Rag.GREEN, None) is None and trend(None, None) is None


def _row(
    key: str, rag: Rag | None, trend_: Trend | None = None, overdue: int = 0, at: datetime | None = AT
) -> StatusRow:
    return StatusRow(key, key, rag, trend_, at if rag else None, overdue, 0, 0)


def test_worst_first_is_red_amber_green_then_no_status_and_within_a_colour_worsening_then_overdue_then_stale():
    rows = [
        _row("NONE", None),
        _row("GREEN", Rag.GREEN),
        _row("AMBER-BETTER", Rag.AMBER, Trend.BETTER, overdue=9),
        _row("AMBER-STALE", Rag.AMBER, Trend.SAME, at=AT - timedelta(days=20)),
        _row("AMBER-FRESH", Rag.AMBER, Trend.SAME),
        _row("AMBER-OVERDUE", Rag.AMBER, None, overdue=2),
        _row("AMBER-WORSE", Rag.AMBER, Trend.WORSE),
        _row("RED", Rag.RED, Trend.SAME),
    ]

    assert [row.key for row in sorted(rows, key=worst_first)] == [
        "RED",
        "AMBER-WORSE",
        "AMBER-OVERDUE",
        "AMBER-STALE",
        "AMBER-FRESH",
        "AMBER-BETTER",
        "GREEN",
        "NONE",
    ]


@pytest.mark.parametrize(
    ("ago", "shown"),
    [(timedelta(minutes=5), "<1h"), (timedelta(hours=5), "5h"), (timedelta(days=3), "3d"), (timedelta(days=45), "6w")],
)
def test_the_age_of_a_check_in_is_short(ago, shown):
    assert age(AT - ago, AT) == shown


def test_every_page_of_a_huge_portfolio_is_valid_block_kit():
    row = StatusRow("K" + "X" * 31, "N&<>" * 50, Rag.RED, Trend.WORSE, AT, 999, 99, 99)
    counts = Counter({Rag.RED: 5000})

    for page in (0, 1, 124, 249):
        table = TablePage([row] * PAGE_SIZE, page, 250, 5000, counts)
        blocks = status_table_blocks("Portfolio status", table, scale=Scale.DCA5, now=AT, shareable=True)
        assert message_problems(blocks) == [], page
        assert len(blocks) < 50


def test_the_largest_project_overview_is_valid_block_kit():
    overview = ProjectOverview(
        key="K" * 32,
        name="N" * 200,
        state="paused",
        sponsor_user_id="U0SPONSOR",
        lead_user_id=None,
        history=[PeriodStatus(f"2026-W{week}", Rag.RED, False) for week in range(41, 49)],
        narrative=Narrative(
            "2026-W48", 3, LEAD, AT, Rag.RED, Rag.RED, Rag.AMBER, Rag.GREEN, *["<!here> " * 250] * 5, date(2027, 1, 1)
        ),
        benefits=[
            BenefitLine("B" * 200, "u" * 40, Decimal(0), Decimal("1e13"), "2027-06-30", Decimal(1), Decimal(9), True, 1)
        ]
        * 300,
        actions=[ActionLine("T" * 500, "U0OWNER", TODAY, True)] * 10,
        open_actions=5000,
        overdue_actions=4000,
        incidents=[IncidentLine("INC-" + "9" * 28, "SEV1", "S" * 5000, AT)] * 10,
        open_incidents=300,
        schedule=ProjectSchedule(
            [MilestoneLine(1, "K" * 32, "<!here> " * 25, TODAY, date(2027, 1, 4), None, 25)] * 5,
            500,
            [DependencyLine("K" * 32, "J" * 32, "<!here> " * 25, TODAY, date(2027, 1, 4), None, 25, 1)] * 10,
        ),
        cost=CostView(
            "2026-11",
            "2026-27",
            CostFigures(*[Decimal("9999999999999999.99")] * 4),
            Decimal("-9999999999999999.99"),
            -1.0,
            Rag.RED,
        ),
        raid=ProjectRaid(
            [
                RiskLine(
                    1,
                    "K" * 32,
                    "N",
                    "<!here> " * 70,
                    "U0OWNER",
                    5,
                    5,
                    TODAY,
                    "reduce",
                    "M" * 3000,
                    TODAY,
                    True,
                    TODAY,
                    9,
                    9,
                )
            ]
            * 5,
            100,
            [IssueLine(1, "K" * 32, "N", "<!here> " * 70, "U0OWNER", "critical", TODAY, True, 0, ())] * 5,
            100,
            [DecisionLine(1, "K" * 32, "N", "<!here> " * 400, "U0SPONSOR", None, TODAY, TODAY, None, None)] * 5,
            100,
            TODAY,
        ),
    )

    blocks = project_status_blocks(overview, scale=Scale.DCA5, now=AT, shareable=True)

    assert message_problems(blocks) == []
    assert "<!here>" not in str(blocks)  # the team's words are shown, not acted on


# --- /pmo status: the table -------------------------------------------------------------------


def test_a_sponsor_sees_only_the_projects_they_sponsor(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system", sponsor=OTHER_SPONSOR)

    reply = status_reply(slack, fake_slack)

    assert listed_keys(reply) == ["CRM-2"]
    assert reply["blocks"][0]["text"]["text"] == "Projects you sponsor or lead"
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert message_problems(reply["blocks"]) == []


def test_pmo_admins_see_the_whole_portfolio_except_closed_projects(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system", sponsor=OTHER_SPONSOR)
    add_project(session_factory, "WEB-1", "Website", sponsor=None)
    add_project(session_factory, "OLD-1", "Old", sponsor=SPONSOR)
    set_status(session_factory, "OLD-1", ProjectStatus.CLOSED)

    reply = status_reply(slack, fake_slack, user_id=PMO_ADMIN)

    assert sorted(listed_keys(reply)) == ["CRM-2", "HR-1", "WEB-1"]
    assert reply["blocks"][0]["text"]["text"] == "Portfolio status"


def test_the_table_is_worst_first_with_arrows_against_the_previous_period(slack, fake_slack, session_factory):
    last_week, this_week = AT - timedelta(days=7), AT - timedelta(minutes=15)
    for key in ("GRN-1", "AMB-1", "AMB-2", "AMB-3", "RED-1", "NEW-1"):
        add_project(session_factory, key, f"Project {key}", created_at=NOW - timedelta(days=14))
    add_checkin(session_factory, "RED-1", "2026-W47", Rag.GREEN, at=last_week)
    add_checkin(session_factory, "RED-1", "2026-W48", Rag.RED, at=this_week)
    add_checkin(session_factory, "AMB-1", "2026-W47", Rag.RED, at=last_week)
    add_checkin(session_factory, "AMB-1", "2026-W48", Rag.AMBER, at=this_week)
    add_checkin(session_factory, "AMB-2", "2026-W47", Rag.AMBER, at=last_week)
    add_checkin(session_factory, "AMB-2", "2026-W48", Rag.RED, at=this_week - timedelta(minutes=5))
    add_checkin(session_factory, "AMB-2", "2026-W48", Rag.AMBER, at=this_week)  # the amendment counts
    add_checkin(session_factory, "AMB-3", "2026-W48", Rag.AMBER, at=this_week)
    add_action(session_factory, "AMB-3", "Agree the data-sharing protocol", due=TODAY - timedelta(days=1))
    add_checkin(session_factory, "GRN-1", "2026-W46", Rag.GREEN, at=last_week - timedelta(days=7))

    reply = status_reply(slack, fake_slack)

    assert listed_keys(reply) == ["RED-1", "AMB-3", "AMB-2", "AMB-1", "GRN-1", "NEW-1"]
    assert row_of(reply, "RED-1").startswith(":red_circle: Red:arrow_lower_right: ")
    assert row_of(reply, "AMB-1").startswith(":large_orange_circle: Amber:arrow_upper_right: ")
    assert row_of(reply, "AMB-2").startswith(":large_orange_circle: Amber:arrow_right: ")
    assert row_of(reply, "AMB-3").startswith(":large_orange_circle: ")  # nothing to compare with
    assert "checked in 2w ago" in row_of(reply, "GRN-1")
    assert "no check-in yet" in row_of(reply, "NEW-1") and row_of(reply, "NEW-1").startswith(":white_circle: ")
    assert "1 Red, 3 Amber, 1 Green, 1 without a status" in reply["text"]


def test_each_row_counts_overdue_actions_benefits_off_trajectory_and_open_incidents(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system")
    yesterday = TODAY - timedelta(days=1)
    add_action(session_factory, "CRM-2", "Overdue one", due=yesterday)
    add_action(session_factory, "CRM-2", "Overdue two", due=TODAY - timedelta(days=30))
    add_action(session_factory, "CRM-2", "Due today", due=TODAY)
    add_action(session_factory, "CRM-2", "Done late", due=yesterday, status=ActionStatus.DONE)
    add_action(session_factory, "CRM-2", "Dropped", due=yesterday, status=ActionStatus.DROPPED)
    add_action(session_factory, "HR-1", "Someone else's project", due=yesterday)
    add_off_trajectory_benefit(session_factory, "CRM-2")
    add_benefit(session_factory, "CRM-2", "Letters avoided")  # no value yet: not off trajectory
    add_incident(session_factory, "INC-1", ("CRM-2", "HR-1"))
    add_incident(session_factory, "INC-2", ("CRM-2",))
    add_incident(session_factory, "INC-3", ("CRM-2",), status=IncidentStatus.RESOLVED)
    add_incident(session_factory, "INC-4", ("CRM-2",), not_affected=True)

    reply = status_reply(slack, fake_slack)

    assert "no check-in yet · 2 overdue actions · 1 benefit off trajectory · 2 open incidents" in row_of(reply, "CRM-2")
    assert "1 overdue action · 0 benefits off trajectory · 1 open incident" in row_of(reply, "HR-1")


def test_120_projects_page_by_page_with_next_and_previous(slack, fake_slack, session_factory):
    for n in range(120):
        add_project(session_factory, f"P-{n:03d}", f"Project {n}")

    pages = [status_reply(slack, fake_slack)]
    while any(b.get("action_id") == "status_table.next" for b in pages[-1]["blocks"][-1]["elements"]):
        pages.append(click(slack, fake_slack, pages[-1], "status_table.next"))
    back = click(slack, fake_slack, pages[-1], "status_table.previous")

    assert len(pages) == 120 // PAGE_SIZE
    assert [key for page in pages for key in listed_keys(page)] == [f"P-{n:03d}" for n in range(120)]
    assert all(message_problems(page["blocks"]) == [] for page in [*pages, back])
    assert all(page["replace_original"] for page in pages[1:])  # the same message, turned in place
    assert "Page 6 of 6" in str(pages[-1]["blocks"][1])
    assert listed_keys(back) == listed_keys(pages[-2]) and back["replace_original"]
    first_buttons = [element["text"]["text"] for element in pages[0]["blocks"][-1]["elements"]]
    assert first_buttons == ["Next", "Share in channel"]


def test_someone_who_sponsors_and_leads_nothing_is_told_what_to_type_instead(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    stranger = status_reply(slack, fake_slack, user_id=STRANGER)

    assert "You don't sponsor or lead any open project" in stranger["text"]
    assert "`/pmo status KEY`" in stranger["text"]


def test_a_lead_sees_the_projects_they_lead(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system", lead=STRANGER)

    lead = status_reply(slack, fake_slack, user_id=LEAD)

    assert listed_keys(lead) == ["CRM-2"]


def test_the_table_holds_what_someone_sponsors_leads_or_deputises_on_and_nothing_else(
    slack, fake_slack, session_factory
):
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system", sponsor=STRANGER, lead=OTHER_SPONSOR)
    add_project(session_factory, "WEB-1", "Website", sponsor=OTHER_SPONSOR, lead=STRANGER)
    add_project(session_factory, "OPS-1", "Operations", sponsor=OTHER_SPONSOR, lead=OTHER_SPONSOR)
    slack.command(f"deputy CRM-2 <@{STRANGER}|sam>", user_id=SPONSOR, channel_id="C0ANY")
    assert "deputy lead" in fake_slack.wait_for_response()["text"]

    assert sorted(listed_keys(status_reply(slack, fake_slack, user_id=STRANGER))) == ["CRM-2", "HR-1", "WEB-1"]


def test_a_page_of_the_table_can_be_shared_in_channel_without_its_buttons(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    reply = status_reply(slack, fake_slack)

    shared = click(slack, fake_slack, reply, "status_table.share")

    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert listed_keys(shared) == ["CRM-2"]
    assert "button" not in str(shared["blocks"])


def test_in_a_slack_connect_channel_the_table_lists_only_projects_shared_with_the_partner(
    slack, fake_slack, session_factory
):
    fake_slack.add_channel("C0SHARED", "with-partner", is_ext_shared=True, connected_team_ids=("T0FAKE", "T0PARTNER"))
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system")
    with unit_of_work(session_factory) as session:
        partners.share(session, Actor(PMO_ADMIN, True), "CRM-2", "T0PARTNER", now=NOW)

    reply = status_reply(slack, fake_slack, channel_id="C0SHARED")

    assert listed_keys(reply) == ["CRM-2"]


# --- /pmo status KEY ----------------------------------------------------------------------------


def test_one_project_shows_8_periods_the_latest_words_benefits_actions_and_incidents(
    slack, fake_slack, session_factory
):
    add_project(session_factory, "CRM-2", "Customer records", created_at=NOW - timedelta(days=60))
    add_checkin(session_factory, "CRM-2", "2026-W45", Rag.GREEN, at=AT - timedelta(days=21))
    add_checkin(session_factory, "CRM-2", "2026-W46", Rag.AMBER, at=AT - timedelta(days=14))
    with unit_of_work(session_factory) as session:
        project_id = portfolio.get_project(session, "CRM-2").id
        session.add(
            CheckinPeriod(project_id=project_id, period="2026-W47", due_at=AT - timedelta(days=7), missed_at=AT)
        )
    add_checkin(
        session_factory,
        "CRM-2",
        "2026-W48",
        Rag.RED,
        at=AT - timedelta(hours=2),
        progress="Data migrated",
        next_steps="Cut over",
        risks_issues="Supplier late",
        help_needed="A decision on the budget",
    )
    add_off_trajectory_benefit(session_factory, "CRM-2")
    for n in range(12):
        add_action(session_factory, "CRM-2", f"Action {n:02d}", due=TODAY + timedelta(days=n - 2))
    add_incident(session_factory, "INC-7", ("CRM-2",), summary="Payments <!channel> down")

    reply = status_reply(slack, fake_slack, text="status crm-2", user_id=STRANGER)
    shown = shown_text(reply)

    history = next(block for block in reply["blocks"] if block["type"] == "context" and len(block["elements"]) == 8)
    assert [element["text"] for element in history["elements"]] == [
        ":white_circle: No status W41",
        ":white_circle: No status W42",
        ":white_circle: No status W43",
        ":white_circle: No status W44",
        ":large_green_circle: Green W45",
        ":large_orange_circle: Amber W46",
        ":x: Missed W47",
        ":red_circle: Red W48",
    ]
    assert "*Latest update*, 2026-W48: :red_circle: Red (from <@U0LEAD>, 2h ago)" in shown
    for words in ("Data migrated", "Cut over", "Supplier late", "A decision on the budget", "Recover the plan"):
        assert words in shown
    assert ":warning: off trajectory" in shown
    assert "*Open actions* (12, 2 overdue)" in shown
    assert f"Action 00 · <@U0SPONSOR> · due {slack_date(date(2026, 11, 21))} :warning: *overdue*" in shown
    assert "Action 09" in shown and "Action 10" not in shown and "…and 2 more" in shown
    assert "*INC-7* SEV1: Payments &lt;!channel&gt; down" in shown
    assert "Share in channel" in shown
    assert message_problems(reply["blocks"]) == []


def test_the_action_and_incident_figures_count_past_the_lines_shown_and_only_what_is_open_and_its_own(
    slack, fake_slack, session_factory
):
    """The lines and both figures come from one read: the counts are taken before the limit."""
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system", sponsor=OTHER_SPONSOR, lead=OTHER_SPONSOR)
    for n in range(13):
        add_action(session_factory, "CRM-2", f"Late {n:02d}", due=TODAY - timedelta(days=20 - n))
    add_action(session_factory, "CRM-2", "Next week", due=TODAY + timedelta(days=7))
    add_action(session_factory, "CRM-2", "Done already", due=TODAY - timedelta(days=30), status=ActionStatus.DONE)
    add_action(session_factory, "HR-1", "Not this project's", due=TODAY - timedelta(days=30))
    for n in range(12):
        add_incident(session_factory, f"INC-{n}", ("CRM-2",), summary=f"Outage {n:02d}")
    add_incident(session_factory, "INC-90", ("CRM-2",), status=IncidentStatus.RESOLVED)
    add_incident(session_factory, "INC-91", ("CRM-2",), not_affected=True)
    add_incident(session_factory, "INC-92", ("HR-1",))

    shown = shown_text(status_reply(slack, fake_slack, text="status CRM-2"))

    actions, incidents = shown.split("*Open actions*", 1)[1].split("*Incidents affecting it*", 1)
    assert actions.startswith(" (14, 13 overdue)")
    assert "Late 09" in actions and "Late 10" not in actions and "…and 4 more" in actions
    assert "Outage 09" in incidents and "Outage 10" not in incidents and "…and 2 more" in incidents
    for elsewhere in ("Done already", "Not this project's", "INC-90", "INC-91", "INC-92"):
        assert elsewhere not in shown


def test_one_project_names_its_sponsor_and_its_lead_each_in_its_place_or_says_who_is_missing(
    slack, fake_slack, session_factory
):
    """Both people are read with the project, from the same table: each must land on its own role."""
    add_project(session_factory, "CRM-2", "Customer records")  # SPONSOR sponsors it, LEAD leads it
    add_project(session_factory, "HR-1", "HR system", lead=None)

    crm = status_reply(slack, fake_slack, text="status CRM-2")
    hr = status_reply(slack, fake_slack, text="status HR-1")

    assert crm["blocks"][1]["elements"][0]["text"] == f"Sponsor <@{SPONSOR}> · Lead <@{LEAD}>"
    assert "nobody is accountable" not in shown_text(crm)
    assert hr["blocks"][1]["elements"][0]["text"] == f"Sponsor <@{SPONSOR}> · Lead _not set_"
    assert "*HR-1: nobody is accountable*: no lead." in shown_text(hr)


def test_a_project_without_check_ins_says_how_to_give_one(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    shown = shown_text(status_reply(slack, fake_slack, text="status CRM-2"))

    assert "none yet. `/pmo checkin CRM-2` opens the form" in shown
    assert "*Open actions* (0, 0 overdue)\n_none_" in shown


def test_the_project_status_can_be_shared_in_channel_without_the_button(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    reply = status_reply(slack, fake_slack, text="status CRM-2")

    shared = click(slack, fake_slack, reply, "project_status.share")

    assert shared["response_type"] == "in_channel"
    assert "CRM-2 · Customer records" in shown_text(shared) and "Share in channel" not in shown_text(shared)


def test_details_on_a_row_shows_that_project(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    table = status_reply(slack, fake_slack)

    details = click(slack, fake_slack, table, "project_status.show")

    assert details["blocks"][0]["text"]["text"] == "CRM-2 · Customer records"
    assert details["replace_original"] is False  # the table stays


def test_unknown_keys_and_extra_words_say_what_to_type(slack, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    unknown = status_reply(slack, fake_slack, text="status XYZ-1")
    extra = status_reply(slack, fake_slack, text="status CRM-2 HR-1")

    assert "No project has the key XYZ-1" in unknown["text"]
    assert "Usage:" in extra["text"] and "`/pmo status KEY`" in extra["text"]
    assert load_project(session_factory, "CRM-2").status is ProjectStatus.ACTIVE


def test_a_key_typed_without_its_hyphen_or_with_spaces_gets_did_you_mean(slack, fake_slack, session_factory):
    add_project(session_factory, "PAY-1", "Payments")

    squashed = status_reply(slack, fake_slack, text="status pay1")
    spaced = status_reply(slack, fake_slack, text="status pay 1")

    assert squashed["text"] == "No project has the key PAY1. Did you mean PAY-1?"
    assert "Did you mean `/pmo status PAY-1`?" in spaced["text"]


def test_a_partner_is_not_offered_a_key_that_is_not_shared_with_them(slack, fake_slack, session_factory):
    fake_slack.add_channel("C0SHARED", "with-partner", is_ext_shared=True, connected_team_ids=("T0FAKE", "T0PARTNER"))
    add_project(session_factory, "PAY-1", "Payments")

    reply = status_reply(slack, fake_slack, text="status pay1", channel_id="C0SHARED")

    assert "No project has the key PAY1" in reply["text"] and "PAY-1" not in reply["text"]
