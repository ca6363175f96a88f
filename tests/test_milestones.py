"""Milestones and dependencies: `/pmo milestone add`, `/pmo milestones`, the check-in's forecasts,
`/pmo dependency add`, the slip notice, `/pmo status KEY` and the digest.

NOW (conftest) is Monday 2026-11-23 09:00 UTC.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.context import AppContext
from bot.demo.blockkit import message_problems, view_problems
from bot.demo.signed import datepicker, plain_input, static_select
from bot.services import milestones_csv
from bot.services.calendar import WorkingCalendar
from bot.services.milestones import (
    DependencyLine,
    DigestMilestones,
    MilestoneLine,
    MilestonePlan,
    ProjectSchedule,
    slippage,
)
from bot.services.portfolio_csv import ImportRejected
from handlers.blocks.milestones import (
    checkin_milestone_blocks,
    digest_milestone_blocks,
    milestone_list_blocks,
    schedule_blocks,
)
from handlers.jobs import run_due_work
from storage.models import Milestone, MilestoneDependency, SkipDate
from storage.session import unit_of_work
from tests.conftest import NOW, TEAM_ID, make_test_client
from tests.factories import LEAD, SPONSOR, STRANGER, add_project

HR_LEAD = "U0HRLEAD"


@pytest.fixture
def app_context(settings, session_factory) -> AppContext:
    """The app at NOW, so "today" and the form's 8 weeks are the same on every run."""
    return AppContext(
        settings=settings, session_factory=session_factory, client=make_test_client(settings), clock=lambda: NOW
    )


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    for person in (LEAD, SPONSOR, HR_LEAD, STRANGER):
        fake_slack.add_user(person)
    add_project(session_factory, channels=("C0CRM",))


@pytest.fixture
def hr(crm, fake_slack, session_factory):
    fake_slack.add_channel("C0HR", "hr-team", members=(HR_LEAD,))
    add_project(session_factory, "HR-1", "HR system", lead=HR_LEAD, channels=("C0HR",))


def _add(slack, key: str, name: str, baseline: str, forecast: str | None = None, *, user_id: str = LEAD):
    values = {
        "name": {"name": plain_input(name)},
        "baseline": {"baseline": datepicker(baseline)},
        "forecast": {"forecast": datepicker(forecast)},
    }
    metadata = json.dumps({"v": 1, "project_key": key})
    return slack.view_submission("milestone.new", values, user_id=user_id, private_metadata=metadata)


def _milestone_id(session_factory, name: str) -> int:
    with session_factory() as session:
        return session.scalars(select(Milestone.id).where(Milestone.name == name)).one()


def _stored(session_factory, name: str) -> tuple[date, date, date | None]:
    with session_factory() as session:
        milestone = session.scalars(select(Milestone).where(Milestone.name == name)).one()
        return milestone.baseline_date, milestone.forecast_date, milestone.actual_date


def _listed(slack, fake_slack, listeners, key: str = "CRM-2", user_id: str = STRANGER) -> dict:
    slack.command(f"milestones {key}", user_id=user_id, channel_id="C0ELSEWHERE")
    listeners.wait_idle()
    return fake_slack.responses[-1]


def _ref(milestone_id: int) -> str:
    return json.dumps({"v": 1, "milestone_id": milestone_id})


# --- slippage, in working days of the one calendar -----------------------------------------------


def test_slippage_counts_working_days_and_skips_weekends_and_skip_dates():
    calendar = WorkingCalendar({date(2026, 12, 8)})

    assert slippage(calendar, date(2026, 12, 4), date(2026, 12, 9)) == 2  # Fri -> Wed, Tue skipped
    assert slippage(calendar, date(2026, 12, 9), date(2026, 12, 4)) == -2
    assert slippage(calendar, date(2026, 12, 4), date(2026, 12, 6)) == 0  # the weekend moves nothing


# --- adding and listing ------------------------------------------------------------------------------


