"""`/pmo benefit add KEY`, `/pmo benefit edit KEY NAME` (and the "Complete it" button) and
`/pmo benefit report [KEY]`, and the modals they open."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.services import benefits, portfolio
from bot.services.access import Actor
from bot.services.benefits import NewBenefit
from handlers.blocks.benefits import (
    BenefitChoice,
    BenefitForm,
    BenefitRef,
    NewBenefitMetadata,
    benefit_form_modal,
    benefit_saved_modal,
    report_value_modal,
    value_reported_modal,
)
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.ids import ActionId, BenefitValueBlock, CallbackId, NewBenefitBlock
from handlers.request import FormCheck, errors_on
from storage.models import Benefit
from storage.session import unit_of_work

# The domain names fields after NewBenefit's attributes; the modal names its blocks.
NEW_BENEFIT_BLOCKS = {
    "name": NewBenefitBlock.NAME,
    "measure": NewBenefitBlock.MEASURE,
    "unit": NewBenefitBlock.UNIT,
    "baseline": NewBenefitBlock.BASELINE,
    "target": NewBenefitBlock.TARGET,
    "target_date": NewBenefitBlock.TARGET_DATE,
    "plan_start": NewBenefitBlock.PLAN_START,
}
REPORT_BLOCKS = {"value": BenefitValueBlock.VALUE, "measured_on": BenefitValueBlock.MEASURED_ON}

Given = TypeVar("Given")


def benefit_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    action = request.args[0].lower() if request.args else None
    if action == "add":
        _open_new_benefit(ctx, request, client)
    elif action == "edit":
        _open_edit(ctx, request, client)
    elif action == "report":
        _open_report(ctx, request, client)
    else:
        raise BENEFIT.usage_error("Add a benefit, complete one, or report a value?")


def _open_new_benefit(ctx: AppContext, request: CommandRequest, client: WebClient) -> None:
    if len(request.args) != 2:
        raise BENEFIT.usage_error("Which project is the benefit for? Give its key.")
    with unit_of_work(ctx.session_factory) as session:
        # Refused before the modal opens, so nobody fills in a form they cannot submit.
        project = benefits.check_can_add(session, request.actor, request.args[1])
        view = benefit_form_modal(project.key, project.name)
    client.views_open(trigger_id=request.trigger_id, view=view)


def _form_of(benefit: Benefit) -> BenefitForm:
    return BenefitForm(
        benefit.id,
        benefit.name,
        benefit.measure,
        benefit.unit,
        benefit.baseline,
        benefit.target,
        benefit.target_date,
        benefit.plan_start_date,
        benefit.owner.slack_user_id if benefit.owner else None,
    )


def _open_edit(ctx: AppContext, request: CommandRequest, client: WebClient) -> None:
    if len(request.args) < 3:
        raise BENEFIT.usage_error("Which benefit? Give the project's key and the benefit's name.")
    with unit_of_work(ctx.session_factory) as session:
        # Refused before the modal opens, so nobody fills in a form they cannot submit.
        benefit = benefits.benefit_named(session, request.actor, request.args[1], " ".join(request.args[2:]))
        view = benefit_form_modal(benefit.project.key, benefit.project.name, _form_of(benefit))
    client.views_open(trigger_id=request.trigger_id, view=view)


def _open_report(ctx: AppContext, request: CommandRequest, client: WebClient) -> None:
    if len(request.args) > 2:
        raise BENEFIT.usage_error("Give at most one project key.")
    key = request.args[1] if len(request.args) == 2 else None
    with unit_of_work(ctx.session_factory) as session:
        choices = [
            BenefitChoice(benefit.id, benefit.project.key, benefit.name)
            for benefit in benefits.reportable_benefits(session, request.actor, key)
        ]
    view = report_value_modal(choices, today=ctx.workspace_day(request.now))
    client.views_open(trigger_id=request.trigger_id, view=view)


# --- reading submitted modals ----------------------------------------------------------


def _element(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    return values.get(block_id, {}).get(block_id, {})


def _text(values: dict[str, Any], block_id: str) -> str | None:
    value = _element(values, block_id).get("value")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date(values: dict[str, Any], block_id: str) -> date | None:
    selected = _element(values, block_id).get("selected_date")
    return date.fromisoformat(selected) if selected else None


class _Form(FormCheck):
    """Reads one submitted modal, collecting a message for each block to correct."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__()
        self.values = values

    def _required(self, block_id: str, value: Given | None, missing: str) -> Given | None:
        if value is None:
            self.add(block_id, missing)
        return value

    def text(self, block_id: str, missing: str) -> str | None:
        return self._required(block_id, _text(self.values, block_id), missing)

    def amount(self, block_id: str, missing: str) -> Decimal | None:
        return self._amount(block_id, self.text(block_id, missing))

    def optional_amount(self, block_id: str) -> Decimal | None:
        return self._amount(block_id, _text(self.values, block_id))

    def _amount(self, block_id: str, text: str | None) -> Decimal | None:
        amount = None
        if text is not None:
            with self.on(block_id):
                amount = benefits.parse_amount(text)
        return amount

    def day(self, block_id: str, missing: str) -> date | None:
        return self._required(block_id, _date(self.values, block_id), missing)

    def user(self, block_id: str, missing: str) -> str | None:
        return self._required(block_id, _element(self.values, block_id).get("selected_user") or None, missing)

    def option(self, block_id: str, missing: str) -> str | None:
        selected = _element(self.values, block_id).get("selected_option") or {}
        return self._required(block_id, selected.get("value") or None, missing)


