"""Block Kit for the weekly "possible overlap" note in the PMO channel. Pure: data in, blocks out."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.overlaps import COMBINE, DIFFERENT, SAME_EFFORT, SUBJECT_PREFIX, PossibleOverlap, Verdict
from handlers.blocks.common import Block, actions, button, clip, context, escaped, header, section, user
from handlers.blocks.metadata import JsonState
from handlers.ids import ActionId

# Two blocks a pair, plus the heading, the explanation and the "and N more" line: 43 of
# the 50 blocks a message may hold.
MAX_PAIRS_IN_NOTE = 20
MAX_WORDS_SHOWN = 12
MAX_ITEMS_SHOWN = 5

VERDICT_LABELS = {SAME_EFFORT: "Same effort", DIFFERENT: "Different", COMBINE: "Combine"}
VERDICT_ACTIONS = {
    SAME_EFFORT: ActionId.OVERLAP_SAME_EFFORT,
    DIFFERENT: ActionId.OVERLAP_DIFFERENT,
    COMBINE: ActionId.OVERLAP_COMBINE,
}


@dataclass(frozen=True)
class OverlapChoice(JsonState):
    """What a verdict button carries: the pair, and the week whose note it is in."""

    subject_key: str
    period: str


def _listed(items: tuple[str, ...], *, limit: int = MAX_ITEMS_SHOWN) -> str:
    shown = escaped(", ".join(items[:limit]))
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def evidence_lines(overlap: PossibleOverlap) -> list[str]:
    """Why the pair was suggested, in the words the PMO checks it against."""
    lines = []
    if overlap.similar_texts and overlap.similarity is not None:
        alike = "names and descriptions" if overlap.compared_descriptions else "names"
        similarity = overlap.similarity
        lines.append(
            f"Same objective, _{escaped(clip(overlap.shared_objective or '', 200))}_; {alike} alike: "
            f"{similarity.score:.2f} ({len(similarity.shared_words)} of {similarity.distinct_words} words shared: "
            f"{_listed(similarity.shared_words, limit=MAX_WORDS_SHOWN)})"
        )
    if overlap.shares_services_and_measures:
        measures = tuple(f"“{clip(measure, 200)}”" for measure in overlap.shared_measures)
        lines.append(f"Both depend on {_listed(overlap.shared_services)} and measure {_listed(measures)}")
    return lines


def _pair_blocks(overlap: PossibleOverlap, period: str) -> list[Block]:
    first, second = overlap.first, overlap.second
    heading = f"*{first.key} · {escaped(clip(first.name, 200))}* and *{second.key} · {escaped(clip(second.name, 200))}*"
    value = OverlapChoice(overlap.subject_key, period).to_json()
    return [
        section("\n".join([heading, *(f"• {line}" for line in evidence_lines(overlap))])),
        actions(
            *(button(VERDICT_LABELS[outcome], VERDICT_ACTIONS[outcome], value) for outcome in VERDICT_LABELS),
            block_id=overlap.subject_key,
        ),
    ]


def note_text(period: str, pairs: int) -> str:
    return f"Possible overlaps, {period}: {pairs} pair{'s' if pairs != 1 else ''} of projects to look at."


def note_blocks(period: str, overlaps: list[PossibleOverlap]) -> list[Block]:
    """The note for a week with at least one pair to show."""
    blocks: list[Block] = [
        header(f"Possible overlaps, {period}"),
        context(
            "Active projects that may be one effort with two teams and two budgets. PMO admins, mark each pair: "
            "*Same effort* (one piece of work), *Different* (not an overlap) or *Combine* (merge them). "
            "Marked pairs never come back; the others are in next week's note too."
        ),
    ]
    for overlap in overlaps[:MAX_PAIRS_IN_NOTE]:
        blocks += _pair_blocks(overlap, period)
    left_out = len(overlaps) - MAX_PAIRS_IN_NOTE
    if left_out > 0:
        blocks.append(context(f"…and {left_out} more, not shown: they come up in later notes once these are marked."))
    return blocks


def listed_pair_keys(blocks: list[Block]) -> list[str]:
    """The pairs a posted note lists (their verdict buttons, or the verdict that replaced them)."""
    return [block["block_id"] for block in blocks if str(block.get("block_id", "")).startswith(SUBJECT_PREFIX)]


def verdict_block(verdict: Verdict) -> Block:
    label = VERDICT_LABELS.get(verdict.outcome, verdict.outcome)
    block = context(f":white_check_mark: *{label}*, decided by {user(verdict.decided_by_user_id)}")
    block["block_id"] = verdict.subject_key
    return block


def with_verdicts(blocks: list[Block], verdicts: dict[str, Verdict]) -> list[Block]:
    """The note with each decided pair's buttons replaced by who decided what."""
    return [
        verdict_block(verdicts[block_id]) if (block_id := block.get("block_id")) in verdicts else block
        for block in blocks
    ]
