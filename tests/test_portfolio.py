"""Portfolio rules, without Slack: keys, who may link, one project per channel, the primary channel."""

from __future__ import annotations

import pytest

from bot.errors import Conflict, NotAllowed, UserError
from bot.services import portfolio
from bot.services.access import Actor
from bot.services.portfolio import NewProject
from tests.conftest import NOW, TEAM_ID

ADMIN = Actor("U0PMOADMIN", is_pmo_admin=True)
SPONSOR = Actor("U0SPONSOR", is_pmo_admin=False)
STRANGER = Actor("U0STRANGER", is_pmo_admin=False)


@pytest.fixture
def crm(session):
    return portfolio.create_project(
        session, NewProject(key="crm-2", name="Customer records", sponsor_user_id="U0SPONSOR"), now=NOW
    )


@pytest.mark.parametrize("typed", ["crm-2", " CRM-2 ", "Crm-2"])
def test_keys_are_typed_in_any_case(typed):
    assert portfolio.normalise_key(typed) == "CRM-2"


@pytest.mark.parametrize("typed", ["", "2CRM", "CRM 2", "CRM--2", "C" * 33, "CRM-"])
def test_malformed_keys_are_refused_with_an_example(typed):
    with pytest.raises(UserError, match="e.g. CRM-2"):
        portfolio.normalise_key(typed)


def test_duplicate_keys_are_refused(session, crm):
    with pytest.raises(Conflict, match="already exists"):
        portfolio.create_project(session, NewProject(key="CRM-2", name="Again"), now=NOW)


def test_sponsor_may_link_but_a_stranger_may_not(session, crm):
    assert portfolio.link_channel(session, SPONSOR, "CRM-2", TEAM_ID, "C1", now=NOW).is_primary

    with pytest.raises(NotAllowed):
        portfolio.link_channel(session, STRANGER, "CRM-2", TEAM_ID, "C2", now=NOW)


def test_a_channel_belongs_to_one_project(session, crm):
    portfolio.create_project(session, NewProject(key="HR-1", name="HR"), now=NOW)
    portfolio.link_channel(session, ADMIN, "CRM-2", TEAM_ID, "C1", now=NOW)

    with pytest.raises(Conflict, match="already linked to CRM-2"):
        portfolio.link_channel(session, ADMIN, "HR-1", TEAM_ID, "C1", now=NOW)


def test_linking_the_same_channel_again_changes_nothing(session, crm):
    portfolio.link_channel(session, ADMIN, "CRM-2", TEAM_ID, "C1", now=NOW)

    again = portfolio.link_channel(session, ADMIN, "CRM-2", TEAM_ID, "C1", now=NOW)

    assert again.already_linked and len(crm.channel_links) == 1


def test_the_first_channel_is_primary_and_the_next_takes_over_when_it_goes(session, crm):
    for channel_id in ("C1", "C2", "C3"):
        portfolio.link_channel(session, ADMIN, "CRM-2", TEAM_ID, channel_id, now=NOW)

    portfolio.unlink_channel(session, ADMIN, TEAM_ID, "C1")

    assert [(link.channel_id, link.is_primary) for link in crm.channel_links] == [("C2", True), ("C3", False)]


def test_closed_projects_get_no_new_channels(session, crm):
    crm.status = portfolio.ProjectStatus.CLOSED

    with pytest.raises(UserError, match="closed"):
        portfolio.link_channel(session, ADMIN, "CRM-2", TEAM_ID, "C1", now=NOW)
