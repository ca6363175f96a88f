"""Block Kit for cost: the check-in's monthly cost fields, the status line and the pack's
budget against forecast per programme. Pure: data in, blocks out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.services.cost import FIELDS, CostQuestion, CostView, ProgrammeCost
from handlers.blocks import checkins as checkin_blocks  # a module: checkin_blocks imports this one too
from handlers.blocks.common import Block, bulleted, context, escaped, plain, section
from storage.models import Rag

LABELS = {
    "budget_whole_life": "Budget, whole life",
    "budget_year": "Budget, this financial year",
    "actual_to_date": "Actual spend to date",
    "forecast_outturn": "Forecast outturn",
}
HINTS = {
    "budget_whole_life": "From start to finish.",
    "actual_to_date": "Spent so far, over the whole life.",
    "forecast_outturn": "What it will have cost when it ends.",
}


def money(value: Decimal) -> str:
    """An amount as people write it: 1,250,000 or 1,250.50."""
    return f"{value:,.2f}".removesuffix(".00")


def _suggestion(rag: Rag | None) -> str:
    return (
        f"suggested cost RAG {checkin_blocks.rag_label(rag.value)}"
        if rag
        else "no suggested cost RAG (no budget and forecast)"
    )


def cost_line(view: CostView) -> str:
    """The latest report in one line: budgets, spend, forecast, the variance and the suggested RAG."""
    figures = view.figures
    parts = []
    if figures.budget_whole_life is not None:
        parts.append(f"budget {money(figures.budget_whole_life)}")
    if figures.budget_year is not None:
        parts.append(f"{view.financial_year} budget {money(figures.budget_year)}")
    if figures.actual_to_date is not None:
        parts.append(f"spent {money(figures.actual_to_date)}")
    if figures.forecast_outturn is not None:
        parts.append(f"forecast outturn {money(figures.forecast_outturn)}")
    if view.variance is not None:
        sign = "+" if view.variance >= 0 else "-"
        share = f" ({view.variance_share:+.1%})" if view.variance_share is not None else ""
        parts.append(f"variance {sign}{money(abs(view.variance))}{share}")
    return f"{', '.join(parts) or 'nothing reported'} ({view.month}); {_suggestion(view.suggested)}"


# --- the check-in form --------------------------------------------------------------------------------


def checkin_cost_blocks(question: CostQuestion | None, *, room: int) -> list[Block]:
    """The month's cost fields, prefilled with the latest report; left out when `room` blocks are too few."""
    if question is None or room < len(FIELDS) + 1:
        return []
    latest = question.latest
    intro = (
        f"*Costs*, once a month: confirm or change. Latest: {cost_line(latest)}."
        if latest
        else ("*Costs*, once a month (optional): the budgets, the spend to date and the forecast outturn.")
    )
    blocks: list[Block] = [context(intro)]
    for name in FIELDS:
        element: dict[str, Any] = {"type": "number_input", "is_decimal_allowed": True, "action_id": name}
        value = getattr(latest.figures, name) if latest else None
        if value is not None:
            element["initial_value"] = f"{value:f}"
        label = LABELS[name] + (f" ({question.financial_year})" if name == "budget_year" else "")
        block: Block = {"type": "input", "block_id": name, "optional": True, "label": plain(label), "element": element}
        if name in HINTS:
            block["hint"] = plain(HINTS[name])
        blocks.append(block)
    return blocks


def costs_in(values: dict[str, Any]) -> dict[str, str | None]:
    """The amounts a submitted check-in form holds, as typed, by field name."""
    return {name: (values.get(name, {}).get(name) or {}).get("value") for name in FIELDS if name in values}


# --- `/pmo status KEY` -------------------------------------------------------------------------------------


def status_cost_blocks(view: CostView | None) -> list[Block]:
    return [section("*Cost*\n" + (cost_line(view) if view else "_not reported yet_"))]


# --- the governance pack ------------------------------------------------------------------------------------


def pack_cost_blocks(programmes: list[ProgrammeCost]) -> list[Block]:
    """Budget against forecast outturn per programme."""
    if not programmes:
        return [section("*Budget against forecast, by programme*\n_no project has reported its budget yet_")]
    lines = []
    for p in programmes:
        variance = p.forecast - p.budget
        sign = "+" if variance >= 0 else "-"
        rag = checkin_blocks.rag_label(p.suggested.value) if p.suggested else "no budget"
        lines.append(
            f"*{escaped(p.programme)}*: budget {money(p.budget)}, forecast {money(p.forecast)} "
            f"({sign}{money(abs(variance))}), {rag} "
            f"({p.projects} {'project' if p.projects == 1 else 'projects'})"
        )
    return [section("*Budget against forecast, by programme*\n" + bulleted(lines))]
