"""Claiming inside a caller's transaction: losing a race refuses that one claim and keeps
everything else the caller did in the same transaction."""

from __future__ import annotations

import threading

from sqlalchemy import select

from bot.services import checkins, outbox, portfolio
from bot.services.checkins import DuePrompt
from bot.services.outbox import OutgoingRequest
from storage.models import CheckinPeriod, OutgoingMessage
from storage.session import unit_of_work
from tests.conftest import NOW
from tests.factories import add_project


def _message(key: str) -> OutgoingRequest:
    return OutgoingRequest(key, "chat.postMessage", "C0TEAM", {"channel": "C0TEAM", "text": key})


def _prompt(session, key: str) -> DuePrompt:
    project = portfolio.get_project(session, key)
    return DuePrompt(project.id, key, "2026-W48", NOW, "C0TEAM", "T0FAKE")


def test_a_period_another_tick_opened_is_refused_and_the_ticks_other_periods_are_kept(session_factory):
    for key in ("CRM-1", "CRM-2", "CRM-3"):
        add_project(session_factory, key)
    with unit_of_work(session_factory) as other_tick:
        assert checkins.claim_prompt(other_tick, _prompt(other_tick, "CRM-2"), now=NOW)

    with unit_of_work(session_factory) as session:
        opened = [checkins.claim_prompt(session, _prompt(session, key), now=NOW) for key in ("CRM-1", "CRM-2", "CRM-3")]

    assert opened == [True, False, True]
    with unit_of_work(session_factory) as session:
        periods = session.scalars(select(CheckinPeriod.project_id)).all()
    assert len(periods) == 3  # CRM-1 and CRM-3 survived the lost claim of CRM-2


def test_a_key_claimed_by_a_concurrent_transaction_is_refused_and_earlier_claims_survive(session_factory):
    """Two sessions at once. On PostgreSQL the loser's insert waits for the winner's commit and
    then meets the conflict; on SQLite writers queue on the database lock. Either way the loser
    gets None for the shared key and keeps the claims it made before and after it."""
    winner_has_claimed = threading.Event()
    release_winner = threading.Event()

    def winner() -> None:
        with unit_of_work(session_factory) as session:
            assert outbox.claim(session, _message("shared"), now=NOW) is not None
            winner_has_claimed.set()
            release_winner.wait(timeout=10)

    thread = threading.Thread(target=winner)
    thread.start()
    assert winner_has_claimed.wait(timeout=10)
    results = []
    with unit_of_work(session_factory) as session:
        # The winner commits while this transaction is waiting on it.
        threading.Timer(0.3, release_winner.set).start()
        for key in ("loser-1", "shared", "loser-2"):
            results.append(outbox.claim(session, _message(key), now=NOW) is not None)
    thread.join(timeout=10)

    assert results == [True, False, True]
    with unit_of_work(session_factory) as session:
        keys = sorted(session.scalars(select(OutgoingMessage.idempotency_key)))
    assert keys == ["loser-1", "loser-2", "shared"]
