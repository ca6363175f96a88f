"""Block Kit for benefits: the benefit form (new, or completing one), the "report a value"
modal, benefit lines in a project record and status, and the digest's and pack's "not yet
measurable". Pure: data in, blocks out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from bot.services.benefits import (
    MAX_MEASURE_LENGTH,
    MAX_NAME_LENGTH,
    MAX_UNIT_LENGTH,
    ObjectiveMeasurability,
    UnmeasurableBenefit,
)
from bot.services.portfolio import BenefitLine
from handlers.blocks.common import (
    MODAL_TITLE_LIMIT,
    Block,
    bulleted,
    button,
    clip,
    context,
    escaped,
    input_block,
    plain,
    section,
    slack_date,
    user,
)
from handlers.blocks.metadata import JsonState
from handlers.ids import ActionId, BenefitValueBlock, CallbackId, NewBenefitBlock

MAX_SELECT_OPTIONS = 100
OPTION_TEXT_LIMIT = 75


@dataclass(frozen=True)
class NewBenefitMetadata(JsonState):
    """What the "new benefit" modal carries to its submission (private_metadata)."""

    RERUN: ClassVar[str] = "/pmo benefit add KEY"

    project_key: str
    benefit_id: int | None = None  # the benefit being completed or corrected; None: a new one


@dataclass(frozen=True)
class BenefitRef(JsonState):
    """The benefit a "Complete it" button completes (its value)."""

    RERUN: ClassVar[str] = "/pmo project KEY"

    benefit_id: int


@dataclass(frozen=True)
class BenefitForm:
    """A benefit's current values, to prefill the form that completes or corrects it."""

    benefit_id: int
    name: str
    measure: str | None
    unit: str | None
    baseline: Decimal | None
    target: Decimal | None
    target_date: date | None
    plan_start: date | None
    owner_user_id: str | None


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
    """The expected value of a measurable benefit, as precise as its own baseline and target (no 1,666.6667)."""
    assert line.expected is not None and line.baseline is not None and line.target is not None
    places = max(_decimal_places(line.baseline), _decimal_places(line.target))
    return amount(line.expected.quantize(Decimal(1).scaleb(-places)))


def missing_text(missing: tuple[str, ...]) -> str:
    """ "not yet measurable (no baseline, no target date)" """
    return "not yet measurable (" + ", ".join(f"no {escaped(part)}" for part in missing) + ")"


def benefit_line_text(line: BenefitLine) -> str:
    """One benefit in a project record, with a warning when it is off trajectory."""
    unit = f" {escaped(line.unit)}" if line.unit else ""
    latest = f"{amount(line.latest)}{unit}" if line.latest is not None else "no value yet"
    if line.missing:
        return f"*{escaped(line.name)}*: {latest}, :grey_question: {missing_text(line.missing)}"
    assert line.target_date is not None and line.baseline is not None and line.target is not None
    target_by = slack_date(date.fromisoformat(line.target_date))
    text = (
        f"*{escaped(line.name)}*: {latest} "
        f"(baseline {amount(line.baseline)}, target {amount(line.target)} by {target_by})"
    )
    if line.off_trajectory:
        text += f" :warning: off trajectory (expected {planned_amount(line)} by now)"
    return text


MAX_COMPLETE_BUTTONS = 10  # benefits not yet measurable shown with a button; the rest are in the list


def benefits_blocks(lines: list[BenefitLine]) -> list[Block]:
    """A project's benefits in its record or status: each one not yet measurable with a
    "Complete it" button (its owner, the project's sponsor or lead, and the PMO may use it)."""
    incomplete = [line for line in lines if line.missing][:MAX_COMPLETE_BUTTONS]
    with_button = {line.benefit_id for line in incomplete}
    listed = [benefit_line_text(line) for line in lines if line.benefit_id not in with_button]
    if listed or not incomplete:
        blocks: list[Block] = [section("*Benefits*\n" + (bulleted(listed) if listed else "_none_"))]
    else:
        blocks = [section("*Benefits*")]
    for line in incomplete:
        block = section(benefit_line_text(line))
        block["accessory"] = button("Complete it", ActionId.COMPLETE_BENEFIT, BenefitRef(line.benefit_id).to_json())
        blocks.append(block)
    return blocks


