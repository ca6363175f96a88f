"""Block Kit for incidents: the impact notice, the re-plan message, the PMO summary, the forms.

Pure functions of the domain's views. Words people or monitoring tools typed are escaped,
so an incident summary sent to a thousand channels can never ping `@channel` in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from bot.services.incident_replan import Shift
from bot.services.incident_views import ImpactLine, IncidentView, NoticeReport
from bot.services.incidents import MAX_SUMMARY_LENGTH, ImpactInput
from handlers.blocks.checkins import FormTarget
from handlers.blocks.common import (
    SECTION_TEXT_LIMIT,
    Block,
    actions,
    bulleted,
    button,
    clip,
    context,
    escaped,
    plain,
    section,
    slack_time,
    user,
)
from handlers.blocks.metadata import JsonState
from handlers.ids import ActionId, CallbackId, ImpactBlock, NewIncidentBlock

SEVERITY_EMOJI = {"SEV1": ":red_circle:", "SEV2": ":large_orange_circle:", "SEV3": ":large_yellow_circle:"}
SEVERITY_MEANING = {
    "SEV1": "SEV1: service down for many",
    "SEV2": "SEV2: service degraded",
    "SEV3": "SEV3: minor, contained",
}
SOURCE_LABELS = {"webhook": "monitoring", "pagerduty": "PagerDuty"}
# Slack allows 100 options in a select; more services than that need typing the key.
MAX_SERVICE_OPTIONS = 100
MAX_LISTED_INCIDENTS = 20  # two blocks each, within a message's 50


@dataclass(frozen=True)
class ImpactTarget(JsonState):
    """Which project's impact a button or the impact form is about."""

    RERUN: ClassVar[str] = "/pmo incidents"

    incident_key: str
    project_key: str


def _quoted(text: str, limit: int = 1500) -> str:
    return "\n".join(f"> {line}" for line in escaped(clip(text, limit)).splitlines() if line.strip())


def _services(view: IncidentView) -> str:
    return escaped(", ".join(view.service_names))