def test_the_lead_adds_a_milestone_through_the_form_and_anyone_lists_it(slack, fake_slack, crm, listeners):
    slack.command("milestone add crm-2", user_id=LEAD, channel_id="C0CRM")
    view = fake_slack.wait_for("views.open").args["view"]
    assert view["callback_id"] == "milestone.new" and view_problems(view) == []

    added = _add(slack, "CRM-2", "Data migrated", "2026-12-04", "2026-12-08")
    listed = _listed(slack, fake_slack, listeners)

    assert added.json()["response_action"] == "update"
    assert message_problems(listed["blocks"]) == []
    text = str(listed["blocks"])
    assert ":warning: *Data migrated*: forecast" in text and "2 working days late" in text
    assert "Change forecast" in text and "Mark met" in text


def test_the_form_says_what_to_fix_and_nobody_else_may_add(slack, fake_slack, crm, session_factory, listeners):
    _add(slack, "CRM-2", "Data migrated", "2026-12-04")

    clash = _add(slack, "CRM-2", "data MIGRATED", "2026-12-11")
    no_date = slack.view_submission(
        "milestone.new",
        {"name": {"name": plain_input("Go live")}, "baseline": {"baseline": datepicker(None)}},
        user_id=LEAD,
        private_metadata=json.dumps({"v": 1, "project_key": "CRM-2"}),
    )
    slack.command("milestone add CRM-2", user_id=STRANGER, channel_id="C0CRM")
    refused = fake_slack.wait_for_response()

    assert clash.json()["errors"] == {
        "name": "CRM-2 already has a milestone called “Data migrated”. Choose another name."
    }
    assert set(no_date.json()["errors"]) == {"baseline"}
    assert refused["text"].startswith("Only PMO admins and CRM-2's sponsor or lead can add milestones")
    assert fake_slack.calls_to("views.open") == []


def test_change_forecast_and_mark_met_from_the_list(slack, fake_slack, crm, session_factory, listeners):
    _add(slack, "CRM-2", "Data migrated", "2026-12-04")
    listed = _listed(slack, fake_slack, listeners, user_id=LEAD)
    message = {"ts": "1.1", "blocks": listed["blocks"]}

    slack.block_action("milestone.change_forecast", user_id=LEAD, channel_id="C0ELSEWHERE", message=message)
    view = fake_slack.wait_for("views.open").args["view"]
    assert view_problems(view) == [] and "'initial_date': '2026-12-04'" in str(view["blocks"])
    saved = slack.view_submission(
        "milestone.forecast",
        {"forecast": {"forecast": datepicker("2026-12-07")}},
        user_id=LEAD,
        private_metadata=view["private_metadata"],
    )
    assert saved.json()["response_action"] == "update"
    assert _stored(session_factory, "Data migrated") == (date(2026, 12, 4), date(2026, 12, 7), None)

    slack.block_action("milestone.met", user_id=LEAD, channel_id="C0ELSEWHERE", message=message)
    listeners.wait_idle()
    assert _stored(session_factory, "Data migrated")[2] == NOW.date()
    assert "*Data migrated*: met" in str(fake_slack.responses[-1]["blocks"])


def test_someone_without_rights_cannot_move_a_forecast(slack, fake_slack, crm, session_factory, listeners):
    _add(slack, "CRM-2", "Data migrated", "2026-12-04")
    milestone_id = _milestone_id(session_factory, "Data migrated")

    slack.view_submission(
        "milestone.forecast",
        {"forecast": {"forecast": datepicker("2027-01-04")}},
        user_id=STRANGER,
        private_metadata=_ref(milestone_id),
    )

    assert _stored(session_factory, "Data migrated")[1] == date(2026, 12, 4)


def _button_value(blocks: list[dict], action_id: str, after: str) -> tuple[str, dict]:
    """The value and block of the first `action_id` button after the text `after`, and the button itself."""
    seen = False
    for block in blocks:
        seen = seen or after in str(block.get("text", ""))
        elements = block.get("elements", []) + ([block["accessory"]] if "accessory" in block else [])
        for element in elements:
            if seen and element.get("action_id") == action_id:
                return element["value"], element
    raise AssertionError(f"no {action_id} after {after}")


