"""The one delivery core: every message a schedule or an event triggers goes out here.

It holds the Slack error classes, the idempotency ledger's send path (claim, send, record
Slack's answer at once in a transaction of its own), the one rule for a channel Slack
refuses for good, DM delivery (DMs listing actions among them) and the rule for a person Slack
says is gone, alerts to the PMO channel, each person's Home tab, and joining the channels an
import or sync linked. Feature handlers call it (what a domain operation owes goes through
`handlers.outcomes.deliver_owed`); none imports another for delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.services import actions, checkins, escalations, message_keys, nudges, outbox, portfolio, risks, status
from bot.services.escalations import Cause
from bot.services.outbox import OutgoingRequest
from handlers.blocks.actions import ASSIGNED, ActionDm, assignment_dm, overdue_digest
from handlers.blocks.escalations import alert_blocks, alert_text
from handlers.blocks.home import home_view
from storage.models import DeliveryStatus, Escalation, EscalationKind, Project
from storage.session import unit_of_work

log = logging.getLogger(__name__)

# --- Slack's errors, by what they mean for delivery ------------------------------------------

# The channel itself is gone for the bot (archived, bot removed, deleted).
BROKEN_CHANNEL_ERRORS = frozenset({"is_archived", "not_in_channel", "channel_not_found"})
# The person is gone, not that Slack is having a bad day.
UNREACHABLE_ERRORS = frozenset({"user_not_found", "account_inactive"})
# Retrying will not fix these; the ledger stops at once.
PERMANENT_ERRORS = (
    BROKEN_CHANNEL_ERRORS
    | UNREACHABLE_ERRORS
    | frozenset(
        {
            "invalid_blocks",
            "invalid_arguments",
            "msg_too_long",
            "no_text",
            "cannot_dm_bot",
            "message_not_found",
            "cant_update_message",
            "missing_scope",
            "not_authed",
            "invalid_auth",
            "token_revoked",
            "restricted_action",
        }
    )
)


@dataclass(frozen=True)
class Delivery:
    status: DeliveryStatus
    message_ts: str | None = None
    error: str | None = None


class ChannelTarget(Protocol):
    """A project channel a message goes to, so a channel Slack refuses can be marked broken."""

    project_id: int
    project_key: str
    team_id: str
    channel_id: str


def chat_message(
    idempotency_key: str, channel: str, text: str, blocks: list | None = None, **extra: Any
) -> OutgoingRequest:
    """A chat.postMessage for the ledger; `channel` may be a user ID, which Slack delivers as a DM."""
    payload: dict[str, Any] = {"channel": channel, "text": text, **extra}
    if blocks is not None:
        payload["blocks"] = blocks
    return OutgoingRequest(idempotency_key, "chat.postMessage", channel, payload)


@dataclass(frozen=True)
class ClaimedMessage:
    """A ledger row claimed inside a caller's transaction, to deliver once that commits.

    Claiming together with the state change that calls for the message (a period opened,
    a reminder taken) means a crash between the two can neither lose nor double it.
    """

    row_id: int
    request: OutgoingRequest


def claim(
    session: Session, request: OutgoingRequest, *, now: datetime, take_over: bool = False
) -> ClaimedMessage | None:
    row = outbox.claim(session, request, now=now, take_over=take_over)
    if row is None:
        return None
    return ClaimedMessage(
        row.id, OutgoingRequest(request.idempotency_key, request.method, request.channel_id, row.payload)
    )


def send_once(ctx: AppContext, request: OutgoingRequest, *, now: datetime) -> Delivery | None:
    """Send unless this key was already claimed; None means someone else owns the message."""
    with unit_of_work(ctx.session_factory) as session:
        claimed = claim(session, request, now=now)
    if claimed is None:
        return None
    return deliver(ctx, claimed, now=now)


def deliver(ctx: AppContext, claimed: ClaimedMessage, *, now: datetime) -> Delivery:
    return _attempt(ctx, claimed.row_id, claimed.request.method, claimed.request.payload, now=now)


def deliver_to_channel(
    ctx: AppContext,
    claimed: ClaimedMessage,
    target: ChannelTarget,
    *,
    what: str,
    now: datetime,
    period: str | None = None,
) -> Delivery:
    """Deliver into a project channel; a channel Slack refuses for good is handled by `channel_broke`."""
    delivery = deliver(ctx, claimed, now=now)
    if delivery.error in BROKEN_CHANNEL_ERRORS:
        channel_broke(ctx, target, delivery.error or "", what=what, now=now, period=period)
    return delivery


def channel_broke(
    ctx: AppContext, target: ChannelTarget, error: str, *, what: str, now: datetime, period: str | None = None
) -> None:
    """The one rule for a channel Slack refuses for good: stop using it (and excuse the check-in
    `period` it would have prompted), and tell the PMO once per channel, whichever message found it."""
    cause = Cause(
        key=message_keys.broken_channel_cause(target.team_id, target.channel_id),
        kind=EscalationKind.BROKEN_CHANNEL,
        facts={"what": what, "channel_id": target.channel_id, "error": error, "project_key": target.project_key},
        period=period,
    )
    with unit_of_work(ctx.session_factory) as session:
        portfolio.mark_link_broken(session, target.team_id, target.channel_id, error, now=now)
        if period is not None:
            checkins.excuse_period(session, target.project_id, period, checkins.BROKEN_CHANNEL)
        raised = escalations.raise_alert(session, cause, project=session.get(Project, target.project_id), now=now)
    publish_alert(ctx, raised.escalation_id, now=now)


def deliver_dm(ctx: AppContext, claimed: ClaimedMessage, *, now: datetime) -> Delivery:
    """Send a claimed DM; a person Slack says is gone is recorded and the PMO told, once."""
    delivery = deliver(ctx, claimed, now=now)
    if delivery.error in UNREACHABLE_ERRORS:
        person_unreachable(ctx, claimed.request.channel_id, delivery.error or "", now=now)
    return delivery


def send_dm_once(ctx: AppContext, request: OutgoingRequest, *, now: datetime) -> Delivery | None:
    with unit_of_work(ctx.session_factory) as session:
        claimed = claim(session, request, now=now)
    return deliver_dm(ctx, claimed, now=now) if claimed is not None else None


def person_unreachable(ctx: AppContext, user_id: str, error: str, *, now: datetime) -> None:
    with unit_of_work(ctx.session_factory) as session:
        if not nudges.mark_unreachable(session, user_id, now=now):
            return
        lines = actions.action_lines(
            session,
            actions.open_actions_owned_by(session, user_id),
            as_of=ctx.workspace_day(now),
            zone=ZoneInfo(ctx.settings.default_timezone),
        )
        cause = actions.unreachable_cause(user_id, error, lines)
        raised = escalations.raise_alert(session, cause, project=None, now=now)
    publish_alert(ctx, raised.escalation_id, now=now)


# --- being in the channels it posts to --------------------------------------------------------------


def join_linked_channels(client: WebClient, channel_ids: list[str]) -> list[str]:
    """Join the public channels an import or sync linked; the names of those the bot must be
    invited to (private ones it is not in), so whoever ran it can say `/invite @pmo-bot`."""
    to_invite = []
    for channel_id in channel_ids:
        try:
            channel = client.conversations_info(channel=channel_id)["channel"]
        except SlackApiError as error:
            if error.response.get("error") != "channel_not_found":
                raise
            to_invite.append(channel_id)  # a private channel the bot is not in looks like this
            continue
        if channel.get("is_member") or channel.get("is_archived"):
            continue
        if channel.get("is_private") or channel.get("is_group"):
            to_invite.append(f"#{channel.get('name', channel_id)}")
            continue
        client.conversations_join(channel=channel_id)
    return to_invite


# --- DMs about actions -------------------------------------------------------------------------------


def _action_dm_message(session: Session, ctx: AppContext, dm: ActionDm, *, key: str, recipient: str) -> OutgoingRequest:
    zone = ZoneInfo(ctx.settings.default_timezone)
    lines = actions.action_lines(
        session, actions.actions_by_id(session, dm.action_ids), as_of=date.fromisoformat(dm.as_of), zone=zone
    )
    if dm.kind == ASSIGNED:
        text, blocks = assignment_dm(lines[0], dm, key=key, recipient=recipient)
    else:
        reviews = risks.lines_by_id(session, dm.risk_ids, as_of=date.fromisoformat(dm.as_of), zone=zone)
        text, blocks = overdue_digest(lines, key=key, recipient=recipient, reviews=reviews)
    # The metadata says what the DM lists, so a click on it can redraw it from the records.
    return chat_message(key, recipient, text, blocks, metadata=dm.metadata())


def claim_action_dm(
    session: Session, ctx: AppContext, dm: ActionDm, *, key: str, recipient: str, now: datetime
) -> ClaimedMessage | None:
    """Claim a DM listing actions (an assignment, the day's overdue ones), in the caller's
    transaction; None when already claimed. The caller delivers it with `deliver_dm`."""
    return claim(session, _action_dm_message(session, ctx, dm, key=key, recipient=recipient), now=now)


def redraw_action_dm(ctx: AppContext, key: str, *, now: datetime) -> None:
    """Bring a DM about actions up to date (done, snoozed, reassigned) in place."""
    with unit_of_work(ctx.session_factory) as session:
        row = outbox.find(session, key)
        if row is None:
            return
        dm = ActionDm.from_metadata(row.payload["metadata"])
        message = _action_dm_message(session, ctx, dm, key=key, recipient=str(row.payload["channel"]))
    post_or_update(ctx, message, now=now)


# --- messages kept up to date in place ----------------------------------------------------------


def post_or_update(ctx: AppContext, request: OutgoingRequest, *, now: datetime) -> None:
    """Post a message once under its key, or bring the already-posted one up to date.

    For alerts, summaries and prompts that change after they are posted. A message not yet
    sent (claimed, in flight, or waiting for a retry) gets the new content in the ledger: a
    send in flight sees it when it records Slack's answer and updates what it posted, a retry
    sends it. An update is harmless to repeat, so it goes straight to chat.update.
    """
    for _ in range(3):  # each lost race means the message moved on: claimed, then sent
        with unit_of_work(ctx.session_factory) as session:
            if outbox.replace_unsent_payload(session, request.idempotency_key, request.payload):
                return
            posted = outbox.sent_message(session, request.idempotency_key)
        if posted is not None:
            _update(ctx, request.idempotency_key, *posted, request.payload)
            return
        if send_once(ctx, request, now=now) is not None:
            return


Render = Callable[[Session], tuple[str, list]]


def publish_current(
    ctx: AppContext, key: str, channel: str, render: Render, *, now: datetime, to_person: bool = False
) -> None:
    """Post a message kept up to date in place, or update it, rendered from the present state.

    `render` reads the state under the ledger row's lock, so of two publishers racing (a
    declaration and its resolution a moment later) the last to write rendered the latest
    state. After an update, a payload changed meanwhile is sent again, so Slack ends with
    the latest; a first post still in flight applies it when it records Slack's answer.
    `to_person`: `channel` is a user ID, and a person Slack says is gone is handled as DMs are.
    """
    for _ in range(5):
        with unit_of_work(ctx.session_factory) as session:
            row = outbox.lock_by_key(session, key)
            text, blocks = render(session)
            request = chat_message(key, channel, text, blocks)
            claimed = None
            if row is None:
                claimed = claim(session, request, now=now)
                if claimed is None:
                    continue  # claimed by another publisher a moment ago: render again under its lock
            else:
                row.payload = request.payload
                posted = (row.channel_id, row.message_ts) if row.status is DeliveryStatus.SENT else None
        if claimed is not None:
            (deliver_dm if to_person else deliver)(ctx, claimed, now=now)
            return
        if posted is None or posted[1] is None:
            return  # not sent yet: the sender in flight, or the retry, sends this payload
        _update(ctx, key, posted[0], posted[1], request.payload)
        with unit_of_work(ctx.session_factory) as session:
            latest = outbox.find(session, key)
            if latest is None or latest.payload == request.payload:
                return


def _update(ctx: AppContext, key: str, channel_id: str, ts: str, payload: dict) -> None:
    try:
        ctx.client.chat_update(channel=channel_id, ts=ts, **_update_fields(payload))
    except SlackApiError as exc:
        log.warning("could not update %s (%s %s): %s", key, channel_id, ts, exc.response.get("error"))


def _update_fields(payload: dict) -> dict:
    # chat.update takes the content fields of chat.postMessage, but not threading ones.
    return {name: value for name, value in payload.items() if name in ("text", "blocks", "attachments")}


# --- alerts to the PMO channel ---------------------------------------------------------------------


def escalate(ctx: AppContext, cause: Cause, *, project_id: int | None, now: datetime) -> None:
    """Raise (or refresh) the escalation for a cause in a transaction of its own and show it in the
    PMO channel. A flow that changes records for the same reason raises it in its own transaction
    instead (`escalations.raise_alert`) and sends what it owes with `handlers.outcomes.deliver_owed`."""
    with unit_of_work(ctx.session_factory) as session:
        project = session.get(Project, project_id) if project_id else None
        raised = escalations.raise_alert(session, cause, project=project, now=now)
    publish_alert(ctx, raised.escalation_id, now=now)


def publish_alert(ctx: AppContext, escalation_id: int, *, now: datetime) -> None:
    channel_id = ctx.settings.pmo_channel_id
    with unit_of_work(ctx.session_factory) as session:
        cause_key = session.get_one(Escalation, escalation_id).cause_key
    if channel_id is None:
        log.warning("PMO_CHANNEL_ID is not set, so escalation %s is recorded but not posted", cause_key)
        return

    def render(session: Session) -> tuple[str, list]:
        alert = escalations.alert_view(session, session.get_one(Escalation, escalation_id, populate_existing=True))
        scale = ctx.settings.confidence_scale
        return alert_text(alert, scale=scale), alert_blocks(alert, scale=scale)

    publish_current(ctx, message_keys.alert(cause_key), channel_id, render, now=now)


# --- the Home tab ---------------------------------------------------------------------------------


def publish_home(ctx: AppContext, user_id: str, now: datetime) -> None:
    """Build this person's Home tab as of `now` and publish it; a refusal by Slack is logged."""
    today = ctx.workspace_day(now)
    with unit_of_work(ctx.session_factory) as session:
        view = status.personal_view(
            session,
            user_id,
            today=today,
            now=now,
            default_cadence=ctx.settings.default_cadence,
            tolerance=ctx.settings.benefit_tolerance,
            is_pmo_admin=ctx.settings.is_pmo_admin(user_id),
        )
    try:
        ctx.client.views_publish(user_id=user_id, view=home_view(view, scale=ctx.settings.confidence_scale, now=now))
    except SlackApiError as error:
        # The tab is refreshed again the next time the person opens it; nothing else depends on it.
        log.warning("could not publish the Home tab of %s: %s", user_id, error.response.get("error"))