def _new_benefit(values: dict[str, Any]) -> NewBenefit:
    """The benefit the form describes; what it must correct is raised as FormErrors. Only the
    name and owner are required: the rest may wait (the benefit is then not yet measurable)."""
    form = _Form(values)
    name = form.text(NewBenefitBlock.NAME, "Give the benefit a name, e.g. Calls avoided.")
    baseline = form.optional_amount(NewBenefitBlock.BASELINE)
    target = form.optional_amount(NewBenefitBlock.TARGET)
    owner = form.user(NewBenefitBlock.OWNER, "Choose who owns the benefit.")
    form.raise_any()
    assert name and owner
    return NewBenefit(
        name,
        _text(values, NewBenefitBlock.MEASURE),
        _text(values, NewBenefitBlock.UNIT),
        baseline,
        target,
        _date(values, NewBenefitBlock.TARGET_DATE),
        owner,
        _date(values, NewBenefitBlock.PLAN_START),
    )


def register(app: App, ctx: AppContext) -> None:
    @app.action(ActionId.COMPLETE_BENEFIT)
    def open_completion(ack: Ack, actor: Actor, body: dict, action: dict, client: WebClient) -> None:
        ack()
        ref = BenefitRef.from_json(action["value"])
        with unit_of_work(ctx.session_factory) as session:
            # Refused before the modal opens, so nobody fills in a form they cannot submit.
            benefit = benefits.editable_benefit(session, actor, ref.benefit_id)
            view = benefit_form_modal(benefit.project.key, benefit.project.name, _form_of(benefit))
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(CallbackId.NEW_BENEFIT)
    def save_from_modal(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        metadata = NewBenefitMetadata.from_json(view["private_metadata"])
        given = _new_benefit(view["state"]["values"])
        today = ctx.workspace_day(now)
        with errors_on(NEW_BENEFIT_BLOCKS), unit_of_work(ctx.session_factory) as session:
            if metadata.benefit_id is None:
                benefit = benefits.create_benefit(session, actor, metadata.project_key, given, now=now, today=today)
            else:
                benefit = benefits.update_benefit(session, actor, metadata.benefit_id, given, now=now, today=today)
            line = portfolio.benefit_line(benefit, today=today, tolerance=ctx.settings.benefit_tolerance)
            confirmation = benefit_saved_modal(
                benefit.project.key, line, given.owner_user_id, is_new=metadata.benefit_id is None
            )
        ack(response_action="update", view=confirmation)

    @app.view(CallbackId.REPORT_BENEFIT_VALUE)
    def record_value(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        form = _Form(view["state"]["values"])
        benefit_id = form.option(BenefitValueBlock.BENEFIT, "Choose the benefit you measured.")
        value = form.amount(BenefitValueBlock.VALUE, "Give the value you measured.")
        form.raise_any()
        assert benefit_id is not None and value is not None
        today = ctx.workspace_day(now)
        # Optional: the datepicker starts at today, and a cleared one means today too.
        measured_on = _date(form.values, BenefitValueBlock.MEASURED_ON) or today
        with errors_on(REPORT_BLOCKS), unit_of_work(ctx.session_factory) as session:
            entry = benefits.report_value(session, actor, int(benefit_id), value, measured_on, now=now, today=today)
            line = portfolio.benefit_line(entry.benefit, today=today, tolerance=ctx.settings.benefit_tolerance)
            confirmation = value_reported_modal(
                entry.benefit.project.key, line, value=entry.value, measured_on=entry.measured_on
            )
        ack(response_action="update", view=confirmation)


BENEFIT = Subcommand(
    name="benefit",
    handler=benefit_command,
    usages=(
        Usage(
            "/pmo benefit add KEY",
            "add a benefit to a project (PMO admins, its sponsor or lead)",
            audience=HelpAudience.SPONSORS,
            example="/pmo benefit add CRM-2",
        ),
        Usage(
            "/pmo benefit edit KEY NAME",
            "complete or correct a benefit (its owner, the project's sponsor or lead, PMO admins)",
            example="/pmo benefit edit CRM-2 Calls avoided",
        ),
        Usage(
            "/pmo benefit report [KEY]",
            "report a measured value of a benefit you own (with KEY: a project's, all of them for its sponsor or lead)",
            example="/pmo benefit report CRM-2",
        ),
    ),
)

SUBCOMMANDS = (BENEFIT,)
