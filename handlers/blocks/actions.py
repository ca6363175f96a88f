"""Block Kit for actions: cards with Done / Snooze / Reassign / Add note, lists, DMs and forms.

Pure: data in, blocks out. Every message stays within Slack's limits for any number of
actions: lists and digests show at most MAX_CARDS cards (two blocks each) and count the rest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, ClassVar

from bot.services.actions import (
    MAX_NOTE_LENGTH,
    MAX_TITLE_LENGTH,
    SNOOZE_DAYS,
    ActionLine,
    HistoryEntry,
    working_days_text,
)
from bot.services.nudges import AbsenceAdded, DateRange
from bot.services.risks import RiskLine
from handlers.blocks.common import (
    MODAL_TITLE_LIMIT,
    SECTION_TEXT_LIMIT,
    Block,
    actions,
    bulleted,
    button,
    channel,
    clip,
    context,
    escaped,
    input_block,
    plain,
    section,
    slack_date,
    slack_time,
    user,
)
from handlers.blocks.metadata import JsonState
from handlers.blocks.risks import review_cards, review_heading, review_summaries, sponsor_review_items
from handlers.ids import ActionId, ActionNoteBlock, CallbackId, NewActionBlock

MAX_CARDS = 20  # 2 blocks each, so a list stays well under 50 blocks


def owner_text(line: ActionLine) -> str:
    away = f" (away until {slack_date(line.owner_away_until)})" if line.owner_away_until else ""
    return f"{user(line.owner_user_id)}{away}"


SNOOZE_LABELS = {1: "1 day", 3: "3 days", 7: "1 week"}
STATUS_LABELS = {"done": ":white_check_mark: done", "dropped": "dropped"}
# Where a card is shown, which decides how it is redrawn after a click.
LIST = "list"  # an ephemeral list: redrawn through the click's response_url
DM = "dm"  # a DM in the outgoing-message ledger: redrawn with chat.update
MY_ACTIONS = "mine"  # the key of the `/pmo actions` list (a project list's key is the project's)
ACTION_DM_EVENT = "pmo_bot_action_dm"
ASSIGNED = "assigned"
OVERDUE = "overdue"


@dataclass(frozen=True)
class ActionRef(JsonState):
    """What a card's controls act on and where the card is shown.

    It travels as the controls block's block_id rather than as a button value, because a
    users_select (Reassign) has no value of its own; all four controls read it from there.
    """

    RERUN: ClassVar[str] = "/pmo actions"

    action_id: int
    shown_in: str  # LIST or DM
    key: str  # LIST: MY_ACTIONS or a project key; DM: the message's idempotency key


@dataclass(frozen=True)
class ActionDm(JsonState):
    """What an action DM lists, kept in the message's metadata so a click can redraw it."""

    RERUN: ClassVar[str] = "/pmo actions"

    kind: str  # ASSIGNED or OVERDUE
    as_of: str  # the day the DM speaks for, YYYY-MM-DD
    action_ids: list[int] = field(default_factory=list)
    assigned_by: str | None = None
    risk_ids: list[int] = field(default_factory=list)  # OVERDUE: the risks due for review that day too

    def metadata(self) -> dict[str, Any]:
        return {"event_type": ACTION_DM_EVENT, "event_payload": asdict(self)}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> ActionDm:
        return cls(**metadata["event_payload"])


@dataclass(frozen=True)
class HelpActionTarget(JsonState):
    """The check-in whose "help needed" the summary's button turns into an action."""

    RERUN: ClassVar[str] = "/pmo action KEY"

    project_key: str
    checkin_id: int


@dataclass(frozen=True)
class NewActionMetadata(JsonState):
    """What the new-action form carries: its project, or the message a shortcut started from."""

    RERUN: ClassVar[str] = "/pmo action KEY"

    project_key: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None


# --- one action ---------------------------------------------------------------------------


