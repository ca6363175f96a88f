"""The README's "Who may do what" table, walked by someone with no rights: refused, nothing changes.

Each restricted row of the table has a scenario here that does what the row names, through
signed requests, as a person who is nobody in particular (not a PMO admin, not on any
project, not in any channel). Every table in the database is compared before and after.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.demo.signed import checkboxes, datepicker, plain_input, static_select
from bot.services import decisions, escalations, incidents, live_services, milestones, risks
from bot.services.access import Actor
from bot.services.escalations import Cause
from bot.services.live_services import NewService
from bot.services.milestones import NewMilestone
from storage.base import Base
from storage.models import EscalationKind, ServiceRelation
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN, REPO_ROOT
from tests.factories import LEAD, SPONSOR, STRANGER, add_action, add_benefit, add_project

ADMIN = Actor(PMO_ADMIN, is_pmo_admin=True)
RUNNER = "U0RUNNER"  # runs the PAY service: in its user group
REFUSED = re.compile(r"\b(Only|You can't|You don't own)\b")


@dataclass(frozen=True)
class World:
    incident_key: str
    escalation_id: int
    action_id: int
    benefit_id: int
    risk_id: int
    decision_request_id: int
    issue_id: int
    milestone_id: int
    dependency_id: int


@pytest.fixture
def world(fake_slack, session_factory) -> World:
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    fake_slack.add_channel("C0ELSE", "somewhere-else", members=(STRANGER,))
    for person in (LEAD, SPONSOR, STRANGER, RUNNER):
        fake_slack.add_user(person)
    fake_slack.add_usergroup("S0PAY", [RUNNER])
    add_project(session_factory, channels=("C0CRM",))
    add_project(session_factory, "HR-1", "HR system", sponsor=LEAD, lead=LEAD)
    benefit_id = add_benefit(session_factory)
    action_id = add_action(session_factory, due=NOW.date())
    with unit_of_work(session_factory) as session:
        live_services.save_service(session, ADMIN, NewService("PAY", "Payments", usergroup="S0PAY"), now=NOW)
        live_services.set_related_services(session, ADMIN, "CRM-2", ServiceRelation.DEPENDS_ON, ("PAY",))
        service_id = live_services.get_services(session, ["PAY"])[0].id
        change = incidents.declare(
            session,
            incidents.NewIncident((service_id,), incidents.parse_severity("SEV2"), "Payments slow", LEAD),
            now=NOW,
        )
        escalation = escalations.raise_or_update(
            session,
            Cause("test:red", EscalationKind.CHECKIN_ATTENTION, {"period": "2026-W48", "red": True, "rag": "red"}),
            project=None,
            now=NOW,
        )
        escalation_id = escalation.id
        incident_key = change.key
        new_risk = risks.NewRisk("CRM-2", "Supplier may go bust", LEAD, 4, 4, "reduce", NOW.date() + timedelta(days=7))
        risk_id = risks.create_risk(session, ADMIN, new_risk, today=NOW.date(), now=NOW).id
        asked = decisions.raise_request(
            session,
            ADMIN,
            f"risk:{risk_id}",
            question="Keep the supplier?",
            decider_user_id=SPONSOR,
            due=NOW.date() + timedelta(days=7),
            today=NOW.date(),
            now=NOW,
        )
        new_issue = risks.NewIssue("CRM-2", "Data feed is late", LEAD, "high")
        issue_id = risks.create_issue(session, ADMIN, new_issue, today=NOW.date(), now=NOW).id
        milestone_id = milestones.create_milestone(
            session, ADMIN, "CRM-2", NewMilestone("Go live", date(2027, 1, 4)), now=NOW
        ).id
        feed = milestones.create_milestone(
            session, ADMIN, "HR-1", NewMilestone("Data feed", date(2026, 12, 14)), now=NOW
        )
        dependency_id = milestones.create_dependency(session, ADMIN, "CRM-2", feed.id, date(2026, 12, 21), now=NOW).id
    return World(
        incident_key, escalation_id, action_id, benefit_id, risk_id, asked.id, issue_id, milestone_id, dependency_id
    )


def _snapshot(session_factory: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    with session_factory() as session:
        return {
            table.name: sorted((tuple(str(value) for value in row) for row in session.execute(table.select())), key=str)
            for table in Base.metadata.sorted_tables
        }


def _button(action_id: str, value: str, *, block_id: str = "b1", element: str = "button") -> dict[str, Any]:
    button: dict[str, Any] = {"type": element, "action_id": action_id}
    if element == "button":
        button |= {"text": {"type": "plain_text", "text": "x"}, "value": value}
    elif element == "static_select":
        button["options"] = [{"text": {"type": "plain_text", "text": "1 day"}, "value": "1"}]
    return {"ts": "1700000000.000100", "blocks": [{"type": "actions", "block_id": block_id, "elements": [button]}]}


def _click(slack, action_id: str, value: str = "", **how: Any) -> Any:
    block_id = how.pop("block_id", "b1")
    element = how.pop("element", "button")
    return slack.block_action(
        action_id,
        user_id=STRANGER,
        channel_id="C0CRM",
        message=_button(action_id, value, block_id=block_id, element=element),
        **how,
    )


def _command(text: str, channel_id: str = "C0CRM") -> Callable[..., Any]:
    return lambda slack, world: slack.command(text.format(w=world), user_id=STRANGER, channel_id=channel_id)


def _form(callback_id: str, values: dict, metadata: Callable[[World], str] = lambda _world: "") -> Callable[..., Any]:
    return lambda slack, world: slack.view_submission(
        callback_id, values, user_id=STRANGER, private_metadata=metadata(world)
    )


def _impact(world: World) -> str:
    return json.dumps({"incident_key": world.incident_key, "project_key": "CRM-2"})


def _risk_ref(world: World) -> str:
    return json.dumps({"risk_id": world.risk_id, "shown_in": "list", "key": "CRM-2", "page": 0}, separators=(",", ":"))


def _milestone_ref(world: World) -> str:
    return json.dumps({"v": 1, "milestone_id": world.milestone_id})


def _action_ref(world: World) -> str:
    return json.dumps({"action_id": world.action_id, "shown_in": "list", "key": "CRM-2"}, separators=(",", ":"))


def _benefit_ref(world: World) -> str:
    return json.dumps({"v": 1, "benefit_id": world.benefit_id})


def _benefit_being_completed(world: World) -> str:
    return json.dumps({"v": 1, "project_key": "CRM-2", "benefit_id": world.benefit_id})


def _coaching_target(world: World) -> str:
    return json.dumps({"topic": "sponsor_backlog", "project_key": "CRM-2", "with_user_id": SPONSOR, "about": "x"})


CHECKIN_FORM = {"overall": {"overall": static_select("green")}, "progress": {"progress": plain_input("Fine")}}

# README row (its first cell, as written) -> what someone with no rights does, one scenario per door.
SCENARIOS: dict[str, list[Callable[..., Any]]] = {
    "`/pmo project add` and its form": [
        _command("project add"),
        _form(
            "project.new",
            {
                "key": {"key": plain_input("HR-1")},
                "name": {"name": plain_input("HR")},
                "sponsor": {"sponsor": {"type": "users_select", "selected_user": SPONSOR}},
            },
        ),
    ],
    "`/pmo digest`": [_command("digest")],
    "`/pmo coach`, *Plan a conversation* and its form": [
        _command("coach"),
        lambda slack, world: _click(slack, "coaching.plan", _coaching_target(world)),
        _form(
            "coaching.plan_form",
            {
                "with": {"with": {"type": "users_select", "selected_user": SPONSOR}},
                "about": {"about": plain_input("Overdue actions")},
                "follow_up": {"follow_up": datepicker("2026-12-07")},
            },
            _coaching_target,
        ),
    ],
    "*Acknowledge*, *Offer coaching*": [
        lambda slack, world: _click(slack, "escalation.acknowledge", str(world.escalation_id)),
        lambda slack, world: _click(slack, "escalation.coaching", str(world.escalation_id)),
    ],
    "*Same effort*, *Different*, *Combine*": [
        lambda slack, world, verdict=verdict: _click(
            slack,
            f"overlap.{verdict}",
            json.dumps({"subject_key": "overlap:CRM-2:HR-1", "period": "2026-W48"}),
            block_id="overlap:CRM-2:HR-1",
        )
        for verdict in ("same_effort", "different", "combine")
    ],
    "`/pmo link KEY`, `/pmo unlink`": [_command("link CRM-2", "C0ELSE"), _command("unlink")],
    "`/pmo cadence KEY DAY HH:MM`, `/pmo cadence KEY default`": [
        _command("cadence CRM-2 tue 10:00"),
        _command("cadence CRM-2 default"),
    ],
    "`/pmo deputy KEY @person`": [_command(f"deputy CRM-2 <@{STRANGER}|me>")],
    "`/pmo benefit add KEY` and its form": [
        _command("benefit add CRM-2"),
        _form(
            "benefit.new",
            {
                "name": {"name": plain_input("Calls")},
                "measure": {"measure": plain_input("Calls")},
                "unit": {"unit": plain_input("calls")},
                "baseline": {"baseline": plain_input("0")},
                "target": {"target": plain_input("10")},
                "target_date": {"target_date": {"type": "datepicker", "selected_date": "2027-06-30"}},
                "owner": {"owner": {"type": "users_select", "selected_user": STRANGER}},
            },
            lambda _world: json.dumps({"project_key": "CRM-2"}),
        ),
    ],
    "`/pmo milestone add KEY` and its form, *Change forecast*, *Mark met*, *Edit* and its form, *Remove*": [
        _command("milestone add CRM-2"),
        _form(
            "milestone.new",
            {"name": {"name": plain_input("Data migrated")}, "baseline": {"baseline": datepicker("2027-01-04")}},
            lambda _world: json.dumps({"project_key": "CRM-2"}),
        ),
        lambda slack, world: _click(slack, "milestone.change_forecast", _milestone_ref(world)),
        _form("milestone.forecast", {"forecast": {"forecast": datepicker("2027-02-01")}}, _milestone_ref),
        lambda slack, world: _click(slack, "milestone.met", _milestone_ref(world)),
        lambda slack, world: _click(slack, "milestone.edit", _milestone_ref(world)),
        _form(
            "milestone.edited",
            {"name": {"name": plain_input("Went live")}, "baseline": {"baseline": datepicker("2027-02-01")}},
            _milestone_ref,
        ),
        lambda slack, world: _click(slack, "milestone.remove", _milestone_ref(world)),
    ],
    "`/pmo dependency add KEY` and its form, *Remove* on a dependency": [
        _command("dependency add CRM-2"),
        _form(
            "dependency.new",
            {
                "milestone": {"milestone": static_select("1")},
                "needed_by": {"needed_by": datepicker("2027-01-04")},
            },
            lambda _world: json.dumps({"project_key": "CRM-2"}),
        ),
        lambda slack, world: _click(
            slack, "dependency.remove", json.dumps({"v": 1, "dependency_id": world.dependency_id})
        ),
    ],
    "`/pmo close KEY` and its form": [
        _command("close CRM-2"),
        _form(
            "project.close",
            {"outcome": {"outcome": static_select("delivered")}, "benefits": {"benefits": plain_input("On track")}},
            lambda _world: json.dumps({"project_key": "CRM-2"}),
        ),
    ],
    "`/pmo depends`, `/pmo changes`, `/pmo shares`": [
        _command("depends CRM-2 none"),
        _command("changes CRM-2 PAY"),
        _command("shares CRM-2 PAY"),
    ],
    "`/pmo share KEY TEAM`, `/pmo unshare KEY TEAM`": [
        _command("share CRM-2 T0PARTNER"),
        _command("unshare CRM-2 T0PARTNER"),
    ],
    "`/pmo skip YYYY-MM-DD`, `/pmo skip remove YYYY-MM-DD`": [
        _command("skip 2026-12-24 Christmas Eve"),
        _command("skip remove 2026-12-24"),
    ],
    "`/pmo service add` and its form": [
        _command("service add WEB Website"),
        _form("service.new", {"key": {"key": plain_input("WEB")}, "name": {"name": plain_input("Website")}}),
    ],
    "`/pmo benefit report KEY` and its form": [
        _command("benefit report CRM-2"),
        lambda slack, world: slack.view_submission(
            "benefit.report",
            {
                "benefit": {"benefit": static_select(str(world.benefit_id))},
                "value": {"value": plain_input("5")},
            },
            user_id=STRANGER,
        ),
    ],
    "`/pmo benefit edit KEY NAME`, *Complete it* and its form": [
        _command("benefit edit CRM-2 Calls avoided"),
        lambda slack, world: _click(slack, "benefit.complete", _benefit_ref(world)),
        _form(
            "benefit.new",
            {
                "name": {"name": plain_input("Calls")},
                "owner": {"owner": {"type": "users_select", "selected_user": STRANGER}},
            },
            _benefit_being_completed,
        ),
    ],
    "`/pmo checkin KEY`, *Submit update* and the check-in form": [
        _command("checkin CRM-2", "C0ELSE"),
        lambda slack, world: _click(
            slack, "checkin.submit", json.dumps({"project_key": "CRM-2", "period": "2026-W48"})
        ),
        _form(
            "checkin.submit", CHECKIN_FORM, lambda _world: json.dumps({"project_key": "CRM-2", "period": "2026-W48"})
        ),
    ],
    "*Done*, *Snooze*, *Reassign*, *Give it to the lead*, *Give it to the sponsor*, *Keep it*": [
        *(
            lambda slack, world, answer=answer: _click(
                slack, f"coaching.owner_{answer}", json.dumps({"action_id": world.action_id})
            )
            for answer in ("to_lead", "to_sponsor", "keep")
        ),
        lambda slack, world: _click(slack, "action.done", str(world.action_id), block_id=_action_ref(world)),
        lambda slack, world: _click(
            slack, "action.snooze", block_id=_action_ref(world), element="static_select", selected_option="1"
        ),
        lambda slack, world: _click(
            slack, "action.reassign", block_id=_action_ref(world), element="users_select", selected_user=STRANGER
        ),
    ],
    "*Record impact* and its form, *We're not affected*, *Shift open actions*": [
        lambda slack, world: _click(slack, "incident.record_impact", _impact(world)),
        _form(
            "incident.impact",
            {"delay": {"delay": plain_input("3")}, "priority": {"priority": checkboxes(["priority"])}},
            _impact,
        ),
        lambda slack, world: _click(slack, "incident.not_affected", _impact(world)),
        lambda slack, world: _click(slack, "incident.shift_actions", _impact(world)),
    ],
    "*Review* and its form, *Close* on a risk or an issue": [
        lambda slack, world: _click(slack, "risk.review", str(world.risk_id), block_id=_risk_ref(world)),
        _form(
            "risk.review",
            {
                "probability": {"probability": static_select("1")},
                "impact": {"impact": static_select("1")},
                "next_review": {"next_review": {"type": "datepicker", "selected_date": "2027-01-04"}},
            },
            _risk_ref,
        ),
        lambda slack, world: _click(slack, "risk.close", str(world.risk_id), block_id=_risk_ref(world)),
        lambda slack, world: _click(
            slack,
            "issue.close",
            str(world.issue_id),
            block_id=json.dumps({"issue_id": world.issue_id, "shown_in": "list", "key": "CRM-2", "page": 0}),
        ),
    ],
    "*Record decision* and its form": [
        lambda slack, world: _click(slack, "decision.record", json.dumps({"request_id": world.decision_request_id})),
        _form(
            "decision.record",
            {"outcome": {"outcome": plain_input("Yes")}},
            lambda world: json.dumps({"request_id": world.decision_request_id}),
        ),
    ],
    "`/pmo incident update`, `/pmo incident resolve`, *Resolve*": [
        _command("incident update {w.incident_key} All fixed"),
        _command("incident resolve {w.incident_key}"),
        lambda slack, world: _click(slack, "incident.resolve", world.incident_key),
    ],
}


def _readme_rows() -> dict[str, str]:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| ")]
    return {action.strip(): who.strip() for action, who in rows[2:]}


def test_every_restricted_row_of_the_readme_table_is_walked():
    restricted = {action for action, who in _readme_rows().items() if not who.startswith("anyone")}

    assert restricted == set(SCENARIOS)


@pytest.mark.parametrize(
    ("row", "index"), [(row, index) for row, scenarios in SCENARIOS.items() for index in range(len(scenarios))]
)
def test_someone_without_rights_is_refused_and_nothing_changes(
    row, index, world, slack, fake_slack, session_factory, listeners
):
    before = _snapshot(session_factory)
    replies_before = len(fake_slack.responses)
    posts_before = len(fake_slack.ok_calls_to("chat.postMessage"))

    response = SCENARIOS[row][index](slack, world)
    listeners.wait_idle()

    replies = [reply.get("text", "") for reply in fake_slack.responses[replies_before:]]
    assert response.status_code == 200
    assert any(REFUSED.search(text) for text in [response.text, *replies]), (response.text, replies)
    assert len(fake_slack.ok_calls_to("chat.postMessage")) == posts_before
    assert _snapshot(session_factory) == before


def test_the_services_team_and_the_declarer_may_resolve_by_command(world, slack, fake_slack, listeners):
    slack.command(f"incident update {world.incident_key} Fix deployed", user_id=RUNNER, channel_id="C0ELSE")
    slack.command(f"incident resolve {world.incident_key}", user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()

    replies = [reply["text"] for reply in fake_slack.responses]
    assert any("Posted in the thread" in text for text in replies)
    assert any(f"{world.incident_key} is resolved" in text for text in replies)
