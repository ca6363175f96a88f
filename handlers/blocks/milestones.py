"""Block Kit for milestones and dependencies: the forms, the list (with Change forecast, Mark met,
Edit and Remove), the check-in's forecasts and the forecasts it moved, the status section, the
slip notice and the digest's lines. Pure: data in, blocks out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from bot.services.milestones import (
    DUE_SOON,
    FORM_HORIZON,
    MAX_NAME_LENGTH,
    DependencyLine,
    DigestMilestones,
    ForecastMove,
    MilestoneChoice,
    MilestoneLine,
    MilestonePlan,
    ProjectSchedule,
    SlipNotice,
)
from handlers.blocks.common import (
    MODAL_TITLE_LIMIT,
    Block,
    actions,
    bulleted,
    button,
    clip,
    context,
    escaped,
    header,
    input_block,
    plain,
    section,
    slack_date,
)
from handlers.blocks.metadata import JsonState
from handlers.ids import ActionId, CallbackId, MilestoneBlock

MAX_MODAL_BLOCKS = 100
# Two blocks a milestone and one a dependency: with the headings and the overflow lines the
# list stays inside a message's 50 blocks.
MAX_LISTED = 15
MAX_NEEDS_LISTED = 10
CONFIRM_TEXT_LIMIT = 300
MAX_SELECT_OPTIONS = 100
OPTION_TEXT_LIMIT = 75
MILESTONE_FIELD_PREFIX = "milestone:"


@dataclass(frozen=True)
class ProjectRef(JsonState):
    """The project a milestone or dependency form adds to (private_metadata)."""

    RERUN: ClassVar[str] = "/pmo milestone add KEY"

    project_key: str


@dataclass(frozen=True)
class MilestoneRef(JsonState):
    """The milestone a button or the forecast form is about."""

    RERUN: ClassVar[str] = "/pmo milestones KEY"

    milestone_id: int


@dataclass(frozen=True)
class DependencyRef(JsonState):
    """The dependency a Remove button is about."""

    RERUN: ClassVar[str] = "/pmo milestones KEY"

    dependency_id: int


def milestone_field(milestone_id: int) -> str:
    """The check-in form's block (and action) id for one milestone's forecast."""
    return f"{MILESTONE_FIELD_PREFIX}{milestone_id}"


# --- words ---------------------------------------------------------------------------------


def _slip_words(days: int) -> str:
    if days == 0:
        return "on plan"
    unit = "working day" if abs(days) == 1 else "working days"
    return f"{abs(days)} {unit} {'late' if days > 0 else 'early'}"


def milestone_text(line: MilestoneLine, *, with_project: bool = False) -> str:
    """One milestone: its forecast (or the day it was met) against its baseline; slipped ones marked."""
    name = f"{line.project_key} · {escaped(line.name)}" if with_project else escaped(line.name)
    if line.actual is not None:
        baseline = f"baseline {slack_date(line.baseline)}, {_slip_words(line.slip_days)}"
        return f"*{name}*: met {slack_date(line.actual)} ({baseline})"
    marker = ":warning: " if line.has_slipped else ""
    return (
        f"{marker}*{name}*: forecast {slack_date(line.forecast)} "
        f"(baseline {slack_date(line.baseline)}, {_slip_words(line.slip_days)})"
    )


def dependency_text(line: DependencyLine) -> str:
    """ "CRM-2 needs HR-1's Data feed live by <date>", and whether the forecast makes it."""
    what = (
        f"{line.needing_key} needs {line.milestone_key}'s *{escaped(line.milestone_name)}* "
        f"by {slack_date(line.needed_by)}"
    )
    if line.actual is not None:
        return f"{what}: met {slack_date(line.actual)}"
    if line.is_late:
        unit = "working day" if line.late_days == 1 else "working days"
        return f":warning: {what}: forecast {slack_date(line.forecast)}, {line.late_days} {unit} too late"
    return f"{what}: forecast {slack_date(line.forecast)}, in time"


# --- modals ----------------------------------------------------------------------------------


def _datepicker(initial: date | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "datepicker"}
    if initial is not None:
        element["initial_date"] = initial.isoformat()
    return element


def _modal(callback_id: str, title: str, metadata: str, blocks: list[Block], submit: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": plain(title, MODAL_TITLE_LIMIT),
        "submit": plain(submit, MODAL_TITLE_LIMIT),
        "close": plain("Cancel", MODAL_TITLE_LIMIT),
        "blocks": blocks,
    }


def _done_modal(title: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain(title, MODAL_TITLE_LIMIT),
        "close": plain("Close", MODAL_TITLE_LIMIT),
        "blocks": [section(text)],
    }


def new_milestone_modal(project_key: str, project_name: str) -> dict[str, Any]:
    return _modal(
        CallbackId.NEW_MILESTONE,
        "New milestone",
        ProjectRef(project_key).to_json(),
        [
            context(f"A milestone of *{project_key} · {escaped(clip(project_name, 150))}*."),
            input_block(
                MilestoneBlock.NAME,
                "Name",
                {
                    "type": "plain_text_input",
                    "max_length": MAX_NAME_LENGTH,
                    "placeholder": plain("e.g. Data feed live"),
                },
            ),
            input_block(MilestoneBlock.BASELINE, "Baseline date", _datepicker(), hint="The date agreed in the plan."),
            input_block(
                MilestoneBlock.FORECAST,
                "Forecast date",
                _datepicker(),
                hint="When it is now expected. Blank: on plan, the baseline date.",
                optional=True,
            ),
        ],
        "Add",
    )


def milestone_added_modal(line: MilestoneLine) -> dict[str, Any]:
    return _done_modal(
        "Milestone added",
        f"Added to {line.project_key}: {milestone_text(line)}. `/pmo milestones {line.project_key}` lists them.",
    )


def forecast_modal(line: MilestoneLine) -> dict[str, Any]:
    return _modal(
        CallbackId.MILESTONE_FORECAST,
        "Change forecast",
        MilestoneRef(line.milestone_id).to_json(),
        [
            section(milestone_text(line, with_project=True)),
            input_block(MilestoneBlock.FORECAST, "Forecast date", _datepicker(line.forecast)),
        ],
        "Save",
    )


def forecast_changed_modal(line: MilestoneLine) -> dict[str, Any]:
    return _done_modal("Forecast changed", milestone_text(line, with_project=True))


def edit_milestone_modal(line: MilestoneLine) -> dict[str, Any]:
    name = {"type": "plain_text_input", "max_length": MAX_NAME_LENGTH, "initial_value": line.name}
    return _modal(
        CallbackId.MILESTONE_EDITED,
        "Edit milestone",
        MilestoneRef(line.milestone_id).to_json(),
        [
            input_block(MilestoneBlock.NAME, "Name", name),
            input_block(
                MilestoneBlock.BASELINE,
                "Baseline date",
                _datepicker(line.baseline),
                hint="The date agreed in the plan; a re-plan moves it. The forecast stays as it is.",
            ),
        ],
        "Save",
    )


def milestone_edited_modal(line: MilestoneLine) -> dict[str, Any]:
    return _done_modal("Milestone changed", milestone_text(line, with_project=True))


def _remove_button(action_id: str, value: str, question: str) -> dict[str, Any]:
    """Remove, behind Slack's own "Are you sure?" dialog: nothing is removed by a stray click."""
    return {
        **button("Remove", action_id, value, style="danger"),
        "confirm": {
            "title": plain("Remove it?", 100),
            "text": plain(question, CONFIRM_TEXT_LIMIT),
            "confirm": plain("Remove", 30),
            "deny": plain("Keep it", 30),
            "style": "danger",
        },
    }