def refresh_home(ctx: AppContext, user_ids: Iterable[str | None], now: datetime) -> None:
    """Re-publish the Home tab of each of these people (each once; None and blanks are skipped).

    For features that change what the tab shows: a check-in submitted, an action assigned,
    done or snoozed. Slack refusing one person's tab does not stop the others.
    """
    for user_id in dict.fromkeys(user_id for user_id in user_ids if user_id):
        publish_home(ctx, user_id, now)


# --- bursts and retries --------------------------------------------------------------------------

FANOUT_WORKERS = 8
Item = TypeVar("Item")


def fan_out(ctx: AppContext, items: Sequence[Item], send: Callable[[Item], None]) -> None:
    """Send one message (or a few) per item in parallel; the client paces them under Slack's rate limit.

    For bursts such as Monday's prompts or an incident's impact notices. `send` must
    claim its messages in the ledger, so running a fan-out twice sends nothing twice;
    one item's failure is logged and does not stop the others.
    """
    if not items:
        return

    def send_logged(item: Item) -> None:
        try:
            send(item)
        except Exception:
            log.exception("fan-out send failed for %r", item)

    with ThreadPoolExecutor(max_workers=FANOUT_WORKERS, thread_name_prefix="fan-out") as pool:
        list(pool.map(send_logged, items))


