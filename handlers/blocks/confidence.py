"""The confidence scale as people read it: the check-in form's overall-status question, each
level with its one-line definition, and the one way a check-in's level is named wherever a
status is shown (the prompt, the summary, `/pmo status`, the Home tab, the sponsor's DM, the PMO
alert, the digest and the pack). Pure: data in, blocks and text out."""

from __future__ import annotations

from typing import Any

from bot.services import confidence
from bot.services.confidence import Scale
from handlers.blocks.common import Block, plain
from handlers.ids import CheckinBlock
from storage.models import Rag

OPTION_TEXT_LIMIT = 75
RAG_EMOJI = {"green": ":large_green_circle:", "amber": ":large_orange_circle:", "red": ":red_circle:"}
TITLES = {
    Scale.RAG: "Overall status",
    Scale.DCA3: "Delivery confidence",
    Scale.DCA5: "Delivery confidence",
}


def _option(scale: Scale, level: confidence.Level) -> dict[str, Any]:
    return {
        "text": plain(level.label, OPTION_TEXT_LIMIT),
        "description": plain(level.definition, OPTION_TEXT_LIMIT),
        "value": confidence.option_value(scale, level.value),
    }


def overall_select(scale: Scale, rag: str | None, given_level: str | None) -> Block:
    """The required overall question; an amendment starts at the level given (`given_level`, as stored), or at
    the level its RAG maps back to when it was given on another scale."""
    options = [_option(scale, level) for level in confidence.levels(scale)]
    element: dict[str, Any] = {"type": "static_select", "action_id": CheckinBlock.OVERALL, "options": options}
    initial = confidence.level_for_form(scale, given_level, Rag(rag) if rag else None)
    if initial is not None:
        value = confidence.option_value(scale, initial)
        element["initial_option"] = next(option for option in options if option["value"] == value)
    return {
        "type": "input",
        "block_id": CheckinBlock.OVERALL,
        "optional": False,
        "label": plain(TITLES[scale]),
        "element": element,
    }


def level_name(scale: Scale, rag: Rag | str, given_level: str | None) -> str:
    """The level's name on the configured scale, "Amber/Red"; `given_level` as stored."""
    return confidence.shown(scale, given_level, Rag(rag)).label


def level_badge(level: confidence.Level) -> str:
    """A level with the colour it maps to: ":red_circle: Amber/Red"."""
    return f"{RAG_EMOJI[level.rag.value]} {level.label}"


def level_label(scale: Scale, rag: Rag | str | None, given_level: str | None) -> str:
    """The level with the colour it maps to: ":red_circle: Amber/Red"; "no status yet" without one."""
    if rag is None:
        return "no status yet"
    return level_badge(confidence.shown(scale, given_level, Rag(rag)))


def colour_name(scale: Scale, rag: Rag) -> str:
    """What a count by RAG counts, in the scale's words: "Amber/Red or Red" on dca5."""
    return " or ".join(level.label for level in confidence.same_colour(scale, rag))