def test_edit_renames_and_rebaselines_a_milestone_and_the_name_must_stay_unique(
    slack, fake_slack, crm, session_factory, listeners
):
    _add(slack, "CRM-2", "Go live", "2027-01-04", "2027-01-18")
    _add(slack, "CRM-2", "Data migrated", "2026-12-04")
    listed = {"ts": "1.1", **_listed(slack, fake_slack, listeners, user_id=LEAD)}
    value, _ = _button_value(listed["blocks"], "milestone.edit", "Go live")

    slack.block_action("milestone.edit", user_id=LEAD, channel_id="C0ELSEWHERE", value=value, message=listed)
    view = fake_slack.wait_for("views.open").args["view"]
    assert view_problems(view) == [] and "'initial_value': 'Go live'" in str(view["blocks"])
    assert "'initial_date': '2027-01-04'" in str(view["blocks"])

    def save(name: str, baseline: str):
        values = {"name": {"name": plain_input(name)}, "baseline": {"baseline": datepicker(baseline)}}
        return slack.view_submission(
            "milestone.edited", values, user_id=LEAD, private_metadata=view["private_metadata"]
        ).json()

    clash = save("data MIGRATED", "2027-01-11")
    assert "already has a milestone called “Data migrated”" in clash["errors"]["name"]
    saved = save("Service live", "2027-01-11")

    assert saved["response_action"] == "update" and "*CRM-2 · Service live*" in str(saved["view"])
    assert "|Mon 11 Jan 2027>, 5 working days late)" in str(saved["view"])  # the forecast stays 18 Jan
    assert _stored(session_factory, "Service live") == (date(2027, 1, 11), date(2027, 1, 18), None)


def test_remove_asks_first_then_takes_the_milestone_and_what_others_need_of_it(
    slack, fake_slack, hr, session_factory, listeners
):
    _add(slack, "HR-1", "Data feed live", "2026-12-10", user_id=HR_LEAD)
    _add_dependency(slack, fake_slack, session_factory)
    listed = {"ts": "1.1", **_listed(slack, fake_slack, listeners, key="HR-1", user_id=HR_LEAD)}
    value, button = _button_value(listed["blocks"], "milestone.remove", "Data feed live")
    assert button["confirm"]["confirm"]["text"] == "Remove" and button["style"] == "danger"

    slack.block_action("milestone.remove", user_id=HR_LEAD, channel_id="C0ELSEWHERE", value=value, message=listed)
    listeners.wait_idle()

    assert "None yet. `/pmo milestone add HR-1` adds one." in str(fake_slack.responses[-1]["blocks"])
    with session_factory() as session:
        assert session.scalars(select(Milestone)).all() == []
        assert session.scalars(select(MilestoneDependency)).all() == []


def test_a_dependency_is_listed_with_what_the_project_needs_and_removed_by_its_lead_only(
    slack, fake_slack, hr, session_factory, listeners
):
    _add(slack, "HR-1", "Data feed live", "2026-12-10", user_id=HR_LEAD)
    _add_dependency(slack, fake_slack, session_factory)
    listed = {"ts": "1.1", **_listed(slack, fake_slack, listeners, user_id=LEAD)}
    assert "*What CRM-2 needs from other projects*" in str(listed["blocks"])
    value, _ = _button_value(listed["blocks"], "dependency.remove", "needs HR-1's *Data feed live*")

    slack.block_action("dependency.remove", user_id=HR_LEAD, channel_id="C0ELSEWHERE", value=value, message=listed)
    listeners.wait_idle()
    assert fake_slack.responses[-1]["text"].startswith("Only")
    slack.block_action("dependency.remove", user_id=LEAD, channel_id="C0ELSEWHERE", value=value, message=listed)
    listeners.wait_idle()

    assert "needs from other projects" not in str(fake_slack.responses[-1]["blocks"])
    with session_factory() as session:
        assert session.scalars(select(MilestoneDependency)).all() == []
        assert session.scalars(select(Milestone.name)).all() == ["Data feed live"]


# --- the check-in form ---------------------------------------------------------------------------------


def _checkin_values(**forecasts: str) -> dict:
    form = {"overall": {"overall": static_select("green")}, "progress": {"progress": plain_input("Fine")}}
    for block_id, day in forecasts.items():
        form[block_id] = {block_id: datepicker(day)}
    return form


