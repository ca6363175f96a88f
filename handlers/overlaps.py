"""The weekly "possible overlap" note in the PMO channel, and the PMO's verdicts on its pairs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_bolt import Ack, App, Respond

from bot.context import AppContext
from bot.errors import Conflict
from bot.services import job_runs, message_keys, outbox, overlaps
from bot.services.outbox import OutgoingRequest
from handlers.blocks import overlaps as blocks
from handlers.blocks.overlaps import OverlapChoice
from handlers.delivery import chat_message, post_or_update, send_once
from storage.session import unit_of_work


def post_overlap_note(ctx: AppContext, now: datetime) -> None:
    """Scheduled work: the week's note, once, at the overlap day and time (or the first tick
    after it: a tick after downtime posts this week's note late, never a backlog)."""
    channel_id = ctx.settings.pmo_channel_id
    if channel_id is None:
        return
    period, _day, _instant = ctx.settings.overlap_cadence.latest_due(now)
    key = message_keys.overlap_note(period)
    quiet_week = message_keys.overlap_quiet_week(period)
    with unit_of_work(ctx.session_factory) as session:
        # Checked first so that, once the week's comparison is done, ticks skip it all week.
        if outbox.find(session, key) is not None or job_runs.is_done(session, quiet_week):
            return
        found = overlaps.undecided_overlaps(session, threshold=ctx.settings.overlap_threshold)
    if not found:
        # A quiet week posts nothing; pairs that appear later are in next week's note.
        with unit_of_work(ctx.session_factory) as session:
            job_runs.mark_done(session, quiet_week, now=now)
        return
    send_once(
        ctx,
        chat_message(key, channel_id, blocks.note_text(period, len(found)), blocks.note_blocks(period, found)),
        now=now,
    )


def refresh_note(ctx: AppContext, period: str, *, now: datetime) -> None:
    """Show on the week's note every verdict recorded so far on the pairs it lists.

    Built from the note as posted plus all its verdicts (not just the newest), so two
    admins deciding at once cannot leave one of their verdicts off the message.
    """
    key = message_keys.overlap_note(period)
    with unit_of_work(ctx.session_factory) as session:
        row = outbox.find(session, key)
        if row is None:
            return
        posted, channel_id = row.payload, row.channel_id
        verdicts = overlaps.verdicts(session, blocks.listed_pair_keys(posted["blocks"]))
    updated = {**posted, "blocks": blocks.with_verdicts(posted["blocks"], verdicts)}
    post_or_update(ctx, OutgoingRequest(key, "chat.postMessage", channel_id, updated), now=now)


def register(app: App, ctx: AppContext) -> None:
    def record_verdict(outcome: str) -> Callable[[Ack, datetime, dict, dict, Respond], None]:
        """A button listener recording a PMO admin's verdict on the pair it belongs to."""

        def listener(ack: Ack, now: datetime, body: dict, action: dict, respond: Respond) -> None:
            ack()
            choice = OverlapChoice.from_json(action["value"])
            user_id = body["user"]["id"]
            try:
                with unit_of_work(ctx.session_factory) as session:
                    overlaps.decide(
                        session,
                        choice.subject_key,
                        outcome,
                        user_id,
                        is_pmo_admin=ctx.settings.is_pmo_admin(user_id),
                        note=f"From the possible-overlap note of {choice.period}.",
                        now=now,
                    )
            except Conflict as error:
                # Someone else decided first; this copy of the note may not show it yet.
                respond(text=str(error), response_type="ephemeral", replace_original=False)
            refresh_note(ctx, choice.period, now=now)

        return listener

    for outcome, action_id in blocks.VERDICT_ACTIONS.items():
        app.action(action_id)(record_verdict(outcome))