# --- modals ----------------------------------------------------------------------------


def _text(max_length: int, placeholder: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "max_length": max_length, "placeholder": plain(placeholder, 150)}


_NUMBER_INPUT = {"type": "number_input", "is_decimal_allowed": True}


def _text_value(text: str | None) -> dict[str, Any]:
    return {"initial_value": text} if text else {}


def _number_value(value: Decimal | None) -> dict[str, Any]:
    return {"initial_value": f"{value.normalize():f}"} if value is not None else {}


def _date_value(day: date | None) -> dict[str, Any]:
    return {"initial_date": day.isoformat()} if day else {}


LATER = "Leave blank if not known yet: the benefit shows as not yet measurable until it is given."


def benefit_form_modal(project_key: str, project_name: str, editing: BenefitForm | None = None) -> dict[str, Any]:
    """The benefit form: empty to add one, or prefilled with `editing`'s values to complete or correct it.
    Only the name and owner are required; a benefit may be recorded before it is measurable."""
    given = editing or BenefitForm(0, "", None, None, None, None, None, None, None)
    owner: dict[str, Any] = {"type": "users_select"}
    if given.owner_user_id:
        owner["initial_user"] = given.owner_user_id
    return {
        "type": "modal",
        "callback_id": CallbackId.NEW_BENEFIT,
        "private_metadata": NewBenefitMetadata(project_key, editing.benefit_id if editing else None).to_json(),
        "title": plain("Edit benefit" if editing else "New benefit", MODAL_TITLE_LIMIT),
        "submit": plain("Save" if editing else "Add", MODAL_TITLE_LIMIT),
        "close": plain("Cancel", MODAL_TITLE_LIMIT),
        "blocks": [
            context(f"A benefit of *{project_key} · {escaped(project_name)}*: an outcome the business will measure."),
            input_block(
                NewBenefitBlock.NAME,
                "Name",
                {**_text(MAX_NAME_LENGTH, "e.g. Calls avoided"), **_text_value(given.name)},
            ),
            input_block(
                NewBenefitBlock.MEASURE,
                "Measure",
                {
                    **_text(MAX_MEASURE_LENGTH, "e.g. Calls to the contact centre about address changes"),
                    **_text_value(given.measure),
                },
                hint=LATER,
                optional=True,
            ),
            input_block(
                NewBenefitBlock.UNIT,
                "Unit",
                {**_text(MAX_UNIT_LENGTH, "e.g. calls/month"), **_text_value(given.unit)},
                optional=True,
            ),
            input_block(
                NewBenefitBlock.BASELINE,
                "Baseline",
                {**_NUMBER_INPUT, **_number_value(given.baseline)},
                hint="The value before the project changes anything.",
                optional=True,
            ),
            input_block(
                NewBenefitBlock.TARGET,
                "Target",
                {**_NUMBER_INPUT, **_number_value(given.target)},
                hint="Lower than the baseline if lower is better.",
                optional=True,
            ),
            input_block(
                NewBenefitBlock.TARGET_DATE,
                "Target date",
                {"type": "datepicker", **_date_value(given.target_date)},
                optional=True,
            ),
            input_block(
                NewBenefitBlock.PLAN_START,
                "Baseline date",
                {"type": "datepicker", **_date_value(given.plan_start)},
                hint="When the baseline was measured: the plan runs from here to the target. Blank: today.",
                optional=True,
            ),
            input_block(
                NewBenefitBlock.OWNER,
                "Owner",
                owner,
                hint="The person in the business who reports its values.",
            ),
        ],
    }


