"""Small Block Kit pieces, kept inside Slack's limits by construction."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any

Block = dict[str, Any]

SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
PLAIN_TEXT_LIMIT = 2000  # context elements, input labels
MODAL_TITLE_LIMIT = 24


def clip(text: str, limit: int) -> str:
    """Cut text to `limit` characters, marking the cut so nobody mistakes it for the whole."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_LIMIT)}


def plain(text: str, limit: int = PLAIN_TEXT_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT_LIMIT)}


def section(text: str, *, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(clip(text, PLAIN_TEXT_LIMIT))]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT_LIMIT),
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def bulleted(lines: list[str], *, limit: int = SECTION_TEXT_LIMIT, more: str = "") -> str:
    """Bullet lines that fit in one section; the remainder is counted, never silently dropped."""
    shown: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        entry = f"• {line}"
        left_after = len(lines) - index - 1
        reserve = len(f"\n…and {left_after} more{more}") if left_after else 0
        if used + len(entry) + reserve > limit:
            return "\n".join([*shown, f"…and {len(lines) - index} more{more}"])
        shown.append(entry)
        used += len(entry) + 1
    return "\n".join(shown)


def notice_modal(text: str) -> dict[str, Any]:
    """A modal that only says something (what replaces a form that cannot show an error on an input)."""
    return {
        "type": "modal",
        "title": plain("pmo-bot", MODAL_TITLE_LIMIT),
        "close": plain("Close", MODAL_TITLE_LIMIT),
        "blocks": [section(text)],
    }


def escaped(text: str) -> str:
    """People's own words in mrkdwn: as typed, so `<!here>` or `<@U123>` in a note pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "_not set_"


def channel(channel_id: str) -> str:
    return f"<#{channel_id}>"


def slack_time(instant: datetime) -> str:
    """An instant as Slack shows it to each reader: their own date and time, in their own timezone.

    The fallback, for clients that cannot format it, is the instant in UTC, labelled so.
    """
    utc = instant.astimezone(timezone.utc)
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{utc:%d %b %Y %H:%M} UTC>"


def plain_date(day: date) -> str:
    """A calendar date where Slack cannot format one (plain_text, fallbacks): "Tue 1 Dec 2026"."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def slack_date(day: date) -> str:
    """A calendar date (a due date, a day away) as Slack shows it: "today", "tomorrow" or "Dec 21, 2026".

    A date is not an instant, so it is given to Slack at noon UTC: the same calendar date
    for every reader from UTC-12 to UTC+11.
    """
    noon = datetime.combine(day, time(12), tzinfo=timezone.utc)
    return f"<!date^{int(noon.timestamp())}^{{date_short_pretty}}|{plain_date(day)}>"


def input_block(
    block_id: str, label: str, element: dict[str, Any], *, hint: str | None = None, optional: bool = False
) -> Block:
    """A form's input; its element's action_id is the block id, so a form is read by block id alone."""
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label),
        "element": {**element, "action_id": block_id},
    }
    if hint:
        block["hint"] = plain(hint)
    return block
