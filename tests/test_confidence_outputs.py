"""CONFIDENCE_SCALE beyond the check-in itself: the weekly digest, the monthly governance pack
(its counts, chart alt text and table), the prompt's "Last week", the PMO alert and the HTML
export name each check-in's level on the configured scale, while the rules behind them keep
reasoning on the RAG it maps to; on `rag` they read as they always did.

NOW (conftest) is Monday 2026-11-23 09:00 UTC: the digest's time, and half an hour before the
default check-in prompt. Check-ins are given on Monday 10:00 of their week (as in
tests/portfolio_history.py), so the digest's "a week ago" sees W46 and "now" sees W47.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from bot.context import AppContext
from bot.demo.blockkit import message_problems
from bot.demo.signed import plain_input, static_select
from bot.services import checkins, confidence, portfolio
from bot.services.access import Actor
from bot.services.checkins import CheckinInput
from bot.services.confidence import Scale
from handlers import charts
from handlers.jobs import run_due_work
from storage.models import Rag
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_CHANNEL, make_test_client
from tests.factories import LEAD, SPONSOR, add_project
from tests.portfolio_history import monday
from tests.test_digest import FIRST_OF_DECEMBER, FIVE_PROJECTS  # the pack's time; the digest's projects
from tests.test_foi import cli  # noqa: F401 - the `pmo-bot` fixture

PROMPT_TIME = NOW + timedelta(minutes=30)  # Monday 09:30 in London


@pytest.fixture
def scale() -> Scale:
    return Scale.DCA5


@pytest.fixture
def app_context(settings, session_factory, scale) -> AppContext:
    configured = settings.model_copy(update={"confidence_scale": scale, "digest_enabled": True})
    return AppContext(
        settings=configured, session_factory=session_factory, client=make_test_client(configured), clock=lambda: NOW
    )


def given(session_factory, key: str, period: str, chosen: str) -> None:
    """A check-in for `period` as the form records `chosen` ("dca5:amber_red", or "red" on the rag scale)."""
    overall, level = confidence.read_answer(chosen)
    submitted_at = datetime.combine(monday(period), time(10), tzinfo=timezone.utc)
    needs_path = overall is not Rag.GREEN
    with unit_of_work(session_factory) as session:
        checkins.submit(
            session,
            portfolio.get_project(session, key),
            Actor(LEAD, is_pmo_admin=True),
            period,
            CheckinInput(
                overall=overall,
                confidence=level,
                help_needed="Approve the re-plan" if overall is Rag.RED else None,
                path_to_green="Re-plan with the supplier" if needs_path else None,
                path_to_green_date=submitted_at.date() + timedelta(days=60) if needs_path else None,
            ),
            now=submitted_at,
            tolerance=0.1,
        )


@pytest.fixture
def portfolio_on_dca5(session_factory, fake_slack):
    """CRM-2 Green then Amber/Red, HR-1 Amber/Green, WEB-3 Red, OPS-4 Amber given on the rag scale
    (before the switch), FIN-5 never checked in. HR-1 also checked in four weeks before, so the
    bot has a month of check-ins by the pack's time."""
    for person in (LEAD, SPONSOR):
        fake_slack.add_user(person)
    for key, name in FIVE_PROJECTS:
        add_project(session_factory, key, name, created_at=NOW - timedelta(days=200))
    given(session_factory, "HR-1", "2026-W44", "dca5:amber_green")
    given(session_factory, "CRM-2", "2026-W46", "dca5:green")
    given(session_factory, "CRM-2", "2026-W47", "dca5:amber_red")
    given(session_factory, "HR-1", "2026-W47", "dca5:amber_green")
    given(session_factory, "WEB-3", "2026-W47", "dca5:red")
    given(session_factory, "OPS-4", "2026-W47", "amber")


def _messages(fake_slack, opening: str) -> list[dict]:
    return [m for m in fake_slack.messages_in(PMO_CHANNEL) if m["text"].startswith(opening)]


# --- the weekly digest ----------------------------------------------------------------------------