def _due_phrase(line: ActionLine) -> str:
    due = slack_date(line.due)
    if line.due == line.as_of:
        return "due today"
    if not line.is_overdue:
        return f"due {due}"
    late = f"{working_days_text(line.overdue_days)} overdue" if line.overdue_days else "overdue"
    return f"due {due}, {late}"


def line_text(line: ActionLine, *, show_owner: bool) -> str:
    title = escaped(clip(line.title, MAX_TITLE_LENGTH))
    if not line.is_open:
        return f"~{title}~\n{line.project_key} · {STATUS_LABELS.get(line.status, line.status)}"
    parts = [line.project_key, _due_phrase(line)]
    if show_owner:
        parts.append(f"owner {owner_text(line)}")
    if line.source_link:
        parts.append(f"<{escaped(line.source_link)}|source>")
    return f"*{title}*\n" + " · ".join(parts)


def controls(ref: ActionRef) -> Block:
    snooze = {
        "type": "static_select",
        "action_id": ActionId.ACTION_SNOOZE,
        "placeholder": plain("Snooze", 150),
        "options": [{"text": plain(SNOOZE_LABELS[days], 75), "value": str(days)} for days in SNOOZE_DAYS],
    }
    reassign = {"type": "users_select", "action_id": ActionId.ACTION_REASSIGN, "placeholder": plain("Reassign", 150)}
    return actions(
        button("Done", ActionId.ACTION_DONE, str(ref.action_id), style="primary"),
        snooze,
        reassign,
        button("Add note", ActionId.ACTION_ADD_NOTE, str(ref.action_id)),
        button("History", ActionId.ACTION_HISTORY, str(ref.action_id)),
        block_id=ref.to_json(),
    )


def action_card(line: ActionLine, ref: ActionRef, *, show_owner: bool, with_controls: bool) -> list[Block]:
    blocks = [section(line_text(line, show_owner=show_owner))]
    if with_controls and line.is_open:
        blocks.append(controls(ref))
    return blocks


MAX_HISTORY_ENTRIES = 45  # one section each, under Slack's 50 blocks with the heading and footer


def _stored_day(iso: object) -> str:
    """A date an action's history recorded (ISO text), as Slack shows dates."""
    return slack_date(date.fromisoformat(iso)) if isinstance(iso, str) else "?"


def _history_entry_text(entry: HistoryEntry) -> str:
    who = user(entry.actor_user_id) if entry.actor_user_id else "Someone"
    detail = entry.detail
    if entry.kind == "created":
        what = f"recorded it for {user(str(detail.get('owner')))}, due {_stored_day(detail.get('due'))}"
    elif entry.kind == "note":
        what = "noted: " + escaped(str(detail.get("text", "")))
    elif entry.kind == "snoozed":
        what = f"snoozed it to {_stored_day(detail.get('due'))} (it was due {_stored_day(detail.get('previous_due'))})"
    elif entry.kind == "reassigned":
        what = f"reassigned it from {user(str(detail.get('previous_owner')))} to {user(str(detail.get('owner')))}"
    elif entry.kind == "done":
        what = "marked it done"
    else:
        what = escaped(entry.kind.replace("_", " "))
    return f"{slack_time(entry.at)} · {who} {what}"


def action_history(line: ActionLine, entries: list[HistoryEntry]) -> tuple[str, list[Block]]:
    """An action's notes and everything done to it, oldest first; the newest when there are many."""
    heading = f"History of action {line.action_id}"
    blocks: list[Block] = [section(f"*{heading}*\n{line_text(line, show_owner=True)}")]
    shown = entries[-MAX_HISTORY_ENTRIES:]
    if len(entries) > len(shown):
        blocks.append(context(f"{len(entries) - len(shown)} earlier entries are not shown."))
    blocks += [section(_history_entry_text(entry)) for entry in shown]
    if not entries:
        blocks.append(context("Nothing has been recorded about it yet."))
    text = f"{heading}: {escaped(clip(line.title, MAX_TITLE_LENGTH))} ({len(entries)} entries)"
    return text, blocks


