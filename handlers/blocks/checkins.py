"""Block Kit for the weekly check-in: the prompt, the form, the summary, the reminders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from bot.services.checkins import benefit_field
from bot.services.confidence import Scale
from bot.services.cost import CostQuestion
from bot.services.milestones import ForecastMove, MilestoneLine
from handlers.blocks.actions import HelpActionTarget, help_action_button
from handlers.blocks.coaching import LessonsLink, lessons_link_blocks
from handlers.blocks.common import (
    Block,
    actions,
    button,
    clip,
    context,
    escaped,
    plain,
    plain_date,
    section,
    slack_date,
    user,
)
from handlers.blocks.confidence import RAG_EMOJI, level_label, level_name, overall_select
from handlers.blocks.cost import checkin_cost_blocks
from handlers.blocks.metadata import JsonState
from handlers.blocks.milestones import MAX_MODAL_BLOCKS, checkin_milestone_blocks, forecasts_moved_text
from handlers.blocks.risks import DecisionSubject, decision_needed_button
from handlers.ids import ActionId, CallbackId, CheckinBlock
from storage.models import Rag

RAG_OPTIONS = ("green", "amber", "red")


def rag_label(rag: str | None) -> str:
    return f"{RAG_EMOJI[rag]} {rag.capitalize()}" if rag else "no status yet"


@dataclass(frozen=True)
class FormTarget(JsonState):
    """What a check-in form is for; carried in the modal's private_metadata and the buttons."""

    RERUN: ClassVar[str] = "/pmo checkin KEY"

    project_key: str
    period: str


@dataclass(frozen=True)
class BenefitQuestion:
    benefit_id: int
    name: str
    unit: str | None  # these three are None while the benefit is not yet measurable
    target: Decimal | None
    target_date: date | None


# --- the prompt ------------------------------------------------------------------------


def prompt_text(project_key: str, period: str) -> str:
    return f"{project_key}: weekly check-in for {period}"


@dataclass(frozen=True)
class LastStatus:
    """The latest check-in before this period: "Last week" in the prompt and the form."""

    overall: str
    confidence: str | None = None  # the level given on a dca scale, as stored


def _last_week(scale: Scale, last: LastStatus | None) -> str:
    overall, given = (last.overall, last.confidence) if last else (None, None)
    return f"Last week: {level_label(scale, overall, given)}"


def prompt_blocks(
    project_key: str,
    project_name: str,
    period: str,
    last: LastStatus | None,
    lead_user_id: str | None,
    *,
    scale: Scale,
) -> list[Block]:
    return [
        section(
            f":wave: *Weekly check-in for {project_key} · {escaped(project_name)}*, {period}\n"
            f"{_last_week(scale, last)}. It takes a minute; the lead is {user(lead_user_id)}."
        ),
        actions(
            button("Submit update", ActionId.SUBMIT_CHECKIN, FormTarget(project_key, period).to_json(), style="primary")
        ),
    ]


def answered_prompt_blocks(
    project_key: str,
    project_name: str,
    period: str,
    overall: str,
    submitted_by: str,
    revision: int,
    *,
    scale: Scale,
    given_level: str | None,
) -> list[Block]:
    amended = " (amended)" if revision > 1 else ""
    return [
        section(
            f"*Weekly check-in for {project_key} · {escaped(project_name)}*, {period}\n"
            f"{level_label(scale, overall, given_level)}: submitted by {user(submitted_by)}{amended}. "
            "Summary in the thread."
        ),
        actions(button("Amend update", ActionId.SUBMIT_CHECKIN, FormTarget(project_key, period).to_json())),
    ]


# --- the form ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FormAnswers:
    """What the form opens with when it amends this week's check-in: its latest revision."""

    overall: str | None = None
    schedule: str | None = None
    cost: str | None = None
    scope: str | None = None
    progress: str | None = None
    next_steps: str | None = None
    risks_issues: str | None = None
    help_needed: str | None = None
    escalate: bool = False
    path_to_green: str | None = None
    path_to_green_date: date | None = None
    benefit_values: dict[int, Decimal] = field(default_factory=dict)
    confidence: str | None = None  # the level given on a dca scale


def _rag_select(block_id: str, label: str, *, optional: bool, initial: str | None) -> Block:
    options = [{"text": plain(rag_label(rag), 75), "value": rag} for rag in RAG_OPTIONS]
    element: dict[str, Any] = {"type": "static_select", "action_id": block_id, "options": options}
    if initial:
        element["initial_option"] = next(option for option in options if option["value"] == initial)
    return {"type": "input", "block_id": block_id, "optional": optional, "label": plain(label), "element": element}


