"""Actions in Slack: `/pmo action`, `/pmo actions`, the "Make this an action" shortcut, the
check-in's help button, and the Done / Snooze / Reassign / Add note controls on every card."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.context import AppContext
from bot.errors import Conflict, NotFound
from bot.services import actions, message_keys, nudges, partners, portfolio
from bot.services.access import Actor
from bot.services.actions import InvalidAction, NewAction
from bot.services.owed import Owed
from bot.services.partners import INTERNAL, Audience
from handlers.blocks.actions import (
    ASSIGNED,
    DM,
    MY_ACTIONS,
    ActionDm,
    ActionRef,
    HelpActionTarget,
    NewActionMetadata,
    action_added_modal,
    action_added_text,
    action_history,
    action_list,
    help_action_made,
    new_action_modal,
    note_added_modal,
    note_modal,
)
from handlers.commands import CommandRequest, HelpAudience, Subcommand, Usage, user_mention
from handlers.delivery import ClaimedMessage, claim_action_dm, deliver_dm, redraw_action_dm, refresh_home
from handlers.ids import ActionId, ActionNoteBlock, CallbackId, NewActionBlock
from handlers.outcomes import ask_who_owns, deliver_owed
from handlers.request import channel_audience
from storage.models import Action, ProjectStatus
from storage.session import unit_of_work

# "KEY @owner DATE" and then the title, as typed (apostrophes and quotes kept).
_TITLE_AFTER = re.compile(r"^\s*(?:\S+\s+){3}(.+)$", re.DOTALL)


def _zone(ctx: AppContext) -> ZoneInfo:
    return ZoneInfo(ctx.settings.default_timezone)


def check_owner(client: WebClient, user_id: str, default_timezone: str) -> str:
    """Ask Slack whether someone can own an action; their timezone (or the default) if so."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        if error.response.get("error") != "user_not_found":
            raise
        raise InvalidAction(
            {actions.OWNER: f"<@{user_id}> is not in this workspace. Type @ and pick the owner from the list."}
        ) from None
    if user.get("deleted"):
        raise InvalidAction(
            {actions.OWNER: f"<@{user_id}>'s account is deactivated. Choose someone who is still here."}
        )
    if user.get("is_bot"):
        raise InvalidAction({actions.OWNER: f"<@{user_id}> is a bot; an action needs a person to own it."})
    return nudges.known_timezone(user.get("tz"), default_timezone)


# --- creating ---------------------------------------------------------------------------------


def _create(
    ctx: AppContext, actor: Actor, new: NewAction, *, now: datetime
) -> tuple[actions.ActionLine, ClaimedMessage | None]:
    """Store the action and claim the owner's DM in one transaction; the caller delivers it."""
    timezone = check_owner(ctx.client, new.owner_user_id, ctx.settings.default_timezone)
    today = ctx.workspace_day(now)
    with unit_of_work(ctx.session_factory) as session:
        action = actions.create_action(session, actor, new, today=today, now=now)
        nudges.remember_timezone(session, new.owner_user_id, timezone, now=now)
        key = message_keys.action_assigned(action.id)
        dm = ActionDm(ASSIGNED, today.isoformat(), [action.id], assigned_by=actor.slack_user_id)
        claimed = claim_action_dm(session, ctx, dm, key=key, recipient=new.owner_user_id, now=now)
        line = _line(session, ctx, action, today)
    ask_who_owns(ctx, line.action_id, now=now)  # a PMO admin on someone else's project: should its owners own it?
    return line, claimed


def _tell_owner(ctx: AppContext, claimed: ClaimedMessage | None, *, now: datetime) -> None:
    """The new owner's DM, and their Home tab, which lists their actions."""
    if claimed is None:
        return
    deliver_dm(ctx, claimed, now=now)
    refresh_home(ctx, (claimed.request.channel_id,), now)


def _line(session: Session, ctx: AppContext, action: Action, today: date) -> actions.ActionLine:
    rows = actions.actions_by_id(session, [action.id])
    return actions.action_lines(session, rows, as_of=today, zone=_zone(ctx))[0]


