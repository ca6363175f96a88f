"""FOI / EIR and subject-access exports, retention and `forget`, through the `pmo-bot` command line."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from bot.cli import main
from bot.services import decisions, foi, risks
from bot.services.access import Actor
from storage.models import (
    Action,
    ActionEvent,
    AuditEvent,
    BenefitValue,
    Checkin,
    Decision,
    DecisionRequest,
    DeliveryStatus,
    Escalation,
    EscalationKind,
    EscalationStatus,
    Incident,
    IncidentImpact,
    IncidentSeverity,
    IssueEvent,
    OutgoingMessage,
    Person,
    Project,
    ProjectShare,
    ProjectStatus,
    Risk,
    RiskEvent,
)
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN
from tests.factories import ACTION_OWNER, LEAD, SPONSOR, add_action, add_benefit, add_project
from tests.portfolio_history import checkin

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = REPO_ROOT / "docs" / "project-export.schema.json"
HOSTILE = '<script>alert("x")</script> =HYPERLINK("http://evil")'


@pytest.fixture
def cli(tmp_path, monkeypatch, database_url):
    """`pmo-bot` in-process, on the test database, writing files into a temporary directory."""
    monkeypatch.chdir(tmp_path)
    for name, value in {"DATABASE_URL": database_url, "DEFAULT_TIMEZONE": "Europe/London"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RETENTION_YEARS_AFTER_CLOSURE", raising=False)

    def run(*argv: str) -> int:
        with pytest.raises(SystemExit) as exit_info:
            main(list(argv))
        return int(exit_info.value.code or 0)

    return run


@pytest.fixture
def held(session_factory):
    """CRM-2 with something in every table an export covers; OTH-1 beside it, which no CRM-2 export shows."""
    add_project(session_factory, created_at=NOW - timedelta(days=60))
    add_project(session_factory, "OTH-1", "Other work", sponsor="U0ELSE", lead="U0ELSE")
    benefit_id = add_benefit(session_factory, created_at=NOW - timedelta(days=60))
    checkin(session_factory, "CRM-2", "2026-W46", "green")
    checkin(session_factory, "CRM-2", "2026-W47", "red", help_needed=HOSTILE)
    checkin(session_factory, "OTH-1", "2026-W47", "amber")
    action_id = add_action(session_factory, "Agree the protocol")
    with unit_of_work(session_factory) as session:
        new_issue = risks.NewIssue("CRM-2", "Data feed is late", LEAD, "high")
        issue = risks.create_issue(session, Actor(LEAD, False), new_issue, today=NOW.date(), now=NOW)
        risks.add_issue_note(session, Actor(SPONSOR, False), issue.id, "Chased the supplier", now=NOW)
        new_risk = risks.NewRisk(
            "CRM-2", "Supplier may go bust", LEAD, 4, 5, "reduce", NOW.date(), mitigation="Ask Acme for a guarantee"
        )
        risk = risks.create_risk(session, Actor(LEAD, False), new_risk, today=NOW.date(), now=NOW, validate=False)
        risks.add_note(session, Actor(LEAD, False), risk.id, "Acme's auditor resigned", now=NOW)
        decisions.raise_request(
            session,
            Actor(LEAD, False),
            f"risk:{risk.id}",
            question="Fund a second supplier from the contingency?",
            decider_user_id=SPONSOR,
            due=NOW.date() + timedelta(days=7),
            today=NOW.date(),
            now=NOW,
        )
    with unit_of_work(session_factory) as session:
        people = {person.slack_user_id: person for person in session.query(Person)}
        people[SPONSOR].display_name, people[SPONSOR].email = "Sam Sponsor", "sam@council.example"
        people[LEAD].display_name = "Lee Lead"
        project = session.query(Project).filter_by(key="CRM-2").one()
        session.add(
            ActionEvent(
                action_id=action_id,
                kind="note",
                actor_id=people[LEAD].id,
                detail={"text": "Spoke to legal"},
                created_at=NOW,
            )
        )
        session.add(
            BenefitValue(
                benefit_id=benefit_id,
                value=Decimal("120"),
                measured_on=NOW.date(),
                reported_by_id=people[SPONSOR].id,
                reported_at=NOW,
            )
        )
        incident = Incident(key="INC-1", summary="Payments down", severity=IncidentSeverity.SEV1, declared_at=NOW)
        incident.impacts.append(IncidentImpact(project=project, expected_delay_days=3, created_at=NOW))
        session.add(incident)
        session.add(
            Escalation(
                cause_key="checkin-red:CRM-2:2026-W47",
                kind=EscalationKind.CHECKIN_ATTENTION,
                facts={"period": "2026-W47", "red": True, "rag": "red"},
                project_id=project.id,
                status=EscalationStatus.ACKNOWLEDGED,
                picked_up_by_id=session.query(Person).filter_by(slack_user_id=LEAD).one().id,
                picked_up_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        session.add(Decision(subject_key="board:CRM-2", project_id=project.id, outcome="continue", decided_at=NOW))
        session.add(ProjectShare(project_id=project.id, partner_team_id="T0PARTNER", created_at=NOW))
        session.add(
            OutgoingMessage(
                idempotency_key=f"action-assigned:{action_id}",
                method="chat.postMessage",
                channel_id=ACTION_OWNER,
                payload={"text": "CRM-2: you own an action"},
                status=DeliveryStatus.SENT,
                created_at=NOW,
            )
        )
    return action_id


def _checked_in(session_factory, key: str) -> list[Checkin]:
    with unit_of_work(session_factory) as session:
        return session.query(Checkin).join(Project).filter(Project.key == key).order_by(Checkin.id).all()


# --- the export ---------------------------------------------------------------------------------


def test_the_committed_schema_is_the_one_the_code_writes_to():
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == foi.json_schema()


def test_a_json_export_holds_the_whole_project_with_names_and_passes_its_schema(cli, held, tmp_path):
    assert cli("export-project", "crm-2", "--format", "json") == 0

    exported = json.loads((tmp_path / "CRM-2-export.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))).validate(exported)
    tables = exported["tables"]
    assert exported["project"]["key"] == "CRM-2"
    assert (exported["project"]["sponsor_user"], exported["project"]["sponsor_name"]) == (SPONSOR, "Sam Sponsor")
    assert [(row["period"], row["overall_rag"]) for row in tables["checkins"]] == [
        ("2026-W46", "green"),
        ("2026-W47", "red"),
    ]
    assert [row["detail"] for row in tables["action_events"] if row["kind"] == "note"] == [{"text": "Spoke to legal"}]
    assert [row["value"] for row in tables["benefit_values"]] == ["120"]
    assert [(row["kind"], row["detail"], row["actor_name"]) for row in tables["issue_events"]] == [
        ("created", {"severity": "high"}, "Lee Lead"),
        ("note", {"text": "Chased the supplier"}, "Sam Sponsor"),
    ]
    assert [row["key"] for row in tables["incidents"]] == ["INC-1"]
    assert [(row["status"], row["picked_up_by_name"]) for row in tables["escalations"]] == [
        ("acknowledged", "Lee Lead")
    ]
    assert [row["outcome"] for row in tables["decisions"]] == ["continue"]
    assert [row["partner_team_id"] for row in tables["project_shares"]] == ["T0PARTNER"]
    assert tables["audit_events"] and {row["project_id"] for row in tables["audit_events"]} == {
        exported["project"]["id"]
    }
    assert "OTH-1" not in json.dumps(exported) and "Other work" not in json.dumps(exported)


def test_the_window_keeps_what_happened_in_it(cli, held, tmp_path):
    assert cli("export-project", "CRM-2", "--from", "2026-11-16", "--to", "2026-11-30", "--format", "json") == 0

    exported = json.loads((tmp_path / "CRM-2-export.json").read_text(encoding="utf-8"))
    assert exported["window"] == {"from": "2026-11-16", "to": "2026-11-30"}
    assert [row["period"] for row in exported["tables"]["checkins"]] == ["2026-W47"]

    assert cli("export-project", "CRM-2", "--from", "2026-12-01", "--to", "2026-11-30", "--format", "json") == 1


def test_a_csv_export_is_a_zip_of_one_file_per_table_with_formulas_defused(cli, held, tmp_path):
    assert cli("export-project", "CRM-2", "--format", "csv", "--output", "foi.zip") == 0

    with zipfile.ZipFile(tmp_path / "foi.zip") as archive:
        names = set(archive.namelist())
        checkins_csv = archive.read("checkins.csv").decode("utf-8-sig")
    assert {"project.csv", "checkins.csv", "actions.csv", "escalations.csv", "audit_events.csv"} <= names
    assert "'" + HOSTILE.split(" ", 1)[0] not in checkins_csv  # the cell starts with <, not a formula
    hostile_cell = next(line for line in checkins_csv.splitlines() if "HYPERLINK" in line)
    assert ",=HYPERLINK" not in hostile_cell


def test_the_html_export_is_one_accessible_page_without_scripts(cli, held, tmp_path):
    assert cli("export-project", "CRM-2", "--format", "html") == 0
    page = (tmp_path / "CRM-2-export.html").read_text(encoding="utf-8")

    assert "<script" not in page and "&lt;script&gt;" in page  # the team's words are text, never markup
    assert '<span class="rag rag-red">Red</span>' in page  # RAG as a word, colour only repeating it
    assert '<th scope="col">overall_rag</th>' in page and '<h2 id="h-checkins">' in page
    assert "Sam Sponsor" in page

    violations = _axe_violations(tmp_path / "CRM-2-export.html")
    assert violations == [], json.dumps(violations, indent=2)[:4000]


def _axe_violations(page: Path) -> list[dict]:
    """axe-core's violations for the page, in headless Chromium (skips, saying what is missing)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
    axe_js = Path(os.environ.get("AXE_CORE_JS", REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"))
    if not axe_js.is_file():
        pytest.skip(f"axe-core not found at {axe_js}: run `npm install axe-core` and set AXE_CORE_JS (.ci/run does)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("no headless browser: apt-get install -y chromium chromium-driver (.ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    from selenium.webdriver.chrome.service import Service

    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        browser.set_script_timeout(60)
        browser.get(page.resolve().as_uri())
        browser.execute_script(axe_js.read_text(encoding="utf-8"))
        result = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done(String(e)));"
        )
    finally:
        browser.quit()
    assert isinstance(result, list), result
    return [{"id": v["id"], "help": v["help"], "nodes": [n["html"][:200] for n in v["nodes"][:3]]} for v in result]


def test_a_subject_access_export_lists_what_names_the_person_and_nothing_else(cli, held, tmp_path):
    assert cli("export-person", "SAM@council.example", "--output", "sam.json") == 0
    about_sam = json.loads((tmp_path / "sam.json").read_text(encoding="utf-8"))
    assert about_sam["person"]["slack_user_id"] == SPONSOR
    assert [row["key"] for row in about_sam["tables"]["projects"]] == ["CRM-2"]
    assert [row["value"] for row in about_sam["tables"]["benefit_values"]] == ["120"]

    assert cli("export-person", f"<@{LEAD}|lee>", "--output", "lee.json") == 0
    about_lee = json.loads((tmp_path / "lee.json").read_text(encoding="utf-8"))
    assert {row["period"] for row in about_lee["tables"]["checkins"]} == {"2026-W46", "2026-W47"}
    assert [row["picked_up_by_user"] for row in about_lee["tables"]["escalations"]] == [LEAD]

    assert cli("export-person", "nobody@council.example") == 1


# --- retention and forget --------------------------------------------------------------------------


def _close(session_factory, key: str, closed_at: datetime) -> None:
    with unit_of_work(session_factory) as session:
        project = session.query(Project).filter_by(key=key).one()
        project.status, project.closed_at = ProjectStatus.CLOSED, closed_at


def test_retention_lists_then_removes_the_detail_of_long_closed_projects_and_says_so(
    cli, held, session_factory, monkeypatch, capsys
):
    assert cli("retention", "--dry-run") == 1  # unset: everything is kept
    assert "RETENTION_YEARS_AFTER_CLOSURE is not set" in capsys.readouterr().err
    _close(session_factory, "CRM-2", datetime(2020, 3, 31, tzinfo=timezone.utc))
    with unit_of_work(session_factory) as session:  # the lead also leads an open project
        session.query(Project).filter_by(key="OTH-1").one().lead = (
            session.query(Person).filter_by(slack_user_id=LEAD).one()
        )
    monkeypatch.setenv("RETENTION_YEARS_AFTER_CLOSURE", "3")

    assert cli("retention", "--dry-run") == 0
    listed = capsys.readouterr().out
    assert (
        "CRM-2 (closed 2020-03-31): would remove 1 check-in narratives, 1 action notes, 1 risk notes, 1 issue notes, "
        "1 risk mitigations, 1 decisions asked for (their words), 1 DM ledger rows"
    ) in listed
    assert f"kept (active elsewhere): {LEAD}" in listed
    assert _checked_in(session_factory, "CRM-2")[-1].help_needed == HOSTILE

    assert cli("retention", "--apply") == 0
    assert "CRM-2 (closed 2020-03-31): removed" in capsys.readouterr().out
    kept = _checked_in(session_factory, "CRM-2")
    assert [(c.period, c.overall_rag.value, c.help_needed, c.path_to_green) for c in kept] == [
        ("2026-W46", "green", None, None),
        ("2026-W47", "red", None, None),
    ]
    assert _checked_in(session_factory, "OTH-1")[0].path_to_green == "Re-plan with the supplier"
    with unit_of_work(session_factory) as session:
        assert session.query(ActionEvent).filter_by(kind="note").count() == 0
        assert [event.kind for event in session.query(RiskEvent).order_by(RiskEvent.id)] == ["created"]
        assert [event.kind for event in session.query(IssueEvent).order_by(IssueEvent.id)] == ["created"]
        assert [risk.mitigation for risk in session.query(Risk)] == [None]
        [asked] = session.query(DecisionRequest).all()
        assert (asked.question, asked.due_date) == ("", NOW.date() + timedelta(days=7))
        assert session.query(OutgoingMessage).filter_by(channel_id=ACTION_OWNER).count() == 0
        project = session.query(Project).filter_by(key="CRM-2").one()
        names = {role: person.slack_user_id for role, person in (("sponsor", project.sponsor), ("lead", project.lead))}
        assert names == {"sponsor": "former-member", "lead": LEAD}
        [removed] = session.query(AuditEvent).filter_by(operation="removed").all()
        assert (removed.actor, removed.door, removed.project_id) == ("cli", "cli", project.id)
        assert removed.changes["check-in narratives"] == [1, 0]
        assert (removed.changes["risk notes"], removed.changes["risk mitigations"]) == ([1, 0], [1, 0])
        trail = json.dumps([row.changes for row in session.query(AuditEvent)])
    assert "Spoke to legal" not in trail and "HYPERLINK" not in trail  # the trail never kept the words
    for words in ("Chased the supplier", "Ask Acme", "auditor resigned", "second supplier from"):
        assert words not in trail


def test_forget_is_refused_while_the_leaver_owns_open_actions_unless_forced(cli, held, session_factory, capsys):
    _close(session_factory, "CRM-2", NOW)
    add_project(session_factory, "NEW-3", "New work", sponsor=PMO_ADMIN, lead=PMO_ADMIN)
    add_action(session_factory, "Hand over the contract", key="NEW-3")

    assert cli("forget", f"<@{ACTION_OWNER}>") == 1
    refused = capsys.readouterr().err
    assert "still owns open actions; reassign them first" in refused and "NEW-3 action" in refused

    assert cli("forget", f"<@{ACTION_OWNER}>", "--force") == 0
    assert "replaced on closed projects: CRM-2" in capsys.readouterr().out
    with unit_of_work(session_factory) as session:
        owners = {a.title: a.owner.slack_user_id for a in session.query(Action)}
    assert owners == {"Agree the protocol": "former-member", "Hand over the contract": ACTION_OWNER}