def test_the_check_in_asks_about_milestones_due_in_eight_weeks_and_its_summary_lists_the_forecasts_moved(
    slack, fake_slack, crm, session_factory, listeners
):
    _add(slack, "CRM-2", "Data migrated", "2026-12-04")
    _add(slack, "CRM-2", "Go live", "2027-06-01")  # beyond 8 weeks
    soon = _milestone_id(session_factory, "Data migrated")

    slack.command("checkin CRM-2", user_id=LEAD, channel_id="C0CRM")
    view = fake_slack.wait_for("views.open").args["view"]
    inputs = {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}
    assert view_problems(view) == []
    assert inputs[f"milestone:{soon}"]["element"]["initial_date"] == "2026-12-04"
    assert not any("Go live" in block["label"]["text"] for block in inputs.values())

    slack.view_submission(
        "checkin.submit",
        _checkin_values(**{f"milestone:{soon}": "2026-12-11"}),
        user_id=LEAD,
        private_metadata=view["private_metadata"],
    )
    listeners.wait_idle()

    assert _stored(session_factory, "Data migrated")[1] == date(2026, 12, 11)
    [summary] = fake_slack.messages_in("C0CRM")
    assert "Forecasts moved: Data migrated <!date^" in str(summary["blocks"])
    assert "|Fri 4 Dec 2026> → <!date^" in str(summary["blocks"]) and "|Fri 11 Dec 2026>" in str(summary["blocks"])

    # An amendment giving the same forecast again moves nothing, so its summary lists none.
    slack.view_submission(
        "checkin.submit",
        _checkin_values(**{f"milestone:{soon}": "2026-12-11"}),
        user_id=LEAD,
        private_metadata=view["private_metadata"],
    )
    listeners.wait_idle()
    amended = fake_slack.messages_in("C0CRM")[-1]
    assert "Amended update" in str(amended["blocks"]) and "Forecasts moved" not in str(amended["blocks"])


def test_milestones_in_a_full_check_in_form_stay_within_a_modals_blocks():
    lines = [MilestoneLine(n, "CRM-2", "M" * 200, date(2026, 12, 4), date(2026, 12, 9), None, 3) for n in range(10)]

    assert checkin_milestone_blocks("CRM-2", lines, room=11)[-1]["type"] == "input"
    squeezed = checkin_milestone_blocks("CRM-2", lines, room=5)
    assert len(squeezed) == 5 and "7 more milestones" in str(squeezed[-1])
    assert len(checkin_milestone_blocks("CRM-2", lines, room=2)) == 1
    assert checkin_milestone_blocks("CRM-2", lines, room=0) == []


# --- dependencies and the slip notice ---------------------------------------------------------------------


def _add_dependency(slack, fake_slack, session_factory, needed_by: str = "2026-12-14"):
    slack.command("dependency add CRM-2", user_id=LEAD, channel_id="C0CRM")
    view = fake_slack.wait_for("views.open").args["view"]
    assert view_problems(view) == []
    milestone_id = _milestone_id(session_factory, "Data feed live")
    return slack.view_submission(
        "dependency.new",
        {
            "milestone": {"milestone": static_select(str(milestone_id))},
            "needed_by": {"needed_by": datepicker(needed_by)},
        },
        user_id=LEAD,
        private_metadata=view["private_metadata"],
    )


def _slip_notices(fake_slack) -> tuple[list[str], list[str]]:
    def texts(channel: str) -> list[str]:
        return [message["text"] for message in fake_slack.messages_in(channel) if "is now forecast" in message["text"]]

    return texts("C0CRM"), texts(LEAD)


def _move_forecast(slack, session_factory, day: str):
    return slack.view_submission(
        "milestone.forecast",
        {"forecast": {"forecast": datepicker(day)}},
        user_id=HR_LEAD,
        private_metadata=_ref(_milestone_id(session_factory, "Data feed live")),
    )