def _cards(lines: list[ActionLine], refs: list[ActionRef], *, viewer: str | None) -> list[Block]:
    """Cards for the first MAX_CARDS lines; in a DM (`viewer` set) only the viewer's own get controls."""
    blocks: list[Block] = []
    for line, ref in list(zip(lines, refs, strict=True))[:MAX_CARDS]:
        mine = viewer is None or line.owner_user_id == viewer
        blocks += action_card(line, ref, show_owner=line.owner_user_id != viewer, with_controls=mine)
    if len(lines) > MAX_CARDS:
        blocks.append(context(f"…and {len(lines) - MAX_CARDS} more, due later than these."))
    return blocks


def _summary(line: ActionLine) -> str:
    late = f", {working_days_text(line.overdue_days)}" if line.overdue_days else ""
    return f"'{escaped(line.title)}' ({line.project_key}, due {slack_date(line.due)}{late})"


# --- lists ----------------------------------------------------------------------------------


def action_list(lines: list[ActionLine], *, project: tuple[str, str] | None = None) -> tuple[str, list[Block]]:
    """`/pmo actions` (yours) or `/pmo actions KEY` (a project's, `project` = key and name):
    the open actions, most overdue first, each with its controls."""
    if project is None:
        heading, key = "Your open actions", MY_ACTIONS
        empty = "You have no open actions. Nothing to chase!"
    else:
        key = project[0]
        heading = f"{key} · {escaped(project[1])}: open actions"
        empty = f"{key} has no open actions. Add one with `/pmo action {key} @owner DATE title`."
    if not lines:
        return empty, [section(empty)]
    refs = [ActionRef(line.action_id, LIST, key) for line in lines]
    blocks = [section(f"*{heading}* ({len(lines)})"), *_cards(lines, refs, viewer=None)]
    return clip(f"{heading}: {len(lines)}", SECTION_TEXT_LIMIT), blocks


# --- DMs ------------------------------------------------------------------------------------


def assignment_dm(line: ActionLine, dm: ActionDm, *, key: str, recipient: str) -> tuple[str, list[Block]]:
    """The DM telling someone an action is theirs; redrawn as it changes."""
    # Recording an action for yourself is not news from someone else.
    who = (
        "You recorded an action for yourself"
        if dm.assigned_by == recipient
        else f"{user(dm.assigned_by)} assigned you an action"
    )
    text = f"{who} on {line.project_key}: '{escaped(line.title)}', {_due_phrase(line)}."
    blocks = [
        section(f":clipboard: {who} on *{line.project_key} · {escaped(line.project_name)}*"),
        *_cards([line], [ActionRef(line.action_id, DM, key)], viewer=recipient),
    ]
    return clip(text, SECTION_TEXT_LIMIT), blocks


def overdue_digest(
    lines: list[ActionLine], *, key: str, recipient: str, reviews: list[RiskLine] | None = None
) -> tuple[str, list[Block]]:
    """The owner's one DM of the day: every action of theirs that reached a ladder step today, then the
    risks of theirs due for review (handlers/blocks/risks.py draws those)."""
    reviews = reviews or []
    if reviews and not lines:
        blocks = review_cards(reviews, key=key, viewer=recipient)
        return clip(
            review_heading(len(reviews)).split(" ", 1)[1] + ": " + review_summaries(reviews), SECTION_TEXT_LIMIT
        ), blocks
    still_overdue = [line for line in lines if line.is_overdue and line.owner_user_id == recipient]
    handed_on = [line for line in lines if line.owner_user_id != recipient]
    count = len(still_overdue)
    if count == 0 and len(handed_on) == len(lines):
        # Reassigned away is not "done": no thanks for work the recipient did not do.
        moved = len(handed_on)
        heading = (
            f":arrow_right: Nothing on this list is yours to chase any more: "
            f"{moved} action{'s' if moved != 1 else ''} now with someone else."
        )
    elif count == 0:
        heading = ":white_check_mark: Nothing on this list is overdue any more. Thank you!"
    elif count == 1:
        heading = ":alarm_clock: One of your actions is overdue"
    else:
        heading = f":alarm_clock: {count} of your actions are overdue"
    text = heading.split(" ", 1)[1]
    if still_overdue:
        text += ": " + "; ".join(_summary(line) for line in still_overdue) + "."
    refs = [ActionRef(line.action_id, DM, key) for line in lines]
    blocks = [section(f"*{heading}*"), *_cards(lines, refs, viewer=recipient)]
    if reviews:
        text += " And " + review_summaries(reviews) + "."
        blocks += review_cards(reviews, key=key, viewer=recipient)
    return clip(text, SECTION_TEXT_LIMIT), blocks


