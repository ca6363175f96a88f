"""The weekly PMO digest, `/pmo digest` and the monthly governance pack, against the fake Slack.

NOW (conftest) is Monday 2026-11-23 09:00 UTC, which is the default digest time (Monday
09:00 Europe/London). The seeded portfolio's latest check-ins are those of 2026-W47,
submitted on Monday 16 November, after the previous digest.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.context import AppContext
from bot.demo.blockkit import message_problems
from bot.services import benefits, cost, decisions, digest, message_keys, milestones, pack, partners, risks
from bot.services.access import Actor
from bot.services.calendar import first_working_day
from bot.services.cost import ProgrammeCost
from bot.services.decisions import DecisionLine
from bot.services.digest import (
    AffectedProject,
    AgeBand,
    Digest,
    EscalationLine,
    IncidentLine,
    MissedCheckin,
    OffTrackLine,
    OverdueActionLine,
    RagChange,
    RagCounts,
    RuleFinding,
)
from bot.services.escalations import Cause
from bot.services.governance import ComplianceRate, ComplianceReport
from bot.services.milestones import DigestMilestones, MilestoneLine
from bot.services.pack import DecisionNeeded, GovernancePack, ObjectiveProgress, WeekMix
from bot.services.risks import DigestRaid, ProjectIssues, RiskLine
from handlers.blocks.digest import digest_blocks, digest_text, pack_blocks
from handlers.blocks.pack_tables import pack_tables_blocks
from handlers.delivery import escalate
from handlers.jobs import run_due_work
from storage.models import EscalationKind, Issue, OutgoingMessage, Project, Rag, SkipDate
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL, TEAM_ID, make_test_client
from tests.factories import LEAD, SPONSOR, add_benefit, add_project
from tests.portfolio_history import action, checkin, incident, prompted, raise_escalation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIRST_OF_DECEMBER = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # a Tuesday, 09:00 in London
# The five projects whose histories the digest's tests give (see `history`).
FIVE_PROJECTS = (
    ("CRM-2", "Customer records"),
    ("HR-1", "HR system"),
    ("WEB-3", "Website"),
    ("OPS-4", "Operations hub"),
    ("FIN-5", "Finance ledger"),
)


@pytest.fixture
def app_context(settings, session_factory) -> AppContext:
    """The digest and pack switched on (conftest keeps them off for other features' tests);
    requests see the clock at NOW."""
    switched_on = settings.model_copy(update={"digest_enabled": True})
    return AppContext(
        settings=switched_on, session_factory=session_factory, client=make_test_client(switched_on), clock=lambda: NOW
    )


def with_settings(ctx: AppContext, **changes) -> AppContext:
    settings = ctx.settings.model_copy(update=changes)
    return AppContext(settings=settings, session_factory=ctx.session_factory, client=ctx.client, clock=ctx.clock)


def digests(fake_slack, channel: str = PMO_CHANNEL) -> list[dict]:
    return [m for m in fake_slack.messages_in(channel) if m["text"].startswith("PMO digest")]


def packs(fake_slack, channel: str = PMO_CHANNEL) -> list[dict]:
    return [m for m in fake_slack.messages_in(channel) if m["text"].startswith("Governance pack for")]


def shared_charts(fake_slack, channel: str = PMO_CHANNEL) -> list[dict]:
    return [m for m in fake_slack.messages_in(channel) if m.get("upload")]


def text_of(message: dict) -> str:
    return str(message["blocks"])


def escalate_now(app_context, cause: Cause, key: str) -> None:
    with unit_of_work(app_context.session_factory) as session:
        project_id = session.query(Project).filter_by(key=key).one().id
    escalate(app_context, cause, project_id=project_id, now=NOW - timedelta(days=5))


@pytest.fixture
def history(app_context, session_factory, fake_slack):
    """Five projects with a known history (see the module docstring for the instants).

    CRM-2  Green in W46, Red in W47 asking for help (alert posted); a benefit behind plan;
           5 days of delay from INC-7.
    HR-1   Amber W44..W47 (stuck); hit by INC-7, impact not assessed; an acknowledged alert.
    WEB-3  Green W46 and W47, with actions 3, 10 and 40 days overdue (1, 6 and 28 working days: a watermelon).
    OPS-4  Amber in W46, missed W47 (alert posted).
    FIN-5  no check-ins yet.
    """
    earlier = NOW - timedelta(days=200)
    for person in (LEAD, SPONSOR):
        fake_slack.add_user(person)
    for key, name in FIVE_PROJECTS:
        add_project(session_factory, key, name, created_at=earlier)
    checkin(session_factory, "CRM-2", "2026-W46", "green")
    checkin(session_factory, "CRM-2", "2026-W47", "red", help_needed="Approve the extra budget")
    escalate_now(
        app_context,
        Cause(
            message_keys.checkin_attention_cause("CRM-2", "2026-W47"),
            EscalationKind.CHECKIN_ATTENTION,
            {"period": "2026-W47", "rag": "red", "red": True},
        ),
        "CRM-2",
    )
    benefit_id = add_benefit(
        session_factory, "CRM-2", target_date=NOW.date() + timedelta(days=100), created_at=NOW - timedelta(days=100)
    )
    with unit_of_work(session_factory) as session:
        benefits.report_value(
            session, Actor(PMO_ADMIN, True), benefit_id, Decimal(100), NOW.date(), now=NOW, today=NOW.date()
        )
    for period in ("2026-W44", "2026-W45", "2026-W46", "2026-W47"):
        checkin(session_factory, "HR-1", period, "amber", green_by=date(2027, 3, 1))
    raise_escalation(
        session_factory,
        Cause(
            "checkin-red:HR-1:2026-W46",
            EscalationKind.CHECKIN_ATTENTION,
            {"period": "2026-W46", "rag": "amber", "asked_pmo": True},
        ),
        "HR-1",
        status="acknowledged",
    )
    checkin(session_factory, "WEB-3", "2026-W46", "green")
    checkin(session_factory, "WEB-3", "2026-W47", "green")
    for title, days in (("Book the pen test", 3), ("Sign off the design", 10), ("Agree the hosting contract", 40)):
        action(session_factory, "WEB-3", title, due=NOW.date() - timedelta(days=days))
    checkin(session_factory, "OPS-4", "2026-W46", "amber", green_by=date(2027, 1, 31))
    prompted(session_factory, "OPS-4", "2026-W47", missed=True)
    escalate_now(
        app_context,
        Cause(
            message_keys.checkin_missed_cause("OPS-4", "2026-W47"),
            EscalationKind.CHECKIN_MISSED,
            {"period": "2026-W47"},
        ),
        "OPS-4",
    )
    incident(session_factory, "INC-7", delays={"CRM-2": 5, "HR-1": None}, not_affected=("WEB-3",))


def alert_permalink(fake_slack, reason: str) -> str:
    [alert] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if reason in m["text"]]
    return f"https://fake-workspace.slack.com/archives/{PMO_CHANNEL}/p{alert['ts'].replace('.', '')}"


# --- the weekly digest ------------------------------------------------------------------------


def test_the_digest_is_posted_once_at_the_digest_time(app_context, fake_slack, session_factory):
    add_project(session_factory)

    run_due_work(app_context, NOW - timedelta(minutes=1))
    assert digests(fake_slack) == []

    run_due_work(app_context, NOW)
    run_due_work(app_context, NOW + timedelta(minutes=1))
    run_due_work(app_context, NOW + timedelta(hours=5))

    [posted] = digests(fake_slack)
    assert posted["text"].startswith("PMO digest 2026-W48")
    assert message_problems(posted["blocks"]) == []

    run_due_work(app_context, NOW + timedelta(weeks=1))
    assert [m["text"][:19] for m in digests(fake_slack)] == ["PMO digest 2026-W48", "PMO digest 2026-W49"]


def test_the_digest_time_is_local_to_the_default_timezone_and_a_day_late_is_too_late(
    app_context, fake_slack, session_factory
):
    new_york = with_settings(app_context, default_timezone="America/New_York", digest_day="tue", digest_time="08:00")
    add_project(session_factory)

    run_due_work(new_york, datetime(2026, 11, 24, 12, 59, tzinfo=timezone.utc))
    assert digests(fake_slack) == []
    run_due_work(new_york, datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc))  # 08:00 in New York
    assert len(digests(fake_slack)) == 1

    # Down for more than a day after the next one was due: that week's is skipped, not sent stale.
    run_due_work(new_york, datetime(2026, 12, 2, 13, 0, tzinfo=timezone.utc))
    assert len(digests(fake_slack)) == 1


def test_the_digest_reports_every_category_with_its_numbers_and_links(app_context, fake_slack, history):
    red_alert = alert_permalink(fake_slack, "Reported Red in 2026-W47")
    missed_alert = alert_permalink(fake_slack, "No check-in for 2026-W47")

    run_due_work(app_context, NOW)

    [posted] = digests(fake_slack)
    blocks = text_of(posted)
    assert message_problems(posted["blocks"]) == []
    assert posted["text"] == (
        "PMO digest 2026-W48: 1 Green, 2 Amber, 1 Red; 1 turned worse, 1 missed check-ins, "
        "3 overdue actions, 2 escalations not acknowledged."
    )
    # Counts by RAG and the change since last week (W46 statuses then, W47 now).
    assert ":large_green_circle: Green *1* (-1)" in blocks
    assert ":large_orange_circle: Amber *2* (no change)" in blocks
    assert ":red_circle: Red *1* (+1)" in blocks
    assert "No status *1*" in blocks
    # Turned worse, linked to the Red alert.
    assert f"<{red_alert}|CRM-2 · Customer records>: :large_green_circle: Green → :red_circle: Red (2026-W47)" in blocks
    # Missed check-ins, linked to the alert.
    assert f"<{missed_alert}|OPS-4 · Operations hub>: 2026-W47" in blocks
    # Overdue actions by age band, each naming its project.
    assert "by working days overdue: up to a week: 1 · 6 to 20 working days: 1 · over 20 working days: 1" in blocks
    assert (
        "*WEB-3 · Website* (`/pmo status WEB-3`): “Agree the hosting contract” (<@U0LEAD>), "
        "28 working days overdue" in blocks
    )
    # Benefits off trajectory.
    assert "*CRM-2 · Customer records* (`/pmo status CRM-2`): Calls avoided 100 calls/month, plan 500 by now" in blocks
    # Open incidents and the delay they cause; a project not affected is left out.
    assert "*INC-7 · SEV1* Payments service down" in blocks
    assert "`CRM-2` +5 days, `HR-1` not assessed yet; delay so far 5 days" in blocks
    assert "`WEB-3`" not in blocks
    # Escalations still unacknowledged, linked; the acknowledged one is not listed.
    assert f"<{red_alert}|CRM-2 · Customer records>: Reported Red in 2026-W47." in blocks
    assert f"<{missed_alert}|OPS-4 · Operations hub>: No check-in for 2026-W47: the prompt" in blocks
    assert "The team asked the PMO for help" not in blocks
    # Governance rules with their evidence.
    assert "*Watermelons: Green outside, red inside* (1)" in blocks
    assert "Action “Sign off the design” is 6 working days overdue" in blocks
    assert "Book the pen test” is 3" not in blocks
    assert (
        "*Stuck* (1)\\n• *HR-1 · HR system* (`/pmo status HR-1`): Amber for 4 consecutive periods, since 2026-W44."
        in blocks
    )
    assert "*OPS-4* (`/pmo status OPS-4`) 0% (0 of 1)" in blocks


def test_the_digest_links_nothing_it_cannot_find_and_says_none_when_all_is_well(
    app_context, fake_slack, session_factory
):
    add_project(session_factory, created_at=NOW - timedelta(days=30))
    checkin(session_factory, "CRM-2", "2026-W47", "green")

    run_due_work(app_context, NOW)

    [posted] = digests(fake_slack)
    assert "*Turned worse*\\n_None._" in text_of(posted)
    assert "*Escalations not yet acknowledged*\\n_None._" in text_of(posted)
    assert fake_slack.calls_to("chat.getPermalink") == []


def add_raid(session_factory, key: str, *, prefix: str = "") -> None:
    """On `key`: a risk scoring 20 recorded this week, one scoring 16 recorded two weeks ago whose
    review is 5 days late, a low one; a critical, a high and a medium issue; a decision asked 3 days ago."""
    lead = Actor(LEAD, False)
    with unit_of_work(session_factory) as session:
        for title, probability, impact, review, created in (
            ("Supplier may go bust", 4, 5, NOW.date() + timedelta(days=7), NOW - timedelta(days=2)),
            ("Key person may leave", 4, 4, NOW.date() - timedelta(days=5), NOW - timedelta(days=14)),
            ("Room may be double-booked", 2, 3, NOW.date() + timedelta(days=7), NOW - timedelta(days=1)),
        ):
            new = risks.NewRisk(key, prefix + title, LEAD, probability, impact, "reduce", review)
            risks.create_risk(session, lead, new, today=created.date(), now=created, validate=False)
        for title, severity in (("Payments failing", "critical"), ("Data feed late", "high"), ("Typo", "medium")):
            risks.create_issue(
                session, lead, risks.NewIssue(key, prefix + title, LEAD, severity), today=NOW.date(), now=NOW
            )
        decisions.raise_request(
            session,
            lead,
            f"issue:{session.query(Issue).order_by(Issue.id.desc()).first().id}",
            question=prefix + "Use the <!channel> contingency?",
            decider_user_id=SPONSOR,
            due=NOW.date() + timedelta(days=4),
            today=NOW.date() - timedelta(days=3),
            now=NOW - timedelta(days=3),
        )


def test_the_digest_lists_new_high_risks_serious_issues_late_reviews_and_open_decisions(
    app_context, fake_slack, session_factory
):
    add_project(session_factory, created_at=NOW - timedelta(days=30))
    add_raid(session_factory, "CRM-2")

    run_due_work(app_context, NOW)

    [posted] = digests(fake_slack)
    blocks = text_of(posted)
    assert message_problems(posted["blocks"]) == []
    project = "*CRM-2 · Customer records* (`/pmo status CRM-2`)"
    assert (
        f"*New risks scoring 15+ this week* (1)\\n• {project}: “Supplier may go bust” score 20 "
        f"(probability 4 × impact 5), owner <@{LEAD}>" in blocks
    )
    assert "Room may be double-booked" not in blocks  # scores 6
    assert f"*Open critical and high issues* (1): 1 critical, 1 high\\n• {project}: 1 critical, 1 high" in blocks
    assert f"*Risk reviews overdue* (1)\\n• {project}: “Key person may leave” (<@{LEAD}>), review was due" in blocks
    assert "3 working days late" in blocks  # Wed 18th: Thu, Fri, Mon
    assert (
        f"*Decisions asked for, still open* (1)\\n• {project}: “Use the &lt;!channel&gt; contingency?” "
        f"<@{SPONSOR}> to decide by" in blocks
    )
    assert "open 3 days" in blocks


def test_the_digests_risks_and_issues_in_a_slack_connect_channel_are_only_the_shared_projects(
    slack, fake_slack, session_factory
):
    add_project(session_factory, created_at=NOW - timedelta(days=30))
    add_project(session_factory, "HR-1", "HR system", created_at=NOW - timedelta(days=30))
    add_raid(session_factory, "CRM-2")
    add_raid(session_factory, "HR-1", prefix="Secret ")
    fake_slack.add_channel("C0JOINT", "joint-delivery", is_ext_shared=True, connected_team_ids=(TEAM_ID, "T0PARTNER"))
    with unit_of_work(session_factory) as session:
        partners.share(session, Actor(PMO_ADMIN, True), "CRM-2", "T0PARTNER", now=NOW)

    slack.command("digest", user_id=PMO_ADMIN, channel_id="C0JOINT")
    shared = str(fake_slack.wait_for_response()["blocks"])
    slack.command("digest", user_id=PMO_ADMIN, channel_id="C0SOMEWHERE")
    everything = str(fake_slack.wait_for_response(lambda r: r not in fake_slack.responses[:1])["blocks"])

    assert "Supplier may go bust" in shared and "Secret" not in shared and "HR-1" not in shared
    assert "*Open critical and high issues* (1): 1 critical, 1 high" in shared
    assert "Secret Supplier may go bust" in everything
    assert "*Open critical and high issues* (2): 2 critical, 2 high" in everything


# --- /pmo digest ----------------------------------------------------------------------------------


def test_pmo_digest_shows_the_current_digest_to_a_pmo_admin_only_to_them(slack, fake_slack, history):
    slack.command("digest", user_id=PMO_ADMIN, channel_id="C0SOMEWHERE")

    reply = fake_slack.wait_for_response()
    assert reply["text"].startswith("PMO digest 2026-W48")
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert "Amber for 4 consecutive periods" in str(reply["blocks"])
    assert message_problems(reply["blocks"]) == []
    assert digests(fake_slack) == []  # shown, not posted


def test_pmo_digest_in_a_slack_connect_channel_shows_only_projects_shared_with_its_partner(
    slack, fake_slack, session_factory, history
):
    fake_slack.add_channel("C0JOINT", "joint-delivery", is_ext_shared=True, connected_team_ids=(TEAM_ID, "T0PARTNER"))
    with unit_of_work(session_factory) as session:
        partners.share(session, Actor(PMO_ADMIN, True), "CRM-2", "T0PARTNER", now=NOW)

    slack.command("digest", user_id=PMO_ADMIN, channel_id="C0JOINT")

    shown = str(fake_slack.wait_for_response()["blocks"])
    assert "CRM-2 · Customer records" in shown and ":red_circle: Red *1* (+1)" in shown
    assert not any(key in shown for key in ("HR-1", "WEB-3", "OPS-4", "FIN-5", "Operations hub"))
    assert "`HR-1`" not in shown and "delay so far 5 days" in shown  # INC-7 shows only CRM-2's delay


def test_pmo_digest_is_refused_to_others_with_a_reason(slack, fake_slack, history):
    slack.command("digest", user_id=SPONSOR, channel_id="C0SOMEWHERE")

    reply = fake_slack.wait_for_response()
    assert reply["text"].startswith("Only PMO admins can see the digest")
    assert "/pmo status KEY" in reply["text"]
    assert "blocks" not in reply or "PMO digest" not in str(reply.get("blocks"))


# --- the monthly governance pack ----------------------------------------------------------------


def test_first_working_day_skips_weekends_and_skip_dates(session_factory):
    with unit_of_work(session_factory) as session:
        assert first_working_day(session, 2026, 12) == date(2026, 12, 1)  # a Tuesday
        assert first_working_day(session, 2027, 5) == date(2027, 5, 3)  # the 1st is a Saturday
        session.add(SkipDate(team_id=TEAM_ID, day=date(2026, 12, 1), note="Staff day"))
        session.add(SkipDate(team_id=TEAM_ID, day=date(2027, 5, 3), note="Early May bank holiday"))
        session.flush()
        assert first_working_day(session, 2026, 12) == date(2026, 12, 2)
        assert first_working_day(session, 2027, 5) == date(2027, 5, 4)


def test_the_pack_goes_out_once_on_the_first_working_day_with_its_charts(app_context, fake_slack, history):
    run_due_work(app_context, FIRST_OF_DECEMBER - timedelta(minutes=1))
    assert packs(fake_slack) == []

    for minutes in (0, 1, 60):
        run_due_work(app_context, FIRST_OF_DECEMBER + timedelta(minutes=minutes))

    [pack] = packs(fake_slack)
    assert message_problems(pack["blocks"]) == []
    blocks = text_of(pack)
    assert "Governance pack · December 2026" in blocks
    assert "*Portfolio health*, 2026-W36 to 2026-W48: 9 check-ins, 11% of them Red, 1 missed." in blocks
    assert "*Better services online*: realised 10% of target, plan 54% by now" in blocks
    assert "1 of 1 benefits measured, 1 off trajectory" in blocks
    assert (
        "*CRM-2 · Customer records* (`/pmo status CRM-2`), sponsor <@U0SPONSOR>: “Approve the extra budget”" in blocks
    )
    assert "OPS-4" not in blocks.split("Decisions needed")[1]  # Amber, so no decision needed
    assert [call.args["filename"] for call in fake_slack.ok_calls_to("files.getUploadURLExternal")] == [
        "portfolio-health-2026-12.png",
        "benefits-2026-12.png",
    ]
    assert len(fake_slack.ok_calls_to("files.completeUploadExternal")) == 1
    [charts_message] = shared_charts(fake_slack)
    assert charts_message["text"] == (
        "Governance pack · December 2026: charts\n"
        "Milestones of the coming quarter: baseline against forecast: not enough data yet."
    )
    files = fake_slack.files.values()
    assert sorted(f["title"] for f in files) == [
        "Benefits realised against plan, by objective",
        "Portfolio health: RAG mix per week",
    ]
    assert all(f["content"].startswith(PNG_SIGNATURE) and f["channels"] == [PMO_CHANNEL] for f in files)


def test_the_pack_counts_each_week_by_status_from_the_recorded_history(app_context, session_factory, history):
    with unit_of_work(session_factory) as session:
        built = pack.build_pack(
            session,
            now=FIRST_OF_DECEMBER,
            timezone="Europe/London",
            tolerance=0.1,
            default_cadence=app_context.settings.default_cadence,
            cost_tolerance=0.05,
        )

    mix = {week.period: (week.green, week.amber, week.red, week.missed) for week in built.weeks}
    assert list(mix)[0] == "2026-W36" and list(mix)[-1] == "2026-W48" and len(mix) == 13
    assert {period: counts for period, counts in mix.items() if counts != (0, 0, 0, 0)} == {
        "2026-W44": (0, 1, 0, 0),
        "2026-W45": (0, 1, 0, 0),
        "2026-W46": (2, 2, 0, 0),
        "2026-W47": (1, 1, 1, 1),
    }
    [objective] = built.objectives
    assert (objective.objective, objective.benefits, objective.measured, objective.off_track) == (
        "Better services online",
        1,
        1,
        1,
    )
    assert (round(objective.planned_share or 0, 2), round(objective.realised_share or 0, 2)) == (0.54, 0.1)
    assert [decision.project_key for decision in built.decisions] == ["CRM-2"]
    assert built.counts == digest.RagCounts(green=1, amber=2, red=1, no_status=1)


def test_a_month_starting_on_a_weekend_waits_for_monday_at_local_time(app_context, fake_slack, history):

    run_due_work(app_context, datetime(2027, 5, 1, 8, 0, tzinfo=timezone.utc))  # Saturday 09:00 BST
    assert packs(fake_slack) == []
    run_due_work(app_context, datetime(2027, 5, 3, 7, 59, tzinfo=timezone.utc))
    assert packs(fake_slack) == []
    run_due_work(app_context, datetime(2027, 5, 3, 8, 0, tzinfo=timezone.utc))  # Monday 09:00 BST

    [pack] = packs(fake_slack)
    assert "Governance pack · May 2027" in text_of(pack)


def test_a_skip_date_on_the_first_moves_the_pack_to_the_next_working_day_in_its_own_channel(
    app_context, fake_slack, session_factory, history
):
    fake_slack.add_channel("C0BOARD", "governance-board")
    board = with_settings(app_context, pack_channel_id="C0BOARD")
    with unit_of_work(session_factory) as session:
        session.add(SkipDate(team_id=TEAM_ID, day=date(2026, 12, 1), note="Staff day"))

    run_due_work(board, FIRST_OF_DECEMBER)
    assert packs(fake_slack, "C0BOARD") == []
    run_due_work(board, FIRST_OF_DECEMBER + timedelta(days=1))

    assert len(packs(fake_slack, "C0BOARD")) == 1
    assert len(shared_charts(fake_slack, "C0BOARD")) == 1
    assert packs(fake_slack, PMO_CHANNEL) == []


def test_a_pack_more_than_a_week_late_is_not_sent(app_context, fake_slack, session_factory):
    add_project(session_factory)

    run_due_work(app_context, FIRST_OF_DECEMBER + timedelta(days=7))

    assert packs(fake_slack) == [] and fake_slack.calls_to("files.getUploadURLExternal") == []


def test_a_failed_upload_is_tried_again_at_the_next_tick_and_shared_once(app_context, fake_slack, history):
    fake_slack.fail_next("files.getUploadURLExternal", status=500, times=3)  # beyond the client's own retries

    run_due_work(app_context, FIRST_OF_DECEMBER)
    assert len(packs(fake_slack)) == 1 and shared_charts(fake_slack) == []

    run_due_work(app_context, FIRST_OF_DECEMBER + timedelta(minutes=1))
    run_due_work(app_context, FIRST_OF_DECEMBER + timedelta(minutes=2))

    assert len(packs(fake_slack)) == 1
    assert len(shared_charts(fake_slack)) == 1 and len(fake_slack.files) == 2


def test_a_failed_share_is_retried_by_the_ledger_with_the_same_files_never_duplicated(
    app_context, fake_slack, session_factory, history
):
    fake_slack.fail_next("files.completeUploadExternal", status=200, error="fatal_error")

    run_due_work(app_context, FIRST_OF_DECEMBER)
    assert shared_charts(fake_slack) == []

    for minutes in (1, 2, 5, 30):
        run_due_work(app_context, FIRST_OF_DECEMBER + timedelta(minutes=minutes))

    assert len(shared_charts(fake_slack)) == 1
    assert len(fake_slack.ok_calls_to("files.getUploadURLExternal")) == 2  # uploaded once, shared on retry
    assert len(fake_slack.files) == 2 and len(packs(fake_slack)) == 1


def test_a_permanent_upload_error_is_recorded_once_rather_than_tried_every_minute(
    app_context, fake_slack, session_factory, history
):
    fake_slack.fail_next("files.getUploadURLExternal", status=200, error="missing_scope")

    for minutes in (0, 1, 2):
        run_due_work(app_context, FIRST_OF_DECEMBER + timedelta(minutes=minutes))

    assert len(fake_slack.calls_to("files.getUploadURLExternal")) == 1
    assert len(packs(fake_slack)) == 1 and shared_charts(fake_slack) == []
    with unit_of_work(session_factory) as session:
        row = session.query(OutgoingMessage).filter_by(idempotency_key="governance-pack-charts:2026-12").one()
        assert (row.status.value, row.last_error) == ("undeliverable", "missing_scope")


# --- Block Kit limits for a large portfolio ------------------------------------------------------


def _huge_digest() -> Digest:
    long_name = "N" * 200
    keys = [f"PROJECT-{n:05d}-{'K' * 18}" for n in range(5000)]
    evidence = tuple(f"Action “{'T' * 500}” is 40 days overdue (due 2026-10-14)." for _ in range(20))
    rates = [ComplianceRate(key, 1, 3, {"incident": 2, "lead away": 1}) for key in keys]
    milestones = [
        MilestoneLine(n, k, "M" * 200, date(2026, 12, 1), date(2027, 1, 4), None, 23) for n, k in enumerate(keys)
    ]
    raid_risks = [
        RiskLine(
            n,
            k,
            long_name,
            "T" * 500,
            "U0OWNER",
            5,
            5,
            None,
            "reduce",
            "M" * 3000,
            date(2026, 11, 1),
            True,
            NOW.date(),
            15,
            3,
        )
        for n, k in enumerate(keys)
    ]
    return Digest(
        period="2026-W48",
        generated_at=NOW,
        counts=RagCounts(3000, 1500, 400, 100),
        counts_week_ago=RagCounts(3100, 1450, 350, 100),
        turned_worse=[RagChange(k, long_name, Rag.GREEN, Rag.RED, "2026-W47", f"checkin-red:{k}") for k in keys],
        missed=[MissedCheckin(k, long_name, "2026-W47", f"checkin-missed:{k}") for k in keys],
        overdue_bands=[AgeBand("up to a week", 5000), AgeBand("8 to 30 days", 0), AgeBand("over 30 days", 0)],
        overdue=[OverdueActionLine(k, long_name, "T" * 500, "U0OWNER", date(2026, 11, 1), 22) for k in keys],
        off_track=[
            OffTrackLine(k, long_name, "B" * 200, "u" * 40, Decimal("-99999999999999.9999"), Decimal(1)) for k in keys
        ],
        incidents=[
            IncidentLine(
                f"INC-{n}", "S" * 2000, "SEV1", NOW, [AffectedProject(k, 30) for k in keys[:300]], f"incident:{n}"
            )
            for n in range(300)
        ],
        unacknowledged=[
            EscalationLine(f"cause:{k}", k, long_name, EscalationKind.LEGACY, {"text": "R" * 3000}, NOW) for k in keys
        ],
        watermelons=[RuleFinding(k, long_name, evidence) for k in keys],
        stuck=[RuleFinding(k, long_name, evidence) for k in keys],
        compliance=ComplianceReport(date(2026, 8, 24), rates, rates, rates),
        milestones=DigestMilestones(milestones, milestones),
        raid=DigestRaid(
            new_high_risks=raid_risks,
            high_issues=[ProjectIssues(k, long_name, 3, 7) for k in keys],
            overdue_reviews=raid_risks,
            open_decisions=[
                DecisionLine(n, k, long_name, "Q" * 3000, "U0SPONSOR", None, date(2026, 10, 1), NOW.date(), None, None)
                for n, k in enumerate(keys)
            ],
            as_of=NOW.date(),
        ),
    )


def test_the_largest_digest_stays_within_block_kit_limits_and_counts_what_it_leaves_out():
    huge = _huge_digest()
    links = {f"checkin-red:{huge.turned_worse[0].project_key}": "https://fake-workspace.slack.com/archives/C0PMO/p1"}

    blocks = digest_blocks(huge, links)

    assert message_problems(blocks) == []
    assert "…and 4992 more" in str(blocks)
    assert len(digest_text(huge)) < 40_000


def test_the_largest_pack_stays_within_block_kit_limits():
    pack = GovernancePack(
        month="2026-12",
        generated_at=NOW,
        counts=RagCounts(3000, 1500, 400, 100),
        weeks=[WeekMix(f"2026-W{n}", 3000, 1500, 400, 100) for n in range(36, 49)],
        objectives=[ObjectiveProgress("O" * 200, 500, 400, 0.5, 0.25, 120) for _ in range(1000)],
        decisions=[
            DecisionNeeded(f"P-{n}", "N" * 200, "U0SPONSOR", "2026-W48", "H" * 3000, "G" * 3000, date(2027, 1, 1))
            for n in range(2000)
        ],
        milestones=[MilestoneLine(n, "K" * 32, "M" * 200, NOW.date(), NOW.date(), None, 0) for n in range(1000)],
        costs=[ProgrammeCost("P" * 200, Decimal("1e15"), Decimal("2e15"), 500, Rag.RED) for _ in range(1000)],
    )

    assert message_problems(pack_blocks(pack)) == []
    assert message_problems(pack_tables_blocks(pack.weeks, pack.objectives, pack.milestones)) == []


def test_the_packs_charts_have_alt_text_with_their_data_and_the_same_numbers_as_a_table_in_its_thread(
    app_context, fake_slack, history
):
    run_due_work(app_context, FIRST_OF_DECEMBER)

    [pack] = packs(fake_slack)
    alt_texts = [call.args["alt_txt"] for call in fake_slack.ok_calls_to("files.getUploadURLExternal")]
    assert alt_texts[0].startswith("Stacked bar chart of projects by check-in status per week. 2026-W36: ")
    assert "Better services online: realised 10%, plan 54%" in alt_texts[1]
    [tables] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if m.get("thread_ts") == pack["ts"]]
    assert message_problems(tables["blocks"]) == []
    shown = text_of(tables)
    assert "Week        Green  Amber    Red  No update" in shown
    assert "Better services online" in shown and "54%" in shown and "10%" in shown


def test_the_pack_charts_the_coming_quarters_milestones_baseline_against_forecast(
    app_context, fake_slack, session_factory, history
):
    with unit_of_work(session_factory) as session:
        admin = Actor(PMO_ADMIN, is_pmo_admin=True)
        new = milestones.NewMilestone("Data feed live", date(2026, 12, 10), date(2026, 12, 17))
        milestones.create_milestone(session, admin, "CRM-2", new, now=NOW)
        later = milestones.NewMilestone("Go live", date(2027, 6, 1))  # after the quarter
        milestones.create_milestone(session, admin, "CRM-2", later, now=NOW)

    run_due_work(app_context, FIRST_OF_DECEMBER)

    [pack] = packs(fake_slack)
    alt_texts = [call.args["alt_txt"] for call in fake_slack.ok_calls_to("files.getUploadURLExternal")]
    assert len(alt_texts) == 3 and len(shared_charts(fake_slack)) == 1
    assert alt_texts[2] == (
        "Chart per milestone of its baseline date against its forecast date. "
        "CRM-2 · Data feed live: baseline 2026-12-10, forecast 2026-12-17 (+5 working days)"
    )
    [tables] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if m.get("thread_ts") == pack["ts"]]
    assert "CRM-2 · Data feed live" in text_of(tables) and "Go live" not in text_of(tables)


def test_the_pack_shows_budget_against_forecast_per_programme(app_context, fake_slack, session_factory, history):
    with unit_of_work(session_factory) as session:
        for key, budget, forecast in (("CRM-2", "1000000", "1080000"), ("HR-1", "500000", "490000")):
            project = session.query(Project).filter_by(key=key).one()
            figures = cost.CostFigures(budget_whole_life=Decimal(budget), forecast_outturn=Decimal(forecast))
            cost.record_costs(
                session, project, figures, reported_by=LEAD, today=date(2026, 11, 23), start_month=4, now=NOW
            )

    run_due_work(app_context, FIRST_OF_DECEMBER)

    [pack] = packs(fake_slack)
    assert message_problems(pack["blocks"]) == []
    assert (
        "*(no programme)*: budget 1,500,000, forecast 1,570,000 (+70,000), :large_green_circle: Green (2 projects)"
        in text_of(pack)
    )
