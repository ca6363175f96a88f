"""`/pmo service add`, `/pmo depends`, `/pmo changes` and `/pmo shares`: live services and who relies on them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.errors import Conflict
from bot.services import live_services, portfolio
from bot.services.access import Actor
from bot.services.live_services import NewService
from handlers.blocks.services import (
    UsergroupChoice,
    new_service_modal,
    relation_text,
    service_saved_modal,
    service_saved_text,
)
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage
from handlers.ids import CallbackId, NewServiceBlock
from handlers.request import FormCheck, errors_on
from storage.models import ServiceRelation
from storage.session import unit_of_work

log = logging.getLogger(__name__)


def _save(ctx: AppContext, actor: Actor, new: NewService, now: datetime) -> str:
    with unit_of_work(ctx.session_factory) as session:
        service, created = live_services.save_service(session, actor, new, now=now)
        return service_saved_text(service.key, service.name, created=created)


def _usergroups(client: WebClient) -> list[UsergroupChoice]:
    """The workspace's user groups to pick from; none when Slack has none to offer (free plans have none)."""
    try:
        groups = client.usergroups_list()["usergroups"]
    except SlackApiError as error:
        log.info("no user groups to offer in the service form: %s", error.response.get("error"))
        return []
    return [UsergroupChoice(group["id"], group.get("handle") or "", group.get("name") or "") for group in groups]


def service_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if not request.args or request.args[0].lower() != "add":
        raise SERVICE.usage_error("Add a service: `/pmo service add KEY Name`, or `/pmo service add` for the form.")
    if len(request.args) == 1:
        with unit_of_work(ctx.session_factory) as session:
            # Refused before the form opens, so nobody fills in a form they cannot submit.
            live_services.require_can_edit_catalogue(session, request.actor)
        client.views_open(trigger_id=request.trigger_id, view=new_service_modal(_usergroups(client)))
        return
    if len(request.args) < 3:
        raise SERVICE.usage_error("Give the service's key and its name, e.g. `/pmo service add PAY Payments platform`.")
    _add, key, name = request.rest.split(maxsplit=2)
    # Quotes are optional around a name of several words.
    respond(text=_save(ctx, request.actor, NewService(key, name.strip().strip('"')), request.now))


def _set_relation(
    ctx: AppContext, request: CommandRequest, respond: Respond, relation: ServiceRelation, subcommand: Subcommand
) -> None:
    if len(request.args) < 2:
        raise subcommand.usage_error("Give the project's key and one or more service keys.")
    with unit_of_work(ctx.session_factory) as session:
        project, services = live_services.set_related_services(
            session, request.actor, request.args[0], relation, request.args[1:]
        )
        text = relation_text(project.key, relation.value, [service.key for service in services])
    respond(text=text)


def depends_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    _set_relation(ctx, request, respond, ServiceRelation.DEPENDS_ON, DEPENDS)


def changes_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    _set_relation(ctx, request, respond, ServiceRelation.CHANGES, CHANGES)


def shares_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    _set_relation(ctx, request, respond, ServiceRelation.SHARES_PEOPLE, SHARES)


def _typed(values: dict[str, Any], block_id: str) -> str | None:
    value = values.get(block_id, {}).get(block_id, {}).get("value")
    return value.strip() if isinstance(value, str) and value.strip() else None


def register(app: App, ctx: AppContext) -> None:
    @app.view(CallbackId.NEW_SERVICE)
    def save_from_modal(ack: Ack, actor: Actor, view: dict, now: datetime) -> None:
        new = _read_service_form(view["state"]["values"])
        with errors_on(NewServiceBlock.NAME, Conflict):  # another service has this name
            text = _save(ctx, actor, new, now)
        ack(response_action="update", view=service_saved_modal(text))


def _picked(values: dict[str, Any], block_id: str) -> str | None:
    option = values.get(block_id, {}).get(block_id, {}).get("selected_option")
    return option.get("value") if option else None


def _read_service_form(values: dict[str, Any]) -> NewService:
    new = NewService(
        key=_typed(values, NewServiceBlock.KEY) or "",
        name=_typed(values, NewServiceBlock.NAME) or "",
        owning_team=_typed(values, NewServiceBlock.OWNING_TEAM),
        usergroup=_picked(values, NewServiceBlock.USERGROUP),
    )
    form = FormCheck()
    with form.on(NewServiceBlock.KEY):
        portfolio.normalise_key(new.key)
    if not new.name:
        form.add(NewServiceBlock.NAME, "Give the service a name.")
    if new.usergroup is not None:
        with form.on(NewServiceBlock.USERGROUP):
            live_services.parse_usergroup(new.usergroup)
    form.raise_any()
    return new


SERVICE = Subcommand(
    name="service",
    handler=service_command,
    usages=(
        Usage(
            "/pmo service add KEY Name",
            "add a live service (or rename one); no arguments: a form with its team",
            audience=HelpAudience.PMO_ADMINS,
            example="/pmo service add PAY Payments platform",
        ),
    ),
)
DEPENDS = Subcommand(
    name="depends",
    handler=depends_command,
    usages=(
        Usage(
            "/pmo depends KEY SERVICE...",
            "the services a project depends on (`none` clears them)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo depends CRM-2 PAY WEB",
        ),
    ),
)
CHANGES = Subcommand(
    name="changes",
    handler=changes_command,
    usages=(
        Usage(
            "/pmo changes KEY SERVICE...",
            "the services a project is changing (`none` clears them)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo changes CRM-2 CRM",
        ),
    ),
)
SHARES = Subcommand(
    name="shares",
    handler=shares_command,
    usages=(
        Usage(
            "/pmo shares KEY SERVICE...",
            "the services whose team also works on the project (`none` clears them)",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo shares CRM-2 PAY",
        ),
    ),
)
SUBCOMMANDS = (SERVICE, DEPENDS, CHANGES, SHARES)