def _text(
    block_id: str, label: str, *, multiline: bool = True, hint: str | None = None, initial: str | None = None
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": plain(label),
        "element": {"type": "plain_text_input", "action_id": block_id, "multiline": multiline, "max_length": 2000},
    }
    if hint:
        block["hint"] = plain(hint)
    if initial:
        block["element"]["initial_value"] = initial[:2000]
    return block


def _number_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def checkin_modal(
    target: FormTarget,
    project_name: str,
    last: LastStatus | None,
    benefits: list[BenefitQuestion],
    more: int,
    *,
    answers: FormAnswers | None = None,
    raid: list[Block] | None = None,
    lessons: LessonsLink | None = None,
    milestones: list[MilestoneLine] | None = None,
    costs: CostQuestion | None = None,
    scale: Scale = Scale.RAG,
) -> dict[str, Any]:
    """The check-in form; with `answers` (an amendment) every field starts as last submitted.
    `raid`: the RAID log's "still accurate?" boxes (handlers/blocks/risks.py)."""
    given = answers or FormAnswers()
    escalate_option = {"text": plain("Escalate to PMO", 75), "value": "escalate"}
    escalate: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": CheckinBlock.ESCALATE,
        "options": [escalate_option],
    }
    if given.escalate:
        escalate["initial_options"] = [escalate_option]
    green_by: dict[str, Any] = {"type": "datepicker", "action_id": CheckinBlock.PATH_TO_GREEN_DATE}
    if given.path_to_green_date:
        green_by["initial_date"] = given.path_to_green_date.isoformat()
    amending = context("You are amending this week's update: change what is different and submit.")
    blocks: list[Block] = [
        context(
            f"*{target.project_key} · {escaped(clip(project_name, 150))}*, {target.period}. {_last_week(scale, last)}"
        ),
        *([amending] if answers else []),
        *lessons_link_blocks(lessons),
        overall_select(scale, given.overall, given.confidence),
        _rag_select(CheckinBlock.SCHEDULE, "Schedule", optional=True, initial=given.schedule),
        _rag_select(CheckinBlock.COST, "Cost", optional=True, initial=given.cost),
        _rag_select(CheckinBlock.SCOPE, "Scope", optional=True, initial=given.scope),
        _text(CheckinBlock.PROGRESS, "Progress since last time", initial=given.progress),
        _text(CheckinBlock.NEXT_STEPS, "Next steps", initial=given.next_steps),
        _text(CheckinBlock.RISKS, "Risks and issues", initial=given.risks_issues),
        _text(CheckinBlock.HELP, "Help needed from the sponsor or PMO", initial=given.help_needed),
        {
            "type": "input",
            "block_id": CheckinBlock.ESCALATE,
            "optional": True,
            "label": plain("Escalation"),
            "element": escalate,
        },
        _text(
            CheckinBlock.PATH_TO_GREEN,
            "Path to green",
            multiline=False,
            hint="Needed for Amber or Red: what brings it back.",
            initial=given.path_to_green,
        ),
        {
            "type": "input",
            "block_id": CheckinBlock.PATH_TO_GREEN_DATE,
            "optional": True,
            "label": plain("Green again by"),
            "element": green_by,
        },
    ]
    for benefit in benefits:
        value = given.benefit_values.get(benefit.benefit_id)
        blocks.append(
            _text(
                benefit_field(benefit.benefit_id),
                clip(f"{benefit.name} ({benefit.unit})" if benefit.unit else benefit.name, 150),
                multiline=False,
                hint=(
                    f"Target {_number_text(benefit.target)} {benefit.unit or ''} by {plain_date(benefit.target_date)}. "
                    if benefit.target is not None and benefit.target_date is not None
                    else ""
                )
                + "Leave blank if not measured this week.",
                initial=_number_text(value) if value is not None else None,
            )
        )
    if more:
        blocks.append(context(f"{more} more benefits: report them with `/pmo benefit report`."))
    blocks += raid or []
    blocks += checkin_cost_blocks(costs, room=MAX_MODAL_BLOCKS - len(blocks))
    blocks += checkin_milestone_blocks(target.project_key, milestones or [], room=MAX_MODAL_BLOCKS - len(blocks))
    return {
        "type": "modal",
        "callback_id": CallbackId.CHECKIN,
        "private_metadata": target.to_json(),
        "title": plain(clip(f"Check-in {target.period}", 24), 24),
        "submit": plain("Submit", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


# --- after submitting ----------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryLines:
    overall: str
    schedule: str | None
    cost: str | None
    scope: str | None
    progress: str | None
    next_steps: str | None
    risks_issues: str | None
    help_needed: str | None
    path_to_green: str | None
    path_to_green_date: date | None
    benefit_values: list[tuple[str, str]]  # (benefit name, "value unit")
    confidence: str | None = None  # the level given on a dca scale, as stored


def summary_text(project_key: str, period: str, overall: str, *, scale: Scale, given_level: str | None) -> str:
    return f"{project_key} {period}: {level_name(scale, overall, given_level)}"


def summary_blocks(
    lines: SummaryLines,
    submitted_by: str,
    revision: int,
    *,
    scale: Scale,
    help_action: HelpActionTarget | None = None,
    changed: list[str] | None = None,
    decision: DecisionSubject | None = None,
    forecasts_moved: list[ForecastMove] | None = None,
) -> list[Block]:
    """The summary in the prompt's thread; with `help_action`, a button that makes the help asked for
    into an action for the sponsor. An amendment's summary starts with what it changed."""
    aspects = " · ".join(
        f"{name} {rag_label(rag)}"
        for name, rag in (("Schedule", lines.schedule), ("Cost", lines.cost), ("Scope", lines.scope))
        if rag
    )
    heading = "Amended update" if revision > 1 else "Update"
    body = [
        f"*{heading}* from {user(submitted_by)}: {level_label(scale, lines.overall, lines.confidence)}"
        + (f"\n{aspects}" if aspects else "")
    ]
    for label, text in (
        ("Progress", lines.progress),
        ("Next steps", lines.next_steps),
        ("Risks and issues", lines.risks_issues),
        ("Help needed", lines.help_needed),
    ):
        if text:
            body.append(f"*{label}:* {escaped(text)}")
    if lines.path_to_green:
        by = f" (by {slack_date(lines.path_to_green_date)})" if lines.path_to_green_date else ""
        body.append(f"*Path to green:* {escaped(lines.path_to_green)}{by}")
    blocks = [section(clip(part, 3000)) for part in body]
    if revision > 1:
        what = ", ".join(changed) if changed else "nothing (submitted again as it was)"
        blocks.insert(1, context(f"Changed: {what}"))
    if forecasts_moved:
        blocks.append(context(clip(forecasts_moved_text(forecasts_moved), 3000)))
    if lines.benefit_values:
        measured = "; ".join(f"{escaped(name)} {escaped(value)}" for name, value in lines.benefit_values)
        blocks.append(context(f"Benefits: {measured}"))
    if help_action is not None:
        blocks.append(help_action_button(help_action))
    if decision is not None:
        blocks.append(decision_needed_button(decision))
    return blocks


# --- reminders and sponsor notes ----------------------------------------------------------


def reminder_dm(project_key: str, project_name: str, period: str) -> tuple[str, list[Block]]:
    text = f"Reminder: {project_key} has no check-in for {period} yet."
    return text, [
        section(
            f":hourglass: *{project_key} · {escaped(project_name)}* has no check-in for {period} yet. "
            "It takes a minute."
        ),
        actions(
            button("Submit update", ActionId.SUBMIT_CHECKIN, FormTarget(project_key, period).to_json(), style="primary")
        ),
    ]


def reminder_thread_note(period: str, lead_user_ids: list[str]) -> str:
    who = ", ".join(user(lead) for lead in lead_user_ids) or "the team"
    return f"Reminder: no update for {period} yet. {who}, the button above opens the form."


@dataclass(frozen=True)
class SponsorWords:
    """The team's words a sponsor DM quotes, each under its own label."""

    progress: str | None
    path_to_green: str | None
    help_needed: str | None


def sponsor_dm(
    project_key: str,
    project_name: str,
    period: str,
    words: SponsorWords,
    *,
    turned_red: bool,
    scale: Scale,
    given_level: str | None,
) -> str:
    """The sponsor's one DM about a check-in that turned Red (named on the configured scale:
    "Amber/Red" on dca5), asks for their help, or both."""
    subject = f"{project_key} · {escaped(project_name)}"
    if turned_red:
        reported = level_name(scale, Rag.RED, given_level)
        lines = [f":red_circle: {subject} reported *{reported}* for {period}. It needs a decision or help."]
        if words.help_needed:
            lines.append("The team asks for your help.")
    else:
        lines = [f":raising_hand: The {subject} team asks for your help ({period})."]
    labelled = (
        ("Progress", words.progress),
        ("Path to green", words.path_to_green),
        ("Help needed", words.help_needed),
    )
    for label, text in labelled:
        if text and (turned_red or label == "Help needed"):
            quoted = "\n".join(f"> {escaped(line)}" for line in text.splitlines() if line.strip())
            lines.append(f"*{label}:*\n{quoted}")
    return "\n".join(lines)
