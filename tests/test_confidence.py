"""CONFIDENCE_SCALE: the check-in form asks on the configured scale, each level with its
definition; a check-in keeps the level given and its RAG through the one mapping; wherever a
person reads a status (the summary, the sponsor's DM, `/pmo status`, the Home tab) it is named
on the configured scale."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.context import AppContext
from bot.demo.blockkit import view_problems
from bot.demo.signed import plain_input, static_select
from bot.services import confidence
from bot.services.confidence import Scale
from storage.models import Checkin, Rag
from tests.conftest import NOW, make_test_client
from tests.factories import LEAD, SPONSOR, add_project
from tests.test_status import shown_text, status_reply


@pytest.fixture
def scale() -> Scale:
    return Scale.DCA5


@pytest.fixture
def app_context(settings, session_factory, scale) -> AppContext:
    configured = settings.model_copy(update={"confidence_scale": scale})
    return AppContext(
        settings=configured, session_factory=session_factory, client=make_test_client(configured), clock=lambda: NOW
    )


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD,))
    fake_slack.add_user(LEAD)
    fake_slack.add_user(SPONSOR)
    add_project(session_factory, channels=("C0CRM",))


def _form(slack, fake_slack, listeners) -> dict:
    before = len(fake_slack.calls_to("views.open"))
    slack.command("checkin CRM-2", user_id=LEAD, channel_id="C0CRM")
    listeners.wait_idle()
    return fake_slack.calls_to("views.open")[before].args["view"]


def _overall(view: dict) -> dict:
    return next(block for block in view["blocks"] if block.get("block_id") == "overall")


def _submit(slack, view: dict, chosen: str):
    values = {
        "overall": {"overall": static_select(chosen)},
        "progress": {"progress": plain_input("Fine")},
        "path_to_green": {"path_to_green": plain_input("Re-plan the data feed")},
        "path_to_green_date": {"path_to_green_date": {"type": "datepicker", "selected_date": "2027-01-15"}},
    }
    return slack.view_submission("checkin.submit", values, user_id=LEAD, private_metadata=view["private_metadata"])


def _stored(session_factory) -> list[tuple[Rag, str | None]]:
    with session_factory() as session:
        return [(c.overall_rag, c.confidence) for c in session.scalars(select(Checkin).order_by(Checkin.revision))]


def test_every_definition_fits_in_an_option_description():
    for scale in Scale:
        for level in confidence.levels(scale):
            assert len(level.definition) <= 75 and len(level.label) <= 75


@pytest.mark.parametrize(
    ("stored", "rag"),
    [
        ("dca5:green", Rag.GREEN),
        ("dca5:amber_green", Rag.GREEN),
        ("dca5:amber", Rag.AMBER),
        ("dca5:amber_red", Rag.RED),
        ("dca5:red", Rag.RED),
        ("dca3:amber", Rag.AMBER),
        ("red", Rag.RED),
    ],
)
def test_each_level_maps_to_one_rag(stored, rag):
    assert confidence.read_answer(stored)[0] is rag


def test_the_form_asks_on_the_five_point_scale_and_keeps_the_level_given(
    slack, fake_slack, crm, session_factory, listeners
):
    view = _form(slack, fake_slack, listeners)
    overall = _overall(view)
    assert view_problems(view) == []
    assert overall["label"]["text"] == "Delivery confidence"
    assert [option["text"]["text"] for option in overall["element"]["options"]] == [
        "Green",
        "Amber/Green",
        "Amber",
        "Amber/Red",
        "Red",
    ]
    assert overall["element"]["options"][3]["description"]["text"] == (
        "Delivery in doubt; major risks need urgent action."
    )

    _submit(slack, view, "dca5:amber_red")
    listeners.wait_idle()
    amending = _form(slack, fake_slack, listeners)

    assert _stored(session_factory) == [(Rag.RED, "dca5:amber_red")]
    assert _overall(amending)["element"]["initial_option"]["value"] == "dca5:amber_red"


@pytest.mark.parametrize("scale", [Scale.RAG])
def test_on_the_rag_scale_the_form_asks_as_before_with_definitions(slack, fake_slack, crm, session_factory, listeners):
    view = _form(slack, fake_slack, listeners)
    options = _overall(view)["element"]["options"]

    assert [option["value"] for option in options] == ["green", "amber", "red"]
    assert options[2]["description"]["text"] == "Needs a decision or help from above."
    _submit(slack, view, "amber")
    listeners.wait_idle()
    assert _stored(session_factory) == [(Rag.AMBER, None)]


@pytest.mark.parametrize("scale", [Scale.DCA3])
def test_a_check_in_given_on_another_scale_is_amended_from_its_rag(slack, fake_slack, crm, session_factory, listeners):
    with session_factory() as session:
        assert session.scalars(select(Checkin)).all() == []
    view = _form(slack, fake_slack, listeners)
    # A form opened under dca5 and submitted after the switch is still read as it was answered.
    _submit(slack, view, "dca5:amber_green")
    listeners.wait_idle()

    amending = _form(slack, fake_slack, listeners)

    assert _stored(session_factory) == [(Rag.GREEN, "dca5:amber_green")]
    assert _overall(amending)["element"]["initial_option"]["value"] == "dca3:green"


def test_an_amber_red_check_in_reads_amber_red_in_the_summary_the_sponsor_dm_status_and_home(
    slack, fake_slack, crm, listeners
):
    _submit(slack, _form(slack, fake_slack, listeners), "dca5:amber_red")
    listeners.wait_idle()

    [summary] = fake_slack.messages_in("C0CRM")
    assert summary["text"].endswith(": Amber/Red")
    assert ":red_circle: Amber/Red" in str(summary["blocks"])
    [sponsor_dm] = fake_slack.messages_in(SPONSOR)
    assert "reported *Amber/Red*" in sponsor_dm["text"]

    table = shown_text(status_reply(slack, fake_slack))
    assert ":red_circle: Amber/Red *CRM-2*" in table
    assert "1 project: 1 Amber/Red or Red, 0 Amber, 0 Green or Amber/Green" in table
    one = shown_text(status_reply(slack, fake_slack, "status CRM-2"))
    assert ":red_circle: Amber/Red" in one and "*Latest update*" in one
    assert "Amber/Red" in shown_text(fake_slack.home_views[SPONSOR])


@pytest.mark.parametrize("scale", [Scale.DCA3])
def test_a_check_in_given_on_another_scale_reads_as_the_configured_scale_level_of_its_colour(
    slack, fake_slack, crm, session_factory, listeners
):
    # Given as Amber/Green on dca5 (a form opened before the switch), read on dca3 as its colour's level.
    _submit(slack, _form(slack, fake_slack, listeners), "dca5:amber_green")
    listeners.wait_idle()

    [summary] = fake_slack.messages_in("C0CRM")
    assert summary["text"].endswith(": Green")
    one = shown_text(status_reply(slack, fake_slack, "status CRM-2"))
    assert ":large_green_circle: Green" in one and "Amber/Green" not in one
