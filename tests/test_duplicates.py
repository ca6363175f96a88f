"""Near-duplicate objectives and programmes: the new-project form offers the existing ones,
and a typed name matches an existing one whatever its case and spacing, in the form, the
import and the sync (one rule: `portfolio.name_key`)."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.demo.blockkit import view_problems
from bot.demo.signed import plain_input, static_select
from bot.services import portfolio
from bot.services.portfolio_csv import COLUMNS, import_portfolio, import_records
from handlers.blocks.projects import new_project_modal
from storage.models import Objective, Programme
from storage.session import unit_of_work
from tests.conftest import NOW, PMO_ADMIN
from tests.factories import SPONSOR, add_project

EXISTING = "Residents can do more online"


def _count(session_factory, model) -> int:
    with unit_of_work(session_factory) as session:
        return session.scalar(select(func.count(model.id)))


def _names(session_factory, key: str) -> tuple[str | None, str | None]:
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, key)
        return (
            project.objective.name if project.objective else None,
            project.programme.name if project.programme else None,
        )


def _objective_id(session_factory) -> int:
    with unit_of_work(session_factory) as session:
        return session.scalars(select(Objective.id)).one()


def _values(key: str, *, typed_objective: str | None = None, picked_objective: int | None = None) -> dict:
    picked = (
        static_select(str(picked_objective)) if picked_objective else {"type": "static_select", "selected_option": None}
    )
    return {
        "key": {"key": plain_input(key)},
        "name": {"name": plain_input("Online forms")},
        "sponsor": {"sponsor": {"type": "users_select", "selected_user": SPONSOR}},
        "lead": {"lead": {"type": "users_select", "selected_user": None}},
        "objective_picked": {"objective_picked": picked},
        "objective": {"objective": plain_input(typed_objective)},
        "programme": {"programme": plain_input(None)},
        "description": {"description": plain_input(None)},
    }


def test_the_new_project_form_offers_the_existing_objectives_and_programmes(slack, fake_slack, session_factory):
    add_project(session_factory, objective=EXISTING)

    slack.command("project add", user_id=PMO_ADMIN, channel_id="C0PMO")

    view = fake_slack.wait_for("views.open").args["view"]
    assert view_problems(view) == []
    [picker] = [block for block in view["blocks"] if block["block_id"] == "objective_picked"]
    assert [option["text"]["text"] for option in picker["element"]["options"]] == [EXISTING]
    assert any(block["block_id"] == "objective" and "add a new" in block["label"]["text"] for block in view["blocks"])


def test_picking_an_existing_objective_links_it(slack, session_factory):
    add_project(session_factory, objective=EXISTING)

    response = slack.view_submission(
        "project.new", _values("web-1", picked_objective=_objective_id(session_factory)), user_id=PMO_ADMIN
    )

    assert response.json()["response_action"] == "update"
    assert _names(session_factory, "WEB-1")[0] == EXISTING


def test_a_typed_name_differing_only_in_case_and_spacing_is_the_existing_one(slack, session_factory):
    add_project(session_factory, objective=EXISTING)

    slack.view_submission(
        "project.new", _values("web-1", typed_objective="  residents can  do MORE online"), user_id=PMO_ADMIN
    )

    assert _count(session_factory, Objective) == 1
    assert _names(session_factory, "WEB-1")[0] == EXISTING


def test_picking_and_typing_at_once_is_refused(slack, session_factory):
    add_project(session_factory, objective=EXISTING)

    response = slack.view_submission(
        "project.new",
        _values("web-1", typed_objective="Something else", picked_objective=_objective_id(session_factory)),
        user_id=PMO_ADMIN,
    )

    assert response.json()["errors"] == {"objective": "Pick one from the list or type a new one, not both."}


def test_the_import_and_the_sync_use_the_same_rule(session_factory):
    add_project(session_factory, objective=EXISTING)
    with unit_of_work(session_factory) as session:
        import_portfolio(
            session,
            ",".join(COLUMNS) + "\nHR-1,HR system,Digital,,,,,,,,,\n",
            resolve_email=lambda email: None,
            team_id="T1",
            now=NOW,
        )
    csv_row = "WEB-1,Website, digital ,RESIDENTS CAN DO MORE ONLINE,,,,,,,,"

    with unit_of_work(session_factory) as session:
        imported = import_portfolio(
            session, ",".join(COLUMNS) + "\n" + csv_row + "\n", resolve_email=lambda email: None, team_id="T1", now=NOW
        )
    with unit_of_work(session_factory) as session:
        synced = import_records(
            session,
            [{"key": "OPS-1", "name": "Ops", "programme": "DIGITAL", "objective": "residents can do more  online"}],
            resolve_email=lambda email: None,
            team_id="T1",
            now=NOW,
        )
    with unit_of_work(session_factory) as session:
        again = import_portfolio(
            session, ",".join(COLUMNS) + "\n" + csv_row + "\n", resolve_email=lambda email: None, team_id="T1", now=NOW
        )

    assert imported.created == ["WEB-1"] and synced.created == ["OPS-1"]
    assert (_count(session_factory, Objective), _count(session_factory, Programme)) == (1, 1)
    assert _names(session_factory, "OPS-1") == (EXISTING, "Digital")
    assert again.unchanged == ["WEB-1"]  # the file's spelling is not a change


def test_the_form_stays_within_slacks_limits_for_a_long_list():
    many = [(index, "O" * 200) for index in range(150)]

    assert view_problems(new_project_modal(many, many)) == []
