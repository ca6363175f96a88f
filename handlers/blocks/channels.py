"""Messages about channel links."""

from __future__ import annotations

from handlers.blocks.common import Block, context, escaped, section


def linked_text(key: str, name: str, *, is_primary: bool, already_linked: bool, repaired: bool = False) -> str:
    if repaired:
        where = "weekly check-in prompts are posted here again" if is_primary else "it is linked again"
        return f"Repaired: I'm back in this channel and it works for *{key}* ({escaped(name)}) again: {where}."
    if already_linked:
        return f"This channel is already linked to {key} ({escaped(name)}). Nothing changed."
    role = (
        "It is the project's primary channel: weekly check-in prompts will be posted here."
        if is_primary
        else "The project already has a primary channel, which keeps getting the check-in prompts."
    )
    return f"This channel is now linked to *{key}* ({escaped(name)}). {role}"


def unlinked_text(key: str) -> str:
    return f"This channel is no longer linked to *{key}*. Link it again with `/pmo link {key}`."


def joined_hint_message() -> tuple[str, list[Block]]:
    text = "Hi, I'm pmo-bot. Link me to this channel's project with `/pmo link KEY`."
    return text, [
        section(text),
        context("Then the team gets its weekly check-in here. `/pmo help` lists everything I can do."),
    ]
