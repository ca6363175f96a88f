"""Bank holidays (BANK_HOLIDAYS): skip dates nobody typed, in `/pmo skip`, the prompts, the ladder and the digest."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from bot.services import calendar, governance
from bot.settings import ConfigError, Settings, load_settings
from handlers.jobs import run_due_work
from storage.session import unit_of_work
from tests.conftest import PMO_ADMIN, PMO_CHANNEL, SIGNING_SECRET
from tests.factories import ACTION_OWNER, LEAD, SPONSOR, add_action, add_project

CHRISTMAS_EVE = date(2026, 12, 24)  # a Thursday; Friday 25 and Monday 28 are bank holidays in England


@pytest.fixture
def settings(fake_slack, database_url) -> Settings:
    """The conftest's settings, but with BANK_HOLIDAYS unset: England and Wales, as DEFAULT_TIMEZONE is London."""
    return load_settings(
        _env_file=None,
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        database_url=database_url,
        pmo_channel_id=PMO_CHANNEL,
        pmo_admin_ids=PMO_ADMIN,
        digest_enabled=False,
    )


@pytest.fixture
def crm(fake_slack, session_factory):
    fake_slack.add_channel("C0CRM", "crm-team", members=(LEAD, ACTION_OWNER))
    for person in (LEAD, SPONSOR, ACTION_OWNER):
        fake_slack.add_user(person)
    add_project(session_factory, channels=("C0CRM",), created_at=datetime(2026, 11, 1, tzinfo=timezone.utc))


def _reply_to(fake_slack, words: str) -> dict:
    return fake_slack.wait_for_response(lambda response: words in response["text"])


def _prompts(fake_slack) -> list[dict]:
    return [message for message in fake_slack.messages_in("C0CRM") if "weekly check-in" in message["text"]]


def test_the_calendar_follows_the_setting_and_a_bad_one_says_what_to_write():
    london = load_settings(_env_file=None)
    assert london.bank_holiday_region == "england-and-wales"
    assert load_settings(_env_file=None, default_timezone="Asia/Kolkata").bank_holiday_region == "none"
    assert load_settings(_env_file=None, bank_holidays="ie").bank_holiday_region == "IE"

    st_andrews = date(2026, 11, 30)
    assert calendar.bank_holidays("scotland", [2026])[st_andrews] == "Saint Andrew's Day"
    assert st_andrews not in calendar.bank_holidays("england-and-wales", [2026])
    assert calendar.bank_holidays("none", [2026]) == {}

    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None, bank_holidays="wales-and-england")
    assert refused.value.lines == [
        "BANK_HOLIDAYS: 'wales-and-england' is not a bank-holiday calendar: use england-and-wales, scotland, "
        "northern-ireland, an ISO country code such as IE, or none"
    ]


def test_skip_lists_the_bank_holidays_by_name_without_anyone_typing_them(slack, fake_slack, session_factory):
    add_project(session_factory)

    slack.command("skip", user_id=LEAD, channel_id="C0PMO")

    listing = _reply_to(fake_slack, "*Skip dates*")["text"]
    assert "• Fri 25 Dec 2026 (2026-12-25): Christmas Day (bank holiday)" in listing
    assert "• Mon 28 Dec 2026 (2026-12-28): Boxing Day (observed) (bank holiday)" in listing
    assert "• Mon 29 Mar 2027 (2027-03-29): Easter Monday (bank holiday)" in listing


def test_no_prompt_on_a_bank_holiday_unless_someone_kept_it_as_a_working_day(
    app_context, slack, fake_slack, session_factory, crm
):
    run_due_work(app_context, datetime(2026, 12, 28, 9, 30, tzinfo=timezone.utc))  # Boxing Day (observed)
    assert _prompts(fake_slack) == []

    slack.command("skip remove 2027-03-29", user_id=LEAD, channel_id="C0PMO")
    assert (
        "Mon 29 Mar 2027 (Easter Monday) is no longer a skip date: it is a working day this year"
        in _reply_to(fake_slack, "no longer")["text"]
    )
    # The ticks that sync the calendar do not put it back: the team is prompted on Easter Monday.
    run_due_work(app_context, datetime(2027, 3, 29, 8, 30, tzinfo=timezone.utc))  # 09:30 BST
    assert [prompt["text"][-8:] for prompt in _prompts(fake_slack)] == ["2027-W13"]

    slack.command("skip", user_id=LEAD, channel_id="C0PMO")
    assert "Mon 29 Mar 2027" not in _reply_to(fake_slack, "*Skip dates*")["text"]


def test_bank_holidays_do_not_age_an_action_and_the_dm_and_the_digest_agree(
    app_context, fake_slack, session_factory, crm
):
    add_action(session_factory, "Agree the protocol", due=CHRISTMAS_EVE)

    for day in (date(2026, 12, 25), date(2026, 12, 28), date(2026, 12, 29)):
        run_due_work(app_context, datetime.combine(day, time(9, 30), tzinfo=timezone.utc))
        if day < date(2026, 12, 29):
            assert fake_slack.messages_in(ACTION_OWNER) == []  # nobody is chased on a bank holiday

    dm = fake_slack.messages_in(ACTION_OWNER)
    assert len(dm) == 1 and "1 working day overdue" in str(dm[0])
    with unit_of_work(session_factory) as session:
        overdue = governance.overdue_actions(session, today=date(2026, 12, 29))
        working = calendar.calendar_between(session, date(2026, 12, 1), date(2027, 1, 31))
    assert [action.days_overdue for action in overdue] == [1]
    assert not working.is_working_day(date(2027, 1, 1))
    assert working.add(CHRISTMAS_EVE, 4) == date(2027, 1, 4)  # snooze and help-action due dates count the same way