def _open_form(ctx: AppContext, client: WebClient, trigger_id: str, key: str) -> None:
    with unit_of_work(ctx.session_factory) as session:
        # Refused before the form opens, so nobody fills in a form for a project that takes no actions.
        project = actions.check_project(session, key)
        heading = f"{project.key} · {project.name}"
        metadata = NewActionMetadata(project_key=project.key)
    client.views_open(trigger_id=trigger_id, view=new_action_modal(metadata, project_heading=heading))


def _history_message(ctx: AppContext, action_id: int, audience: Audience, *, now: datetime) -> tuple[str, list[dict]]:
    with unit_of_work(ctx.session_factory) as session:
        action = actions.find_action(session, action_id)
        if action is None or not partners.is_visible(session, actions.project_of(session, action), audience):
            # Unshared projects' actions answer as unknown ones, so a partner cannot probe for them.
            raise NotFound(f"No action has the number {action_id}. `/pmo actions` lists yours, with their history.")
        return action_history(_line(session, ctx, action, ctx.workspace_day(now)), actions.history(session, action))


def action_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if not request.args:
        raise ACTION.usage_error("Which project is the action for? Give its key.")
    if len(request.args) == 2 and request.args[0].lower() == "show":
        audience = channel_audience(client, request.channel_id, request.team_id)
        text, blocks = _history_message(ctx, actions.parse_action_id(request.args[1]), audience, now=request.now)
        respond(text=text, blocks=blocks)
        return
    if len(request.args) == 1:
        _open_form(ctx, client, request.trigger_id, request.args[0])
        return
    if len(request.args) < 4:
        raise ACTION.usage_error("Give the owner, the due date and what has to be done, or just the key for a form.")
    key, who, when = request.args[:3]
    owner = user_mention(who)
    if owner is None:
        raise ACTION.usage_error(f"'{who}' is not a person: type @ and pick the owner from the list.")
    with unit_of_work(ctx.session_factory) as session:
        due = actions.parse_due_on_working_day(session, when, today=ctx.workspace_day(request.now))
    typed = _TITLE_AFTER.match(request.rest)
    title = typed[1] if typed else " ".join(request.args[3:])
    line, claimed = _create(ctx, request.actor, NewAction(key, title, owner, due.day), now=request.now)
    respond(text=action_added_text(line, moved_from=due.moved_from))
    _tell_owner(ctx, claimed, now=request.now)


def _permalink(client: WebClient, channel_id: str, message_ts: str) -> str | None:
    try:
        return str(client.chat_getPermalink(channel=channel_id, message_ts=message_ts)["permalink"])
    except SlackApiError:
        return None  # a message the bot cannot see (e.g. a DM between people) gets no link back


@dataclass(frozen=True)
class _NewActionForm:
    """What the new-action form holds when submitted; blanks are empty strings or None."""

    project_key: str
    title: str
    owner: str | None
    due: str | None
    notes: str | None

    @classmethod
    def read(cls, values: dict[str, Any]) -> _NewActionForm:
        def element(block_id: str) -> dict[str, Any]:
            return values.get(block_id, {}).get(block_id, {})

        def text(block_id: str) -> str:
            return (element(block_id).get("value") or "").strip()

        return cls(
            project_key=text(NewActionBlock.PROJECT),
            title=text(NewActionBlock.TITLE),
            owner=element(NewActionBlock.OWNER).get("selected_user"),
            due=element(NewActionBlock.DUE).get("selected_date"),
            notes=text(NewActionBlock.NOTES) or None,
        )


