"""Block Kit for project records and the "new project" modal. Pure: data in, blocks out."""

from __future__ import annotations

from typing import Any

from bot.services.portfolio import MAX_KEY_LENGTH, MAX_NAME_LENGTH, ProjectRecord
from handlers.blocks.benefits import benefit_line_text
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
        section(
            "*Benefits*\n"
            + (bulleted([benefit_line_text(b) for b in record.benefits]) if record.benefits else "_none_")
        ),
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


def new_project_modal() -> dict[str, Any]:
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
            _text_input(NewProjectBlock.OBJECTIVE, "Strategic objective", optional=True, max_length=200),
            _text_input(NewProjectBlock.PROGRAMME, "Programme", optional=True, max_length=200),
            _text_input(NewProjectBlock.DESCRIPTION, "Description", optional=True, max_length=2000, multiline=True),
        ],
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
