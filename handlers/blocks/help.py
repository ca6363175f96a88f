"""The `/pmo help` replies: everything grouped by who uses it, one subcommand, or a near miss."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING

from handlers.blocks.common import SECTION_TEXT_LIMIT, Block, context, escaped, header, section

if TYPE_CHECKING:
    from handlers.commands import Subcommand, Usage


class HelpAudience(Enum):
    """Who a form is for; `/pmo help` shows one block per audience, in this order."""

    EVERYONE = "Everyone"
    PROJECT_TEAMS = "Project teams (leads, deputies, members)"
    SPONSORS = "Sponsors"
    PMO_ADMINS = "PMO admins"


HELP_SYNTAX = "/pmo help [COMMAND]"
HELP_SUMMARY = "this list; with a command (e.g. `/pmo help action`), that command's forms with an example"
KEYS_NOTE = "Keys are project keys such as CRM-2; any case works."
MAX_SUGGESTIONS = 3


def _line(syntax: str, summary: str) -> str:
    return f"`{syntax}`: {summary}"


def _groups(subcommands: Sequence[Subcommand]) -> list[tuple[HelpAudience, list[str]]]:
    lines: dict[HelpAudience, list[str]] = {audience: [] for audience in HelpAudience}
    lines[HelpAudience.EVERYONE].append(_line(HELP_SYNTAX, HELP_SUMMARY))
    for sub in subcommands:
        for usage in sub.usages:
            lines[usage.audience].append(_line(usage.syntax, usage.summary))
    return [(audience, group) for audience, group in lines.items() if group]


def help_text(subcommands: Sequence[Subcommand]) -> str:
    return "\n\n".join(f"*{audience.value}*\n" + "\n".join(group) for audience, group in _groups(subcommands))


def _sections(title: str, lines: list[str]) -> list[Block]:
    """One section per run of lines that fits Slack's limit, so nothing is ever cut off."""
    blocks: list[Block] = []
    current = f"*{title}*"
    for line in lines:
        if len(current) + 1 + len(line) > SECTION_TEXT_LIMIT:
            blocks.append(section(current))
            current = line
        else:
            current = f"{current}\n{line}"
    blocks.append(section(current))
    return blocks


def help_blocks(subcommands: Sequence[Subcommand]) -> list[Block]:
    blocks: list[Block] = [header("pmo-bot commands")]
    for audience, group in _groups(subcommands):
        blocks.extend(_sections(audience.value, group))
    blocks.append(context(f"{KEYS_NOTE} `/pmo help COMMAND` shows one command's forms with an example."))
    return blocks


def example_of(usage: Usage) -> str:
    """A filled-in form to copy; a form without placeholders is its own example."""
    return usage.example or usage.syntax


def subcommand_help_text(subcommand: Subcommand) -> str:
    lines = [f"*/pmo {subcommand.name}*"]
    for usage in subcommand.usages:
        lines.append(_line(usage.syntax, usage.summary))
        if example_of(usage) != usage.syntax:
            lines.append(f"      e.g. `{example_of(usage)}`")
    return "\n".join(lines)


def subcommand_help_blocks(subcommand: Subcommand) -> list[Block]:
    return [section(subcommand_help_text(subcommand)), context(KEYS_NOTE)]


def suggestions(word: str, subcommands: Sequence[Subcommand]) -> list[str]:
    """The subcommands someone typing `word` most likely meant: a close spelling or a prefix."""
    typed = word.lower()
    names = [sub.name for sub in subcommands]
    close = difflib.get_close_matches(typed, names, n=MAX_SUGGESTIONS, cutoff=0.6)
    prefixed = [name for name in names if len(typed) >= 2 and name.startswith(typed)]
    return list(dict.fromkeys([*close, *prefixed]))[:MAX_SUGGESTIONS]


def unknown_subcommand_text(word: str, subcommands: Sequence[Subcommand]) -> str:
    near = suggestions(word, subcommands)
    guess = " Did you mean " + " or ".join(f"`/pmo {name}`" for name in near) + "?" if near else ""
    names = ", ".join(f"`{sub.name}`" for sub in subcommands)
    return (
        f"I don't know `/pmo {escaped(word)}`.{guess}\n"
        f"Commands: {names}.\n"
        "`/pmo help` says what each does; `/pmo help COMMAND` shows one with an example."
    )


def unknown_subcommand_blocks(word: str, subcommands: Sequence[Subcommand]) -> list[Block]:
    return [section(unknown_subcommand_text(word, subcommands))]
