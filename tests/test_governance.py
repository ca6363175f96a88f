"""Governance rules over a portfolio with a known history: each rule's positive and negative cases.

NOW (conftest) is Monday 2026-11-23 09:00 UTC, week 2026-W48, before that week's prompts;
the latest check-ins are therefore those of 2026-W47.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.services import benefits, governance
from bot.services.access import Actor
from bot.services.cadence import Cadence
from bot.services.governance import GovernanceFindings
from storage.models import Absence, Project, SkipDate
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, TEAM_ID
from tests.factories import add_benefit, add_project
from tests.portfolio_history import (
    action,
    checkin,
    due_at,
    in_programme,
    incident,
    lead_away,
    monday,
    prompted,
)

DEFAULT_CADENCE = Cadence(0, "09:30", "Europe/London")
ANSWER_WINDOW = timedelta(hours=48)


def evaluate(session_factory, now: datetime = NOW) -> GovernanceFindings:
    with unit_of_work(session_factory) as session:
        return governance.evaluate(
            session,
            now=now,
            today=now.date(),
            tolerance=0.1,
            default_cadence=DEFAULT_CADENCE,
            answer_window=ANSWER_WINDOW,
        )


@pytest.fixture
def keyed(session_factory):
    """Findings by project key rather than id."""

    def by_key(findings) -> dict[str, tuple[str, ...]]:
        with unit_of_work(session_factory) as session:
            projects = governance.active_projects(session, default_cadence=DEFAULT_CADENCE)
        return {projects[finding.project_id].key: finding.evidence for finding in findings}

    return by_key


def report_value(session_factory, benefit_id: int, value: str, on: date) -> None:
    with unit_of_work(session_factory) as session:
        benefits.report_value(
            session, Actor(PMO_ADMIN, True), benefit_id, Decimal(value), on, now=NOW, today=NOW.date()
        )


# --- watermelon -------------------------------------------------------------------------------


def test_green_with_a_long_overdue_action_an_off_track_benefit_or_a_missed_check_in_is_a_watermelon(
    session_factory, keyed
):
    for key in ("ACT-1", "BEN-2", "MIS-3"):
        add_project(session_factory, key, f"Project {key}", created_at=NOW - timedelta(days=200))
    checkin(session_factory, "ACT-1", "2026-W47", "green")
    action(session_factory, "ACT-1", "Agree the data-sharing protocol", due=NOW.date() - timedelta(days=8))
    checkin(session_factory, "BEN-2", "2026-W47", "green")
    # Planned 0 -> 1000 over 200 days from creation: about 500 expected by now, 100 measured.
    benefit_id = add_benefit(
        session_factory, "BEN-2", target_date=NOW.date() + timedelta(days=100), created_at=NOW - timedelta(days=100)
    )
    report_value(session_factory, benefit_id, "100", NOW.date() - timedelta(days=3))
    checkin(session_factory, "MIS-3", "2026-W46", "green")
    prompted(session_factory, "MIS-3", "2026-W47", missed=True)

    found = keyed(evaluate(session_factory).watermelons)

    assert set(found) == {"ACT-1", "BEN-2", "MIS-3"}
    assert found["ACT-1"] == (
        "Reported Green in 2026-W47.",
        "Action “Agree the data-sharing protocol” is 6 working days overdue (due 2026-11-15).",
    )
    assert found["BEN-2"][1] == "Benefit “Calls avoided” is off trajectory: 100 calls/month, plan 500 by now."
    assert found["MIS-3"] == ("Reported Green in 2026-W46.", "Missed the check-in for 2026-W47.")


def test_no_watermelon_without_green_or_without_a_warning_sign(session_factory, keyed):
    for key in ("WEEK-1", "AMB-2", "OLD-3", "EXC-4", "DONE-5", "ONTRACK-6"):
        add_project(session_factory, key, f"Project {key}", created_at=NOW - timedelta(days=200))
    checkin(session_factory, "WEEK-1", "2026-W47", "green")
    action(session_factory, "WEEK-1", "Overdue by exactly a week", due=NOW.date() - timedelta(days=7))
    checkin(session_factory, "AMB-2", "2026-W47", "amber")
    action(session_factory, "AMB-2", "Long overdue, but the project says Amber", due=NOW.date() - timedelta(days=30))
    checkin(session_factory, "OLD-3", "2026-W47", "green")
    prompted(session_factory, "OLD-3", "2026-W42", missed=True)  # six weeks ago
    checkin(session_factory, "EXC-4", "2026-W46", "green")
    prompted(session_factory, "EXC-4", "2026-W47", missed=True, excused_reason="incident")
    checkin(session_factory, "DONE-5", "2026-W47", "green")
    action(session_factory, "DONE-5", "Done long ago", due=NOW.date() - timedelta(days=30), status="done")
    checkin(session_factory, "ONTRACK-6", "2026-W47", "green")
    benefit_id = add_benefit(
        session_factory, "ONTRACK-6", target_date=NOW.date() + timedelta(days=100), created_at=NOW - timedelta(days=100)
    )
    report_value(session_factory, benefit_id, "480", NOW.date())

    assert keyed(evaluate(session_factory).watermelons) == {}


# --- stuck -------------------------------------------------------------------------------------


def test_amber_for_four_periods_is_stuck_and_a_gap_in_reporting_does_not_break_the_run(session_factory, keyed):
    add_project(session_factory, "AMB-4", "Four ambers", created_at=NOW - timedelta(days=200))
    add_project(session_factory, "GAP-4", "Amber with a gap", created_at=NOW - timedelta(days=200))
    for period in ("2026-W44", "2026-W45", "2026-W46", "2026-W47"):
        checkin(session_factory, "AMB-4", period, "amber", green_by=date(2027, 3, 1))
    for period in ("2026-W44", "2026-W46", "2026-W47"):  # W45 unanswered: still Amber as far as anyone knows
        checkin(session_factory, "GAP-4", period, "amber", green_by=date(2027, 3, 1))

    found = keyed(evaluate(session_factory).stuck)

    assert found == {
        "AMB-4": ("Amber for 4 consecutive periods, since 2026-W44.",),
        "GAP-4": ("Amber for 4 consecutive periods, since 2026-W44.",),
    }


def test_three_ambers_or_an_amber_run_ended_by_green_is_not_stuck(session_factory, keyed):
    add_project(session_factory, "AMB-3", "Three ambers", created_at=NOW - timedelta(days=200))
    add_project(session_factory, "BACK-1", "Back to green", created_at=NOW - timedelta(days=200))
    checkin(session_factory, "AMB-3", "2026-W44", "green")
    for period in ("2026-W45", "2026-W46", "2026-W47"):
        checkin(session_factory, "AMB-3", period, "amber", green_by=date(2027, 3, 1))
    for period in ("2026-W42", "2026-W43", "2026-W44", "2026-W45", "2026-W46"):
        checkin(session_factory, "BACK-1", period, "amber", green_by=date(2027, 3, 1))
    checkin(session_factory, "BACK-1", "2026-W47", "green")

    assert keyed(evaluate(session_factory).stuck) == {}


def test_a_path_to_green_date_moved_later_in_two_successive_check_ins_is_stuck(session_factory, keyed):
    add_project(session_factory, "SLIP-2", "Slipping", created_at=NOW - timedelta(days=200))
    checkin(session_factory, "SLIP-2", "2026-W45", "red", green_by=date(2026, 12, 1))
    checkin(session_factory, "SLIP-2", "2026-W46", "amber", green_by=date(2026, 12, 15))
    checkin(session_factory, "SLIP-2", "2026-W47", "amber", green_by=date(2027, 1, 10))

    found = keyed(evaluate(session_factory).stuck)

    assert found == {
        "SLIP-2": (
            "Path-to-green date slipped twice in a row: 2026-12-01 (2026-W45) → 2026-12-15 (2026-W46) "
            "→ 2027-01-10 (2026-W47).",
        )
    }


def test_one_slip_a_date_held_a_green_in_between_or_an_amendment_is_not_slipping_twice(session_factory, keyed):
    for key in ("ONCE-1", "HELD-2", "GREEN-3", "AMEND-4"):
        add_project(session_factory, key, f"Project {key}", created_at=NOW - timedelta(days=200))
    checkin(session_factory, "ONCE-1", "2026-W46", "amber", green_by=date(2026, 12, 1))
    checkin(session_factory, "ONCE-1", "2026-W47", "amber", green_by=date(2026, 12, 15))
    for period, green_by in (("2026-W45", date(2026, 12, 1)), ("2026-W46", date(2026, 12, 15))):
        checkin(session_factory, "HELD-2", period, "red", green_by=green_by)
    checkin(session_factory, "HELD-2", "2026-W47", "red", green_by=date(2026, 12, 15))
    checkin(session_factory, "GREEN-3", "2026-W44", "amber", green_by=date(2026, 12, 1))
    checkin(session_factory, "GREEN-3", "2026-W45", "amber", green_by=date(2026, 12, 8))
    checkin(session_factory, "GREEN-3", "2026-W46", "green")
    checkin(session_factory, "GREEN-3", "2026-W47", "amber", green_by=date(2026, 12, 20))
    # An amendment in the same week replaces that week's check-in; it is not a second check-in.
    checkin(session_factory, "AMEND-4", "2026-W46", "red", green_by=date(2026, 12, 1))
    checkin(session_factory, "AMEND-4", "2026-W47", "red", green_by=date(2026, 12, 8))
    checkin(
        session_factory,
        "AMEND-4",
        "2026-W47",
        "red",
        green_by=date(2026, 12, 22),
        at=datetime(2026, 11, 17, 10, tzinfo=timezone.utc),
    )

    assert keyed(evaluate(session_factory).stuck) == {}


# --- fair compliance -----------------------------------------------------------------------------


@pytest.fixture
def compliance_portfolio(session_factory):
    """Three projects over 2026-W41..W48, with every kind of excuse on DIG-1.

    DIG-1 (Digital, sponsor U0SPONSA, lead U0LEADA): answered W41 and W44 (late) and missed
    W45; W42 fell in an incident, W43 on a skip date, W46 was excused by the check-in cycle
    (an incident pause), W47 its lead was away; W48 is still open.
    EST-2 (Estates, sponsor U0SPONSB): answered W44 and W45.
    DIG-3 (Digital, sponsor U0SPONSB): missed W45.
    """
    add_project(session_factory, "DIG-1", "Digital one", sponsor="U0SPONSA", lead="U0LEADA")
    add_project(session_factory, "EST-2", "Estates two", sponsor="U0SPONSB", lead="U0LEADB")
    add_project(session_factory, "DIG-3", "Digital three", sponsor="U0SPONSB", lead="U0LEADC")
    for key, programme in (("DIG-1", "Digital"), ("EST-2", "Estates"), ("DIG-3", "Digital")):
        in_programme(session_factory, key, programme)

    prompted(session_factory, "DIG-1", "2026-W41")
    checkin(session_factory, "DIG-1", "2026-W41", "green")
    prompted(session_factory, "DIG-1", "2026-W42", missed=True)
    incident(
        session_factory,
        "INC-1",
        delays={"DIG-1": 3},
        declared_at=due_at("2026-W42") + timedelta(hours=20),
        resolved_at=due_at("2026-W42") + timedelta(days=4),
    )
    prompted(session_factory, "DIG-1", "2026-W43", missed=True)
    with unit_of_work(session_factory) as session:
        session.add(SkipDate(team_id=TEAM_ID, day=monday("2026-W43"), note="Staff day"))
    prompted(session_factory, "DIG-1", "2026-W44", missed=True)
    checkin(session_factory, "DIG-1", "2026-W44", "green", at=due_at("2026-W44") + timedelta(days=3))
    prompted(session_factory, "DIG-1", "2026-W45", missed=True)
    prompted(session_factory, "DIG-1", "2026-W46", excused_reason="incident")
    prompted(session_factory, "DIG-1", "2026-W47", missed=True)
    lead_away(
        session_factory, "U0LEADA", monday("2026-W47") - timedelta(days=2), monday("2026-W47") + timedelta(days=4)
    )
    prompted(session_factory, "DIG-1", "2026-W48")

    for period in ("2026-W44", "2026-W45"):
        prompted(session_factory, "EST-2", period)
        checkin(session_factory, "EST-2", period, "green")
    prompted(session_factory, "DIG-3", "2026-W45", missed=True)


def test_fair_compliance_counts_only_the_periods_a_team_could_answer(session_factory, compliance_portfolio):
    report = evaluate(session_factory, now=NOW + timedelta(days=1)).compliance

    rates = {rate.name: (rate.answered, rate.owed, rate.excused) for rate in report.by_project}
    assert rates == {
        "DIG-1": (2, 3, {"incident": 2, "skip date": 1, "lead away": 1}),
        "DIG-3": (0, 1, {}),
        "EST-2": (2, 2, {}),
    }
    assert [rate.name for rate in report.by_project] == ["DIG-3", "DIG-1", "EST-2"]  # lowest first
    assert {rate.name: (rate.answered, rate.owed) for rate in report.by_programme} == {
        "Digital": (2, 4),
        "Estates": (2, 2),
    }
    assert {rate.name: (rate.answered, rate.owed) for rate in report.by_sponsor} == {
        "U0SPONSA": (2, 3),
        "U0SPONSB": (2, 3),
    }
    assert report.by_programme[0].rate == pytest.approx(0.5)


def test_without_the_excuses_the_same_periods_would_count_against_the_team(session_factory, compliance_portfolio):
    with unit_of_work(session_factory) as session:
        session.query(SkipDate).delete()
        session.query(Absence).delete()

    report = evaluate(session_factory, now=NOW + timedelta(days=1)).compliance

    [dig_1] = [rate for rate in report.by_project if rate.name == "DIG-1"]

    assert (dig_1.answered, dig_1.owed, dig_1.excused) == (2, 5, {"incident": 2})


def test_periods_outside_the_window_or_of_inactive_projects_are_not_counted(session_factory):
    add_project(session_factory, "OLD-1", "Old misses")
    prompted(session_factory, "OLD-1", "2026-W30", missed=True)  # more than 13 weeks ago
    add_project(session_factory, "PAU-2", "Paused")
    prompted(session_factory, "PAU-2", "2026-W46", missed=True)
    with unit_of_work(session_factory) as session:
        session.query(Project).filter_by(key="PAU-2").one().status = "paused"

    report = evaluate(session_factory).compliance

    assert [(rate.name, rate.owed) for rate in report.by_project] == [("OLD-1", 0)]
