"""The governance pack's chart data as text tables, posted in the pack's thread: the same
numbers as the images, for screen readers and for anyone who cannot tell the colours apart.

Monospace blocks (the fake Slack, like many clients, has no table block yet).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.services import confidence
from bot.services.confidence import Scale
from bot.services.milestones import MilestoneLine
from bot.services.pack import ObjectiveProgress, WeekMix
from handlers.blocks.common import SECTION_TEXT_LIMIT, Block, section

NAME_WIDTH = 40
FENCE = "```"


def _fenced(title: str, lines: list[str]) -> str:
    """A bold title over a monospace block, cut at whole lines to stay in one section."""
    budget = SECTION_TEXT_LIMIT - len(title) - 2 * len(FENCE) - 40
    shown: list[str] = []
    for index, line in enumerate(lines):
        if sum(len(kept) + 1 for kept in shown) + len(line) + 1 > budget:
            shown.append(f"…and {len(lines) - index} more rows")
            break
        shown.append(line)
    return f"*{title}*\n{FENCE}\n" + "\n".join(shown) + f"\n{FENCE}"


def rag_mix_table(weeks: Sequence[WeekMix], scale: Scale) -> str:
    """A column per level of `scale`, best first, each as wide as its name needs."""
    widths = [(level, max(7, len(level.label) + 2)) for level in confidence.levels(scale)]
    header = f"{'Week':<10}" + "".join(f"{level.label:>{width}}" for level, width in widths) + f"{'No update':>11}"
    rows = []
    for week in weeks:
        counts = dict(week.levels(scale))
        rows.append(
            f"{week.period:<10}"
            + "".join(f"{counts[level]:>{width}}" for level, width in widths)
            + f"{week.missed:>11}"
        )
    return _fenced("Portfolio health: check-ins by status, per week", [header, *rows])


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def benefits_table(objectives: Sequence[ObjectiveProgress]) -> str:
    header = f"{'Objective':<{NAME_WIDTH}}{'Plan by now':>13}{'Realised':>10}{'Off track':>11}"
    rows = []
    for objective in objectives:
        name = objective.objective if len(objective.objective) <= NAME_WIDTH - 2 else objective.objective[:37] + "…"
        rows.append(
            f"{name:<{NAME_WIDTH}}{_share(objective.planned_share):>13}"
            f"{_share(objective.realised_share):>10}{objective.off_track:>11}"
        )
    return _fenced("Benefits realised against plan, by objective (% of target)", [header, *rows])


def milestones_table(lines: Sequence[MilestoneLine]) -> str:
    header = f"{'Milestone':<{NAME_WIDTH}}{'Baseline':>12}{'Forecast':>12}{'Slip (wd)':>11}"
    rows = []
    for line in lines:
        label = f"{line.project_key} · {line.name}"
        name = label if len(label) <= NAME_WIDTH - 2 else label[: NAME_WIDTH - 3] + "…"
        rows.append(
            f"{name:<{NAME_WIDTH}}{line.baseline.isoformat():>12}{line.forecast.isoformat():>12}{line.slip_days:>+11d}"
        )
    return _fenced("Milestones of the coming quarter: baseline against forecast", [header, *rows])


def pack_tables_text(weeks: Sequence[WeekMix], objectives: Sequence[ObjectiveProgress]) -> str:
    return "The pack's charts as tables: the same numbers, in text."


def pack_tables_blocks(
    weeks: Sequence[WeekMix],
    objectives: Sequence[ObjectiveProgress],
    milestones: Sequence[MilestoneLine] = (),
    *,
    scale: Scale = Scale.RAG,
) -> list[Block]:
    tables = [section(rag_mix_table(weeks, scale)), section(benefits_table(objectives))]
    return tables + ([section(milestones_table(milestones))] if milestones else [])
