"""`/pmo milestone add KEY`, `/pmo milestones KEY`, `/pmo dependency add KEY`, their forms and
buttons (Change forecast, Mark met, Edit, Remove; Remove on a dependency), and the notice a
dependent project gets when a milestone it needs slips."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.services import milestones, partners
from bot.services.access import Actor
from bot.services.milestones import MilestonePlan, NewMilestone
from bot.services.partners import Audience
from handlers.blocks.milestones import (
    DependencyRef,
    MilestoneRef,
    ProjectRef,
    dependency_added_modal,
    edit_milestone_modal,
    forecast_changed_modal,
    forecast_modal,
    milestone_added_modal,
    milestone_edited_modal,
    milestone_list_blocks,
    milestone_list_text,
    new_dependency_modal,
    new_milestone_modal,
)
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.ids import ActionId, CallbackId, MilestoneBlock
from handlers.outcomes import send_slip_notices
from handlers.request import channel_audience
from storage.session import unit_of_work


def _picked_date(values: dict[str, Any], block_id: str) -> date | None:
    picked = values.get(block_id, {}).get(block_id, {}).get("selected_date")
    return date.fromisoformat(picked) if picked else None


def _typed(values: dict[str, Any], block_id: str) -> str:
    return (values.get(block_id, {}).get(block_id, {}).get("value") or "").strip()


def _selected(values: dict[str, Any], block_id: str) -> str | None:
    option = values.get(block_id, {}).get(block_id, {}).get("selected_option") or {}
    return option.get("value") or None


def _respond_with_plan(respond: Respond, plan: MilestonePlan, *, replace_original: bool) -> None:
    respond(
        text=milestone_list_text(plan.project_key, len(plan.milestones)),
        blocks=milestone_list_blocks(plan),
        replace_original=replace_original,
    )


def _clicked_audience(client: WebClient, body: dict) -> Audience:
    """Who reads the list a button was clicked on: the people of its channel ("D": a DM)."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "D")
    return channel_audience(client, channel, body["team"]["id"])


# --- commands ---------------------------------------------------------------------------------


def milestone_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) != 2 or request.args[0].lower() != "add":
        raise MILESTONE.usage_error("Which project is the milestone for? Give its key.")
    with unit_of_work(ctx.session_factory) as session:
        # Refused before the modal opens, so nobody fills in a form they cannot submit.
        project = milestones.check_can_add(session, request.actor, request.args[1])
        view = new_milestone_modal(project.key, project.name)
    client.views_open(trigger_id=request.trigger_id, view=view)


def milestones_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) != 1:
        raise MILESTONES.usage_error("Which project's milestones? Give one key.")
    audience = channel_audience(client, request.channel_id, request.team_id)
    with unit_of_work(ctx.session_factory) as session:
        project = partners.get_visible_project(session, request.args[0], audience)
        plan = milestones.milestone_plan(session, project, audience=audience)
    _respond_with_plan(respond, plan, replace_original=False)


def dependency_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) != 2 or request.args[0].lower() != "add":
        raise DEPENDENCY.usage_error("Which project depends on another's milestone? Give its key.")
    with unit_of_work(ctx.session_factory) as session:
        project, choices = milestones.dependency_choices(session, request.actor, request.args[1])
        view = new_dependency_modal(project.key, project.name, choices)
    client.views_open(trigger_id=request.trigger_id, view=view)


# --- slip notices -------------------------------------------------------------------------------


# --- listeners ------------------------------------------------------------------------------------