def test_the_digest_counts_each_level_of_the_five_point_scale_and_names_each_change(
    app_context, fake_slack, portfolio_on_dca5
):
    run_due_work(app_context, NOW)

    [digest] = _messages(fake_slack, "PMO digest")
    shown = str(digest["blocks"])
    assert message_problems(digest["blocks"]) == []
    assert digest["text"].startswith("PMO digest 2026-W48: 0 Green, 1 Amber/Green, 1 Amber, 1 Amber/Red, 1 Red; ")
    # Each level's count and its change since last week, when CRM-2 was Green and HR-1 Amber/Green.
    assert (
        ":large_green_circle: Green *0* (-1)   :large_green_circle: Amber/Green *1* (no change)   "
        ":large_orange_circle: Amber *1* (+1)   :red_circle: Amber/Red *1* (+1)   :red_circle: Red *1* (+1)   "
        ":white_circle: No status *1*"
    ) in shown
    # Turned worse is judged on the RAG (Green to Red) and named on the scale.
    assert "CRM-2 · Customer records" in shown
    assert ":large_green_circle: Green → :red_circle: Amber/Red (2026-W47)" in shown
    assert "*Watermelons: Green or Amber/Green outside, red inside*" in shown


@pytest.mark.parametrize("scale", [Scale.RAG])
def test_on_the_rag_scale_the_digest_counts_by_colour_as_before(app_context, fake_slack, portfolio_on_dca5):
    run_due_work(app_context, NOW)

    [digest] = _messages(fake_slack, "PMO digest")
    shown = str(digest["blocks"])
    assert digest["text"].startswith("PMO digest 2026-W48: 1 Green, 1 Amber, 2 Red; ")
    assert ":large_green_circle: Green *1* (-1)   :large_orange_circle: Amber *1* (+1)   " in shown
    assert ":red_circle: Red *2* (+2)" in shown
    assert ":large_green_circle: Green → :red_circle: Red (2026-W47)" in shown
    assert "*Watermelons: Green outside, red inside*" in shown
    assert "Amber/" not in shown


# --- the monthly governance pack ------------------------------------------------------------------


def test_the_pack_its_chart_and_its_table_name_the_five_levels(app_context, fake_slack, portfolio_on_dca5):
    run_due_work(app_context, FIRST_OF_DECEMBER)

    [pack] = _messages(fake_slack, "Governance pack for")
    shown = str(pack["blocks"])
    assert message_problems(pack["blocks"]) == []
    assert "6 check-ins, 33% of them Amber/Red or Red, 0 missed." in shown
    assert ":large_green_circle: Amber/Green *1*" in shown and ":red_circle: Amber/Red *1*" in shown
    assert "*Decisions needed: Amber/Red or Red projects asking for help from above* (2)" in shown

    [mix_alt_text, *_others] = [call.args["alt_txt"] for call in fake_slack.ok_calls_to("files.getUploadURLExternal")]
    assert "2026-W46: 1 Green, 0 Amber/Green, 0 Amber, 0 Amber/Red, 0 Red, 0 no update" in mix_alt_text
    assert "2026-W47: 0 Green, 1 Amber/Green, 1 Amber, 1 Amber/Red, 1 Red, 0 no update" in mix_alt_text

    [tables] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if m.get("thread_ts") == pack["ts"]]
    table = str(tables["blocks"])
    assert message_problems(tables["blocks"]) == []
    assert "Week        Green  Amber/Green  Amber  Amber/Red    Red  No update" in table
    assert "2026-W47        0            1      1          1      1          0" in table


@pytest.mark.parametrize("scale", [Scale.RAG])
def test_on_the_rag_scale_the_pack_its_chart_and_its_table_read_as_before(app_context, fake_slack, portfolio_on_dca5):
    run_due_work(app_context, FIRST_OF_DECEMBER)

    [pack] = _messages(fake_slack, "Governance pack for")
    assert "6 check-ins, 33% of them Red, 0 missed." in str(pack["blocks"])
    [mix_alt_text, *_others] = [call.args["alt_txt"] for call in fake_slack.ok_calls_to("files.getUploadURLExternal")]
    assert "2026-W47: 1 Green, 1 Amber, 2 Red, 0 no update" in mix_alt_text
    [tables] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if m.get("thread_ts") == pack["ts"]]
    assert "Week        Green  Amber    Red  No update" in str(tables["blocks"])


def test_every_level_of_every_scale_has_its_own_colour_in_the_chart():
    for scale in Scale:
        colours = [charts.LEVEL_COLOURS[level.value] for level in confidence.levels(scale)]
        assert len(set(colours)) == len(colours)


# --- the prompt's "Last week" and the PMO alert -----------------------------------------------------


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    fake_slack.add_user(LEAD)
    fake_slack.add_user(SPONSOR)
    add_project(session_factory, channels=("C0CRM",))


def test_the_prompt_names_last_weeks_level_on_the_scale(app_context, fake_slack, session_factory, crm):
    given(session_factory, "CRM-2", "2026-W47", "dca5:amber_red")

    run_due_work(app_context, PROMPT_TIME)

    [prompt] = fake_slack.messages_in("C0CRM")
    assert "Last week: :red_circle: Amber/Red. It takes a minute" in str(prompt["blocks"])


