"""Closing a project (`/pmo close KEY`) and finding lessons across the portfolio (`/pmo lessons`)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import plain_input, static_select
from bot.services import closure, partners
from bot.services.access import Actor
from bot.services.closure import Closure, ClosureInput, FoundLesson, LessonSearch, lesson_lines
from bot.services.portfolio import BenefitLine
from handlers.blocks.closure import closure_modal, closure_note_blocks, lessons_blocks, project_closed_modal
from handlers.jobs import run_due_work
from storage.models import Decision, Lesson, Project, ProjectStatus
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, TEAM_ID
from tests.factories import LEAD, SPONSOR, STRANGER, add_benefit, add_project

CALLBACK_ID = "project.close"
PARTNER = "T0PARTNER"


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    add_project(session_factory, channels=("C0CRM",))


def closure_form(
    outcome: str | None = "delivered",
    benefits: str = "Calls avoided at 4,200 of 5,000; Sam keeps reporting monthly.",
    **texts: str,
) -> dict:
    values = {
        "outcome": {
            "outcome": static_select(outcome) if outcome else {"type": "static_select", "selected_option": None}
        },
        "benefits": {"benefits": plain_input(benefits)},
    }
    for block_id in ("summary", "repeat", "avoid"):
        values[block_id] = {block_id: plain_input(texts.get(block_id, ""))}
    return values


def submit(slack, user_id: str = LEAD, key: str = "CRM-2", **form):
    return slack.view_submission(
        CALLBACK_ID, closure_form(**form), user_id=user_id, private_metadata=json.dumps({"project_key": key})
    )


def close_directly(session_factory, key: str, *, repeat: str = "", avoid: str = "", at: datetime = NOW) -> None:
    with unit_of_work(session_factory) as session:
        closure.close_project(
            session,
            Actor(PMO_ADMIN, is_pmo_admin=True),
            key,
            ClosureInput("delivered", "All realised.", repeat=repeat, avoid=avoid),
            now=at,
        )


# --- the form ---------------------------------------------------------------------------------


def test_the_lead_opens_the_closure_form_showing_the_benefits(slack, fake_slack, session_factory, crm):
    add_benefit(session_factory)

    slack.command("close crm-2", user_id=LEAD, channel_id="C0CRM")

    view = fake_slack.wait_for("views.open").args["view"]
    assert view["callback_id"] == CALLBACK_ID and view_problems(view) == []
    assert "Calls avoided" in str(view["blocks"]) and json.loads(view["private_metadata"]) == {
        "v": 1,
        "project_key": "CRM-2",
    }


def test_someone_who_is_not_accountable_cannot_close_a_project(slack, fake_slack, session_factory, crm):
    slack.command("close CRM-2", user_id=STRANGER, channel_id="C0CRM")
    refused = submit(slack, user_id=STRANGER)

    assert "Only PMO admins and CRM-2's sponsor or lead can close it" in fake_slack.wait_for_response()["text"]
    assert "Only PMO admins" in refused.json()["errors"]["outcome"]
    assert fake_slack.calls_to("views.open") == []
    with unit_of_work(session_factory) as session:
        assert session.query(Project).filter_by(key="CRM-2").one().status is ProjectStatus.ACTIVE


def test_closing_stores_outcome_lessons_and_posts_a_note_in_the_channel(
    slack, fake_slack, session_factory, crm, listeners
):
    response = submit(
        slack,
        user_id=SPONSOR,
        summary="New CRM live for all services.",
        repeat="- Weekly demos with the contact centre\n\n• Pair with the supplier on data migration",
        avoid="1. Signing the contract before the data audit",
    )
    listeners.wait_idle()

    assert response.json()["response_action"] == "update"
    assert "1 to avoid" in str(response.json()["view"]["blocks"])
    with unit_of_work(session_factory) as session:
        project = session.query(Project).filter_by(key="CRM-2").one()
        assert project.status is ProjectStatus.CLOSED and project.closed_at is not None
        [decision] = session.query(Decision).all()
        assert (decision.subject_key, decision.outcome, decision.project_id) == (
            "closure:CRM-2",
            "delivered",
            project.id,
        )
        assert "Benefits: Calls avoided at 4,200" in (decision.note or "")
        assert [(lesson.kind, lesson.text) for lesson in session.query(Lesson).order_by(Lesson.id)] == [
            ("repeat", "Weekly demos with the contact centre"),
            ("repeat", "Pair with the supplier on data migration"),
            ("avoid", "Signing the contract before the data audit"),
        ]
    [note] = fake_slack.messages_in("C0CRM")
    assert "CRM-2 · Customer records is closed: Delivered" in note["text"]
    assert f"by <@{SPONSOR}>" in str(note["blocks"]) and "2 to repeat and 1 to avoid" in str(note["blocks"])


def test_form_problems_are_shown_inline_and_nothing_changes(slack, fake_slack, session_factory, crm):
    response = submit(slack, outcome=None, benefits="  ")

    assert set(response.json()["errors"]) == {"outcome", "benefits"}
    with unit_of_work(session_factory) as session:
        assert session.query(Project).filter_by(key="CRM-2").one().status is ProjectStatus.ACTIVE
        assert session.query(Decision).count() == 0 and session.query(Lesson).count() == 0


def test_a_closed_project_cannot_be_closed_again_and_gets_no_more_prompts(
    app_context, slack, fake_slack, session_factory, crm
):
    close_directly(session_factory, "CRM-2")

    slack.command("close CRM-2", user_id=PMO_ADMIN, channel_id="C0CRM")
    run_due_work(app_context, datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc))  # its check-in instant

    assert "CRM-2 was already closed on 2026-11-23" in fake_slack.wait_for_response()["text"]
    assert fake_slack.messages_in("C0CRM") == []


def test_lesson_lines_drop_bullets_numbers_and_blank_lines():
    assert lesson_lines(" - one\n\n* two \n3) three\n•  four\nno bullet") == [
        "one",
        "two",
        "three",
        "four",
        "no bullet",
    ]
    assert lesson_lines(None) == []


# --- /pmo lessons --------------------------------------------------------------------------------


@pytest.fixture
def closed_projects(session_factory):
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR portal")
    close_directly(
        session_factory,
        "CRM-2",
        repeat="Agree the SUPPLIER exit plan early\nDemo every week",
        avoid="Contract signed before the data audit",
    )
    close_directly(session_factory, "HR-1", avoid="Supplier contract without an exit plan", at=NOW + timedelta(days=1))


def test_lessons_match_every_word_in_any_case_newest_first_with_key_and_kind(slack, fake_slack, closed_projects):
    slack.command("lessons supplier EXIT", user_id=STRANGER, channel_id="C0ANY")

    reply = fake_slack.wait_for_response()
    lessons = [block["text"]["text"] for block in reply["blocks"][1:]]
    assert lessons == [
        "*HR-1* · :warning: avoid: Supplier contract without an exit plan",
        "*CRM-2* · :white_check_mark: repeat: Agree the SUPPLIER exit plan early",
    ]
    assert reply.get("response_type", "ephemeral") == "ephemeral"


def test_a_project_key_finds_all_its_lessons_and_no_match_says_how_lessons_get_there(
    slack, fake_slack, closed_projects
):
    slack.command("lessons crm-2", user_id=STRANGER, channel_id="C0ANY")
    assert "3 lessons match" in fake_slack.wait_for_response()["text"]

    slack.command("lessons 100%", user_id=STRANGER, channel_id="C0ANY")
    assert "/pmo close KEY" in str(fake_slack.wait_for_response(lambda r: "100%" in r["text"])["blocks"])


def test_a_channel_shared_with_a_partner_sees_only_the_lessons_of_projects_shared_with_it(
    slack, fake_slack, session_factory, closed_projects
):
    fake_slack.add_channel("C0JOINT", "joint-delivery", is_ext_shared=True, connected_team_ids=(TEAM_ID, PARTNER))
    with unit_of_work(session_factory) as session:
        partners.share(session, Actor(PMO_ADMIN, is_pmo_admin=True), "HR-1", PARTNER, now=NOW)

    slack.command("lessons supplier", user_id=STRANGER, channel_id="C0JOINT")

    reply = fake_slack.wait_for_response()
    assert "1 lesson match" in reply["text"] and "HR-1" in str(reply["blocks"])
    assert "CRM-2" not in str(reply["blocks"])


def test_many_matches_are_capped_and_counted(session, session_factory):
    add_project(session_factory, "BIG-1", "Big programme")
    close_directly(session_factory, "BIG-1", repeat="\n".join(f"Lesson {n} about budgets" for n in range(25)))

    search = closure.find_lessons(session, ["budgets"])

    assert search.total == 25 and len(search.lessons) == closure.MAX_LESSON_RESULTS
    assert "the newest 20 of 25" in str(lessons_blocks(search))


def test_lessons_without_words_shows_the_usage(slack, fake_slack):
    slack.command("lessons", user_id=STRANGER, channel_id="C0ANY")

    assert "/pmo lessons WORDS" in fake_slack.wait_for_response()["text"]


# --- Block Kit limits ------------------------------------------------------------------------------


def test_the_largest_closure_form_note_and_search_stay_within_slacks_limits():
    line = BenefitLine("B" * 200, "u" * 40, Decimal(0), Decimal(10**13), "2027-06-30", None, Decimal(1), True, 1)
    done = Closure(1, "K" * 32, "N" * 200, "Partly delivered", "S" * 3000, "B" * 3000, 400, 400, "C0CRM")
    search = LessonSearch(
        ["w" * 3000], 5000, [FoundLesson("K" * 32, "N" * 200, "avoid", "T" * 3000) for _ in range(20)]
    )

    assert view_problems(closure_modal("K" * 32, "N" * 200, [line] * 300)) == []
    assert view_problems(project_closed_modal(done)) == []
    assert message_problems(closure_note_blocks(done, LEAD)) == []
    assert message_problems(lessons_blocks(search)) == []