def sponsor_digest(lines: list[ActionLine], reviews: list[RiskLine] | None = None) -> tuple[str, list[Block]]:
    """The sponsor's one DM of the day: actions on their projects that reached the sponsor's step, and late reviews."""
    reviews = reviews or []
    if not lines:
        blocks = sponsor_review_items(reviews)
        return clip(blocks[0]["text"]["text"].split(" ", 1)[1], SECTION_TEXT_LIMIT), blocks
    count = len(lines)
    heading = (
        f"{count} action{'s' if count != 1 else ''} on projects you sponsor "
        f"{'are' if count != 1 else 'is'} overdue. The owners have been nudged; a word from you may help."
    )
    items = [
        f"*{escaped(line.title)}* ({line.project_key}) · owner {owner_text(line)} · {_due_phrase(line)}"
        for line in lines
    ]
    blocks = [section(f":eyes: {heading}"), section(bulleted(items)), *sponsor_review_items(reviews)]
    return clip(heading, SECTION_TEXT_LIMIT), blocks


# --- check-in help -----------------------------------------------------------------------------


def help_action_button(target: HelpActionTarget) -> Block:
    return actions(button("Make this an action for the sponsor", ActionId.ACTION_FROM_HELP, target.to_json()))


def help_action_made(line: ActionLine, *, made_by: str) -> Block:
    return context(
        f":white_check_mark: {user(made_by)} made this an action for {user(line.owner_user_id)}: "
        f"'{escaped(clip(line.title, 200))}', {_due_phrase(line)}."
    )


# --- forms ------------------------------------------------------------------------------------


def new_action_modal(
    metadata: NewActionMetadata,
    *,
    project_heading: str | None,
    suggested_key: str | None = None,
    title: str = "",
    from_channel: str | None = None,
) -> dict[str, Any]:
    """The new-action form: for a known project (`project_heading`), or with a key to type."""
    blocks: list[Block] = []
    if project_heading is not None:
        blocks.append(context(f"An action on *{escaped(project_heading)}*."))
    else:
        key_input: dict[str, Any] = {"type": "plain_text_input", "max_length": 32, "placeholder": plain("e.g. CRM-2")}
        if suggested_key:
            key_input["initial_value"] = suggested_key
        blocks.append(input_block(NewActionBlock.PROJECT, "Project key", key_input))
    title_input: dict[str, Any] = {"type": "plain_text_input", "max_length": MAX_TITLE_LENGTH}
    if title.strip():
        title_input["initial_value"] = clip(title.strip(), MAX_TITLE_LENGTH)
    blocks += [
        input_block(NewActionBlock.TITLE, "What has to be done", title_input),
        input_block(NewActionBlock.OWNER, "Owner", {"type": "users_select"}),
        input_block(NewActionBlock.DUE, "Due", {"type": "datepicker"}),
        input_block(
            NewActionBlock.NOTES,
            "Notes",
            {"type": "plain_text_input", "multiline": True, "max_length": MAX_NOTE_LENGTH},
            optional=True,
        ),
    ]
    if from_channel:
        blocks.append(context(f"The action will link back to the message in {channel(from_channel)}."))
    return {
        "type": "modal",
        "callback_id": CallbackId.NEW_ACTION,
        "private_metadata": metadata.to_json(),
        "title": plain("New action", MODAL_TITLE_LIMIT),
        "submit": plain("Add", MODAL_TITLE_LIMIT),
        "close": plain("Cancel", MODAL_TITLE_LIMIT),
        "blocks": blocks,
    }


