"""`/pmo project KEY`, `/pmo project add`, and sharing a record in channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.errors import Conflict
from bot.services import partners, portfolio
from bot.services.access import Actor, require_pmo_admin
from bot.services.partners import Audience
from bot.services.portfolio import NewProject, ProjectEdit
from handlers.blocks.projects import (
    EditedProject,
    edit_project_modal,
    new_project_modal,
    project_created_modal,
    project_record_blocks,
    project_record_text,
    project_saved_modal,
)
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage, user_mention
from handlers.ids import ActionId, CallbackId, NewProjectBlock
from handlers.outcomes import send_starting_lessons
from handlers.request import FormCheck, channel_audience, errors_on
from storage.models import ProjectStatus
from storage.session import unit_of_work

ADDING_PROJECTS = "add projects to the portfolio"


def _show_project(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    audience = channel_audience(client, request.channel_id, request.team_id)
    record = _record(ctx, request.args[0], audience, now=request.now)
    respond(text=project_record_text(record), blocks=project_record_blocks(record, shareable=True))


def project_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if request.args and request.args[0].lower() == "add":
        if len(request.args) > 1:
            raise PROJECT.usage_error("`/pmo project add` takes no more words: the form asks for the details.")
        require_pmo_admin(request.actor, ADDING_PROJECTS)
        with unit_of_work(ctx.session_factory) as session:
            objectives = portfolio.objectives_to_pick(session)
            programmes = portfolio.programmes_to_pick(session)
        client.views_open(trigger_id=request.trigger_id, view=new_project_modal(objectives, programmes))
        return
    if request.args and request.args[0].lower() == "edit":
        if len(request.args) != 2:
            raise PROJECT.usage_error("Which project? Give its key, e.g. `/pmo project edit CRM-2`.")
        with unit_of_work(ctx.session_factory) as session:
            form = portfolio.project_form(
                session, request.actor, request.args[1], default_cadence=ctx.settings.default_cadence
            )
        client.views_open(trigger_id=request.trigger_id, view=edit_project_modal(form))
        return
    if len(request.args) != 1:
        raise PROJECT.usage_error("Which project? Give its key, or `add`.")
    _show_project(ctx, request, client, respond)


def deputy_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) != 2:
        raise DEPUTY.usage_error("Give the project's key and the deputy, e.g. `/pmo deputy CRM-2 @sam`.")
    key, who = request.args
    deputy = None if who.lower() == "none" else user_mention(who)
    if deputy is None and who.lower() != "none":
        raise DEPUTY.usage_error(f"'{who}' is not a person: type @ and pick them from the list, or `none`.")
    with unit_of_work(ctx.session_factory) as session:
        project = portfolio.set_deputy(session, request.actor, key, deputy, now=request.now)
        text = (
            f"<@{deputy}> is now {project.key}'s deputy lead and gets its check-in reminders too."
            if deputy
            else f"{project.key} has no deputy lead now."
        )
    respond(text=text)


def _record(ctx: AppContext, key: str, audience: Audience, *, now: datetime) -> portfolio.ProjectRecord:
    with unit_of_work(ctx.session_factory) as session:
        project = partners.get_visible_project(session, key, audience)
        return portfolio.project_record(
            project,
            default_cadence=ctx.settings.default_cadence,
            today=ctx.workspace_day(now),
            tolerance=ctx.settings.benefit_tolerance,
        )


def _input_value(values: dict[str, Any], block_id: str) -> str | None:
    element = values.get(block_id, {}).get(block_id, {})
    value = element.get("value") if element.get("type") != "users_select" else element.get("selected_user")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _picked(values: dict[str, Any], block_id: str) -> int | None:
    option = values.get(block_id, {}).get(block_id, {}).get("selected_option")
    return int(option["value"]) if option else None


# The domain names fields after ProjectEdit's attributes; the form names its blocks.
EDIT_BLOCKS = {
    "name": NewProjectBlock.NAME,
    "sponsor": NewProjectBlock.SPONSOR,
    "status": NewProjectBlock.STATUS,
    "cadence": NewProjectBlock.CADENCE,
    "objective": NewProjectBlock.OBJECTIVE,
    "programme": NewProjectBlock.PROGRAMME,
}


def _project_edit(values: dict[str, Any]) -> ProjectEdit:
    status = values.get(NewProjectBlock.STATUS, {}).get(NewProjectBlock.STATUS, {}).get("selected_option") or {}
    return ProjectEdit(
        name=_input_value(values, NewProjectBlock.NAME) or "",
        sponsor_user_id=_input_value(values, NewProjectBlock.SPONSOR),
        lead_user_id=_input_value(values, NewProjectBlock.LEAD),
        status=ProjectStatus(status.get("value") or ProjectStatus.ACTIVE.value),
        cadence=_input_value(values, NewProjectBlock.CADENCE),
        objective_id=_picked(values, NewProjectBlock.OBJECTIVE_PICKED),
        objective=_input_value(values, NewProjectBlock.OBJECTIVE),
        programme_id=_picked(values, NewProjectBlock.PROGRAMME_PICKED),
        programme=_input_value(values, NewProjectBlock.PROGRAMME),
    )


def _new_project(values: dict[str, Any]) -> NewProject:
    """The project the form describes; what it must correct is raised as FormErrors."""
    form = FormCheck()
    key = _input_value(values, NewProjectBlock.KEY)
    name = _input_value(values, NewProjectBlock.NAME)
    sponsor = _input_value(values, NewProjectBlock.SPONSOR)
    if key is None:
        form.add(NewProjectBlock.KEY, "Give the project a short key, e.g. CRM-2.")
    else:
        with form.on(NewProjectBlock.KEY):
            key = portfolio.normalise_key(key)
    if name is None:
        form.add(NewProjectBlock.NAME, "Give the project a name.")
    if sponsor is None:
        form.add(NewProjectBlock.SPONSOR, "Every project needs a sponsor: choose one.")
    objective_id, programme_id = (
        _picked(values, NewProjectBlock.OBJECTIVE_PICKED),
        _picked(values, NewProjectBlock.PROGRAMME_PICKED),
    )
    for picked, typed_block in ((objective_id, NewProjectBlock.OBJECTIVE), (programme_id, NewProjectBlock.PROGRAMME)):
        if picked is not None and _input_value(values, typed_block) is not None:
            form.add(typed_block, "Pick one from the list or type a new one, not both.")
    form.raise_any()
    assert key is not None and name is not None
    return NewProject(
        key=key,
        name=name,
        sponsor_user_id=sponsor,
        lead_user_id=_input_value(values, NewProjectBlock.LEAD),
        objective=_input_value(values, NewProjectBlock.OBJECTIVE),
        programme=_input_value(values, NewProjectBlock.PROGRAMME),
        description=_input_value(values, NewProjectBlock.DESCRIPTION),
        objective_id=objective_id,
        programme_id=programme_id,
    )


def register(app: App, ctx: AppContext) -> None:
    @app.action(ActionId.SHARE_PROJECT_RECORD)
    def share_record(ack: Ack, now: datetime, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        channel_id = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "D")
        # Re-checked here: whoever can read the channel sees what is shared, not just the clicker.
        audience = channel_audience(client, channel_id, body["team"]["id"])
        record = _record(ctx, action["value"], audience, now=now)
        respond(
            text=project_record_text(record),
            blocks=project_record_blocks(record, shareable=False),
            response_type="in_channel",
            replace_original=False,
        )

    @app.view(CallbackId.EDIT_PROJECT)
    def save_edit(ack: Ack, view: dict, actor: Actor, now: datetime) -> None:
        target = EditedProject.from_json(view["private_metadata"])
        changes = _project_edit(view["state"]["values"])
        problems = portfolio.edit_problems(changes)
        if problems:
            ack(response_action="errors", errors={EDIT_BLOCKS[name]: text for name, text in problems.items()})
            return
        # Rights or the project may have changed since the form opened: the request path shows
        # such a refusal on the form.
        with unit_of_work(ctx.session_factory) as session:
            project = portfolio.edit_project(session, actor, target.project_key, changes, now=now)
            key, name = project.key, project.name
        ack(response_action="update", view=project_saved_modal(key, name))

    @app.view(CallbackId.NEW_PROJECT)
    def create_from_modal(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        require_pmo_admin(actor, ADDING_PROJECTS)
        new = _new_project(view["state"]["values"])
        with errors_on(NewProjectBlock.KEY, Conflict), unit_of_work(ctx.session_factory) as session:
            project = portfolio.create_project(session, new, now=now)  # Conflict: the key is taken
            key, name = project.key, project.name
        ack(response_action="update", view=project_created_modal(key, name))
        send_starting_lessons(ctx, (key,), now=now)


PROJECT = Subcommand(
    name="project",
    handler=project_command,
    usages=(
        Usage(
            "/pmo project KEY",
            "show a project's record (only you see it; you can share it)",
            example="/pmo project CRM-2",
        ),
        Usage("/pmo project add", "add a project to the portfolio (PMO admins)", audience=HelpAudience.PMO_ADMINS),
        Usage(
            "/pmo project edit KEY",
            "change its name, sponsor, lead, programme, objective, status and check-in time (as for linking)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo project edit CRM-2",
        ),
    ),
)

DEPUTY = Subcommand(
    name="deputy",
    handler=deputy_command,
    usages=(
        Usage(
            "/pmo deputy KEY @person",
            "name the lead's deputy, who also gets reminders (`none` clears it)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo deputy CRM-2 @dee",
        ),
    ),
)

SUBCOMMANDS = (PROJECT, DEPUTY)