def _choice_option(choice: MilestoneChoice) -> dict[str, Any]:
    text = f"{choice.project_key} · {choice.name} ({choice.forecast:%d %b %Y})"
    return {"text": plain(text, OPTION_TEXT_LIMIT), "value": str(choice.milestone_id)}


def new_dependency_modal(project_key: str, project_name: str, choices: list[MilestoneChoice]) -> dict[str, Any]:
    shown = choices[:MAX_SELECT_OPTIONS]
    blocks: list[Block] = [
        context(f"What *{project_key} · {escaped(clip(project_name, 150))}* needs from another project, and by when."),
        input_block(
            MilestoneBlock.MILESTONE,
            "Milestone needed",
            {"type": "static_select", "options": [_choice_option(choice) for choice in shown]},
        ),
        input_block(MilestoneBlock.NEEDED_BY, "Needed by", _datepicker()),
    ]
    if len(choices) > len(shown):
        blocks.append(context(f"The first {len(shown)} of {len(choices)} open milestones, by project key."))
    return _modal(CallbackId.NEW_DEPENDENCY, "New dependency", ProjectRef(project_key).to_json(), blocks, "Add")


def dependency_added_modal(line: DependencyLine) -> dict[str, Any]:
    return _done_modal("Dependency added", dependency_text(line))


