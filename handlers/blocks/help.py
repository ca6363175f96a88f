"""The `/pmo help` reply."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from handlers.blocks.common import Block, context, section

if TYPE_CHECKING:
    from handlers.commands import Subcommand


def help_text(subcommands: Sequence[Subcommand]) -> str:
    lines = ["`/pmo help`: this list"] + [
        f"`{usage.syntax}`: {usage.summary}" for sub in subcommands for usage in sub.usages
    ]
    return "\n".join(lines)


def unknown_subcommand_text(word: str, subcommands: Sequence[Subcommand]) -> str:
    return f"I don't know `/pmo {word}`. Here is what I can do:\n{help_text(subcommands)}"


def help_blocks(subcommands: Sequence[Subcommand], *, unknown: str | None = None) -> list[Block]:
    blocks: list[Block] = []
    if unknown is not None:
        blocks.append(section(f"I don't know `/pmo {unknown}`. Here is what I can do:"))
    blocks.append(section("*pmo-bot commands*\n" + help_text(subcommands)))
    blocks.append(context("Keys are project keys such as CRM-2; any case works."))
    return blocks
