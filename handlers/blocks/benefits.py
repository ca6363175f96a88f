"""Block Kit for benefits: the "new benefit" and "report a value" modals, and benefit lines
in a project record. Pure: data in, blocks out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from bot.services.benefits import MAX_MEASURE_LENGTH, MAX_NAME_LENGTH, MAX_UNIT_LENGTH
from bot.services.portfolio import BenefitLine
from handlers.blocks.common import MODAL_TITLE_LIMIT, Block, context, escaped, plain, section, slack_date, user
from handlers.blocks.metadata import JsonState
from handlers.ids import BenefitValueBlock, CallbackId, NewBenefitBlock

MAX_SELECT_OPTIONS = 100
OPTION_TEXT_LIMIT = 75


@dataclass(frozen=True)
class NewBenefitMetadata(JsonState):
    """What the "new benefit" modal carries to its submission (private_metadata)."""

    RERUN: ClassVar[str] = "/pmo benefit add KEY"

    project_key: str


@dataclass(frozen=True)
class BenefitChoice:
    """A benefit someone may report a value for, as the report modal lists it."""

    benefit_id: int
    project_key: str
    name: str


# --- numbers ---------------------------------------------------------------------------


def amount(value: Decimal) -> str:
    """A stored value as people write it: 1,200 rather than 1200.0000."""
    return f"{value.normalize():,f}"


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def planned_amount(line: BenefitLine) -> str:
    """The expected value, as precise as the plan's own baseline and target (no 1,666.6667)."""
    places = max(_decimal_places(line.baseline), _decimal_places(line.target))
    return amount(line.expected.quantize(Decimal(1).scaleb(-places)))


def benefit_line_text(line: BenefitLine) -> str:
    """One benefit in a project record, with a warning when it is off trajectory."""
    latest = f"{amount(line.latest)} {escaped(line.unit)}" if line.latest is not None else "no value yet"
    target_by = slack_date(date.fromisoformat(line.target_date))
    text = (
        f"*{escaped(line.name)}*: {latest} "
        f"(baseline {amount(line.baseline)}, target {amount(line.target)} by {target_by})"
    )
    if line.off_trajectory:
        text += f" :warning: off trajectory (expected {planned_amount(line)} by now)"
    return text


# --- modals ----------------------------------------------------------------------------


def _input(
    block_id: str, label: str, element: dict[str, Any], *, hint: str | None = None, optional: bool = False
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label),
        "element": {**element, "action_id": block_id},
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def _text(max_length: int, placeholder: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "max_length": max_length, "placeholder": plain(placeholder, 150)}


_NUMBER_INPUT = {"type": "number_input", "is_decimal_allowed": True}


def new_benefit_modal(project_key: str, project_name: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CallbackId.NEW_BENEFIT,
        "private_metadata": NewBenefitMetadata(project_key).to_json(),
        "title": plain("New benefit", MODAL_TITLE_LIMIT),
        "submit": plain("Add", MODAL_TITLE_LIMIT),
        "close": plain("Cancel", MODAL_TITLE_LIMIT),
        "blocks": [
            context(f"A benefit of *{project_key} · {escaped(project_name)}*: an outcome the business will measure."),
            _input(NewBenefitBlock.NAME, "Name", _text(MAX_NAME_LENGTH, "e.g. Calls avoided")),
            _input(
                NewBenefitBlock.MEASURE,
                "Measure",
                _text(MAX_MEASURE_LENGTH, "e.g. Calls to the contact centre about address changes"),
            ),
            _input(NewBenefitBlock.UNIT, "Unit", _text(MAX_UNIT_LENGTH, "e.g. calls/month")),
            _input(
                NewBenefitBlock.BASELINE,
                "Baseline",
                _NUMBER_INPUT,
                hint="The value before the project changes anything.",
            ),
            _input(NewBenefitBlock.TARGET, "Target", _NUMBER_INPUT, hint="Lower than the baseline if lower is better."),
            _input(NewBenefitBlock.TARGET_DATE, "Target date", {"type": "datepicker"}),
            _input(
                NewBenefitBlock.PLAN_START,
                "Baseline date",
                {"type": "datepicker"},
                hint="When the baseline was measured: the plan runs from here to the target. Blank: today.",
                optional=True,
            ),
            _input(
                NewBenefitBlock.OWNER,
                "Owner",
                {"type": "users_select"},
                hint="The person in the business who reports its values.",
            ),
        ],
    }


def benefit_created_modal(project_key: str, benefit_name: str, owner_user_id: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain("Benefit added", MODAL_TITLE_LIMIT),
        "close": plain("Done", MODAL_TITLE_LIMIT),
        "blocks": [
            section(
                f"*{escaped(benefit_name)}* is now a benefit of *{project_key}*, owned by {user(owner_user_id)}.\n"
                f"They report its values with `/pmo benefit report`; `/pmo project {project_key}` "
                "shows it against its plan."
            )
        ],
    }


def _option(choice: BenefitChoice) -> dict[str, Any]:
    return {
        "text": plain(f"{choice.project_key} · {choice.name}", OPTION_TEXT_LIMIT),
        "value": str(choice.benefit_id),
    }


def report_value_modal(choices: list[BenefitChoice], *, today: date) -> dict[str, Any]:
    """Pick a benefit, type its value, say when it was measured; `choices` must not be empty."""
    options = [_option(choice) for choice in choices[:MAX_SELECT_OPTIONS]]
    select: dict[str, Any] = {"type": "static_select", "options": options}
    if len(options) == 1:
        select["initial_option"] = options[0]
    blocks: list[Block] = []
    if len(choices) > MAX_SELECT_OPTIONS:
        blocks.append(
            context(
                f"You can report {len(choices)} benefits; this list shows the first {MAX_SELECT_OPTIONS}. "
                "To choose among one project's, run `/pmo benefit report KEY`."
            )
        )
    blocks += [
        _input(BenefitValueBlock.BENEFIT, "Benefit", select),
        _input(BenefitValueBlock.VALUE, "Value", _NUMBER_INPUT, hint="In the benefit's unit."),
        _input(
            BenefitValueBlock.MEASURED_ON,
            "Measured on",
            {"type": "datepicker", "initial_date": today.isoformat()},
            optional=True,
        ),
    ]
    return {
        "type": "modal",
        "callback_id": CallbackId.REPORT_BENEFIT_VALUE,
        "title": plain("Report a benefit", MODAL_TITLE_LIMIT),
        "submit": plain("Record", MODAL_TITLE_LIMIT),
        "close": plain("Cancel", MODAL_TITLE_LIMIT),
        "blocks": blocks,
    }


def value_reported_modal(project_key: str, line: BenefitLine, *, value: Decimal, measured_on: date) -> dict[str, Any]:
    """The confirmation, with where the benefit now stands against its plan."""
    if line.off_trajectory and line.latest is not None:
        unit = escaped(line.unit)
        standing = (
            f":warning: *Off trajectory*: the latest value, {amount(line.latest)} {unit}, is behind "
            f"the {planned_amount(line)} {unit} planned by now. Say what will bring it back in "
            f"{project_key}'s next check-in."
        )
    else:
        standing = f"On trajectory: {planned_amount(line)} {escaped(line.unit)} planned by now."
    return {
        "type": "modal",
        "title": plain("Value recorded", MODAL_TITLE_LIMIT),
        "close": plain("Done", MODAL_TITLE_LIMIT),
        "blocks": [
            section(
                f"Recorded *{amount(value)} {escaped(line.unit)}* for *{project_key} · {escaped(line.name)}*, "
                f"measured on {slack_date(measured_on)}."
            ),
            section(standing),
        ],
    }