def test_a_slip_past_the_needed_by_date_tells_the_channel_and_lead_once_per_slip(
    app_context, slack, fake_slack, hr, session_factory, listeners
):
    _add(slack, "HR-1", "Data feed live", "2026-12-10", user_id=HR_LEAD)
    added = _add_dependency(slack, fake_slack, session_factory)
    assert "in time" in str(added.json()["view"])

    _move_forecast(slack, session_factory, "2026-12-18")
    listeners.wait_idle()
    run_due_work(app_context, NOW)
    channel, lead = _slip_notices(fake_slack)
    assert len(channel) == 1 and len(lead) == 1
    assert "HR-1's milestone Data feed live is now forecast for 18 Dec 2026, after CRM-2 needs it" in channel[0]
    assert "4 working days after" in str(fake_slack.messages_in("C0CRM")[-1]["blocks"])

    _move_forecast(slack, session_factory, "2026-12-16")  # better, still late: no new slip
    listeners.wait_idle()
    run_due_work(app_context, NOW)
    assert [len(texts) for texts in _slip_notices(fake_slack)] == [1, 1]

    _move_forecast(slack, session_factory, "2026-12-21")  # later again: a new slip
    listeners.wait_idle()
    assert [len(texts) for texts in _slip_notices(fake_slack)] == [2, 2]
    assert fake_slack.messages_in("C0HR") == []


def test_both_projects_status_shows_the_late_dependency_and_milestones(
    slack, fake_slack, hr, session_factory, listeners
):
    _add(slack, "HR-1", "Data feed live", "2026-12-10", "2026-12-18", user_id=HR_LEAD)
    _add(slack, "CRM-2", "Data migrated", "2026-12-04")
    _add_dependency(slack, fake_slack, session_factory)

    shown = {}
    for key in ("CRM-2", "HR-1"):
        slack.command(f"status {key}", user_id=STRANGER, channel_id="C0ELSEWHERE")
        listeners.wait_idle()
        shown[key] = fake_slack.responses[-1]

    for key, response in shown.items():
        assert message_problems(response["blocks"]) == [], key
        assert ":warning: CRM-2 needs HR-1's *Data feed live* by" in str(response["blocks"]), key
        assert "4 working days too late" in str(response["blocks"]), key
    assert "*Data migrated*: forecast" in str(shown["CRM-2"]["blocks"])
    assert ":warning: *Data feed live*: forecast" in str(shown["HR-1"]["blocks"])


def test_status_counts_slips_and_lateness_on_one_calendar_that_covers_both_lists(
    slack, fake_slack, hr, session_factory, listeners
):
    """The schedule reads the skip list once for its milestones and its dependencies: a skip
    date counts in whichever list's days it falls in."""
    _add(slack, "HR-1", "Data feed live", "2026-12-10", "2026-12-18", user_id=HR_LEAD)
    _add(slack, "CRM-2", "Data migrated", "2026-12-04", "2026-12-09")
    _add_dependency(slack, fake_slack, session_factory)  # CRM-2 needs Data feed live by 14 Dec
    with unit_of_work(session_factory) as session:
        session.add(SkipDate(team_id=TEAM_ID, day=date(2026, 12, 8), note="Staff day"))  # in the slip only
        session.add(SkipDate(team_id=TEAM_ID, day=date(2026, 12, 16), note="Staff day"))  # in the lateness only

    slack.command("status CRM-2", user_id=STRANGER, channel_id="C0ELSEWHERE")
    listeners.wait_idle()
    shown = str(fake_slack.responses[-1]["blocks"])

    assert "*Data migrated*: forecast" in shown and "2 working days late)" in shown  # Mon 7, Wed 9 Dec
    assert "CRM-2 needs HR-1's *Data feed live* by" in shown
    assert "3 working days too late" in shown  # Tue 15, Thu 17, Fri 18 Dec


def test_a_project_cannot_depend_on_its_own_milestone_and_others_cannot_add(
    slack, fake_slack, crm, session_factory, listeners
):
    _add(slack, "CRM-2", "Data migrated", "2026-12-04")

    slack.command("dependency add CRM-2", user_id=LEAD, channel_id="C0CRM")
    slack.command("dependency add CRM-2", user_id=STRANGER, channel_id="C0CRM")
    listeners.wait_idle()

    texts = [response["text"] for response in fake_slack.responses]
    assert any(text.startswith("No other project has an open milestone") for text in texts)
    assert any(text.startswith("Only PMO admins and CRM-2's sponsor or lead") for text in texts)