@pytest.mark.parametrize("scale", [Scale.RAG])
def test_on_the_rag_scale_the_prompt_names_last_weeks_colour(app_context, fake_slack, session_factory, crm):
    given(session_factory, "CRM-2", "2026-W47", "dca5:amber_red")

    run_due_work(app_context, PROMPT_TIME)

    [prompt] = fake_slack.messages_in("C0CRM")
    assert "Last week: :red_circle: Red. It takes a minute" in str(prompt["blocks"])


def _answer(slack, fake_slack, listeners, chosen: str) -> None:
    """CRM-2's team answers the form at NOW: for 2026-W47, as this week's prompt is not due until 09:30."""
    before = len(fake_slack.calls_to("views.open"))
    slack.command("checkin CRM-2", user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()
    view = fake_slack.calls_to("views.open")[before].args["view"]
    values = {
        "overall": {"overall": static_select(chosen)},
        "progress": {"progress": plain_input("The supplier is late")},
        "path_to_green": {"path_to_green": plain_input("Re-plan the data feed")},
        "path_to_green_date": {"path_to_green_date": {"type": "datepicker", "selected_date": "2027-01-15"}},
    }
    slack.view_submission("checkin.submit", values, user_id=LEAD, private_metadata=view["private_metadata"])
    listeners.wait_idle()


def _alert_text(fake_slack) -> str:
    [alert] = [m for m in fake_slack.messages_in(PMO_CHANNEL) if m["text"].startswith("Escalation: CRM-2")]
    latest = [call.args for call in fake_slack.ok_calls_to("chat.update") if call.args["ts"] == alert["ts"]]
    return str((latest[-1] if latest else alert)["blocks"])


def test_the_pmo_alert_names_the_levels_its_rule_reasoned_on_as_colours(
    slack, fake_slack, session_factory, listeners, crm
):
    given(session_factory, "CRM-2", "2026-W46", "dca5:amber_green")

    _answer(slack, fake_slack, listeners, "dca5:amber_red")
    # Amber/Green is Green and Amber/Red is Red: a drop of two colours, named as the team gave it.
    assert "Dropped from Amber/Green to Amber/Red in 2026-W47." in _alert_text(fake_slack)

    _answer(slack, fake_slack, listeners, "dca5:amber")
    assert "Amended: the team now reports Amber, so this no longer applies." in _alert_text(fake_slack)


def test_a_red_check_in_given_on_the_rag_scale_is_alerted_as_this_scales_first_red_level(
    slack, fake_slack, session_factory, listeners, crm
):
    given(session_factory, "CRM-2", "2026-W46", "amber")

    # A form opened before the switch to dca5, answered after it.
    _answer(slack, fake_slack, listeners, "red")
    assert "Reported Amber/Red in 2026-W47." in _alert_text(fake_slack)


def test_a_red_check_in_given_on_this_scale_is_alerted_at_its_level(slack, fake_slack, session_factory, listeners, crm):
    given(session_factory, "CRM-2", "2026-W46", "dca5:amber")

    _answer(slack, fake_slack, listeners, "dca5:red")
    assert "Reported Red in 2026-W47." in _alert_text(fake_slack)


@pytest.mark.parametrize("scale", [Scale.RAG])
def test_on_the_rag_scale_the_pmo_alert_reads_as_before(slack, fake_slack, session_factory, listeners, crm):
    given(session_factory, "CRM-2", "2026-W46", "green")

    _answer(slack, fake_slack, listeners, "red")

    assert "Dropped from Green to Red in 2026-W47." in _alert_text(fake_slack)


# --- exports ----------------------------------------------------------------------------------------


def test_the_html_export_names_the_level_as_given_next_to_its_rag(cli, session_factory, tmp_path):  # noqa: F811
    add_project(session_factory)
    given(session_factory, "CRM-2", "2026-W47", "dca5:amber_red")
    given(session_factory, "CRM-2", "2026-W48", "amber")

    assert cli("export-project", "CRM-2", "--format", "html") == 0

    page = (tmp_path / "CRM-2-export.html").read_text(encoding="utf-8")
    assert '<span class="rag rag-red">Amber/Red</span> (dca5 scale)' in page
    assert '<td><span class="rag rag-red">Red</span></td>' in page  # overall_rag, as stored
    assert page.count("(dca5 scale)") == 1  # the rag-scale check-in has no level of its own
