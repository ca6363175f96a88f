"""Block Kit for project records and the "new project" modal. Pure: data in, blocks out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.services.portfolio import MAX_KEY_LENGTH, MAX_NAME_LENGTH, ProjectForm, ProjectRecord
from handlers.blocks.benefits import benefits_blocks
from handlers.blocks.common import (
    Block,
    actions,
    bulleted,
    button,
    channel,
    context,
    divider,
    escaped,
    header,
    plain,
    section,
    user,
)
from handlers.blocks.metadata import JsonState
from handlers.ids import ActionId, CallbackId, NewProjectBlock

RELATION_LABELS = {"depends_on": "depends on", "changes": "changes", "shares_people": "shares people with"}


def project_record_blocks(record: ProjectRecord, *, shareable: bool) -> list[Block]:
    """The record `/pmo project KEY` shows; the share button only on the private copy."""
    summary = [
        f"*Status:* {record.status}",
        f"*Sponsor:* {user(record.sponsor_user_id)}",
        f"*Lead:* {user(record.lead_user_id)}"
        + (f" (deputy {user(record.deputy_user_id)})" if record.deputy_user_id else ""),
        f"*Objective:* {escaped(record.objective) if record.objective else '_none_'}",
        f"*Programme:* {escaped(record.programme) if record.programme else '_none_'}",
        f"*Check-in:* {record.cadence}",
    ]
    channels = [
        channel(line.channel_id)
        + (" (primary)" if line.is_primary else "")
        + (f" :warning: broken: {line.broken_reason}" if line.broken_reason else "")
        for line in record.channels
    ]
    services = [
        f"{key} {escaped(name)} ({RELATION_LABELS.get(relation, escaped(relation))})"
        for key, name, relation in record.services
    ]
    blocks: list[Block] = [
        header(f"{record.key} · {record.name}"),
        section("\n".join(summary)),
    ]
    if record.description:
        blocks.append(context(escaped(record.description)))
    blocks += [
        section(
            "*Channels*\n" + (bulleted(channels) if channels else f"_none: link one with `/pmo link {record.key}`_")
        ),
        section("*Services*\n" + (bulleted(services) if services else "_none_")),
        *benefits_blocks(record.benefits),
    ]
    if shareable:
        blocks += [divider(), actions(button("Share in channel", ActionId.SHARE_PROJECT_RECORD, record.key))]
    return blocks


def project_record_text(record: ProjectRecord) -> str:
    """The notification text that goes with the blocks (shown in notifications and to screen readers)."""
    return f"{record.key} · {escaped(record.name)} ({record.status})"


def _text_input(
    block_id: str, label: str, *, optional: bool, max_length: int, placeholder: str = "", multiline: bool = False
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id,
        "max_length": max_length,
        "multiline": multiline,
    }
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return {"type": "input", "block_id": block_id, "optional": optional, "label": plain(label), "element": element}


def _user_input(block_id: str, label: str, *, optional: bool) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label),
        "element": {"type": "users_select", "action_id": block_id},
    }


MAX_PICK_OPTIONS = 100  # Slack's limit for a static select


def _pick_or_add(
    picked_id: str,
    typed_id: str,
    what: str,
    existing: list[tuple[int, str]],
    *,
    example: str,
    initial_id: int | None = None,
) -> list[Block]:
    """A select of the existing ones and a box for a new one, so nobody retypes a name slightly differently."""
    if not existing:
        return [_text_input(typed_id, what, optional=True, max_length=200, placeholder=f"e.g. {example}")]
    options = [{"text": plain(name, 75), "value": str(record_id)} for record_id, name in existing[:MAX_PICK_OPTIONS]]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": picked_id,
        "placeholder": plain(f"Pick an existing {what.lower()}", 150),
        "options": options,
    }
    initial = next((option for option in options if option["value"] == str(initial_id)), None)
    if initial is not None:
        element["initial_option"] = initial
    select = {"type": "input", "block_id": picked_id, "optional": True, "label": plain(what), "element": element}
    return [
        select,
        _text_input(
            typed_id,
            f"…or add a new {what.lower()}",
            optional=True,
            max_length=200,
            placeholder="Only if it is not in the list above",
        ),
    ]


def new_project_modal(
    objectives: list[tuple[int, str]] | None = None, programmes: list[tuple[int, str]] | None = None
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CallbackId.NEW_PROJECT,
        "title": plain("New project", 24),
        "submit": plain("Create", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            _text_input(
                NewProjectBlock.KEY, "Key", optional=False, max_length=MAX_KEY_LENGTH, placeholder="e.g. CRM-2"
            ),
            _text_input(NewProjectBlock.NAME, "Name", optional=False, max_length=MAX_NAME_LENGTH),
            _user_input(NewProjectBlock.SPONSOR, "Sponsor", optional=False),
            _user_input(NewProjectBlock.LEAD, "Project lead", optional=True),
            *_pick_or_add(
                NewProjectBlock.OBJECTIVE_PICKED,
                NewProjectBlock.OBJECTIVE,
                "Strategic objective",
                objectives or [],
                example="Residents can do more online",
            ),
            *_pick_or_add(
                NewProjectBlock.PROGRAMME_PICKED,
                NewProjectBlock.PROGRAMME,
                "Programme",
                programmes or [],
                example="Digital",
            ),
            _text_input(NewProjectBlock.DESCRIPTION, "Description", optional=True, max_length=2000, multiline=True),
        ],
    }


@dataclass(frozen=True)
class EditedProject(JsonState):
    """What the edit form carries to its submission (private_metadata)."""

    project_key: str


STATUS_CHOICES = {"active": "Active: weekly check-ins", "paused": "Paused: no check-ins for now"}


def edit_project_modal(form: ProjectForm) -> dict[str, Any]:
    def person(block_id: str, label: str, user_id: str | None, *, optional: bool) -> Block:
        block = _user_input(block_id, label, optional=optional)
        if user_id:
            block["element"]["initial_user"] = user_id
        return block

    name = _text_input(NewProjectBlock.NAME, "Name", optional=False, max_length=MAX_NAME_LENGTH)
    name["element"]["initial_value"] = form.name
    statuses = [{"text": plain(label, 75), "value": value} for value, label in STATUS_CHOICES.items()]
    status = {
        "type": "input",
        "block_id": NewProjectBlock.STATUS,
        "label": plain("Status"),
        "element": {
            "type": "static_select",
            "action_id": NewProjectBlock.STATUS,
            "options": statuses,
            "initial_option": next((o for o in statuses if o["value"] == form.status.value), statuses[0]),
        },
    }
    cadence = _text_input(
        NewProjectBlock.CADENCE, "Check-in day and time", optional=True, max_length=60, placeholder="e.g. tue 10:00"
    )
    cadence["hint"] = plain(
        "Day, time (24 h) and optionally a timezone, e.g. tue 10:00 Europe/London. Blank: the default."
    )
    if form.cadence:
        cadence["element"]["initial_value"] = form.cadence
    return {
        "type": "modal",
        "callback_id": CallbackId.EDIT_PROJECT,
        "private_metadata": EditedProject(form.key).to_json(),
        "title": plain(f"Edit {form.key}", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            name,
            person(NewProjectBlock.SPONSOR, "Sponsor", form.sponsor_user_id, optional=False),
            person(NewProjectBlock.LEAD, "Project lead", form.lead_user_id, optional=True),
            *_pick_or_add(
                NewProjectBlock.OBJECTIVE_PICKED,
                NewProjectBlock.OBJECTIVE,
                "Strategic objective",
                form.objectives,
                example="Residents can do more online",
                initial_id=form.objective_id,
            ),
            *_pick_or_add(
                NewProjectBlock.PROGRAMME_PICKED,
                NewProjectBlock.PROGRAMME,
                "Programme",
                form.programmes,
                example="Digital",
                initial_id=form.programme_id,
            ),
            status,
            cadence,
        ],
    }


def project_saved_modal(key: str, name: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain("Project saved", 24),
        "close": plain("Done", 24),
        "blocks": [section(f"*{key} · {escaped(name)}* is saved. `/pmo project {key}` shows its record.")],
    }


def project_created_modal(key: str, name: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain("Project created", 24),
        "close": plain("Done", 24),
        "blocks": [
            section(
                f"*{key} · {escaped(name)}* is in the portfolio.\n"
                f"Next: run `/pmo link {key}` in the project's channel so the team gets its check-ins there."
            )
        ],
    }
