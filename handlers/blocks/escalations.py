"""The PMO-channel alert for an escalation, worded from the cause's facts each time it is shown."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.services.confidence import Scale
from bot.services.escalations import AlertView
from handlers.blocks.common import (
    SECTION_TEXT_LIMIT,
    Block,
    actions,
    button,
    channel,
    clip,
    context,
    escaped,
    section,
    slack_date,
    user,
)
from handlers.blocks.confidence import level_name
from handlers.ids import ActionId
from storage.models import EscalationKind, Rag

PICKED_UP_LABELS = {"acknowledged": "Acknowledged by", "coaching": "Coaching offered by"}
Facts = dict[str, Any]


def _quoted(words: str) -> str:
    return "\n".join(f"> {escaped(line)}" for line in words.splitlines() if line.strip())


def _title(title: str) -> str:
    return "“" + escaped(title) + "”"


def _day(iso: str) -> str:
    return slack_date(date.fromisoformat(iso))


def _working_days(days: int) -> str:
    return f"{days} working day{'s' if days != 1 else ''}"


def _owner(facts: Facts) -> str:
    away = f" (away until {_day(facts['owner_away_until'])})" if facts.get("owner_away_until") else ""
    return f"{user(facts['owner_user_id'])}{away}"


def reason_text(kind: EscalationKind, facts: Facts, *, scale: Scale) -> str:
    """Why the PMO is alerted, in mrkdwn; people's words in it are escaped. A check-in's status is named on
    the configured `scale`; the rule that raised the alert reasons on its RAG."""
    if kind is EscalationKind.CHECKIN_ATTENTION:
        period, level, lines = facts["period"], facts.get("level"), []
        if facts.get("dropped"):
            dropped_from = level_name(scale, Rag.GREEN, facts.get("previous_level"))
            lines.append(f"Dropped from {dropped_from} to {level_name(scale, Rag.RED, level)} in {period}.")
        elif facts.get("red"):
            lines.append(f"Reported {level_name(scale, Rag.RED, level)} in {period}.")
        if facts.get("asked_pmo"):
            lines.append(f"The team asked the PMO for help in {period} (now {level_name(scale, facts['rag'], level)}).")
        return "\n".join(lines)
    if kind is EscalationKind.CHECKIN_MISSED:
        return f"No check-in for {facts['period']}: the prompt and a reminder went unanswered."
    if kind is EscalationKind.BROKEN_CHANNEL:
        key = facts["project_key"]
        return (
            f"The {escaped(facts['what'])} could not be posted in {channel(facts['channel_id'])} ({facts['error']}), "
            f"so {key} gets no prompts or incident notices until a working channel is linked with `/pmo link {key}`."
        )
    if kind is EscalationKind.ACTION_OVERDUE:
        return (
            f"Action overdue by {_working_days(facts['days_overdue'])}: {_title(facts['title'])}, "
            f"owned by {_owner(facts)}, due {_day(facts['due'])}."
        )
    if kind is EscalationKind.OWNER_UNREACHABLE:
        text = (
            f"{user(facts['user_id'])} can't be reached by direct message ({facts['error']}), "
            "so nudges to them go nowhere."
        )
        owned = facts.get("actions", [])
        if owned:
            keys = sorted({item["project_key"] for item in owned})
            count = len(owned)
            text += (
                f" They own {count} open action{'s' if count != 1 else ''}: reassign "
                f"{'them' if count != 1 else 'it'} from `/pmo actions {keys[0]}`."
            )
        return text
    if kind is EscalationKind.INCIDENT_PRIORITY:
        delay = f"{facts['delay_days']} days" if facts.get("delay_days") is not None else "an unknown delay"
        return (
            f"{facts['project_key']}'s team asks for priority during {facts['incident_key']} ({facts['severity']} on "
            f"{escaped(facts['services'])}): they expect {delay} of delay and think senior management would put "
            "the project first."
        )
    if kind is EscalationKind.PORTFOLIO_SYNC:
        return (
            "Portfolio sync failed, so nothing was changed. It is retried at the next daily sync "
            "(or run `pmo-bot sync`)."
        )
    return str(facts.get("text", ""))


def evidence_text(kind: EscalationKind, facts: Facts) -> str | None:
    """The evidence under the reason (the team's own words, notes...), quoted and escaped."""
    lines: list[str] = [f"{label}: {text}" for label, text in facts.get("words", [])]
    behind = facts.get("benefits_behind", [])
    if behind:
        lines.append(
            "Benefits off trajectory: "
            + "; ".join(
                f"{item['name']} {item['latest']} {item['unit']} (expected {item['expected']} by now)"
                for item in behind
            )
        )
    if kind is EscalationKind.ACTION_OVERDUE:
        notes = "\n".join(f"> Note from {user(note['by'])}: {escaped(note['text'])}" for note in facts.get("notes", []))
        snoozes = facts.get("snoozes", 0)
        snoozed = f"> Snoozed {snoozes} time{'s' if snoozes != 1 else ''} so far." if snoozes else ""
        return "\n".join(part for part in (notes, snoozed) if part) or None
    if kind is EscalationKind.OWNER_UNREACHABLE:
        lines = [
            f"{item['title']} ({item['project_key']}, due {_day(item['due'])})" for item in facts.get("actions", [])
        ]
    if kind is EscalationKind.INCIDENT_PRIORITY:
        lines = [f"{label}: {text}" for label, text in facts.get("impact", [])]
    if kind is EscalationKind.PORTFOLIO_SYNC:
        lines = [facts.get("error", "")]
    if kind is EscalationKind.LEGACY:
        return "\n".join(f"> {line}" for line in (facts.get("evidence") or "").splitlines() if line.strip()) or None
    return _quoted("\n".join(lines)) or None


def settled_text(kind: EscalationKind, facts: Facts, *, scale: Scale) -> str:
    """How the cause went away, for the alert that now says so."""
    how = facts["settled"]
    if kind is EscalationKind.CHECKIN_ATTENTION:
        reported = level_name(scale, how["rag"], how.get("level"))
        return f"Amended: the team now reports {reported}, so this no longer applies."
    if kind is EscalationKind.CHECKIN_MISSED:
        reported = level_name(scale, how["rag"], how.get("level"))
        return f"Answered late: {user(how['by'])} checked in for {facts['period']} ({reported})."
    if kind is EscalationKind.BROKEN_CHANNEL:
        return f"Fixed: {user(how['by'])} linked {channel(how['channel_id'])} again and the bot can post there."
    if kind is EscalationKind.ACTION_OVERDUE:
        if how["how"] == "done":
            return f"Done: {_title(facts['title'])} was marked done by {user(how['by'])} on {_day(how['on'])}."
        return f"Snoozed by {user(how['by'])}: {_title(facts['title'])} is now due {_day(how['due'])}."
    if kind is EscalationKind.INCIDENT_PRIORITY:
        return f"Withdrawn: {facts['project_key']}'s team no longer asks for priority during {facts['incident_key']}."
    if kind is EscalationKind.PORTFOLIO_SYNC:
        return "Portfolio sync recovered: it works again."
    return "This no longer applies."


def _reason_or_settled(alert: AlertView, scale: Scale) -> str:
    if alert.is_settled:
        return settled_text(alert.kind, alert.facts, scale=scale)
    return reason_text(alert.kind, alert.facts, scale=scale)


def alert_text(alert: AlertView, *, scale: Scale) -> str:
    subject = f"{alert.project_key} · {escaped(alert.project_name or '')}" if alert.project_key else "Portfolio"
    reason = _reason_or_settled(alert, scale)
    return clip(f"Escalation: {subject}: {reason}", SECTION_TEXT_LIMIT)


def alert_blocks(alert: AlertView, *, scale: Scale) -> list[Block]:
    """The alert; a check-in's status in it is named on the configured `scale`."""
    subject = f"*{alert.project_key} · {escaped(alert.project_name or '')}*" if alert.project_key else "*Portfolio*"
    reason = reason_text(alert.kind, alert.facts, scale=scale)
    if alert.is_settled:
        reason = f":white_check_mark: {settled_text(alert.kind, alert.facts, scale=scale)}\n_Was:_ {reason}"
    blocks: list[Block] = [
        section(f":rotating_light: {subject}\n{reason}"),
        context(f"Sponsor: {user(alert.sponsor_user_id)} · Lead: {user(alert.lead_user_id)}"),
    ]
    evidence = evidence_text(alert.kind, alert.facts)
    if evidence:
        blocks.append(section(clip(evidence, SECTION_TEXT_LIMIT)))
    if alert.picked_up_by_user_id:
        label = PICKED_UP_LABELS.get(alert.status, "Picked up by")
        blocks.append(context(f":white_check_mark: {label} {user(alert.picked_up_by_user_id)}"))
    # A settled alert asks nothing more of the PMO, so it offers no buttons.
    if alert.status in ("open", "acknowledged") and not alert.is_settled:
        buttons = [button("Offer coaching", ActionId.ESCALATION_COACHING, str(alert.escalation_id))]
        if alert.status == "open":
            buttons.insert(0, button("Acknowledge", ActionId.ESCALATION_ACKNOWLEDGE, str(alert.escalation_id)))
        blocks.append(actions(*buttons))
    return blocks


def coaching_offered_text(alert: AlertView, coach_user_id: str, *, scale: Scale) -> str:
    """The DM telling a project's lead and sponsor who in the PMO offered coaching, and on what."""
    subject = f"{alert.project_key} · {escaped(alert.project_name or '')}" if alert.project_key else "the portfolio"
    reason = " ".join(reason_text(alert.kind, alert.facts, scale=scale).split())
    return (
        f":handshake: {user(coach_user_id)} from the PMO has offered coaching on *{subject}* and will be in touch.\n"
        f"About: {reason}"
    )