def register(app: App, ctx: AppContext) -> None:
    @app.view(CallbackId.NEW_MILESTONE)
    def add_milestone(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        ref = ProjectRef.from_json(view["private_metadata"])
        values = view["state"]["values"]
        baseline = _picked_date(values, MilestoneBlock.BASELINE)
        if baseline is None:
            ack(response_action="errors", errors={MilestoneBlock.BASELINE: "Choose the date agreed in the plan."})
            return
        new = NewMilestone(_typed(values, MilestoneBlock.NAME), baseline, _picked_date(values, MilestoneBlock.FORECAST))
        # A name to change (InvalidMilestone) is a UserError: the request path shows it on the
        # form's first input, which is the name.
        with unit_of_work(ctx.session_factory) as session:
            milestone = milestones.create_milestone(session, actor, ref.project_key, new, now=now)
            confirmation = milestone_added_modal(milestones.lines_of(session, [milestone])[0])
        ack(response_action="update", view=confirmation)

    @app.action(ActionId.MILESTONE_CHANGE_FORECAST)
    def open_forecast(ack: Ack, actor: Actor, body: dict, action: dict, client: WebClient) -> None:
        ack()
        ref = MilestoneRef.from_json(action["value"])
        with unit_of_work(ctx.session_factory) as session:
            # A forecast nobody may change is refused before the form opens.
            milestone = milestones.change_forecast_check(session, actor, ref.milestone_id)
            view = forecast_modal(milestones.lines_of(session, [milestone])[0])
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(CallbackId.MILESTONE_FORECAST)
    def save_forecast(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        ref = MilestoneRef.from_json(view["private_metadata"])
        forecast = _picked_date(view["state"]["values"], MilestoneBlock.FORECAST)
        if forecast is None:
            ack(response_action="errors", errors={MilestoneBlock.FORECAST: "Choose when it is now expected."})
            return
        with unit_of_work(ctx.session_factory) as session:
            milestone = milestones.change_forecast(session, actor, ref.milestone_id, forecast, now=now)
            confirmation = forecast_changed_modal(milestones.lines_of(session, [milestone])[0])
        ack(response_action="update", view=confirmation)
        send_slip_notices(ctx, now)

    @app.action(ActionId.MILESTONE_MET)
    def mark_met(
        ack: Ack, actor: Actor, now: datetime, body: dict, action: dict, client: WebClient, respond: Respond
    ) -> None:
        ack()
        ref = MilestoneRef.from_json(action["value"])
        audience = _clicked_audience(client, body)
        with unit_of_work(ctx.session_factory) as session:
            project = milestones.mark_met(session, actor, ref.milestone_id, today=ctx.workspace_day(now)).project
            plan = milestones.milestone_plan(session, project, audience=audience)
        _respond_with_plan(respond, plan, replace_original=True)

    @app.action(ActionId.MILESTONE_EDIT)
    def open_edit(ack: Ack, actor: Actor, body: dict, action: dict, client: WebClient) -> None:
        ack()
        ref = MilestoneRef.from_json(action["value"])
        with unit_of_work(ctx.session_factory) as session:
            # Refused before the form opens, so nobody fills in a form they cannot submit.
            milestone = milestones.check_can_edit(session, actor, ref.milestone_id)
            view = edit_milestone_modal(milestones.lines_of(session, [milestone])[0])
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(CallbackId.MILESTONE_EDITED)
    def save_edit(ack: Ack, actor: Actor, view: dict) -> None:
        ref = MilestoneRef.from_json(view["private_metadata"])
        values = view["state"]["values"]
        baseline = _picked_date(values, MilestoneBlock.BASELINE)
        if baseline is None:
            ack(response_action="errors", errors={MilestoneBlock.BASELINE: "Choose the date agreed in the plan."})
            return
        # A name to change (InvalidMilestone) goes on the form's first input, the name.
        with unit_of_work(ctx.session_factory) as session:
            milestone = milestones.edit_milestone(
                session, actor, ref.milestone_id, _typed(values, MilestoneBlock.NAME), baseline
            )
            confirmation = milestone_edited_modal(milestones.lines_of(session, [milestone])[0])
        ack(response_action="update", view=confirmation)

    @app.action(ActionId.MILESTONE_REMOVE)
    def remove_milestone(ack: Ack, actor: Actor, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        ref = MilestoneRef.from_json(action["value"])
        audience = _clicked_audience(client, body)
        with unit_of_work(ctx.session_factory) as session:
            project = milestones.remove_milestone(session, actor, ref.milestone_id)
            plan = milestones.milestone_plan(session, project, audience=audience)
        _respond_with_plan(respond, plan, replace_original=True)

    @app.action(ActionId.DEPENDENCY_REMOVE)
    def remove_dependency(
        ack: Ack, actor: Actor, body: dict, action: dict, client: WebClient, respond: Respond
    ) -> None:
        ack()
        ref = DependencyRef.from_json(action["value"])
        audience = _clicked_audience(client, body)
        with unit_of_work(ctx.session_factory) as session:
            project = milestones.remove_dependency(session, actor, ref.dependency_id)
            plan = milestones.milestone_plan(session, project, audience=audience)
        _respond_with_plan(respond, plan, replace_original=True)

    @app.view(CallbackId.NEW_DEPENDENCY)
    def add_dependency(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        ref = ProjectRef.from_json(view["private_metadata"])
        values = view["state"]["values"]
        milestone_id = _selected(values, MilestoneBlock.MILESTONE)
        needed_by = _picked_date(values, MilestoneBlock.NEEDED_BY)
        errors = {}
        if milestone_id is None:
            errors[MilestoneBlock.MILESTONE] = "Choose the milestone the project needs."
        if needed_by is None:
            errors[MilestoneBlock.NEEDED_BY] = "Choose when the project needs it."
        if milestone_id is None or needed_by is None:
            ack(response_action="errors", errors=errors)
            return
        # Choosing the project's own milestone (InvalidMilestone) goes on the first input, the milestone.
        with unit_of_work(ctx.session_factory) as session:
            dependency = milestones.create_dependency(
                session, actor, ref.project_key, int(milestone_id), needed_by, now=now
            )
            confirmation = dependency_added_modal(milestones.dependency_line(session, dependency))
        ack(response_action="update", view=confirmation)
        send_slip_notices(ctx, now)


MILESTONE = Subcommand(
    name="milestone",
    handler=milestone_command,
    usages=(
        Usage(
            "/pmo milestone add KEY",
            "add a milestone (name, baseline and forecast dates) to a project (PMO admins, its sponsor or lead)",
            audience=HelpAudience.SPONSORS,
            example="/pmo milestone add CRM-2",
        ),
    ),
)

MILESTONES = Subcommand(
    name="milestones",
    handler=milestones_command,
    usages=(
        Usage(
            "/pmo milestones KEY",
            "a project's milestones, forecast against baseline in working days, with *Change forecast*, *Mark met*, "
            "*Edit* (name, baseline) and *Remove*, and what it needs of other projects' milestones, with *Remove*",
            example="/pmo milestones CRM-2",
        ),
    ),
)

DEPENDENCY = Subcommand(
    name="dependency",
    handler=dependency_command,
    usages=(
        Usage(
            "/pmo dependency add KEY",
            "record that a project needs another project's milestone by a date; it is told when that slips "
            "(PMO admins, its sponsor or lead)",
            audience=HelpAudience.SPONSORS,
            example="/pmo dependency add CRM-2",
        ),
    ),
)

SUBCOMMANDS = (MILESTONE, MILESTONES, DEPENDENCY)
