"""`/pmo benefit add KEY` and `/pmo benefit report [KEY]`, and the modals they open."""

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
    NewBenefitMetadata,
    benefit_created_modal,
    new_benefit_modal,
    report_value_modal,
    value_reported_modal,
)
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.ids import BenefitValueBlock, CallbackId, NewBenefitBlock
from handlers.request import FormCheck, errors_on
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
    elif action == "report":
        _open_report(ctx, request, client)
    else:
        raise BENEFIT.usage_error("Add a benefit, or report a value?")


def _open_new_benefit(ctx: AppContext, request: CommandRequest, client: WebClient) -> None:
    if len(request.args) != 2:
        raise BENEFIT.usage_error("Which project is the benefit for? Give its key.")
    with unit_of_work(ctx.session_factory) as session:
        # Refused before the modal opens, so nobody fills in a form they cannot submit.
        project = benefits.check_can_add(session, request.actor, request.args[1])
        view = new_benefit_modal(project.key, project.name)
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
        text = self.text(block_id, missing)
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
    """The new benefit the form describes; what it must correct is raised as FormErrors."""
    form = _Form(values)
    name = form.text(NewBenefitBlock.NAME, "Give the benefit a name, e.g. Calls avoided.")
    measure = form.text(NewBenefitBlock.MEASURE, "Say what is measured.")
    unit = form.text(NewBenefitBlock.UNIT, "Give the unit it is measured in, e.g. calls/month.")
    baseline = form.amount(NewBenefitBlock.BASELINE, "Give the baseline: the value before the project.")
    target = form.amount(NewBenefitBlock.TARGET, "Give the target value.")
    target_date = form.day(NewBenefitBlock.TARGET_DATE, "Choose when the target should be reached.")
    owner = form.user(NewBenefitBlock.OWNER, "Choose who owns the benefit.")
    form.raise_any()
    assert name and measure and unit and baseline is not None and target is not None and target_date and owner
    plan_start = _date(values, NewBenefitBlock.PLAN_START)
    return NewBenefit(name, measure, unit, baseline, target, target_date, owner, plan_start)


def register(app: App, ctx: AppContext) -> None:
    @app.view(CallbackId.NEW_BENEFIT)
    def create_from_modal(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        metadata = NewBenefitMetadata.from_json(view["private_metadata"])
        new = _new_benefit(view["state"]["values"])
        with errors_on(NEW_BENEFIT_BLOCKS), unit_of_work(ctx.session_factory) as session:
            benefit = benefits.create_benefit(
                session, actor, metadata.project_key, new, now=now, today=ctx.workspace_day(now)
            )
            confirmation = benefit_created_modal(benefit.project.key, benefit.name, new.owner_user_id)
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
            "/pmo benefit report [KEY]",
            "report a measured value of a benefit you own (with KEY: a project's, all of them for its sponsor or lead)",
            example="/pmo benefit report CRM-2",
        ),
    ),
)

SUBCOMMANDS = (BENEFIT,)
