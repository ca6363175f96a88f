"""The confidence scale a check-in's overall status is given on (CONFIDENCE_SCALE), and the
one mapping from each level to Red / Amber / Green.

- `rag`: Red, Amber, Green, as the bot has always asked.
- `dca3`: the three-point delivery confidence assessment: Green, Amber, Red.
- `dca5`: the five-point one: Green, Amber/Green, Amber, Amber/Red, Red.

A check-in stores the level as given, with its scale ("dca5:amber_red"), and its overall RAG
through `MAPPING` below. What a person reads (the summary, `/pmo status`, the Home tab, the
sponsor's DM) names the level on the configured scale (`shown`); what reasons (governance
rules, the sort of the status table, trends) keeps reasoning on the RAG, so changing the scale
later loses nothing: old check-ins keep the level they were given, and one given on another
scale is shown at this scale's first level of the same colour. The mapping, documented in the
README:

| scale | level | RAG |
| --- | --- | --- |
| dca5 | Green, Amber/Green | Green |
| dca5 | Amber | Amber |
| dca5 | Amber/Red, Red | Red |
| dca3, rag | each | the same colour |

Amber/Red maps to Red because, like Red, it says delivery is in doubt unless something is
done now; Amber/Green maps to Green because it says delivery is likely.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from storage.models import Rag


class Scale(enum.StrEnum):
    RAG = "rag"
    DCA3 = "dca3"
    DCA5 = "dca5"


@dataclass(frozen=True)
class Level:
    value: str  # what the form's option carries: "amber_red"
    label: str  # "Amber/Red"
    definition: str  # one line, shown under the option (Slack allows 75 characters)
    rag: Rag


_RAG_LEVELS = (
    Level("green", "Green", "On track: no help needed.", Rag.GREEN),
    Level("amber", "Amber", "Problems the team can fix, with a path to green.", Rag.AMBER),
    Level("red", "Red", "Needs a decision or help from above.", Rag.RED),
)
_DCA3_LEVELS = (
    Level("green", "Green", "Successful delivery on time, budget and quality looks highly likely.", Rag.GREEN),
    Level("amber", "Amber", "Feasible, but significant issues need management attention.", Rag.AMBER),
    Level("red", "Red", "Successful delivery appears unachievable without urgent action.", Rag.RED),
)
_DCA5_LEVELS = (
    Level("green", "Green", "Successful delivery highly likely; no major outstanding issues.", Rag.GREEN),
    Level("amber_green", "Amber/Green", "Delivery probable; constant attention keeps risks in hand.", Rag.GREEN),
    Level("amber", "Amber", "Delivery feasible; significant issues need management attention.", Rag.AMBER),
    Level("amber_red", "Amber/Red", "Delivery in doubt; major risks need urgent action.", Rag.RED),
    Level("red", "Red", "Delivery appears unachievable without re-planning or more help.", Rag.RED),
)
MAPPING: dict[Scale, tuple[Level, ...]] = {Scale.RAG: _RAG_LEVELS, Scale.DCA3: _DCA3_LEVELS, Scale.DCA5: _DCA5_LEVELS}


def levels(scale: Scale) -> tuple[Level, ...]:
    return MAPPING[scale]


def level(scale: Scale, value: str) -> Level:
    """The level `value` of `scale`; ValueError for one the scale does not have."""
    found = next((candidate for candidate in MAPPING[scale] if candidate.value == value), None)
    if found is None:
        raise ValueError(f"'{value}' is not a level of the {scale.value} scale")
    return found


def stored(scale: Scale, value: str) -> str:
    """What a check-in keeps: the scale and the level, as given ("dca5:amber_red")."""
    return f"{scale.value}:{level(scale, value).value}"


def read_stored(text: str) -> tuple[Scale, Level]:
    scale_name, _, value = text.partition(":")
    scale = Scale(scale_name)
    return scale, level(scale, value)


def read_answer(chosen: str | None) -> tuple[Rag | None, str | None]:
    """The overall RAG and the stored level of the form's chosen option.

    On the `rag` scale the option is the RAG itself ("red") and nothing more is stored; on
    the others it carries its scale ("dca5:amber_red"), so a form opened before the scale
    changed is still read as it was answered. ValueError for an option of no scale.
    """
    if not chosen:
        return None, None
    if ":" not in chosen:
        return Rag(chosen), None
    scale, given = read_stored(chosen)
    return given.rag, stored(scale, given.value)


def option_value(scale: Scale, value: str) -> str:
    """The form option for a level: the RAG itself on the `rag` scale, scale and level otherwise."""
    return value if scale is Scale.RAG else stored(scale, value)


def level_for_form(scale: Scale, confidence: str | None, rag: Rag | None) -> str | None:
    """The option an amendment starts at: the stored level when it is on this scale, else the
    level of this scale its RAG maps back to (the first with that colour)."""
    if confidence:
        stored_scale, stored_level = read_stored(confidence)
        if stored_scale is scale:
            return stored_level.value
    if rag is None:
        return None
    return next(candidate.value for candidate in MAPPING[scale] if candidate.rag is rag)


def shown(scale: Scale, given_level: str | None, rag: Rag) -> Level:
    """The level of `scale` a check-in is shown at: the level it was given when that is on this
    scale, else the first level of this scale with its RAG (the same rule as an amendment's start)."""
    value = level_for_form(scale, given_level, rag)
    assert value is not None  # a RAG always has a level
    return level(scale, value)


def same_colour(scale: Scale, rag: Rag) -> tuple[Level, ...]:
    """The levels of `scale` that map to `rag`: what a count by RAG counts ("Amber/Red or Red")."""
    return tuple(candidate for candidate in MAPPING[scale] if candidate.rag is rag)


def tally(scale: Scale, by_rag: Mapping[Rag, int], given: Mapping[str, int]) -> tuple[tuple[Level, int], ...]:
    """How many check-ins each level of `scale` shows, best first: `by_rag` counts them by RAG, and
    `given` those of them given on a dca scale by stored level ("dca5:amber_red"); each of those is
    counted at the level `shown` names, the rest (given on the `rag` scale) at the first level of
    their colour."""
    counts: Counter[str] = Counter()
    left = Counter(by_rag)
    for stored_level, count in given.items():
        _scale, given_level = read_stored(stored_level)
        counts[shown(scale, stored_level, given_level.rag).value] += count
        left[given_level.rag] -= count
    for rag, count in left.items():
        counts[shown(scale, None, rag).value] += count
    return tuple((candidate, counts[candidate.value]) for candidate in MAPPING[scale])
