"""Decide, then deliver: a check-in answer returns what it owes people, with no Slack involved.

The through-Slack tests (tests/test_checkins.py) show the same answers arriving; these show the
decision on its own, as the domain returns it.
"""

from __future__ import annotations

from datetime import timedelta

from bot.services import checkins, message_keys, outbox, portfolio
from bot.services.access import Actor
from bot.services.checkins import Answered, CheckinInput
from bot.services.outbox import OutgoingRequest
from bot.services.owed import AlertChanged, CheckinSummary, HomeRefresh, PromptAnswered, SponsorDm
from storage.models import Escalation, Rag
from storage.session import unit_of_work
from tests.conftest import NOW
from tests.factories import LEAD, SPONSOR, add_project

PERIOD = "2026-W48"
RED_ASKING_FOR_HELP = CheckinInput(
    overall=Rag.RED,
    progress="Supplier late",
    help_needed="A decision on the contract",
    path_to_green="Re-plan with the supplier",
    path_to_green_date=NOW.date() + timedelta(days=30),
)


def _answer(session_factory, form: CheckinInput, *, at=NOW) -> Answered:
    with unit_of_work(session_factory) as session:
        project = portfolio.get_project(session, "CRM-2")
        return checkins.answer(session, project, Actor(LEAD, False), PERIOD, form, now=at, tolerance=0.1)


def _escalation(session_factory, cause_key: str) -> Escalation | None:
    with unit_of_work(session_factory) as session:
        return session.query(Escalation).filter_by(cause_key=cause_key).one_or_none()


def test_a_red_answer_owes_a_summary_an_alert_a_sponsor_dm_and_home_tabs(session_factory):
    add_project(session_factory, channels=("C0CRM",))

    answered = _answer(session_factory, RED_ASKING_FOR_HELP)

    cause_key = message_keys.checkin_attention_cause("CRM-2", PERIOD)
    raised = _escalation(session_factory, cause_key)
    assert raised is not None and raised.settled_at is None  # recorded with the check-in, before any send
    assert answered.owed == (
        # No prompt went out this week, so the summary goes to the primary channel, unthreaded.
        CheckinSummary(
            checkin_id=answered.submission.checkin_id,
            project_key="CRM-2",
            period=PERIOD,
            channel_id="C0CRM",
            thread_ts=None,
            overall=Rag.RED,
            answered_by=LEAD,
            revision=1,
            changed=(),
            offers_help_action=True,
        ),
        AlertChanged(raised.id, cause_key),
        SponsorDm(
            idempotency_key=message_keys.sponsor_red(answered.submission.project_id, PERIOD),
            sponsor_user_id=SPONSOR,
            project_id=answered.submission.project_id,
            project_key="CRM-2",
            project_name="Customer records",
            period=PERIOD,
            turned_red=True,
            progress="Supplier late",
            path_to_green="Re-plan with the supplier",
            help_needed="A decision on the contract",
        ),
        HomeRefresh((LEAD, SPONSOR)),
    )


def test_an_amendment_back_to_green_owes_the_prompt_update_and_the_settled_alert_not_a_dm(session_factory):
    add_project(session_factory, channels=("C0CRM",))
    first = _answer(session_factory, RED_ASKING_FOR_HELP)
    prompt_key = message_keys.checkin_prompt(first.submission.project_id, PERIOD)
    with unit_of_work(session_factory) as session:  # this week's prompt was posted
        row = outbox.claim(session, OutgoingRequest(prompt_key, "chat.postMessage", "C0CRM", {}), now=NOW)
        assert row is not None
        outbox.record_sent(row, message_ts="1700.1", now=NOW)

    amended = _answer(session_factory, CheckinInput(overall=Rag.GREEN), at=NOW + timedelta(hours=1))

    cause_key = message_keys.checkin_attention_cause("CRM-2", PERIOD)
    settled = _escalation(session_factory, cause_key)
    assert settled is not None and settled.settled_at is not None
    prompt, summary, alert, home = amended.owed
    assert prompt == PromptAnswered(
        first.submission.project_id, "CRM-2", "Customer records", PERIOD, "C0CRM", Rag.GREEN, LEAD, 2
    )
    assert isinstance(summary, CheckinSummary)
    assert (summary.channel_id, summary.thread_ts, summary.revision) == ("C0CRM", "1700.1", 2)
    assert "Overall" in summary.changed and not summary.offers_help_action
    assert alert == AlertChanged(settled.id, cause_key)
    assert home == HomeRefresh((LEAD, SPONSOR))


def test_a_green_answer_with_nothing_to_settle_owes_only_the_summary_and_home_tabs(session_factory):
    add_project(session_factory, channels=("C0CRM",))

    answered = _answer(session_factory, CheckinInput(overall=Rag.GREEN))

    assert [type(item) for item in answered.owed] == [CheckinSummary, HomeRefresh]
