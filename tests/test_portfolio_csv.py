"""The portfolio spreadsheet: import (all rows or none), export, and the round trip between them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import people, portfolio
from bot.services.cadence import Cadence
from bot.services.portfolio_csv import (
    COLUMNS,
    ImportRejected,
    ImportSummary,
    export_portfolio,
    import_portfolio,
)
from storage.models import Project
from tests.conftest import NOW

HEADER = ",".join(COLUMNS)
LATER = NOW + timedelta(days=7)
SLACK_USERS_BY_EMAIL = {"ada@example.org": "U0ADA", "grace@example.org": "U0GRACE"}


def _row(**cells: str) -> str:
    return ",".join(cells.get(column, "") for column in COLUMNS)


def _import(session: Session, *lines: str, team_id: str | None = "T1", now: datetime = NOW) -> ImportSummary:
    csv_text = "\n".join(lines) + "\n"
    return import_portfolio(session, csv_text, resolve_email=SLACK_USERS_BY_EMAIL.get, team_id=team_id, now=now)


def _problems(session: Session, *lines: str, team_id: str | None = "T1") -> list[str]:
    with pytest.raises(ImportRejected) as rejected:
        _import(session, *lines, team_id=team_id)
    return [str(problem) for problem in rejected.value.problems]


def _record(session: Session, key: str) -> portfolio.ProjectRecord:
    return portfolio.project_record(
        portfolio.get_project(session, key),
        default_cadence=Cadence(0, "09:30", "Europe/London"),
        today=NOW.date(),
        tolerance=0.1,
    )


CRM_ROW = _row(
    key="crm-2",
    name="New CRM",
    programme="Customer",
    objective="Better service",
    sponsor="U0SPONSOR",
    lead="ada@example.org",
    services="PAY; crm",
    channel="C0CRM",
    checkin_day="tue",
    checkin_time="9:30",
    timezone="Europe/Paris",
    status="paused",
)


def test_import_creates_projects_with_their_records(session: Session) -> None:
    summary = _import(session, HEADER, CRM_ROW, _row(key="HR-1", name="HR system"))

    assert summary == ImportSummary(created=["CRM-2", "HR-1"], linked_channel_ids=["C0CRM"])
    crm = _record(session, "CRM-2")
    assert (crm.name, crm.programme, crm.objective) == ("New CRM", "Customer", "Better service")
    assert (crm.sponsor_user_id, crm.lead_user_id) == ("U0SPONSOR", "U0ADA")
    assert [(key, relation) for key, _name, relation in crm.services] == [("CRM", "depends_on"), ("PAY", "depends_on")]
    assert [(channel.channel_id, channel.is_primary) for channel in crm.channels] == [("C0CRM", True)]
    assert (crm.cadence, crm.status) == ("Tue 09:30 Europe/Paris", "paused")
    hr = _record(session, "HR-1")
    assert (hr.cadence, hr.status, hr.programme, hr.services) == ("Mon 09:30 Europe/London", "active", None, [])


def test_import_updates_by_key_and_a_blank_channel_keeps_the_links(session: Session) -> None:
    _import(session, HEADER, CRM_ROW)
    session.commit()

    summary = _import(session, HEADER, _row(key="CRM-2", name="CRM replacement", status="closed"), now=LATER)

    assert summary == ImportSummary(updated=["CRM-2"])
    project = portfolio.get_project(session, "CRM-2")
    assert (project.name, project.updated_at, project.closed_at) == ("CRM replacement", LATER, LATER)
    assert (project.programme, project.lead, project.checkin_day) == (None, None, None)
    assert portfolio.primary_channel(project).channel_id == "C0CRM"  # type: ignore[union-attr]


def test_a_file_with_bad_rows_is_rejected_whole_with_every_problem(session: Session) -> None:
    _import(session, HEADER, _row(key="OPS-1", name="Ops", channel="C0OPS"))
    session.commit()
    before = export_portfolio(session)

    problems = _problems(
        session,
        HEADER,
        _row(key="OPS-1", name="Ops renamed", channel="C0NEW"),
        _row(name="No key"),
        _row(key="crm 3", name="Bad key"),
        _row(key="ops-1", name="Ops again"),
        _row(key="HR-1", name="HR", sponsor="bob", checkin_day="funday", checkin_time="25:00"),
        _row(key="HR-2", name="HR", lead="nobody@example.org", timezone="Mars/Base", status="done"),
        _row(key="HR-3", name="HR", channel="C0OPS"),
        _row(key="HR-4", name="HR", channel="#general", services="PAY;a b"),
        _row(key="HR-5", name="HR", channel="C0NEW"),
        _row(key="HR-6"),
    )

    assert problems == [
        "line 3: key is missing: every row needs the project's key (e.g. CRM-2)",
        "line 4: 'crm 3' is not a valid key: use letters, digits and dashes, "
        "starting with a letter, up to 32 characters (e.g. CRM-2).",
        "line 5: key OPS-1 is already on line 2: give each project one row",
        "line 6: sponsor 'bob' is neither a Slack user ID nor an email: "
        "write their user ID (e.g. U0123ABCD) or their email",
        "line 6: checkin_day 'funday' is not a day: use mon..sun",
        "line 6: checkin_time '25:00' is not a time: use HH:MM, 24 h (e.g. 09:30)",
        "line 7: lead: no Slack user has the email nobody@example.org: check the address, or write their Slack user ID",
        "line 7: timezone 'Mars/Base' is not an IANA timezone name: use one such as Europe/London",
        "line 7: status 'done' is not a status: use active, paused or closed",
        "line 8: channel C0OPS is linked to OPS-1: run `/pmo unlink` in that channel first, or leave channel blank",
        "line 9: services: 'a b' is not a valid key: use letters, digits and dashes, "
        "starting with a letter, up to 32 characters (e.g. CRM-2).",
        "line 9: channel '#general' is not a channel ID: use the ID from the channel's details, e.g. C0123ABCD",
        "line 10: channel C0NEW is already on line 2: a channel is the primary channel of one project only",
        "line 11: name is missing: every row needs the project's name",
    ]
    assert not session.new and not session.dirty
    assert export_portfolio(session) == before


def test_header_problems_are_reported_on_line_1(session: Session) -> None:
    problems = _problems(session, "key,name,sponser", "CRM-2,CRM,U0ADA")

    assert problems == [
        f"line 1: unknown column 'sponser': the columns are {', '.join(COLUMNS)}",
        "line 1: missing columns programme, objective, sponsor, lead, services, channel, "
        "checkin_day, checkin_time, timezone, status: add them (their cells may be blank)",
    ]


def test_an_unnamed_column_may_only_be_empty(session: Session) -> None:
    # Excel saves a trailing comma for a column that once held something.
    header = HEADER + ","

    assert _import(session, header, _row(key="HR-1", name="HR") + ",") == ImportSummary(created=["HR-1"])
    assert _problems(session, header, _row(key="HR-2", name="HR") + ",note") == [
        "line 2: 'note' is in a column with no header: name the column or remove the value"
    ]


def test_a_channel_needs_a_workspace(session: Session) -> None:
    problems = _problems(session, HEADER, _row(key="CRM-2", name="CRM", channel="C0CRM"), team_id=None)

    assert problems == [
        "line 2: channel C0CRM cannot be linked: this import has no Slack workspace; "
        "import within a workspace, or leave channel blank"
    ]


def test_emails_are_looked_up_once_each_and_remembered(session: Session) -> None:
    looked_up: list[str] = []

    def resolve_email(email: str) -> str | None:
        looked_up.append(email)
        return SLACK_USERS_BY_EMAIL.get(email)

    csv_text = "\n".join(
        [
            HEADER,
            _row(key="CRM-2", name="CRM", sponsor="grace@example.org", lead="ada@example.org"),
            _row(key="HR-1", name="HR", sponsor="grace@example.org", lead="U0ADA"),
        ]
    )
    import_portfolio(session, csv_text, resolve_email=resolve_email, team_id="T1", now=NOW)

    assert looked_up == ["grace@example.org", "ada@example.org"]
    assert _record(session, "HR-1").sponsor_user_id == "U0GRACE"
    assert people.get_by_slack_id(session, "U0GRACE").email == "grace@example.org"  # type: ignore[union-attr]


def test_export_writes_blanks_for_defaults_and_people_as_the_file_named_them(session: Session) -> None:
    _import(session, HEADER, CRM_ROW, _row(key="HR-1", name="HR system"))

    assert export_portfolio(session).splitlines() == [
        HEADER,
        "CRM-2,New CRM,Customer,Better service,U0SPONSOR,ada@example.org,CRM;PAY,C0CRM,tue,09:30,Europe/Paris,paused",
        "HR-1,HR system,,,,,,,,,,active",
    ]


def test_export_then_import_changes_nothing(session: Session) -> None:
    _import(
        session, HEADER, CRM_ROW, _row(key="HR-1", name="HR system", status="closed"), _row(key="OPS-1", name="Ops")
    )
    session.commit()
    exported = export_portfolio(session)

    summary = _import(session, exported, now=LATER)

    assert summary == ImportSummary(unchanged=["CRM-2", "HR-1", "OPS-1"])
    assert {project.updated_at for project in session.scalars(select(Project))} == {NOW}
    assert export_portfolio(session) == exported


def test_a_name_that_starts_with_a_quote_and_a_formula_survives_the_round_trip(session: Session) -> None:
    portfolio.create_project(session, portfolio.NewProject(key="Q-1", name="'=x", sponsor_user_id=None), now=NOW)
    session.commit()
    exported = export_portfolio(session)

    assert exported.splitlines()[1].startswith("Q-1,''=x,")
    assert _import(session, exported, now=LATER) == ImportSummary(unchanged=["Q-1"])
    assert portfolio.get_project(session, "Q-1").name == "'=x"


def test_excel_bom_spaces_any_column_order_and_case_are_accepted(session: Session) -> None:
    header = "\ufeff" + ",".join(f" {column.upper()} " for column in reversed(COLUMNS))
    row = ",".join(["", "", "", "", "", "", "", "", "", "", " HR system ", " hr-1 "])

    assert _import(session, header, row) == ImportSummary(created=["HR-1"])
    assert _record(session, "HR-1").name == "HR system"


def test_days_may_be_full_names_in_any_case(session: Session) -> None:
    _import(
        session,
        HEADER,
        _row(key="A-1", name="A", checkin_day="MONDAY"),
        _row(key="B-1", name="B", checkin_day="Sunday"),
        _row(key="C-1", name="C", checkin_day="Wed"),
    )

    assert [project.checkin_day for project in session.scalars(select(Project).order_by(Project.key))] == [0, 6, 2]