# --- the digest ---------------------------------------------------------------------------------------------


def test_the_digest_lists_milestones_slipped_this_week_and_due_in_fourteen_days(
    app_context, slack, fake_slack, hr, session_factory, listeners
):
    _add(slack, "HR-1", "Data feed live", "2026-12-10", user_id=HR_LEAD)
    _add(slack, "CRM-2", "Data migrated", "2026-12-04")
    _add(slack, "CRM-2", "Go live", "2027-03-01")
    _move_forecast(slack, session_factory, "2026-12-18")

    slack.command("digest", user_id="U0PMOADMIN", channel_id="C0PMO")
    listeners.wait_idle()
    text = str(fake_slack.responses[-1]["blocks"])

    assert "*Milestones slipped this week (1)*" in text and "HR-1 · Data feed live" in text
    assert "*Milestones due in the next 14 days (1)*" in text and "CRM-2 · Data migrated" in text
    assert "Go live" not in text


# --- Block Kit within limits ------------------------------------------------------------------------------


def test_the_largest_lists_are_valid_block_kit():
    line = MilestoneLine(1, "K" * 32, "<!here> " * 25, date(2026, 12, 4), date(2027, 1, 4), None, 21)
    dependency = DependencyLine("K" * 32, "J" * 32, "<!here> " * 25, date(2026, 12, 4), date(2027, 1, 4), None, 21, 1)

    listed = milestone_list_blocks(MilestonePlan("K" * 32, "N" * 200, [line] * 500, [dependency] * 500))
    status = schedule_blocks(ProjectSchedule([line] * 5, 500, [dependency] * 10))
    digest = digest_milestone_blocks(DigestMilestones([line] * 500, [line] * 500))

    for blocks in (listed, status, digest):
        assert message_problems(blocks) == []
        assert "<!here>" not in str(blocks)


def test_a_skip_date_counts_in_the_slippage_people_see(slack, fake_slack, crm, session_factory, listeners):
    with unit_of_work(session_factory) as session:
        session.add(SkipDate(team_id=TEAM_ID, day=date(2026, 12, 7), note="Council away day"))
    _add(slack, "CRM-2", "Data migrated", "2026-12-04", "2026-12-08")

    listed = _listed(slack, fake_slack, listeners)

    assert "1 working day late" in str(listed["blocks"])


# --- import and export ---------------------------------------------------------------------------------------

PORTFOLIO_CSV = (
    "key,name,programme,objective,sponsor,lead,services,channel,checkin_day,checkin_time,timezone,status\n"
    "CRM-2,Customer records,,,,U0LEAD,,,,,,active\n"
    "HR-1,HR system,,,,U0HRLEAD,,,,,,active\n"
)
MILESTONES_CSV = (
    "project,name,baseline,forecast,actual\n"
    "crm-2,Data migrated,2026-12-04,2026-12-09,\n"
    'HR-1,=HYPERLINK("https://evil"),2027-01-10,,\n'
    "HR-1,Data feed live,2026-12-10,2026-12-10,\n"
)
DEPENDENCIES_CSV = "project,needs,milestone,needed_by\nCRM-2,HR-1,data feed live,2026-12-14\n"