def action_added_text(line: ActionLine, *, moved_from: date | None = None) -> str:
    moved = f" ({slack_date(moved_from)} is not a working day, so it is due the next one.)" if moved_from else ""
    return (
        f"Added '{escaped(line.title)}' (action {line.action_id}) on {line.project_key} "
        f"for {user(line.owner_user_id)}, {_due_phrase(line)}.{moved} They have been told by DM."
    )


def action_added_modal(line: ActionLine) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain("Action added", MODAL_TITLE_LIMIT),
        "close": plain("Done", MODAL_TITLE_LIMIT),
        "blocks": [section(f":white_check_mark: {clip(action_added_text(line), SECTION_TEXT_LIMIT - 20)}")],
    }


def note_modal(ref: ActionRef, title: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CallbackId.ACTION_NOTE,
        "private_metadata": ref.to_json(),
        "title": plain("Add a note", MODAL_TITLE_LIMIT),
        "submit": plain("Add", MODAL_TITLE_LIMIT),
        "close": plain("Cancel", MODAL_TITLE_LIMIT),
        "blocks": [
            context(f"On *{escaped(clip(title, MAX_TITLE_LENGTH))}*"),
            input_block(
                ActionNoteBlock.NOTE,
                "Note",
                {"type": "plain_text_input", "multiline": True, "max_length": MAX_NOTE_LENGTH},
            ),
        ],
    }


def note_added_modal(title: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain("Note added", MODAL_TITLE_LIMIT),
        "close": plain("Done", MODAL_TITLE_LIMIT),
        "blocks": [section(f":memo: Your note is in the history of *{escaped(clip(title, MAX_TITLE_LENGTH))}*.")],
    }


# --- away -----------------------------------------------------------------------------------------


def _spell(absence: DateRange) -> str:
    first, last = absence
    return f"{slack_date(first)}" if first == last else f"{slack_date(first)} to {slack_date(last)}"


def absence_added_text(added: AbsenceAdded) -> str:
    merged = ""
    if added.merged:
        joined = ", ".join(_spell(absence) for absence in added.merged)
        merged = f" That overlaps or touches time away you had already given ({joined}), so they are now one."
    return (
        f"Noted: you are away {_spell(added.absence)}.{merged} No nudges will reach you then, "
        "and your actions stop ageing on the ladder. `/pmo away` lists your time away; "
        "`/pmo back` if you return early."
    )


def absences_text(absences: list[DateRange]) -> str:
    if not absences:
        return "You have no time away recorded from today on. `/pmo away FIRST LAST` adds some."
    hint = "`/pmo away remove FIRST` cancels one; `/pmo away FIRST LAST` adds another."
    heading = "Your time away (no nudges reach you, your actions stop ageing):"
    lines = bulleted([_spell(absence) for absence in absences], limit=SECTION_TEXT_LIMIT - len(heading) - len(hint) - 2)
    return f"{heading}\n{lines}\n{hint}"


def absence_removed_text(removed: DateRange, *, today: date) -> str:
    if removed[0] < today:
        return (
            f"You are back: your time away {_spell(removed)} now ends yesterday. "
            "Nudges about your overdue actions resume."
        )
    return f"Cancelled: you are no longer away {_spell(removed)}."


def back_text(ended: DateRange | None) -> str:
    if ended is not None:
        return "Welcome back. Nudges about your overdue actions resume."
    return "You are not marked as away today, so nothing changed. `/pmo away` lists your time away."