# --- `/pmo milestones KEY` ----------------------------------------------------------------------


def milestone_list_text(project_key: str, count: int) -> str:
    return f"{project_key}: {count} milestones"


def _milestone_controls(line: MilestoneLine) -> Block:
    ref = MilestoneRef(line.milestone_id).to_json()
    # The name is in the section above; plain text in the dialog would show it unescaped.
    question = f"Remove this milestone of {line.project_key}? What other projects recorded they need of it goes too."
    changes = (
        []
        if line.is_met
        else [
            button("Change forecast", ActionId.MILESTONE_CHANGE_FORECAST, ref),
            button("Mark met", ActionId.MILESTONE_MET, ref),
        ]
    )
    return actions(
        *changes,
        button("Edit", ActionId.MILESTONE_EDIT, ref),
        _remove_button(ActionId.MILESTONE_REMOVE, ref, question),
    )


def _need_block(line: DependencyLine) -> Block:
    block = section(dependency_text(line))
    question = f"Remove that {line.needing_key} needs this milestone of {line.milestone_key}?"
    block["accessory"] = _remove_button(
        ActionId.DEPENDENCY_REMOVE, DependencyRef(line.dependency_id).to_json(), question
    )
    return block


def milestone_list_blocks(plan: MilestonePlan) -> list[Block]:
    """`/pmo milestones KEY`: each milestone with its buttons, then the milestones it needs of other projects."""
    key, lines = plan.project_key, plan.milestones
    blocks: list[Block] = [header(f"Milestones of {key} · {plan.project_name}")]
    if not lines:
        blocks.append(section(f"None yet. `/pmo milestone add {key}` adds one."))
    for line in lines[:MAX_LISTED]:
        blocks += [section(milestone_text(line)), _milestone_controls(line)]
    if len(lines) > MAX_LISTED:
        blocks.append(context(f"…and {len(lines) - MAX_LISTED} more, later or already met."))
    if plan.needs:
        blocks.append(section(f"*What {key} needs from other projects*"))
        blocks += [_need_block(line) for line in plan.needs[:MAX_NEEDS_LISTED]]
        if len(plan.needs) > MAX_NEEDS_LISTED:
            blocks.append(context(f"…and {len(plan.needs) - MAX_NEEDS_LISTED} more, needed later."))
    return blocks


# --- the check-in form ----------------------------------------------------------------------------


def forecasts_moved_text(moves: list[ForecastMove]) -> str:
    """The check-in summary's line: "Forecasts moved: Go live 4 Jan 2027 → 18 Jan 2027"."""
    listed = "; ".join(f"{escaped(move.name)} {slack_date(move.before)} → {slack_date(move.after)}" for move in moves)
    return f"Forecasts moved: {listed}"


