"""The App Home tab: published when opened, refreshed after a check-in, within Slack's limits.

The app runs at AT, Monday 2026-11-23 10:00 UTC, after the default cadence instant, so
every active project owes its 2026-W48 check-in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.context import AppContext
from bot.demo.blockkit import view_problems
from bot.demo.signed import plain_input, static_select
from bot.services.confidence import Scale
from bot.services.decisions import DecisionLine
from bot.services.health import StatusRow, TablePage
from bot.services.status import MAX_OWN_PROJECTS, MyAction, PendingCheckin, PersonalView
from handlers.blocks.common import slack_date
from handlers.blocks.home import home_view
from handlers.delivery import refresh_home
from storage.models import ActionStatus, Rag
from tests.conftest import NOW
from tests.factories import LEAD, SPONSOR, STRANGER, add_project
from tests.test_status import AT, OTHER_SPONSOR, TODAY, add_action, add_checkin, shown_text


@pytest.fixture
def app_context(app_context: AppContext) -> AppContext:
    return replace(app_context, clock=lambda: AT)


def open_home(slack, fake_slack, listeners, user_id: str, tab: str = "home") -> dict | None:
    slack.event({"type": "app_home_opened", "user": user_id, "channel": f"D0{user_id}", "tab": tab})
    listeners.wait_idle()
    return fake_slack.home_views.get(user_id)


def test_opening_the_home_tab_shows_my_projects_pending_check_ins_and_actions(
    slack, fake_slack, listeners, session_factory
):
    add_project(session_factory, "CRM-2", "Customer records")  # LEAD leads it, SPONSOR sponsors it
    add_project(session_factory, "HR-1", "HR system", sponsor=OTHER_SPONSOR, lead=OTHER_SPONSOR)
    add_checkin(session_factory, "CRM-2", "2026-W47", Rag.AMBER, at=AT - timedelta(days=7))
    add_action(session_factory, "CRM-2", "Agree the data-sharing protocol", due=TODAY - timedelta(days=2), owner=LEAD)
    add_action(session_factory, "HR-1", "Book the room", due=TODAY + timedelta(days=3), owner=LEAD)

    view = open_home(slack, fake_slack, listeners, LEAD)

    assert view is not None and view["type"] == "home" and view_problems(view) == []
    shown = shown_text(view)
    assert "*CRM-2* · Customer records" in shown and "HR-1* · HR system" not in shown
    assert "no check-in for 2026-W48 yet" in shown
    submit = next(block["accessory"] for block in view["blocks"] if "accessory" in block)
    assert submit["action_id"] == "checkin.submit"
    assert submit["value"] == '{"v":1,"project_key":"CRM-2","period":"2026-W48"}'
    assert "2 open actions, 1 overdue" in shown
    overdue_since = slack_date(date(2026, 11, 21))
    assert f"*CRM-2* Agree the data-sharing protocol · due {overdue_since} :warning: *overdue*" in shown
    assert f"*HR-1* Book the room · due {slack_date(date(2026, 11, 26))}" in shown


def test_my_action_figures_count_past_the_lines_shown_and_only_my_open_ones(
    slack, fake_slack, listeners, session_factory
):
    """The lines and both figures come from one read: the counts are taken before the limit."""
    add_project(session_factory, "CRM-2", "Customer records")
    add_project(session_factory, "HR-1", "HR system", sponsor=OTHER_SPONSOR, lead=OTHER_SPONSOR)
    for n in range(11):
        add_action(session_factory, "CRM-2", f"Late {n:02d}", due=TODAY - timedelta(days=20 - n), owner=LEAD)
    add_action(session_factory, "HR-1", "Book the room", due=TODAY + timedelta(days=3), owner=LEAD)
    add_action(
        session_factory, "CRM-2", "Done already", due=TODAY - timedelta(days=30), owner=LEAD, status=ActionStatus.DONE
    )
    add_action(session_factory, "CRM-2", "Someone else's", due=TODAY - timedelta(days=30), owner=SPONSOR)

    shown = shown_text(open_home(slack, fake_slack, listeners, LEAD))

    assert "12 open actions, 11 overdue" in shown
    assert "*CRM-2* Late 09" in shown and "Late 10" not in shown and "…and 2 more" in shown
    assert "Done already" not in shown and "Someone else's" not in shown


def test_a_sponsor_sees_their_projects_but_no_check_ins_to_give(slack, fake_slack, listeners, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    shown = shown_text(open_home(slack, fake_slack, listeners, SPONSOR))

    assert "*CRM-2* · Customer records" in shown
    assert "_None: every project you lead has its update in._" in shown
    assert "_No open actions._" in shown


def test_someone_with_nothing_gets_a_home_that_says_so(slack, fake_slack, listeners, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    shown = shown_text(open_home(slack, fake_slack, listeners, STRANGER))

    assert "You don't sponsor or lead any project" in shown


def test_the_messages_tab_publishes_nothing(slack, fake_slack, listeners, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    assert open_home(slack, fake_slack, listeners, LEAD, tab="messages") is None
    assert fake_slack.calls_to("views.publish") == []


def test_a_check_in_refreshes_the_homes_of_the_lead_the_sponsor_and_the_submitter(
    slack, fake_slack, listeners, session_factory
):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, "U0MEMBER"))
    add_project(session_factory, "CRM-2", "Customer records", channels=("C0CRM",))
    assert "no check-in for 2026-W48 yet" in shown_text(open_home(slack, fake_slack, listeners, LEAD))

    slack.view_submission(
        "checkin.submit",
        {"overall": {"overall": static_select("green")}, "progress": {"progress": plain_input("Data migrated")}},
        user_id="U0MEMBER",
        private_metadata='{"project_key": "CRM-2", "period": "2026-W48"}',
    )
    listeners.wait_idle()

    homes = fake_slack.home_views
    assert set(homes) == {LEAD, SPONSOR, "U0MEMBER"}
    assert "no check-in for 2026-W48 yet" not in shown_text(homes[LEAD])
    assert ":large_green_circle: Green *CRM-2*" in shown_text(homes[SPONSOR])


def test_refresh_home_publishes_each_person_once_and_skips_blanks(app_context, fake_slack, session_factory):
    add_project(session_factory, "CRM-2", "Customer records")

    refresh_home(app_context, [LEAD, None, "", LEAD, SPONSOR], NOW)

    assert [call.args["user_id"] for call in fake_slack.calls_to("views.publish")] == [LEAD, SPONSOR]


def test_the_fullest_home_stays_within_the_100_block_limit():
    row = StatusRow("K" * 32, "N" * 200, Rag.RED, None, AT, 9, 9, 9)
    view = PersonalView(
        projects=TablePage([row] * MAX_OWN_PROJECTS, 0, 13, 500, Counter({Rag.RED: 500})),
        actions=[MyAction("K" * 32, "T" * 500, TODAY, True)] * 10,
        open_actions=900,
        overdue_actions=800,
        pending_checkins=[PendingCheckin("K" * 32, "N" * 200, "2026-W48")] * 300,
        today=TODAY,
        decisions_asked=[DecisionLine(1, "K" * 32, "N", "Q" * 3000, "U0SPONSOR", None, TODAY, TODAY, None, None)] * 30,
    )

    built = home_view(view, scale=Scale.DCA5, now=AT)

    assert view_problems(built) == []
    assert "…and 460 more" in shown_text(built) and "…and 280 more" in shown_text(built)
    assert "…and 20 more: `/pmo decisions` lists them all." in shown_text(built)