def _submit_form(ctx: AppContext, actor: Actor, now: datetime, view: dict[str, Any], ack: Ack) -> ClaimedMessage | None:
    metadata = NewActionMetadata.from_json(view["private_metadata"])
    form = _NewActionForm.read(view["state"]["values"])
    present = set(view["state"]["values"])
    # Problems about the project land on the title when the form has no project box.
    block_for = {field: field if field in present else NewActionBlock.TITLE for field in NewActionBlock}
    project_key = metadata.project_key or form.project_key
    missing = {
        block: message
        for block, value, message in (
            (NewActionBlock.PROJECT, project_key, "Give the project's key, e.g. CRM-2."),
            (NewActionBlock.TITLE, form.title, "Say what has to be done."),
            (NewActionBlock.OWNER, form.owner, "Choose who owns it."),
            (NewActionBlock.DUE, form.due, "Choose when it is due."),
        )
        if not value
    }
    if missing or form.owner is None or form.due is None:
        ack(response_action="errors", errors={block_for[block]: message for block, message in missing.items()})
        return None
    source_link = (
        _permalink(ctx.client, metadata.channel_id, metadata.message_ts)
        if metadata.channel_id and metadata.message_ts
        else None
    )
    new = NewAction(
        project_key, form.title, form.owner, date.fromisoformat(form.due), notes=form.notes, source_link=source_link
    )
    try:
        line, claimed = _create(ctx, actor, new, now=now)
    except InvalidAction as error:  # problems by field, shown on the form's own boxes
        ack(
            response_action="errors",
            errors={block_for.get(field, NewActionBlock.TITLE): text for field, text in error.problems.items()},
        )
        return None
    ack(response_action="update", view=action_added_modal(line))
    return claimed


# --- lists and their controls ----------------------------------------------------------------------


def _list_message(ctx: AppContext, user_id: str, key: str, *, now: datetime) -> tuple[str, list[dict[str, Any]]]:
    today = ctx.workspace_day(now)
    with unit_of_work(ctx.session_factory) as session:
        if key == MY_ACTIONS:
            rows, project = actions.open_actions_owned_by(session, user_id), None
        else:
            found, rows = actions.open_actions_of_project(session, key)
            project = (found.key, found.name)
        lines = actions.action_lines(session, rows, as_of=today, zone=_zone(ctx))
    return action_list(lines, project=project)


def actions_command(ctx: AppContext, request: CommandRequest, client: WebClient, respond: Respond) -> None:
    if len(request.args) > 1:
        raise ACTIONS.usage_error("Give at most one project key.")
    text, blocks = _list_message(ctx, request.user_id, request.args[0] if request.args else MY_ACTIONS, now=request.now)
    respond(text=text, blocks=blocks)


# A change to one action, in the caller's transaction: the action as it is after, and the alerts it owes.
Change = Callable[[Session], tuple[Action, list[Owed]]]


def _after_change(ctx: AppContext, ref: ActionRef, user_id: str, respond: Respond, *, now: datetime) -> None:
    """Redraw what the click came from: an ephemeral list through its response_url, a DM in place."""
    if ref.shown_in == DM:
        redraw_action_dm(ctx, ref.key, now=now)
    else:
        text, blocks = _list_message(ctx, user_id, ref.key, now=now)
        respond(text=text, blocks=blocks, replace_original=True)


def _settled(session: Session, ctx: AppContext, action_id: int, actor: Actor, *, now: datetime) -> list[Owed]:
    """Done or snoozed: the action's PMO alert, if it has one, is owed the news."""
    today, zone = ctx.workspace_day(now), _zone(ctx)
    return list(
        actions.settle_overdue_alert(session, action_id, by=actor.slack_user_id, as_of=today, zone=zone, now=now)
    )


def _change(ctx: AppContext, actor: Actor, ref: ActionRef, respond: Respond, change: Change, *, now: datetime) -> None:
    """Apply a change for the person who clicked (a refusal is a UserError), redraw the card, refresh
    the Home tabs of the owners before and after, and then send what the change owes."""
    with unit_of_work(ctx.session_factory) as session:
        owner_before = actions.get_action(session, ref.action_id).owner.slack_user_id
        changed, owed = change(session)
        owner_after = changed.owner.slack_user_id
    _after_change(ctx, ref, actor.slack_user_id, respond, now=now)
    refresh_home(ctx, (owner_before, owner_after), now)
    deliver_owed(ctx, owed, now=now)