def benefit_saved_modal(project_key: str, line: BenefitLine, owner_user_id: str, *, is_new: bool) -> dict[str, Any]:
    """The confirmation of an added or completed benefit, saying whether it is measurable yet."""
    name = escaped(line.name)
    if line.missing:
        standing = (
            f"It is {missing_text(line.missing)}: `/pmo project {project_key}` has a button to complete it, "
            "and its trajectory starts once it is."
        )
    else:
        standing = f"`/pmo project {project_key}` shows it against its plan: {planned_amount(line)} planned by now."
    done = (
        f"*{name}* is now a benefit of *{project_key}*, owned by {user(owner_user_id)}.\n"
        "They report its values with `/pmo benefit report`."
        if is_new
        else f"*{project_key} · {name}* is saved, owned by {user(owner_user_id)}."
    )
    return {
        "type": "modal",
        "title": plain("Benefit added" if is_new else "Benefit saved", MODAL_TITLE_LIMIT),
        "close": plain("Done", MODAL_TITLE_LIMIT),
        "blocks": [section(done), section(standing)],
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
        input_block(BenefitValueBlock.BENEFIT, "Benefit", select),
        input_block(BenefitValueBlock.VALUE, "Value", _NUMBER_INPUT, hint="In the benefit's unit."),
        input_block(
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
    unit = escaped(line.unit) if line.unit else ""
    if line.missing:
        standing = (
            f"It is {missing_text(line.missing)}, so there is no plan to compare with yet: "
            f"`/pmo project {project_key}` has a button to complete it."
        )
    elif line.off_trajectory and line.latest is not None:
        standing = (
            f":warning: *Off trajectory*: the latest value, {amount(line.latest)} {unit}, is behind "
            f"the {planned_amount(line)} {unit} planned by now. Say what will bring it back in "
            f"{project_key}'s next check-in."
        )
    else:
        standing = f"On trajectory: {planned_amount(line)} {unit} planned by now."
    return {
        "type": "modal",
        "title": plain("Value recorded", MODAL_TITLE_LIMIT),
        "close": plain("Done", MODAL_TITLE_LIMIT),
        "blocks": [
            section(
                f"Recorded *{amount(value)} {unit}* for *{project_key} · {escaped(line.name)}*, "
                f"measured on {slack_date(measured_on)}."
            ),
            section(standing),
        ],
    }


# --- the digest and the pack ----------------------------------------------------------------

MAX_DIGEST_LINES = 10


def not_measurable_section(found: tuple[UnmeasurableBenefit, ...]) -> list[Block]:
    """The digest's benefits not yet measurable, with what each lacks and who owns it; nothing when none."""
    if not found:
        return []
    lines = [
        f"{b.project_key} · {escaped(clip(b.project_name, 60))}: *{escaped(clip(b.name, 80))}*, "
        f"{missing_text(b.missing)}" + (f", owner {user(b.owner_user_id)}" if b.owner_user_id else "")
        for b in found[:MAX_DIGEST_LINES]
    ]
    if len(found) > MAX_DIGEST_LINES:
        lines.append(f"…and {len(found) - MAX_DIGEST_LINES} more")
    return [
        section(
            f"*Benefits not yet measurable* ({len(found)}): `/pmo project KEY` has a button to complete each\n"
            + bulleted(lines)
        )
    ]


def pack_measurable_section(counts: tuple[ObjectiveMeasurability, ...]) -> list[Block]:
    """The pack's count of measurable benefits per objective; nothing when there are no benefits."""
    if not counts:
        return []
    lines = [
        f"*{escaped(clip(line.objective, 80)) if line.objective else '(no objective)'}*: "
        f"{line.measurable} of {line.benefits} measurable"
        for line in counts
    ]
    return [section("*Benefits measurable (SMART), by objective*\n" + bulleted(lines))]
