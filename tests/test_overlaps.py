"""Possible overlaps: the similarity score, which pairs are suggested, and the weekly note.

NOW (conftest) is Monday 2026-11-23 09:00 UTC, which is 09:00 in Europe/London: the
default overlap day and time.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest

from bot.demo.blockkit import message_problems
from bot.services import overlaps, portfolio
from bot.services.overlaps import ProjectProfile, Verdict, find_overlaps, pair_key, similarity, words
from handlers.blocks.overlaps import MAX_PAIRS_IN_NOTE, OverlapChoice, note_blocks, with_verdicts
from handlers.jobs import run_due_work
from storage.models import Decision, Project
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, PMO_CHANNEL
from tests.factories import STRANGER, add_benefit, add_project

LABELLED_PAIRS = Path(__file__).parent / "data" / "overlap_pairs.csv"
DEFAULT_THRESHOLD = 0.35
CRM_PAIR = "overlap:CRM-2:CRM-5"
PAYMENTS_PAIR = "overlap:PAY-1:TAX-3"


# --- the similarity score -------------------------------------------------------------------


def test_words_are_lower_case_singular_and_leave_out_words_every_project_has():
    assert words("The Customer Records project, phase 2") == {"customer", "record"}
    assert words("Policies and processes") == {"policy", "process"}


def test_similarity_is_the_share_of_distinct_words_two_texts_have_in_common():
    alike = similarity("Customer records", "Customer records migration")

    assert alike.score == pytest.approx(2 / 3)
    assert alike.shared_words == ("customer", "record") and alike.distinct_words == 3


def test_similarity_is_symmetric_and_zero_without_shared_words():
    assert similarity("Online payments", "Online payment portal") == similarity(
        "Online payment portal", "Online payments"
    )
    assert similarity("HR system", "Finance system").score == 0
    assert similarity("", "").score == 0


def _labelled_pairs() -> list[tuple[bool, ProjectProfile, ProjectProfile]]:
    with LABELLED_PAIRS.open(newline="") as file:
        rows = list(csv.DictReader(file))
    return [
        (
            row["label"] == "overlap",
            ProjectProfile("A-1", row["first_name"], row["first_description"] or None, "One objective"),
            ProjectProfile("B-1", row["second_name"], row["second_description"] or None, "One objective"),
        )
        for row in rows
    ]


def test_on_the_labelled_pairs_nine_in_ten_suggestions_are_real_overlaps():
    outcomes = [
        (is_overlap, bool(find_overlaps([first, second], threshold=DEFAULT_THRESHOLD)))
        for is_overlap, first, second in _labelled_pairs()
    ]
    suggested = [is_overlap for is_overlap, was_suggested in outcomes if was_suggested]
    real = [was_suggested for is_overlap, was_suggested in outcomes if is_overlap]

    precision = sum(suggested) / len(suggested)
    recall = sum(real) / len(real)
    assert len(outcomes) >= 30
    assert precision >= 0.9 and recall >= 0.8, (precision, recall)


# --- which pairs are suggested ----------------------------------------------------------------


def test_projects_with_a_shared_objective_and_similar_names_are_paired_with_the_evidence():
    [overlap] = find_overlaps(
        [
            ProjectProfile("CRM-5", "Customer records migration", objective="Better services online"),
            ProjectProfile("CRM-2", "Customer records", objective="Better services online"),
            ProjectProfile("WEB-1", "Website accessibility", objective="Better services online"),
        ],
        threshold=DEFAULT_THRESHOLD,
    )

    assert (overlap.first.key, overlap.second.key, overlap.subject_key) == ("CRM-2", "CRM-5", CRM_PAIR)
    assert overlap.shared_objective == "Better services online" and overlap.similar_texts
    assert overlap.similarity is not None and overlap.similarity.shared_words == ("customer", "record")


def test_similar_names_under_different_objectives_and_no_shared_services_are_not_paired():
    assert (
        find_overlaps(
            [
                ProjectProfile(
                    "CRM-2", "Customer records", objective="Better services online", services=frozenset({"CRM"})
                ),
                ProjectProfile(
                    "CRM-5", "Customer records", objective="Cheaper back office", services=frozenset({"ERP"})
                ),
            ],
            threshold=DEFAULT_THRESHOLD,
        )
        == []
    )


def test_projects_depending_on_the_same_service_with_the_same_measure_are_paired_across_objectives():
    pay = ProjectProfile(
        "PAY-1", "Card payments", objective="A", services=frozenset({"PAY", "WEB"}), measures=("Calls",)
    )
    tax = ProjectProfile(
        "TAX-3", "Council tax", objective="B", services=frozenset({"PAY"}), measures=("Cost", "  CALLS ")
    )
    same_service_other_measure = ProjectProfile("HR-1", "HR", services=frozenset({"PAY"}), measures=("Sick days",))
    same_measure_other_service = ProjectProfile("LIB-1", "Library", services=frozenset({"LIB"}), measures=("calls",))

    [overlap] = find_overlaps(
        [pay, tax, same_service_other_measure, same_measure_other_service], threshold=DEFAULT_THRESHOLD
    )

    assert overlap.subject_key == PAYMENTS_PAIR and not overlap.similar_texts
    assert overlap.shared_services == ("PAY",) and overlap.shared_measures == ("Calls",)


def test_descriptions_count_only_when_both_projects_have_one():
    described = ProjectProfile("A-1", "Records", "Scan paper case files into one document store", "O")
    bare = ProjectProfile("B-1", "Records", None, "O")
    also_described = ProjectProfile("C-1", "Files", "Scan paper case files into one document store", "O")

    by_pair = {o.subject_key: o for o in find_overlaps([described, bare, also_described], threshold=0.5)}

    assert not by_pair["overlap:A-1:B-1"].compared_descriptions  # names alone: "records" both
    assert by_pair["overlap:A-1:C-1"].compared_descriptions
    assert "overlap:B-1:C-1" not in by_pair


def test_decided_pairs_are_left_out_and_stronger_evidence_comes_first():
    profiles = [
        ProjectProfile("CRM-2", "Customer records", objective="O", services=frozenset({"CRM"}), measures=("Calls",)),
        ProjectProfile("CRM-5", "Customer records", objective="O", services=frozenset({"CRM"}), measures=("Calls",)),
        ProjectProfile("CRM-7", "Customer records migration", objective="O"),
    ]

    assert [o.subject_key for o in find_overlaps(profiles, threshold=DEFAULT_THRESHOLD)] == [
        CRM_PAIR,  # both rules
        "overlap:CRM-2:CRM-7",
        "overlap:CRM-5:CRM-7",
    ]
    assert [o.subject_key for o in find_overlaps(profiles, threshold=DEFAULT_THRESHOLD, decided={CRM_PAIR})] == [
        "overlap:CRM-2:CRM-7",
        "overlap:CRM-5:CRM-7",
    ]


def test_comparisons_stay_within_objective_groups():
    profiles = [
        ProjectProfile(f"P-{number}", f"Project {number}", objective=f"Objective {number % 200}")
        for number in range(2000)
    ]

    assert len(overlaps.candidate_pairs(profiles)) == 200 * (10 * 9 // 2)


def test_a_pair_key_is_the_same_whichever_project_comes_first():
    assert pair_key("CRM-5", "CRM-2") == pair_key("CRM-2", "CRM-5") == CRM_PAIR


# --- the note's blocks ---------------------------------------------------------------------------


def test_the_largest_note_stays_within_slacks_limits_and_counts_what_it_leaves_out():
    long_words = " ".join(f"word{n}" for n in range(300))
    pairs = find_overlaps(
        [
            ProjectProfile(
                f"{'K' * 28}-{n:03d}",
                "N" * 200,
                long_words,
                "O" * 200,
                services=frozenset(f"S-{s}" for s in range(50)),
                measures=tuple(f"{'M' * 195} {m}" for m in range(20)),
            )
            for n in range(30)
        ],
        threshold=DEFAULT_THRESHOLD,
    )
    blocks = note_blocks("2026-W48", pairs)

    assert len(pairs) == 30 * 29 // 2
    assert message_problems(blocks) == []
    assert f"…and {len(pairs) - MAX_PAIRS_IN_NOTE} more" in str(blocks)


def test_a_verdict_replaces_the_pairs_buttons_and_nothing_else():
    pairs = find_overlaps(
        [ProjectProfile(key, "Customer records", objective="O") for key in ("CRM-2", "CRM-5", "CRM-7")],
        threshold=DEFAULT_THRESHOLD,
    )
    blocks = note_blocks("2026-W48", pairs)

    decided = with_verdicts(blocks, {CRM_PAIR: Verdict(CRM_PAIR, "combine", PMO_ADMIN, NOW)})

    assert len(decided) == len(blocks) and message_problems(decided) == []
    [verdict] = [block for block in decided if block.get("block_id") == CRM_PAIR]
    assert verdict["type"] == "context" and f"*Combine*, decided by <@{PMO_ADMIN}>" in str(verdict)
    assert [b for b in decided if b.get("block_id") != CRM_PAIR] == [b for b in blocks if b.get("block_id") != CRM_PAIR]


# --- the weekly note in Slack ---------------------------------------------------------------------


@pytest.fixture
def portfolio_with_overlaps(session_factory):
    """CRM-2 and CRM-5 alike by name; PAY-1 and TAX-3 share a service and a benefit measure."""
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "CRM-5", "Customer records migration")
    add_project(session_factory, "HR-1", "Customer records", objective="Cheaper back office")
    add_project(session_factory, "PAY-1", "Card payments", objective="Cheaper back office")
    add_project(session_factory, "TAX-3", "Council tax online", objective="Fairer taxes")
    add_benefit(session_factory, "PAY-1")
    add_benefit(session_factory, "TAX-3")
    with unit_of_work(session_factory) as session:
        for key in ("PAY-1", "TAX-3"):
            portfolio.set_services(session, portfolio.get_project(session, key), ["PAYMENTS"], now=NOW)


def notes(fake_slack) -> list[dict]:
    return [message for message in fake_slack.messages_in(PMO_CHANNEL) if "Possible overlaps" in message["text"]]


def listed_pairs(message: dict) -> list[str]:
    return [block["block_id"] for block in message["blocks"] if block.get("block_id", "").startswith("overlap:")]


def test_the_note_is_posted_once_a_week_with_each_pair_once(app_context, fake_slack, portfolio_with_overlaps):
    run_due_work(app_context, NOW)
    run_due_work(app_context, NOW + timedelta(minutes=1))
    run_due_work(app_context, NOW + timedelta(days=3))

    [note] = notes(fake_slack)
    assert listed_pairs(note) == [CRM_PAIR, PAYMENTS_PAIR]
    assert "2026-W48" in note["text"] and message_problems(note["blocks"]) == []
    assert "customer, record" in str(note["blocks"]) and "Calls about address changes" in str(note["blocks"])
    assert "HR-1" not in str(note["blocks"])  # alike by name, but under another objective


def test_a_quiet_week_posts_nothing(app_context, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "WEB-1", "Website accessibility")

    run_due_work(app_context, NOW)

    assert notes(fake_slack) == []


def test_a_quiet_week_is_compared_once_and_later_pairs_wait_for_next_week(app_context, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    run_due_work(app_context, NOW)  # the week's comparison: nothing alike

    add_project(session_factory, "CRM-5", "Customer records migration")
    run_due_work(app_context, NOW + timedelta(hours=2))
    assert notes(fake_slack) == []  # every tick this week skips the comparison

    run_due_work(app_context, NOW + timedelta(days=7))
    [note] = notes(fake_slack)
    assert "2026-W49" in note["text"]


def test_a_pmo_verdict_updates_the_note_in_place_and_the_pair_never_comes_back(
    app_context, slack, fake_slack, session_factory, portfolio_with_overlaps, listeners
):
    run_due_work(app_context, NOW)
    [note] = notes(fake_slack)

    slack.block_action(
        "overlap.combine",
        user_id=PMO_ADMIN,
        channel_id=PMO_CHANNEL,
        message=note,
        block_id=CRM_PAIR,
        value=OverlapChoice(CRM_PAIR, "2026-W48").to_json(),
    )
    listeners.wait_idle()

    [update] = [call.args for call in fake_slack.ok_calls_to("chat.update") if call.args["ts"] == note["ts"]]
    assert f"*Combine*, decided by <@{PMO_ADMIN}>" in str(update["blocks"])
    assert "overlap.combine" in str(update["blocks"])  # the other pair can still be decided
    with unit_of_work(session_factory) as session:
        [decision] = session.query(Decision).all()
        assert (decision.subject_key, decision.outcome) == (CRM_PAIR, "combine")

    run_due_work(app_context, NOW + timedelta(days=7))

    [_, next_week] = notes(fake_slack)
    assert "2026-W49" in next_week["text"] and listed_pairs(next_week) == [PAYMENTS_PAIR]


def test_only_pmo_admins_decide_and_the_first_verdict_stands(
    app_context, slack, fake_slack, session_factory, portfolio_with_overlaps, listeners
):
    run_due_work(app_context, NOW)
    [note] = notes(fake_slack)
    choice = OverlapChoice(PAYMENTS_PAIR, "2026-W48").to_json()

    def click(action_id: str, user_id: str) -> None:
        slack.block_action(
            action_id, user_id=user_id, channel_id=PMO_CHANNEL, message=note, block_id=PAYMENTS_PAIR, value=choice
        )
        listeners.wait_idle()

    click("overlap.different", STRANGER)
    assert "Only PMO admins" in fake_slack.wait_for_response()["text"]
    assert fake_slack.ok_calls_to("chat.update") == []

    click("overlap.different", PMO_ADMIN)
    with unit_of_work(session_factory) as session:
        assert [(d.subject_key, d.outcome) for d in session.query(Decision).all()] == [(PAYMENTS_PAIR, "different")]


def test_a_second_admin_clicking_an_old_copy_is_told_who_decided(
    app_context, slack, fake_slack, session_factory, portfolio_with_overlaps, listeners, settings
):
    second_admin = "U0SECONDADMIN"
    settings.pmo_admin_ids = frozenset({PMO_ADMIN, second_admin})  # the running app reads this object
    run_due_work(app_context, NOW)
    [note] = notes(fake_slack)
    choice = OverlapChoice(CRM_PAIR, "2026-W48").to_json()

    for action_id, user_id in (("overlap.same_effort", PMO_ADMIN), ("overlap.different", second_admin)):
        slack.block_action(
            action_id, user_id=user_id, channel_id=PMO_CHANNEL, message=note, block_id=CRM_PAIR, value=choice
        )
        listeners.wait_idle()

    assert f"already decided by <@{PMO_ADMIN}>: same effort" in fake_slack.wait_for_response()["text"]
    with unit_of_work(session_factory) as session:
        assert [d.outcome for d in session.query(Decision).all()] == ["same_effort"]


def test_closed_and_paused_projects_are_not_compared(app_context, fake_slack, session_factory, portfolio_with_overlaps):
    with unit_of_work(session_factory) as session:
        session.query(Project).filter_by(key="CRM-5").one().status = "closed"
        session.query(Project).filter_by(key="TAX-3").one().status = "paused"

    run_due_work(app_context, NOW)

    assert notes(fake_slack) == []