@pytest.fixture
def cli_env(tmp_path, monkeypatch, fake_slack):
    """A working directory with no .env, a fresh SQLite file, and Slack pointed at the fake."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    return tmp_path


def _cli(*argv: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    return int(exit_info.value.code or 0)


def test_milestones_and_dependencies_import_export_and_round_trip_as_a_no_op(cli_env, capsys):
    for name, text in (("p.csv", PORTFOLIO_CSV), ("m.csv", MILESTONES_CSV), ("d.csv", DEPENDENCIES_CSV)):
        (cli_env / name).write_text(text)

    assert _cli("import", "p.csv") == 0
    assert _cli("import", "--kind", "milestones", "m.csv") == 0
    assert _cli("import", "--kind", "dependencies", "d.csv") == 0
    assert _cli("export", "--kind", "milestones", "m-out.csv") == 0
    assert _cli("export", "--kind", "dependencies", "d-out.csv") == 0
    assert _cli("import", "--kind", "milestones", "m-out.csv") == 0
    assert _cli("import", "--kind", "dependencies", "d-out.csv") == 0

    out = capsys.readouterr().out
    assert "milestones: 3 created, 0 updated, 0 unchanged" in out
    assert "milestones: 0 created, 0 updated, 3 unchanged" in out
    assert "dependencies: 0 created, 0 updated, 1 unchanged" in out
    exported = (cli_env / "m-out.csv").read_text(encoding="utf-8-sig").splitlines()
    assert exported[1] == "CRM-2,Data migrated,2026-12-04,2026-12-09,"
    assert '\'=HYPERLINK(""https://evil"")' in exported[3]  # a spreadsheet shows it, does not run it
    assert (cli_env / "d-out.csv").read_text(encoding="utf-8-sig").splitlines()[1] == (
        "CRM-2,HR-1,Data feed live,2026-12-14"
    )


def test_a_bad_file_imports_nothing_and_names_each_bad_line(session_factory):
    add_project(session_factory)
    bad = (
        "project,name,baseline,forecast,actual\n"
        "CRM-2,Fine,2026-12-04,,\n"
        "NOPE-1,Unknown project,2026-12-04,,\n"
        "CRM-2,,2026-12-04,,\n"
        "CRM-2,Bad date,04/12/2026,,\n"
        "CRM-2,fine,2026-12-05,,\n"
    )

    with unit_of_work(session_factory) as session, pytest.raises(ImportRejected) as rejected:
        milestones_csv.import_milestones(session, bad, now=NOW)

    assert [str(problem) for problem in rejected.value.problems] == [
        "line 3: no project has the key NOPE-1: import the portfolio first",
        "line 4: name is blank: give the milestone's name",
        "line 5: baseline '04/12/2026' is not a date: write it as YYYY-MM-DD, e.g. 2027-03-31",
        "line 6: CRM-2 · fine is already on line 2: keep one",
    ]
    with session_factory() as session:
        assert session.scalars(select(Milestone)).all() == []


def test_a_forecast_an_import_moves_past_a_needed_by_date_is_told_at_the_next_tick(
    app_context, slack, fake_slack, hr, session_factory, listeners
):
    _add(slack, "HR-1", "Data feed live", "2026-12-10", user_id=HR_LEAD)
    with unit_of_work(session_factory) as session:
        milestones_csv.import_dependencies(session, DEPENDENCIES_CSV, now=NOW)
        moved = "project,name,baseline,forecast,actual\nHR-1,Data feed live,2026-12-10,2026-12-18,\n"
        summary = milestones_csv.import_milestones(session, moved, now=NOW)
    assert summary.describe() == "0 created, 1 updated, 0 unchanged"

    run_due_work(app_context, NOW)

    assert [len(texts) for texts in _slip_notices(fake_slack)] == [1, 1]


def test_a_partners_channel_sees_no_dependency_on_a_project_not_shared_with_it(
    slack, fake_slack, hr, session_factory, listeners
):
    _add(slack, "HR-1", "Data feed live", "2026-12-10", "2026-12-18", user_id=HR_LEAD)
    _add_dependency(slack, fake_slack, session_factory)
    fake_slack.add_channel("C0JOINT", "joint", is_ext_shared=True, connected_team_ids=(TEAM_ID, "T0PARTNER"))
    slack.command("share CRM-2 T0PARTNER", user_id=SPONSOR, channel_id="C0CRM")
    listeners.wait_idle()

    slack.command("status CRM-2", user_id=LEAD, channel_id="C0JOINT")
    listeners.wait_idle()
    shared = str(fake_slack.responses[-1]["blocks"])
    slack.command("status CRM-2", user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()
    internal = str(fake_slack.responses[-1]["blocks"])

    assert "*Milestones*" in shared and "HR-1" not in shared
    assert "CRM-2 needs HR-1's *Data feed live*" in internal