def duration_text(duration: timedelta) -> str:
    minutes = max(1, round(duration.total_seconds() / 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(part for part in parts if part)


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def headline(view: IncidentView) -> str:
    return f"{view.severity} on {_services(view)} ({view.key})"


def _declared_by(view: IncidentView) -> str:
    if view.declared_by_user_id:
        return f"declared by {user(view.declared_by_user_id)}"
    return f"declared by {SOURCE_LABELS.get(view.external_source or '', 'monitoring')}"


# --- the impact notice, in each affected project's channel -----------------------------------


def notice_text(view: IncidentView, line: ImpactLine) -> str:
    return f"{headline(view)}: prompts and nudges for {line.project_key} are paused."


def notice_blocks(view: IncidentView, line: ImpactLine) -> list[Block]:
    emoji = SEVERITY_EMOJI.get(view.severity, ":rotating_light:")
    blocks: list[Block] = [
        section(f"{emoji} *{headline(view)}*\n{_quoted(view.summary)}"),
    ]
    target = ImpactTarget(view.key, line.project_key).to_json()
    if line.not_affected:
        blocks.append(
            section(
                f"{user(line.recorded_by_user_id)} says *{line.project_key} · {escaped(line.project_name)}* is not "
                "affected, so its check-in prompts and nudges carry on."
            )
        )
        blocks.append(actions(button("Record impact", ActionId.INCIDENT_RECORD_IMPACT, target)))
        return blocks
    blocks.append(
        section(
            "Restoring the service comes first: check-in prompts and nudges for "
            f"*{line.project_key} · {escaped(line.project_name)}* are paused until it is resolved. "
            "Please leave the people fixing it to it; updates will appear in this thread."
        )
    )
    if line.is_recorded:
        blocks.append(context(f":memo: Impact recorded by {user(line.recorded_by_user_id)}: {_impact_summary(line)}"))
        blocks.append(actions(button("Update impact", ActionId.INCIDENT_RECORD_IMPACT, target)))
    else:
        blocks.append(
            context(
                f"{user(line.lead_user_id)}, when you can: the expected delay, milestones at risk, "
                "who is diverted and your contingency plan."
            )
        )
        blocks.append(
            actions(
                button("Record impact", ActionId.INCIDENT_RECORD_IMPACT, target, style="primary"),
                button("We're not affected", ActionId.INCIDENT_NOT_AFFECTED, target),
            )
        )
    return blocks


def _impact_summary(line: ImpactLine) -> str:
    parts = [f"{_days(line.expected_delay_days)}' delay expected" if line.expected_delay_days is not None else ""]
    if line.milestones_at_risk:
        parts.append(f"milestones at risk: {escaped(clip(line.milestones_at_risk, 300))}")
    if line.asks_for_priority:
        parts.append("asks the PMO for priority")
    return "; ".join(part for part in parts if part) or "no delay expected"


# --- updates and the end of the incident --------------------------------------------------------


def update_text(view: IncidentView, words: str, author_user_id: str) -> str:
    return f":speech_balloon: Update on {view.key} from {user(author_user_id)}:\n{_quoted(words, 2500)}"


def replan_text(view: IncidentView, line: ImpactLine) -> str:
    return f"{view.key} resolved: service restored, time to re-plan {line.project_key}."


def replan_blocks(view: IncidentView, line: ImpactLine, *, period: str, shift_days: int) -> list[Block]:
    assert view.duration is not None
    target = ImpactTarget(view.key, line.project_key).to_json()
    return [
        section(
            f":white_check_mark: *Service restored: {_services(view)} ({view.key})*, "
            f"after {duration_text(view.duration)}.\n"
            f"Time to re-plan *{line.project_key} · {escaped(line.project_name)}*: check-in prompts and nudges "
            "resume at the next cadence. A check-in now tells the sponsor and the PMO where things stand."
        ),
        actions(
            button(
                "Submit a check-in now",
                ActionId.SUBMIT_CHECKIN,
                FormTarget(line.project_key, period).to_json(),
                style="primary",
            ),
            button(f"Shift open actions by {_days(shift_days)}", ActionId.INCIDENT_SHIFT_ACTIONS, target),
        ),
    ]


def shift_note(shift: Shift, by_user_id: str) -> str:
    return (
        f":calendar: {user(by_user_id)} moved {shift.actions_moved} open "
        f"{'action' if shift.actions_moved == 1 else 'actions'} of {shift.project_key} "
        f"{_days(shift.days)} later, for {shift.incident_key}."
        + (
            f" {shift.moved_to_working_day} of them would have fallen on a weekend or skip date, "
            "so they are due the next working day."
            if shift.moved_to_working_day
            else ""
        )
    )


# --- the sponsor's DM ------------------------------------------------------------------------------


def sponsor_dm(view: IncidentView, lines: list[ImpactLine]) -> tuple[str, list[Block]]:
    if not view.is_open:
        # The same DM, updated in place when the incident is resolved.
        delay = _days(sum(line.expected_delay_days or 0 for line in lines if not line.not_affected))
        text = f"{headline(view)} is resolved: {len(lines)} of your projects were affected, {delay} delay recorded."
        return text, [
            section(f":white_check_mark: *{headline(view)}* is resolved\n{_quoted(view.summary)}"),
            section(
                "*It affected your projects:*\n" + bulleted([_impact_line_text(line) for line in lines], limit=2500)
            ),
            context(f"Total delay the teams recorded: {delay}. Each team is asked to re-plan."),
        ]
    text = f"{headline(view)} affects {len(lines)} of your projects."
    return text, [
        section(f"{SEVERITY_EMOJI.get(view.severity, ':rotating_light:')} *{headline(view)}*\n{_quoted(view.summary)}"),
        section("*It affects your projects:*\n" + bulleted([_impact_line_text(line) for line in lines], limit=2500)),
        context(
            "Their teams help restore the service first, so their check-in prompts and nudges are paused. "
            "Each lead is asked for the expected delay and a contingency plan; the PMO sees them in one place, "
            "and is asked for priority only where a team thinks senior management would put the project first."
        ),
    ]


# --- the PMO's summary, updated in place -------------------------------------------------------------


def summary_text(view: IncidentView) -> str:
    state = "open" if view.is_open else "resolved"
    delay = _days(view.total_delay_days)
    return f"{headline(view)}, {state}: {len(view.affected)} projects affected, {delay} delay recorded."


def _impact_line_text(line: ImpactLine) -> str:
    name = f"*{line.project_key}* · {escaped(clip(line.project_name, 80))}"
    if line.not_affected:
        return f"{name}: not affected"
    if not line.is_recorded:
        return f"{name}: impact not recorded yet (lead {user(line.lead_user_id)})"
    return f"{name}: {_impact_summary(line)}"


def summary_blocks(view: IncidentView) -> list[Block]:
    emoji = SEVERITY_EMOJI.get(view.severity, ":rotating_light:")
    since = f"{_declared_by(view)} {slack_time(view.declared_at)}"
    blocks: list[Block] = [section(f"{emoji} *{headline(view)}*, {since}\n{_quoted(view.summary)}")]
    recorded = [line for line in view.affected if line.is_recorded]
    not_affected = len(view.impacts) - len(view.affected)
    facts = (
        f"*Projects affected:* {len(view.affected)}"
        + (f" ({not_affected} more say they are not)" if not_affected else "")
        + f"\n*Impact recorded:* {len(recorded)} of {len(view.affected)}"
        + f"\n*Delay recorded so far:* {_days(view.total_delay_days)}"
    )
    asks = [f"*{line.project_key}* ({user(line.recorded_by_user_id)})" for line in view.priority_asks]
    facts += "\n*Asked for priority:* " + (", ".join(asks) if asks else "nobody")
    blocks.append(section(clip(facts, SECTION_TEXT_LIMIT)))
    if view.impacts:
        blocks.append(section(bulleted([_impact_line_text(line) for line in view.impacts], more=" projects")))
    if view.is_open:
        blocks.append(actions(button("Resolve", ActionId.INCIDENT_RESOLVE, view.key, style="primary")))
    else:
        assert view.duration is not None and view.resolved_at is not None
        blocks.append(
            section(
                f":white_check_mark: *Resolved* {slack_time(view.resolved_at)}, after {duration_text(view.duration)}. "
                f"*Total delay recorded:* {_days(view.total_delay_days)} across {len(recorded)} projects."
            )
        )
    return blocks


# --- `/pmo incidents` ----------------------------------------------------------------------------------


def incidents_text(views: list[IncidentView]) -> str:
    open_count = sum(1 for view in views if view.is_open)
    return f"{open_count} open incidents, {len(views) - open_count} resolved lately."


def incidents_blocks(views: list[IncidentView]) -> list[Block]:
    if not views:
        return [section("No open incidents, and none resolved in the last two weeks.")]
    blocks: list[Block] = []
    for view in views[:MAX_LISTED_INCIDENTS]:
        state = "*open*" if view.is_open else f"resolved after {duration_text(view.duration or timedelta())}"
        block = section(
            f"{SEVERITY_EMOJI.get(view.severity, '')} *{headline(view)}*, {state}\n{_quoted(view.summary, 300)}"
        )
        if view.is_open:
            block["accessory"] = button("Resolve", ActionId.INCIDENT_RESOLVE, view.key)
        blocks.append(block)
        impacts = ", ".join(
            f"{line.project_key} ({_days(line.expected_delay_days)})"
            if line.expected_delay_days is not None
            else line.project_key
            for line in view.affected
        )
        blocks.append(
            context(
                f"{_declared_by(view)} {slack_time(view.declared_at)} · {len(view.affected)} projects affected"
                f" · {_days(view.total_delay_days)} delay recorded"
                + (
                    f" · priority asked by {', '.join(line.project_key for line in view.priority_asks)}"
                    if view.priority_asks
                    else ""
                )
                + (f"\n{impacts}" if impacts else "")
            )
        )
    if len(views) > MAX_LISTED_INCIDENTS:
        blocks.append(context(f"…and {len(views) - MAX_LISTED_INCIDENTS} more."))
    return blocks


# --- the forms --------------------------------------------------------------------------------------


def declare_modal(services: list[tuple[str, str]]) -> dict[str, Any]:
    """The "declare an incident" form; `services` are (key, name) pairs."""
    options = [
        {"text": plain(clip(f"{key} · {name}", 75), 75), "value": key} for key, name in services[:MAX_SERVICE_OPTIONS]
    ]
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": NewIncidentBlock.SERVICES,
            "label": plain("Service(s) affected"),
            "element": {"type": "multi_static_select", "action_id": NewIncidentBlock.SERVICES, "options": options},
        },
        {
            "type": "input",
            "block_id": NewIncidentBlock.SEVERITY,
            "label": plain("Severity"),
            "element": {
                "type": "static_select",
                "action_id": NewIncidentBlock.SEVERITY,
                "options": [{"text": plain(label, 75), "value": value} for value, label in SEVERITY_MEANING.items()],
            },
        },
        {
            "type": "input",
            "block_id": NewIncidentBlock.SUMMARY,
            "label": plain("What is wrong"),
            "element": {
                "type": "plain_text_input",
                "action_id": NewIncidentBlock.SUMMARY,
                "multiline": True,
                "max_length": MAX_SUMMARY_LENGTH,
            },
        },
        context(
            "Every project that depends on these services, changes them or shares their people is told in its "
            "channel, and its prompts and nudges pause until the incident is resolved."
        ),
    ]
    if len(services) > MAX_SERVICE_OPTIONS:
        blocks.append(context(f"Only the first {MAX_SERVICE_OPTIONS} services (by key) are listed."))
    return {
        "type": "modal",
        "callback_id": CallbackId.NEW_INCIDENT,
        "title": plain("Declare an incident", 24),
        "submit": plain("Declare", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def declared_modal(view: IncidentView) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain("Incident declared", 24),
        "close": plain("Done", 24),
        "blocks": [
            section(
                f"*{headline(view)}* is declared. The {len(view.impacts)} affected projects are being told in their "
                "channels now (you'll get a DM saying how many were reached), and the PMO has a summary.\n"
                f"Post updates with `/pmo incident update {view.key} ...`; "
                f"resolve it with `/pmo incident resolve {view.key}`."
            )
        ],
    }


def notice_report_text(view: IncidentView, report: NoticeReport) -> str:
    """The declarer's DM once the notices went out: the projects actually told, and the rest."""
    count = len(report.told)
    text = (
        f"{headline(view)}: {count} of {len(view.impacts)} affected project{'s' if len(view.impacts) != 1 else ''} "
        f"{'were' if count != 1 else 'was'} told in their channels."
    )
    if report.not_told:
        text += " Could not tell: " + "; ".join(f"{key} ({escaped(why)})" for key, why in report.not_told) + "."
    return text


def _text_input(block_id: str, label: str, initial: str | None, *, hint: str | None = None) -> Block:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": block_id, "multiline": True, "max_length": 2000}
    if initial:
        element["initial_value"] = initial
    block: Block = {"type": "input", "block_id": block_id, "optional": True, "label": plain(label), "element": element}
    if hint:
        block["hint"] = plain(hint)
    return block


def impact_modal(
    target: ImpactTarget, incident_headline: str, project_name: str, previous: ImpactInput | None
) -> dict[str, Any]:
    delay: dict[str, Any] = {"type": "plain_text_input", "action_id": ImpactBlock.DELAY, "max_length": 3}
    if previous is not None and previous.expected_delay_days is not None:
        delay["initial_value"] = str(previous.expected_delay_days)
    priority: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": ImpactBlock.PRIORITY,
        "options": [{"text": plain("Ask the PMO for priority", 75), "value": "priority"}],
    }
    if previous is not None and previous.asks_for_priority:
        priority["initial_options"] = priority["options"]
    return {
        "type": "modal",
        "callback_id": CallbackId.INCIDENT_IMPACT,
        "private_metadata": target.to_json(),
        "title": plain("Record impact", 24),
        "submit": plain("Record", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            context(
                f"*{target.project_key} · {escaped(clip(project_name, 150))}* during {clip(incident_headline, 300)}"
            ),
            {
                "type": "input",
                "block_id": ImpactBlock.DELAY,
                "label": plain("Expected delay (days)"),
                "hint": plain("Days the project will slip because of the incident; 0 if none."),
                "element": delay,
            },
            _text_input(
                ImpactBlock.MILESTONES, "Milestones at risk", previous.milestones_at_risk if previous else None
            ),
            _text_input(
                ImpactBlock.PEOPLE,
                "People diverted to the incident",
                previous.people_diverted if previous else None,
                hint="Who is helping restore the service, so the plan can use people who are not.",
            ),
            _text_input(ImpactBlock.CONTINGENCY, "Contingency plan", previous.contingency_plan if previous else None),
            {
                "type": "input",
                "block_id": ImpactBlock.PRIORITY,
                "optional": True,
                "label": plain("Priority"),
                "hint": plain(
                    "Tick only if senior management would likely put this project ahead of restoring the service."
                ),
                "element": priority,
            },
        ],
    }
