"""Posting escalation alerts to the PMO channel and the PMO picking them up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_bolt import Ack, App

from bot.context import AppContext
from bot.services import coaching, escalations, message_keys
from bot.services.access import Actor
from handlers.blocks.escalations import coaching_offered_text
from handlers.blocks.metadata import StaleState
from handlers.delivery import chat_message, publish_alert, send_once
from handlers.ids import ActionId
from storage.models import Escalation, EscalationStatus
from storage.session import unit_of_work

log = logging.getLogger(__name__)


def tell_coaching_offered(ctx: AppContext, escalation_id: int, coach_user_id: str, *, now: datetime) -> None:
    """The accountable people hear who in the PMO offered coaching, so they know whom to expect."""
    with unit_of_work(ctx.session_factory) as session:
        alert = escalations.alert_view(session, session.get_one(Escalation, escalation_id))
    text = coaching_offered_text(alert, coach_user_id, scale=ctx.settings.confidence_scale)
    for recipient in dict.fromkeys(filter(None, (alert.lead_user_id, alert.sponsor_user_id))):
        if recipient != coach_user_id:
            key = message_keys.coaching_offered(escalation_id, recipient)
            send_once(ctx, chat_message(key, recipient, text), now=now)


def publish_unposted_alerts(ctx: AppContext, now: datetime) -> None:
    """Scheduled safety net: an escalation recorded but never posted gets posted now."""
    if ctx.settings.pmo_channel_id is None:
        return
    with unit_of_work(ctx.session_factory) as session:
        pending = escalations.unposted(session, now=now)
    for escalation_id in pending:
        publish_alert(ctx, escalation_id, now=now)


def _escalation_id(value: str) -> int:
    """The escalation an alert's button is for (its value is the id, as `alert_blocks` writes it)."""
    if not value.isdigit():
        raise StaleState("This button is out of date; the alert above is the current one.")
    return int(value)


def register(app: App, ctx: AppContext) -> None:
    def pick_up(status: EscalationStatus) -> Callable[..., None]:
        """A button listener recording that a PMO admin picked the alert up with this status."""

        def listener(ack: Ack, actor: Actor, now: datetime, action: dict) -> None:
            ack()
            escalation_id = _escalation_id(action["value"])
            user_id = actor.slack_user_id
            with unit_of_work(ctx.session_factory) as session:
                if status is EscalationStatus.COACHING:
                    # Offering coaching is also a coaching note, counted in the monthly pack.
                    coaching.offer_coaching(session, escalation_id, user_id, is_pmo_admin=actor.is_pmo_admin, now=now)
                else:
                    escalations.pick_up(
                        session, escalation_id, user_id, status, is_pmo_admin=actor.is_pmo_admin, now=now
                    )
            publish_alert(ctx, escalation_id, now=now)
            if status is EscalationStatus.COACHING:
                tell_coaching_offered(ctx, escalation_id, user_id, now=now)

        return listener

    app.action(ActionId.ESCALATION_ACKNOWLEDGE)(pick_up(EscalationStatus.ACKNOWLEDGED))
    app.action(ActionId.ESCALATION_COACHING)(pick_up(EscalationStatus.COACHING))
