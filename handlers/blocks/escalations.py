"""The PMO-channel alert for an escalation."""

from __future__ import annotations

from bot.services.escalations import AlertView
from handlers.blocks.common import SECTION_TEXT_LIMIT, Block, actions, button, clip, context, escaped, section, user
from handlers.ids import ActionId

PICKED_UP_LABELS = {"acknowledged": "Acknowledged by", "coaching": "Coaching offered by"}


def _quoted(words: str) -> str:
    """The team's own words, quoted and escaped: an alert must not let `<!channel>` in them ping anyone."""
    return "\n".join(f"> {line}" for line in escaped(words).splitlines() if line.strip())


def alert_text(alert: AlertView) -> str:
    subject = f"{alert.project_key} · {escaped(alert.project_name or '')}" if alert.project_key else "Portfolio"
    return f"Escalation: {subject}: {alert.reason}"


def alert_blocks(alert: AlertView) -> list[Block]:
    subject = f"*{alert.project_key} · {escaped(alert.project_name or '')}*" if alert.project_key else "*Portfolio*"
    blocks: list[Block] = [
        section(f":rotating_light: {subject}\n{alert.reason}"),
        context(f"Sponsor: {user(alert.sponsor_user_id)} · Lead: {user(alert.lead_user_id)}"),
    ]
    if alert.evidence:
        blocks.append(section(clip(_quoted(alert.evidence), SECTION_TEXT_LIMIT)))
    if alert.picked_up_by_user_id:
        label = PICKED_UP_LABELS.get(alert.status, "Picked up by")
        blocks.append(context(f":white_check_mark: {label} {user(alert.picked_up_by_user_id)}"))
    if alert.status in ("open", "acknowledged"):
        buttons = [button("Offer coaching", ActionId.ESCALATION_COACHING, str(alert.escalation_id))]
        if alert.status == "open":
            buttons.insert(0, button("Acknowledge", ActionId.ESCALATION_ACKNOWLEDGE, str(alert.escalation_id)))
        blocks.append(actions(*buttons))
    return blocks