def retry_failed_messages(ctx: AppContext, now: datetime) -> None:
    """Scheduled work: re-send what failed for a passing reason, and what a process claimed but
    died before recording Slack's answer (its lease ran out)."""
    with unit_of_work(ctx.session_factory) as session:
        due = outbox.take_due(session, now=now)
    for message in due:
        if message.stale_claim:
            log.warning(
                "taking over %s: claimed at %s, Slack's answer never recorded (the sender stopped?); sending it now",
                message.idempotency_key,
                message.claimed_at.isoformat(),
            )
        _attempt(ctx, message.row_id, message.method, message.payload, now=now)


def _attempt(ctx: AppContext, row_id: int, method: str, payload: dict, *, now: datetime) -> Delivery:
    message_ts: str | None = None
    channel_id: str | None = None
    error: str | None = None
    try:
        # The ledger carries methods that take JSON bodies (chat.*, files.completeUploadExternal).
        response = ctx.client.api_call(method, json=payload)
        message_ts = response.get("ts")
        channel_id = response.get("channel")
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
    except (SlackClientError, OSError) as exc:
        # The connection retry handler already tried again; the ledger tries again later.
        error = f"connection: {type(exc).__name__}"
    # Recorded at once, in a transaction of its own: a crash from here on can double this
    # message, never lose it, and only a crash before this commit can.
    with unit_of_work(ctx.session_factory) as session:
        row = outbox.lock_for_recording(session, row_id)
        newer: dict | None = None
        if error is None:
            outbox.record_sent(row, message_ts=message_ts, channel_id=channel_id, now=now)
            if row.payload != payload and message_ts is not None:
                newer = row.payload  # changed while this send was in flight
        else:
            outbox.record_failure(row, error, permanent=error in PERMANENT_ERRORS, now=now)
            log.warning(
                "slack %s failed for %s in %s: %s (attempt %d, now %s)",
                method,
                row.idempotency_key,
                row.channel_id,
                error,
                row.attempts,
                row.status.value,
            )
        ctx.metrics.record_delivery(row.idempotency_key, sent=error is None, attempts=row.attempts)
        key, posted_channel = row.idempotency_key, row.channel_id
        delivery = Delivery(row.status, message_ts, error)
    if newer is not None and message_ts is not None:
        _update(ctx, key, posted_channel, message_ts, newer)
    return delivery
