"""Block Kit and replies for the service catalogue: the "new service" modal and what the commands say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.services.live_services import MAX_NAME_LENGTH, MAX_OWNING_TEAM_LENGTH
from bot.services.portfolio import MAX_KEY_LENGTH
from handlers.blocks.common import Block, context, escaped, plain, section
from handlers.ids import CallbackId, NewServiceBlock

RELATION_PHRASES = {
    "depends_on": "depends on",
    "changes": "changes",
    "shares_people": "shares people with",
}


def _text_input(block_id: str, label: str, *, optional: bool, max_length: int, hint: str | None = None) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label),
        "element": {"type": "plain_text_input", "action_id": block_id, "max_length": max_length},
    }
    if hint:
        block["hint"] = plain(hint)
    return block


MAX_USERGROUP_OPTIONS = 100  # Slack's limit for a static select


@dataclass(frozen=True)
class UsergroupChoice:
    usergroup_id: str
    handle: str
    name: str


def _usergroup_block(usergroups: list[UsergroupChoice]) -> Block:
    if not usergroups:
        return context("This workspace has no Slack user groups to pick the team's from; save the service without one.")
    ordered = sorted(usergroups, key=lambda group: group.handle.lower())[:MAX_USERGROUP_OPTIONS]
    options = [
        {
            "text": plain(f"@{group.handle} · {group.name}" if group.name else f"@{group.handle}", 75),
            "value": group.usergroup_id,
        }
        for group in ordered
    ]
    return {
        "type": "input",
        "block_id": NewServiceBlock.USERGROUP,
        "optional": True,
        "label": plain("Slack user group of the people who run it"),
        "element": {
            "type": "static_select",
            "action_id": NewServiceBlock.USERGROUP,
            "placeholder": plain("Pick their user group", 150),
            "options": options,
        },
    }


def new_service_modal(usergroups: list[UsergroupChoice]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CallbackId.NEW_SERVICE,
        "title": plain("New service", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            _text_input(
                NewServiceBlock.KEY,
                "Key",
                optional=False,
                max_length=MAX_KEY_LENGTH,
                hint="Short and stable, e.g. PAY. An existing key updates that service.",
            ),
            _text_input(NewServiceBlock.NAME, "Name", optional=False, max_length=MAX_NAME_LENGTH),
            _text_input(
                NewServiceBlock.OWNING_TEAM, "Team that runs it", optional=True, max_length=MAX_OWNING_TEAM_LENGTH
            ),
            _usergroup_block(usergroups),
        ],
    }


def service_saved_text(key: str, name: str, *, created: bool) -> str:
    if created:
        return (
            f"Service *{key}* · {escaped(name)} is in the portfolio. Projects name it with "
            f"`/pmo depends PROJECT {key}` or `/pmo shares PROJECT {key}`."
        )
    return f"Service *{key}* is now called {escaped(name)}."


def service_saved_modal(text: str) -> dict[str, Any]:
    return {"type": "modal", "title": plain("Service saved", 24), "close": plain("Done", 24), "blocks": [section(text)]}


def relation_text(project_key: str, relation: str, service_keys: list[str]) -> str:
    phrase = RELATION_PHRASES[relation]
    if not service_keys:
        return f"{project_key} now {phrase} no service."
    return f"{project_key} now {phrase} {', '.join(service_keys)}. An incident on them pauses its prompts and nudges."
