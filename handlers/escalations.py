"""Posting escalation alerts to the PMO channel and the PMO picking them up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_bolt import Ack, App, Respond

from bot.context import AppContext
from bot.errors import UserError
from bot.services import escalations
from handlers.delivery import publish_alert
from handlers.ids import ActionId
from storage.models import EscalationStatus
from storage.session import unit_of_work

log = logging.getLogger(__name__)


def publish_unposted_alerts(ctx: AppContext, now: datetime) -> None:
    """Scheduled safety net: an escalation recorded but never posted gets posted now."""
    if ctx.settings.pmo_channel_id is None:
        return
    with unit_of_work(ctx.session_factory) as session:
        pending = escalations.unposted(session)
    for escalation_id in pending:
        publish_alert(ctx, escalation_id, now=now)


def register(app: App, ctx: AppContext) -> None:
    def pick_up(status: EscalationStatus) -> Callable[..., None]:
        """A button listener recording that a PMO admin picked the alert up with this status."""

        def listener(ack: Ack, body: dict, action: dict, respond: Respond) -> None:
            ack()
            user_id = body["user"]["id"]
            now = ctx.clock()
            try:
                with unit_of_work(ctx.session_factory) as session:
                    escalations.pick_up(
                        session,
                        int(action["value"]),
                        user_id,
                        status,
                        is_pmo_admin=ctx.settings.is_pmo_admin(user_id),
                        now=now,
                    )
            except UserError as error:
                respond(text=str(error), response_type="ephemeral", replace_original=False)
                return
            publish_alert(ctx, int(action["value"]), now=now)

        return listener

    app.action(ActionId.ESCALATION_ACKNOWLEDGE)(pick_up(EscalationStatus.ACKNOWLEDGED))
    app.action(ActionId.ESCALATION_COACHING)(pick_up(EscalationStatus.COACHING))