def checkin_milestone_blocks(project_key: str, lines: list[MilestoneLine], *, room: int) -> list[Block]:
    """One datepicker per open milestone due soon, at its forecast: the team changes only what moved.

    At most `room` blocks (what the form has left of a modal's 100); those that do not fit are counted.
    """
    if not lines or room < 1:
        return []
    weeks = FORM_HORIZON.days // 7
    more_note = f"`/pmo milestones {project_key}` lists the rest."
    if room < 3:
        return [context(f"{len(lines)} milestones due in the next {weeks} weeks: {more_note}")]
    shown = lines[: room - 1] if len(lines) <= room - 1 else lines[: room - 2]
    blocks: list[Block] = [context(f"*Milestones due in the next {weeks} weeks*: change a forecast that has moved.")]
    for line in shown:
        blocks.append(
            input_block(
                milestone_field(line.milestone_id),
                clip(f"{line.name}: forecast", 150),
                _datepicker(line.forecast),
                hint=f"Baseline {line.baseline:%d %b %Y}; {_slip_words(line.slip_days)}.",
                optional=True,
            )
        )
    if len(shown) < len(lines):
        blocks.append(context(f"{len(lines) - len(shown)} more milestones: {more_note}"))
    return blocks


def forecasts_in(values: dict[str, Any]) -> dict[int, date]:
    """The forecasts a submitted check-in form holds, by milestone id (cleared pickers left out)."""
    forecasts: dict[int, date] = {}
    for block_id, inputs in values.items():
        if not block_id.startswith(MILESTONE_FIELD_PREFIX):
            continue
        picked = (inputs.get(block_id) or {}).get("selected_date")
        if picked:
            forecasts[int(block_id.removeprefix(MILESTONE_FIELD_PREFIX))] = date.fromisoformat(picked)
    return forecasts


# --- `/pmo status KEY` ----------------------------------------------------------------------------


def schedule_blocks(schedule: ProjectSchedule) -> list[Block]:
    """The status view's milestones (next few, slipped ones marked) and dependencies."""
    milestones = [milestone_text(line) for line in schedule.next_milestones]
    more = schedule.open_milestones - len(milestones)
    if more:
        milestones.append(f"…and {more} more")
    blocks = [
        section(
            f"*Milestones* ({schedule.open_milestones} open)\n" + (bulleted(milestones) if milestones else "_none_")
        )
    ]
    if schedule.dependencies:
        blocks.append(section("*Dependencies*\n" + bulleted([dependency_text(line) for line in schedule.dependencies])))
    return blocks


# --- the slip notice -------------------------------------------------------------------------------


def slip_notice_text(notice: SlipNotice) -> str:
    line = notice.line
    return (
        f"{line.milestone_key}'s milestone {escaped(line.milestone_name)} "
        f"is now forecast for {line.forecast:%d %b %Y}, "
        f"after {notice.project_key} needs it ({line.needed_by:%d %b %Y})"
    )


def slip_notice_blocks(notice: SlipNotice) -> list[Block]:
    line = notice.line
    unit = "working day" if line.late_days == 1 else "working days"
    return [
        section(
            f":warning: *{line.milestone_key}'s milestone {escaped(line.milestone_name)}* is now forecast for "
            f"{slack_date(line.forecast)}: {line.late_days} {unit} after "
            f"*{notice.project_key} · {escaped(notice.project_name)}* needs it ({slack_date(line.needed_by)})."
        ),
        context(
            f"Time to check the plan: `/pmo status {notice.project_key}` shows what it depends on; "
            f"`/pmo status {line.milestone_key}` shows {line.milestone_key}'s milestones."
        ),
    ]


# --- the weekly digest -----------------------------------------------------------------------------


def digest_milestone_blocks(digest: DigestMilestones) -> list[Block]:
    """The digest's milestones: those that slipped this week and those due in the next 14 days."""
    if not digest.slipped and not digest.due_soon:
        return []
    blocks: list[Block] = []
    if digest.slipped:
        lines = [milestone_text(line, with_project=True) for line in digest.slipped]
        blocks.append(section(f"*Milestones slipped this week ({len(lines)})*\n" + bulleted(lines)))
    if digest.due_soon:
        lines = [milestone_text(line, with_project=True) for line in digest.due_soon]
        blocks.append(section(f"*Milestones due in the next {DUE_SOON.days} days ({len(lines)})*\n" + bulleted(lines)))
    return blocks