def register(app: App, ctx: AppContext) -> None:
    @app.action(ActionId.ACTION_DONE)
    def done(ack: Ack, actor: Actor, now: datetime, action: dict, respond: Respond) -> None:
        ack()
        ref = ActionRef.from_json(action["block_id"])

        def change(session: Session) -> tuple[Action, list[Owed]]:
            completed = actions.complete(session, actor, ref.action_id, now=now)
            return completed, _settled(session, ctx, ref.action_id, actor, now=now)

        _change(ctx, actor, ref, respond, change, now=now)

    @app.action(ActionId.ACTION_SNOOZE)
    def snooze(ack: Ack, actor: Actor, now: datetime, action: dict, respond: Respond) -> None:
        ack()
        ref = ActionRef.from_json(action["block_id"])
        days = int(action["selected_option"]["value"])

        def change(session: Session) -> tuple[Action, list[Owed]]:
            snoozed = actions.snooze(session, actor, ref.action_id, days, today=ctx.workspace_day(now), now=now)
            return snoozed, _settled(session, ctx, ref.action_id, actor, now=now)

        _change(ctx, actor, ref, respond, change, now=now)

    @app.action(ActionId.ACTION_REASSIGN)
    def reassign(ack: Ack, actor: Actor, now: datetime, action: dict, respond: Respond) -> None:
        ack()
        ref = ActionRef.from_json(action["block_id"])
        new_owner = action["selected_user"]
        timezone = check_owner(ctx.client, new_owner, ctx.settings.default_timezone)
        claimed: list[ClaimedMessage] = []

        def change(session: Session) -> tuple[Action, list[Owed]]:
            moved = actions.reassign(session, actor, ref.action_id, new_owner, now=now)
            nudges.remember_timezone(session, new_owner, timezone, now=now)
            today = ctx.workspace_day(now)
            dm = ActionDm(ASSIGNED, today.isoformat(), [ref.action_id], assigned_by=actor.slack_user_id)
            key = message_keys.action_reassigned(ref.action_id, new_owner, moved.events[-1].id)
            told = claim_action_dm(session, ctx, dm, key=key, recipient=new_owner, now=now)
            claimed.extend([told] if told else [])
            # The action's PMO alert names the new owner straight away.
            owed = actions.refresh_overdue_alert(session, ref.action_id, as_of=today, zone=_zone(ctx), now=now)
            return moved, list(owed)

        _change(ctx, actor, ref, respond, change, now=now)
        for message in claimed:
            deliver_dm(ctx, message, now=now)
        ask_who_owns(ctx, ref.action_id, now=now)

    @app.action(ActionId.ACTION_ADD_NOTE)
    def add_note(ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        ref = ActionRef.from_json(action["block_id"])
        with unit_of_work(ctx.session_factory) as session:
            title = actions.get_action(session, ref.action_id).title
        client.views_open(trigger_id=body["trigger_id"], view=note_modal(ref, title))

    @app.action(ActionId.ACTION_HISTORY)
    def show_history(ack: Ack, now: datetime, action: dict, respond: Respond) -> None:
        ack()
        # The card was shown only to people who may see the action: a DM or a private list.
        text, blocks = _history_message(ctx, int(action["value"]), INTERNAL, now=now)
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

    @app.view(CallbackId.ACTION_NOTE)
    def submit_note(ack: Ack, actor: Actor, now: datetime, view: dict) -> None:
        ref = ActionRef.from_json(view["private_metadata"])
        note = view["state"]["values"].get(ActionNoteBlock.NOTE, {}).get(ActionNoteBlock.NOTE, {}).get("value") or ""
        with unit_of_work(ctx.session_factory) as session:
            action = actions.add_note(session, actor, ref.action_id, note, now=now)
            title = action.title
        ack(response_action="update", view=note_added_modal(title))

    @app.view(CallbackId.NEW_ACTION)
    def submit_new_action(ack: Ack, actor: Actor, now: datetime, view: dict) -> None:
        _tell_owner(ctx, _submit_form(ctx, actor, now, view, ack), now=now)

    @app.shortcut(CallbackId.ACTION_FROM_MESSAGE)
    def from_message(ack: Ack, shortcut: dict, client: WebClient) -> None:
        ack()
        channel_id = shortcut["channel"]["id"]
        message = shortcut["message"]
        with unit_of_work(ctx.session_factory) as session:
            project = portfolio.project_for_channel(session, shortcut["team"]["id"], channel_id)
            suggested = project.key if project is not None and project.status is not ProjectStatus.CLOSED else None
        metadata = NewActionMetadata(channel_id=channel_id, message_ts=message["ts"])
        view = new_action_modal(
            metadata,
            project_heading=None,
            suggested_key=suggested,
            title=message.get("text", ""),
            from_channel=channel_id,
        )
        client.views_open(trigger_id=shortcut["trigger_id"], view=view)

    @app.action(ActionId.ACTION_FROM_HELP)
    def from_help(ack: Ack, actor: Actor, now: datetime, body: dict, action: dict, client: WebClient) -> None:
        ack()
        target = HelpActionTarget.from_json(action["value"])
        _make_help_action(ctx, client, body, target, actor, now)


def _make_help_action(
    ctx: AppContext, client: WebClient, body: dict[str, Any], target: HelpActionTarget, actor: Actor, now: datetime
) -> None:
    user_id = actor.slack_user_id
    channel_id, message = body["channel"]["id"], body["message"]
    today = ctx.workspace_day(now)
    with unit_of_work(ctx.session_factory) as session:
        project = portfolio.get_project(session, target.project_key)
        sponsor = project.sponsor.slack_user_id if project.sponsor else None
    timezone = check_owner(client, sponsor, ctx.settings.default_timezone) if sponsor else None
    source_link = _permalink(client, channel_id, message["ts"])
    with unit_of_work(ctx.session_factory) as session:
        created = actions.create_help_action(
            session, actor, target.checkin_id, source_link=source_link, today=today, now=now
        )
        owner = created.owner.slack_user_id
        if timezone:
            nudges.remember_timezone(session, owner, timezone, now=now)
        dm = ActionDm(ASSIGNED, today.isoformat(), [created.id], assigned_by=user_id)
        claimed = claim_action_dm(
            session, ctx, dm, key=message_keys.action_from_checkin(target.checkin_id), recipient=owner, now=now
        )
        if claimed is None:
            raise Conflict(
                "This help request is already an action. `/pmo actions " + target.project_key + "` lists it."
            )
        line = _line(session, ctx, created, today)
    # The summary keeps its words; the button gives way to who made it into what.
    blocks = [
        block
        for block in message.get("blocks", [])
        if not any(element.get("action_id") == ActionId.ACTION_FROM_HELP for element in block.get("elements", []))
    ]
    client.chat_update(
        channel=channel_id,
        ts=message["ts"],
        text=message.get("text", ""),
        blocks=[*blocks, help_action_made(line, made_by=user_id)],
    )
    _tell_owner(ctx, claimed, now=now)


ACTION = Subcommand(
    name="action",
    handler=action_command,
    usages=(
        Usage(
            "/pmo action KEY @owner DATE title",
            "record an action and tell its owner; DATE is YYYY-MM-DD, today, tomorrow, a weekday (fri) or +3d",
            example="/pmo action CRM-2 @sam fri Agree the data-sharing protocol",
        ),
        Usage("/pmo action KEY", "the same, in a form", example="/pmo action CRM-2"),
        Usage(
            "/pmo action show ID",
            "an action's notes and history (the *History* button on its card)",
            example="/pmo action show 12",
        ),
    ),
)

ACTIONS = Subcommand(
    name="actions",
    handler=actions_command,
    usages=(
        Usage("/pmo actions", "your open actions, most overdue first, with Done, Snooze, Reassign and Add note"),
        Usage(
            "/pmo actions KEY",
            "a project's open actions",
            audience=HelpAudience.PROJECT_TEAMS,
            example="/pmo actions CRM-2",
        ),
    ),
)

SUBCOMMANDS = (ACTION, ACTIONS)
