"""The governance pack's charts as PNG bytes. Pure: data in, image out.

Drawn on matplotlib `Figure` objects, never pyplot: a Figure renders through the Agg canvas
when saved as PNG, so no display is needed and no global state is shared between the
scheduler's threads. matplotlib is imported when a chart is drawn: it takes most of a
second to load, and only the monthly pack needs it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.services import confidence
from bot.services.confidence import Scale
from bot.services.milestones import MilestoneLine
from bot.services.pack import ObjectiveProgress, WeekMix

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# One colour per level of any scale (by the level's value); amber/green and amber/red sit between
# their neighbours so the stack reads as one scale from green to red.
LEVEL_COLOURS = {
    "green": "#2a9d8f",
    "amber_green": "#8ab17d",
    "amber": "#f4a261",
    "amber_red": "#e76f51",
    "red": "#e63946",
}
NO_UPDATE = ("No update", "#adb5bd")
PLANNED_COLOUR = "#adb5bd"
REALISED_COLOUR = "#264653"
# More objectives than this would make bars too thin to read; the board sees those
# furthest behind plan, and the chart's title says how many were left out.
MAX_OBJECTIVES = 25
LABEL_LIMIT = 40
ALT_TEXT_LIMIT = 1000  # files.getUploadURLExternal refuses longer alt text
DPI = 100


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _label(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


RAG_MIX_TITLE = "Portfolio health: RAG mix per week"
BENEFITS_TITLE = "Benefits realised against plan, by objective"


def _level_series(weeks: Sequence[WeekMix], scale: Scale) -> list[tuple[str, str, list[int]]]:
    """(name, colour, count per week) for each level of `scale`, best first, then the weeks not answered."""
    per_week = [dict(week.levels(scale)) for week in weeks]
    series = [
        (level.label, LEVEL_COLOURS[level.value], [counts[level] for counts in per_week])
        for level in confidence.levels(scale)
    ]
    return [*series, (*NO_UPDATE, [week.missed for week in weeks])]


def rag_mix_png(weeks: Sequence[WeekMix], scale: Scale = Scale.RAG) -> bytes:
    """Stacked bars: per week, how many projects reported each level of `scale`, or did not answer."""
    figure = _figure(9, 4.5)
    axes = figure.add_subplot()
    labels = [week.period.replace("-", "\n") for week in weeks]
    bottom = [0] * len(weeks)
    for name, colour, counts in _level_series(weeks, scale):
        axes.bar(labels, counts, bottom=bottom, color=colour, label=name, width=0.7)
        bottom = [below + value for below, value in zip(bottom, counts, strict=True)]
    axes.set_title("Portfolio health: check-ins by status, per week")
    axes.set_ylabel("projects")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.tick_params(axis="x", labelsize=8)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def rag_mix_alt_text(weeks: Sequence[WeekMix], scale: Scale = Scale.RAG) -> str:
    lines = [
        f"{week.period}: "
        + ", ".join([*(f"{n} {level.label}" for level, n in week.levels(scale)), f"{week.missed} no update"])
        for week in weeks
    ]
    return _alt_text("Stacked bar chart of projects by check-in status per week. ", lines)


def _behind_plan_first(objectives: Sequence[ObjectiveProgress]) -> list[ObjectiveProgress]:
    measured = [o for o in objectives if o.planned_share is not None and o.realised_share is not None]
    return sorted(measured, key=lambda o: (o.realised_share or 0.0) - (o.planned_share or 0.0))[:MAX_OBJECTIVES]


def benefits_png(objectives: Sequence[ObjectiveProgress]) -> bytes:
    """Per objective, paired bars: where its measured benefits should be by now, and where they are,
    as a share of the distance from baseline to target."""
    shown = _behind_plan_first(objectives)
    figure = _figure(9, 1.5 + 0.45 * max(len(shown), 1))
    axes = figure.add_subplot()
    left_out = sum(1 for o in objectives if o.measured) - len(shown)
    title = "Benefits realised against plan, by objective (% of target)"
    axes.set_title(title + (f"\n{len(shown)} furthest behind plan shown; {left_out} more" if left_out else ""))
    axes.spines[["top", "right"]].set_visible(False)
    if not shown:
        axes.text(0.5, 0.5, "No benefit has been measured yet.", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return _png(figure)
    # Furthest behind plan at the top.
    rows = list(range(len(shown)))[::-1]
    height = 0.38
    axes.barh(
        [row + height / 2 for row in rows],
        [100 * (o.planned_share or 0.0) for o in shown],
        height=height,
        color=PLANNED_COLOUR,
        label="Plan by now",
    )
    axes.barh(
        [row - height / 2 for row in rows],
        [100 * (o.realised_share or 0.0) for o in shown],
        height=height,
        color=REALISED_COLOUR,
        label="Realised",
    )
    axes.set_yticks(rows, [_label(o.objective) for o in shown], fontsize=8)
    axes.axvline(100, color="#6c757d", linewidth=0.8, linestyle="--")
    axes.set_xlabel("% of the way from baseline to target (100% = target reached)")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _png(figure)


def benefits_alt_text(objectives: Sequence[ObjectiveProgress]) -> str:
    lines = [
        f"{o.objective}: realised {o.realised_share:.0%}, plan {o.planned_share:.0%}"
        for o in _behind_plan_first(objectives)
        if o.realised_share is not None and o.planned_share is not None
    ]
    return _alt_text("Bar chart per objective of benefits realised against plan. ", lines or ["nothing measured yet"])


def _alt_text(opening: str, lines: list[str]) -> str:
    text = opening + "; ".join(lines)
    return text if len(text) <= ALT_TEXT_LIMIT else text[: ALT_TEXT_LIMIT - 1] + "…"


# --- milestones: baseline against forecast ------------------------------------------------------

MILESTONES_TITLE = "Milestones of the coming quarter: baseline against forecast"
MAX_MILESTONES = 25  # the soonest; the title counts the rest
BASELINE_COLOUR = "#adb5bd"
FORECAST_COLOUR = "#264653"
SLIPPED_COLOUR = "#e63946"


def milestones_png(lines: Sequence[MilestoneLine]) -> bytes:
    """Per milestone, its baseline (grey) and forecast (dark; red when later), joined by a line."""
    shown = list(lines)[:MAX_MILESTONES]
    figure = _figure(9, 1.5 + 0.4 * max(len(shown), 1))
    axes = figure.add_subplot()
    left_out = len(lines) - len(shown)
    axes.set_title(MILESTONES_TITLE + (f"\n{len(shown)} soonest shown; {left_out} more" if left_out else ""))
    axes.spines[["top", "right"]].set_visible(False)
    rows = list(range(len(shown)))[::-1]  # soonest at the top
    for row, line in zip(rows, shown, strict=True):
        axes.plot([line.baseline, line.forecast], [row, row], color="#6c757d", linewidth=1)
    axes.scatter([line.baseline for line in shown], rows, color=BASELINE_COLOUR, label="Baseline", zorder=3)
    axes.scatter(
        [line.forecast for line in shown],
        rows,
        color=[SLIPPED_COLOUR if line.has_slipped else FORECAST_COLOUR for line in shown],
        label="Forecast (red: later than baseline)",
        zorder=3,
    )
    axes.set_yticks(rows, [_label(f"{line.project_key} · {line.name}") for line in shown], fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _png(figure)


def milestones_alt_text(lines: Sequence[MilestoneLine]) -> str:
    described = [
        f"{line.project_key} · {line.name}: baseline {line.baseline}, forecast {line.forecast} "
        f"({line.slip_days:+d} working days)"
        for line in list(lines)[:MAX_MILESTONES]
    ]
    return _alt_text("Chart per milestone of its baseline date against its forecast date. ", described)
