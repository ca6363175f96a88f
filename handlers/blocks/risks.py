"""Block Kit for the RAID log: risk cards (Review, Close, Add note), issue cards (Close, Add note,
their latest notes and changes), lists, their forms, the
PMO's alerts, the reviews in the daily nudge, the check-in's "still accurate?" boxes,
decisions asked for, and the RAID lines of `/pmo status KEY` and the Home tab.

Pure: data in, blocks out. Lists are paginated (Previous / Next, as `/pmo status`), so a
project with any number of risks stays within Slack's 50 blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from bot.services.actions import working_days_text
from bot.services.decisions import DecisionLine
from bot.services.risks import (
    HIGH_SCORE,
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    SCORES,
    IssueLine,
    ProjectRaid,
    RaidEntry,
    RiskLine,
)
from handlers.blocks.common import (
    MODAL_TITLE_LIMIT,
    SECTION_TEXT_LIMIT,
    Block,
    actions,
    bulleted,
    button,
    clip,
    context,
    divider,
    escaped,
    header,
    input_block,
    plain,
    section,
    slack_date,
    slack_time,
    user,
)
from handlers.blocks.metadata import JsonState
from handlers.ids import (
    RAID_CONFIRM_BLOCK_PREFIX,
    DecisionBlock,
    IssueBlock,
    RaidActionId,
    RaidCallbackId,
    RiskBlock,
)

RISKS_PAGE_SIZE = 15  # two blocks a card: 30, with the heading, count and paging well under 50
ISSUES_PAGE_SIZE = 20  # two blocks a card, as risks
MAX_REVIEW_CARDS = 10  # in the daily DM, after the actions' cards
MAX_CONFIRMATIONS = 10  # in the check-in form, which has its own inputs too
LIST = "list"  # an ephemeral list, redrawn through the click's response_url
DM = "dm"  # a DM in the ledger, redrawn in place

SCORE_LABELS = {1: "1 · very low", 2: "2 · low", 3: "3 · medium", 4: "4 · high", 5: "5 · very high"}
RESPONSES = ("avoid", "reduce", "transfer", "accept")
SEVERITY_MARKS = {
    "critical": ":red_circle: critical",
    "high": ":large_orange_circle: high",
    "medium": ":large_yellow_circle: medium",
    "low": ":white_circle: low",
}

# The event type of a DM carrying risk and issue cards, so a click on one can redraw it.
RAID_DM_EVENT = "pmo_bot_raid_dm"


@dataclass(frozen=True)
class RaidPage(JsonState):
    """A page of `/pmo risks [KEY]` or `/pmo issues [KEY]` (key None: the asker's projects)."""

    RERUN: ClassVar[str] = "/pmo risks"

    key: str | None
    page: int


@dataclass(frozen=True)
class RiskRef(JsonState):
    """What a risk card's controls act on, and where the card is (a list's page, or a DM's key)."""

    RERUN: ClassVar[str] = "/pmo risks"

    risk_id: int
    shown_in: str  # LIST or DM
    key: str | None = None  # LIST: the list's project key (None: the asker's); DM: the DM's idempotency key
    page: int = 0


@dataclass(frozen=True)
class IssueRef(JsonState):
    """What an issue card's controls act on, and where the card is."""

    RERUN: ClassVar[str] = "/pmo issues"

    issue_id: int
    shown_in: str  # LIST or DM
    key: str | None = None
    page: int = 0


@dataclass(frozen=True)
class NewRaidItem(JsonState):
    """The project a new-risk or new-issue form is for."""

    RERUN: ClassVar[str] = "/pmo risk add KEY"

    project_key: str


@dataclass(frozen=True)
class DecisionSubject(JsonState):
    """What a decision is asked about: "checkin:12", "risk:3" or "issue:4"."""

    RERUN: ClassVar[str] = "/pmo decisions"

    subject_key: str


@dataclass(frozen=True)
class DecisionRef(JsonState):
    RERUN: ClassVar[str] = "/pmo decisions"

    request_id: int


def _scores(line: RiskLine) -> str:
    return f"score {line.score} (probability {line.probability} × impact {line.impact})"


def _review_phrase(line: RiskLine) -> str:
    if line.next_review >= line.as_of:
        return f"review by {slack_date(line.next_review)}"
    late = f", {working_days_text(line.review_overdue_days)} late" if line.review_overdue_days else ""
    return f":hourglass: review was due {slack_date(line.next_review)}{late}"


def risk_text(line: RiskLine, *, show_owner: bool = True) -> str:
    title = escaped(clip(line.title, MAX_TITLE_LENGTH))
    if not line.is_open:
        return f"~{title}~\n{line.project_key} · closed"
    mark = ":red_circle:" if line.score >= HIGH_SCORE else ":large_orange_circle:" if line.score >= 8 else ""
    parts = [line.project_key, _scores(line), line.response, _review_phrase(line)]
    if line.proximity:
        parts.append(f"could hit by {slack_date(line.proximity)}")
    if show_owner:
        parts.append(f"owner {user(line.owner_user_id)}")
    if line.notes:
        parts.append(f"{line.notes} note{'s' if line.notes != 1 else ''}")
    text = f"{mark + ' ' if mark else ''}*{title}*\n" + " · ".join(parts)
    if line.mitigation:
        text += "\n> " + escaped(clip(line.mitigation, 500)).replace("\n", "\n> ")
    return text


def risk_controls(ref: RiskRef) -> Block:
    value = str(ref.risk_id)
    return actions(
        button("Review", RaidActionId.RISK_REVIEW, value, style="primary"),
        button("Close", RaidActionId.RISK_CLOSE, value),
        button("Add note", RaidActionId.RISK_ADD_NOTE, value),
        button("Decision needed", RaidActionId.DECISION_NEEDED, DecisionSubject(f"risk:{ref.risk_id}").to_json()),
        block_id=ref.to_json(),
    )


def risk_card(line: RiskLine, ref: RiskRef, *, show_owner: bool = True, with_controls: bool = True) -> list[Block]:
    blocks = [section(risk_text(line, show_owner=show_owner))]
    if with_controls and line.is_open:
        blocks.append(risk_controls(ref))
    return blocks


def _pages(count: int, size: int) -> int:
    return max(1, -(-count // size))


def _paging(key: str | None, page: int, pages: int, previous_id: str, next_id: str) -> list[Block]:
    buttons = []
    if page > 0:
        buttons.append(button("Previous", previous_id, RaidPage(key, page - 1).to_json()))
    if page < pages - 1:
        buttons.append(button("Next", next_id, RaidPage(key, page + 1).to_json()))
    return [actions(*buttons)] if buttons else []


def risk_list(title: str, lines: list[RiskLine], page: int, *, key: str | None) -> tuple[str, list[Block]]:
    """`/pmo risks [KEY]`: open risks, highest score first, a page at a time, each with its controls."""
    heading = f"{escaped(title)}: open risks"
    if not lines:
        hint = f" Add one with `/pmo risk add {key}`." if key else " Add one with `/pmo risk add KEY`."
        return f"{heading}: none.", [section(f"*{heading}*\nNone open.{hint}")]
    pages = _pages(len(lines), RISKS_PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = lines[page * RISKS_PAGE_SIZE : (page + 1) * RISKS_PAGE_SIZE]
    high = sum(line.score >= HIGH_SCORE for line in lines)
    blocks: list[Block] = [
        section(f"*{heading}*"),
        context(
            f"{len(lines)} open, {high} scoring {HIGH_SCORE} or more. Highest score first. Page {page + 1} of {pages}."
        ),
    ]
    for line in shown:
        blocks += risk_card(line, RiskRef(line.risk_id, LIST, key, page))
    blocks += _paging(key, page, pages, RaidActionId.RISKS_PREVIOUS_PAGE, RaidActionId.RISKS_NEXT_PAGE)
    return clip(f"{heading}: {len(lines)}", SECTION_TEXT_LIMIT), blocks


def issue_text(line: IssueLine) -> str:
    due = f" · due {slack_date(line.due)}" if line.due else ""
    state = "" if line.is_open else " · closed"
    notes = f" · {line.notes} note{'s' if line.notes != 1 else ''}" if line.notes else ""
    return (
        f"*{escaped(clip(line.title, MAX_TITLE_LENGTH))}*\n"
        f"{line.project_key} · {SEVERITY_MARKS.get(line.severity, line.severity)}{due}"
        f" · owner {user(line.owner_user_id)}{state}{notes}"
    )


MAX_NOTE_SHOWN = 300  # of a note's words on a card: three entries stay well within a section


def _entry_text(entry: RaidEntry) -> str:
    who = user(entry.actor_user_id) if entry.actor_user_id else "The import"
    if entry.kind == "created":
        what = "recorded it"
    elif entry.kind == "note":
        what = "noted: " + escaped(clip(str(entry.detail.get("text", "")), MAX_NOTE_SHOWN))
    elif entry.kind == "severity":
        what = f"changed the severity from {entry.detail.get('before')} to {entry.detail.get('severity')}"
    elif entry.kind == "closed":
        what = "closed it"
    else:
        what = escaped(entry.kind.replace("_", " ")) + " it"
    return f"{slack_time(entry.at)} · {who} {what}"


def issue_card(line: IssueLine, ref: IssueRef) -> list[Block]:
    """The issue, its latest notes and changes, and (while open) Close, Add note and Decision needed."""
    history = "".join(f"\n> {_entry_text(entry)}" for entry in line.latest)
    blocks = [section(clip(issue_text(line) + history, SECTION_TEXT_LIMIT))]
    if line.is_open:
        subject = DecisionSubject(f"issue:{line.issue_id}").to_json()
        controls = actions(
            button("Close", RaidActionId.ISSUE_CLOSE, str(line.issue_id)),
            button("Add note", RaidActionId.ISSUE_ADD_NOTE, str(line.issue_id)),
            button("Decision needed", RaidActionId.DECISION_NEEDED, subject),
            block_id=ref.to_json(),
        )
        blocks.append(controls)
    return blocks


def issue_list(title: str, lines: list[IssueLine], page: int, *, key: str | None) -> tuple[str, list[Block]]:
    """`/pmo issues [KEY]`: open issues, most severe first, a page at a time."""
    heading = f"{escaped(title)}: open issues"
    if not lines:
        hint = f" Add one with `/pmo issue add {key}`." if key else " Add one with `/pmo issue add KEY`."
        return f"{heading}: none.", [section(f"*{heading}*\nNone open.{hint}")]
    pages = _pages(len(lines), ISSUES_PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = lines[page * ISSUES_PAGE_SIZE : (page + 1) * ISSUES_PAGE_SIZE]
    blocks: list[Block] = [
        section(f"*{heading}*"),
        context(f"{len(lines)} open. Most severe first. Page {page + 1} of {pages}."),
        *(block for line in shown for block in issue_card(line, IssueRef(line.issue_id, LIST, key, page))),
        *_paging(key, page, pages, RaidActionId.ISSUES_PREVIOUS_PAGE, RaidActionId.ISSUES_NEXT_PAGE),
    ]
    return clip(f"{heading}: {len(lines)}", SECTION_TEXT_LIMIT), blocks


# --- forms ------------------------------------------------------------------------------------


def _options(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [{"text": plain(label, 75), "value": value} for value, label in labels.items()]


def _score_select(initial: int | None = None) -> dict[str, Any]:
    options = _options({str(score): SCORE_LABELS[score] for score in SCORES})
    element: dict[str, Any] = {"type": "static_select", "options": options}
    if initial in SCORES:
        element["initial_option"] = options[initial - 1]
    return element


def _modal(callback_id: str, title: str, metadata: str, blocks: list[Block], *, submit: str = "Add") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": plain(title, MODAL_TITLE_LIMIT),
        "submit": plain(submit, MODAL_TITLE_LIMIT),
        "close": plain("Cancel", MODAL_TITLE_LIMIT),
        "blocks": blocks,
    }


def _done_modal(title: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain(title, MODAL_TITLE_LIMIT),
        "close": plain("Done", MODAL_TITLE_LIMIT),
        "blocks": [section(clip(text, SECTION_TEXT_LIMIT))],
    }


def new_risk_modal(project_key: str, project_name: str) -> dict[str, Any]:
    blocks = [
        context(f"A risk on *{project_key} · {escaped(project_name)}*."),
        input_block(RiskBlock.TITLE, "What might happen", {"type": "plain_text_input", "max_length": MAX_TITLE_LENGTH}),
        input_block(RiskBlock.OWNER, "Owner", {"type": "users_select"}),
        input_block(RiskBlock.PROBABILITY, "Probability (1-5)", _score_select()),
        input_block(RiskBlock.IMPACT, "Impact (1-5)", _score_select()),
        input_block(
            RiskBlock.RESPONSE, "Response", {"type": "static_select", "options": _options({r: r for r in RESPONSES})}
        ),
        input_block(
            RiskBlock.MITIGATION,
            "Mitigation",
            {"type": "plain_text_input", "multiline": True, "max_length": MAX_TEXT_LENGTH},
            optional=True,
        ),
        input_block(RiskBlock.NEXT_REVIEW, "Next review", {"type": "datepicker"}),
        input_block(RiskBlock.PROXIMITY, "Could hit by", {"type": "datepicker"}, optional=True),
    ]
    return _modal(RaidCallbackId.NEW_RISK, "New risk", NewRaidItem(project_key).to_json(), blocks)


def new_issue_modal(project_key: str, project_name: str) -> dict[str, Any]:
    severities = {severity: severity for severity in ("low", "medium", "high", "critical")}
    blocks = [
        context(f"An issue on *{project_key} · {escaped(project_name)}*."),
        input_block(
            IssueBlock.TITLE, "What has happened", {"type": "plain_text_input", "max_length": MAX_TITLE_LENGTH}
        ),
        input_block(IssueBlock.OWNER, "Owner", {"type": "users_select"}),
        input_block(IssueBlock.SEVERITY, "Severity", {"type": "static_select", "options": _options(severities)}),
        input_block(IssueBlock.DUE, "Due", {"type": "datepicker"}, optional=True),
    ]
    return _modal(RaidCallbackId.NEW_ISSUE, "New issue", NewRaidItem(project_key).to_json(), blocks)


def risk_added_modal(line: RiskLine, *, alerted: bool) -> dict[str, Any]:
    told = " It scores 20 or more, so the PMO has been told." if alerted else ""
    return _done_modal(
        "Risk added", f":white_check_mark: Added to {line.project_key}'s risks:\n{risk_text(line)}{told}"
    )


def issue_added_modal(line: IssueLine, *, alerted: bool) -> dict[str, Any]:
    told = " It is critical, so the PMO has been told." if alerted else ""
    return _done_modal(
        "Issue added", f":white_check_mark: Added to {line.project_key}'s issues:\n{issue_text(line)}{told}"
    )


def review_modal(line: RiskLine, ref: RiskRef) -> dict[str, Any]:
    """Confirm or change the scores, and choose the next review date."""
    blocks = [
        section(risk_text(line)),
        input_block(RiskBlock.PROBABILITY, "Probability (1-5)", _score_select(line.probability)),
        input_block(RiskBlock.IMPACT, "Impact (1-5)", _score_select(line.impact)),
        input_block(RiskBlock.NEXT_REVIEW, "Next review", {"type": "datepicker"}),
    ]
    return _modal(RaidCallbackId.RISK_REVIEW, "Review risk", ref.to_json(), blocks, submit="Save")


def reviewed_modal(line: RiskLine) -> dict[str, Any]:
    return _done_modal("Risk reviewed", f":white_check_mark: Reviewed:\n{risk_text(line)}")


def note_modal(ref: RiskRef | IssueRef, title: str) -> dict[str, Any]:
    """Add a note to a risk or an issue: it goes into the item's history."""
    blocks = [
        context(f"On *{escaped(clip(title, MAX_TITLE_LENGTH))}*"),
        input_block(
            RiskBlock.NOTE, "Note", {"type": "plain_text_input", "multiline": True, "max_length": MAX_TEXT_LENGTH}
        ),
    ]
    callback_id = RaidCallbackId.RISK_NOTE if isinstance(ref, RiskRef) else RaidCallbackId.ISSUE_NOTE
    return _modal(callback_id, "Add a note", ref.to_json(), blocks)


def note_added_modal(title: str) -> dict[str, Any]:
    return _done_modal("Note added", f":memo: Your note is on *{escaped(clip(title, MAX_TITLE_LENGTH))}*.")


# --- what the PMO hears -------------------------------------------------------------------------


def risk_alert(line: RiskLine) -> tuple[str, list[Block]]:
    text = f"New high risk on {line.project_key}: {escaped(clip(line.title, 200))} ({_scores(line)})"
    return clip(text, SECTION_TEXT_LIMIT), [
        section(
            f":rotating_light: *New risk scoring {line.score} on {line.project_key} · {escaped(line.project_name)}*"
        ),
        section(risk_text(line)),
        context(f"`/pmo risks {line.project_key}` lists the project's risks."),
    ]


def issue_alert(line: IssueLine) -> tuple[str, list[Block]]:
    text = f"New critical issue on {line.project_key}: {escaped(clip(line.title, 200))}"
    return clip(text, SECTION_TEXT_LIMIT), [
        section(f":rotating_light: *New critical issue on {line.project_key} · {escaped(line.project_name)}*"),
        section(issue_text(line)),
        context(f"`/pmo issues {line.project_key}` lists the project's issues."),
    ]


def overdue_review_alert(line: RiskLine) -> tuple[str, list[Block]]:
    text = f"A risk review on {line.project_key} is {working_days_text(line.review_overdue_days)} late"
    return clip(text, SECTION_TEXT_LIMIT), [
        section(
            f":hourglass: *A risk review on {line.project_key} · {escaped(line.project_name)} is "
            f"{working_days_text(line.review_overdue_days)} late.* Its owner and the sponsor have been nudged."
        ),
        section(risk_text(line)),
    ]


# --- reviews in the daily nudge -------------------------------------------------------------------


def review_heading(count: int) -> str:
    return f":mag: {count} of your risks {'are' if count != 1 else 'is'} due for review"


def review_cards(lines: list[RiskLine], *, key: str, viewer: str) -> list[Block]:
    """The owner's reviews in their daily DM: a heading and a card each (controls on their own only)."""
    due = [line for line in lines if line.is_open and line.next_review < line.as_of and line.owner_user_id == viewer]
    heading = review_heading(len(due)) if due else ":white_check_mark: No risk on this list needs a review any more."
    blocks: list[Block] = [section(f"*{heading}*")]
    for line in lines[:MAX_REVIEW_CARDS]:
        mine = line.owner_user_id == viewer
        blocks += risk_card(line, RiskRef(line.risk_id, DM, key), show_owner=not mine, with_controls=mine)
    if len(lines) > MAX_REVIEW_CARDS:
        blocks.append(context(f"…and {len(lines) - MAX_REVIEW_CARDS} more. `/pmo risks` lists them all."))
    return blocks


def review_summaries(lines: list[RiskLine]) -> str:
    return "; ".join(f"'{escaped(line.title)}' ({line.project_key}) to review" for line in lines)


def sponsor_review_items(lines: list[RiskLine]) -> list[Block]:
    """In the sponsor's daily DM: the risks on their projects whose review is late."""
    if not lines:
        return []
    items = [
        f"*{escaped(line.title)}* ({line.project_key}) · owner {user(line.owner_user_id)} · {_review_phrase(line)}"
        for line in lines
    ]
    count = len(lines)
    return [
        section(
            f":mag: {count} risk review{'s' if count != 1 else ''} on projects you sponsor "
            f"{'are' if count != 1 else 'is'} late."
        ),
        section(bulleted(items)),
    ]


# --- the check-in form ------------------------------------------------------------------------------


def confirm_block_id(item_key: str) -> str:
    return RAID_CONFIRM_BLOCK_PREFIX + item_key


def checkin_confirmations(risks: list[RiskLine], issues: list[IssueLine]) -> list[Block]:
    """One "still accurate?" box per high risk and high/critical issue, ticked; untick what changed."""
    if not risks and not issues:
        return []
    blocks: list[Block] = [
        section("*Still accurate?* Untick anything that has changed; you will get its card to update it."),
    ]
    items = [
        (f"risk:{line.risk_id}", f"Risk: {clip(line.title, 150)} · {line.project_key} · {_scores(line)}")
        for line in risks
    ]
    items += [
        (f"issue:{line.issue_id}", f"Issue: {clip(line.title, 150)} · {line.project_key} · {line.severity}")
        for line in issues
    ]
    for item_key, label in items[:MAX_CONFIRMATIONS]:
        # Plain text: a label shows the words as typed, so nothing in a title can ping anyone.
        option = {"text": plain("Still accurate", 75), "value": item_key}
        blocks.append(
            input_block(
                confirm_block_id(item_key),
                label,
                {"type": "checkboxes", "options": [option], "initial_options": [option]},
                optional=True,
            )
        )
    if len(items) > MAX_CONFIRMATIONS:
        blocks.append(context(f"…and {len(items) - MAX_CONFIRMATIONS} more: `/pmo risks` and `/pmo issues` list them."))
    return blocks


def changed_items_dm(risks: list[RiskLine], issues: list[IssueLine], *, key: str) -> tuple[str, list[Block]]:
    """To whoever submitted the check-in: the items they said had changed, with their cards."""
    count = len(risks) + len(issues)
    heading = (
        f"You said {count} item{'s' if count != 1 else ''} in the RAID log changed: "
        f"update {'them' if count != 1 else 'it'} here."
    )
    blocks: list[Block] = [section(f"*{heading}*")]
    for line in risks[:10]:
        blocks += risk_card(line, RiskRef(line.risk_id, DM, key))
    for issue in issues[:10]:
        blocks += issue_card(issue, IssueRef(issue.issue_id, DM, key))
    return heading, blocks


# --- decisions asked for ------------------------------------------------------------------------------


def decision_needed_button(subject: DecisionSubject) -> Block:
    return actions(button("Raise a decision needed", RaidActionId.DECISION_NEEDED, subject.to_json()))


def decision_needed_modal(subject: DecisionSubject, *, question: str, decider: str | None) -> dict[str, Any]:
    decider_select: dict[str, Any] = {"type": "users_select"}
    if decider:
        decider_select["initial_user"] = decider
    blocks = [
        input_block(
            DecisionBlock.QUESTION,
            "What needs deciding",
            {
                "type": "plain_text_input",
                "multiline": True,
                "max_length": MAX_TEXT_LENGTH,
                "initial_value": clip(question, MAX_TEXT_LENGTH),
            },
        ),
        input_block(DecisionBlock.DECIDER, "By whom (the sponsor unless you choose)", decider_select),
        input_block(DecisionBlock.DUE, "By when", {"type": "datepicker"}),
    ]
    return _modal(RaidCallbackId.DECISION_NEEDED, "Decision needed", subject.to_json(), blocks, submit="Ask")


def decision_asked_modal(decider_user_id: str, due: date) -> dict[str, Any]:
    return _done_modal("Decision needed", f":scales: Asked {user(decider_user_id)} to decide by {slack_date(due)}.")


def decision_recorded_modal(outcome: str) -> dict[str, Any]:
    return _done_modal("Decision recorded", f":white_check_mark: Recorded: {escaped(clip(outcome, 2900))}")


def decision_age(line: DecisionLine, today: date) -> str:
    """How long a decision asked for has been open: "raised today", "open 3 days"."""
    days = (today - line.raised_on).days
    return "raised today" if days == 0 else f"open {days} day{'s' if days != 1 else ''}"


def decision_text(line: DecisionLine, *, today: date) -> str:
    late = " :warning: past its date" if line.due < today and line.outcome is None else ""
    text = (
        f"*{escaped(clip(line.question, 500))}*\n{line.project_key} · decider {user(line.decider_user_id)} · "
        f"by {slack_date(line.due)}{late} · {decision_age(line, today)}"
    )
    if line.outcome is not None:
        text = (
            f"*{escaped(clip(line.question, 500))}*\n{line.project_key} · "
            f":white_check_mark: decided by {user(line.decided_by_user_id)}: {escaped(clip(line.outcome, 1000))}"
        )
    return text


def decision_request_dm(line: DecisionLine, *, today: date) -> tuple[str, list[Block]]:
    """The decider's DM: what is asked, with "Record decision" until it is recorded."""
    asked = f"{user(line.raised_by_user_id)} asks you for a decision on {line.project_key}"
    block = section(decision_text(line, today=today))
    if line.outcome is None:
        block["accessory"] = button(
            "Record decision", RaidActionId.DECISION_RECORD, DecisionRef(line.request_id).to_json(), style="primary"
        )
    return clip(f"{asked}: {escaped(line.question)}", SECTION_TEXT_LIMIT), [section(f":scales: {asked}"), block]


def record_decision_modal(line: DecisionLine, *, today: date) -> dict[str, Any]:
    blocks = [
        section(decision_text(line, today=today)),
        input_block(
            DecisionBlock.OUTCOME,
            "Decided",
            {"type": "plain_text_input", "multiline": True, "max_length": MAX_TEXT_LENGTH},
        ),
    ]
    return _modal(
        RaidCallbackId.DECISION_RECORD,
        "Record decision",
        DecisionRef(line.request_id).to_json(),
        blocks,
        submit="Record",
    )


MAX_DECISIONS_LISTED = 45


def decision_list(title: str, lines: list[DecisionLine], *, today: date) -> tuple[str, list[Block]]:
    """`/pmo decisions [KEY]`: the open ones, oldest first, with their age."""
    heading = f"{escaped(title)}: decisions needed"
    if not lines:
        return f"{heading}: none open.", [section(f"*{heading}*\nNone open.")]
    blocks: list[Block] = [section(f"*{heading}* ({len(lines)})")]
    blocks += [section(decision_text(line, today=today)) for line in lines[:MAX_DECISIONS_LISTED]]
    if len(lines) > MAX_DECISIONS_LISTED:
        blocks.append(context(f"…and {len(lines) - MAX_DECISIONS_LISTED} more."))
    return clip(f"{heading}: {len(lines)}", SECTION_TEXT_LIMIT), blocks


def pack_decisions_section(lines: list[DecisionLine], *, today: date) -> list[Block]:
    """The monthly pack's decisions asked for and still open, with their age."""
    if not lines:
        return [section("*Decisions asked for*: none open.")]
    items = [
        f"{line.project_key}: {escaped(clip(line.question, 200))} · {user(line.decider_user_id)} · "
        f"by {slack_date(line.due)} · {decision_age(line, today)}"
        for line in lines
    ]
    return [section(f"*Decisions asked for, still open ({len(lines)})*"), section(bulleted(items))]


# --- in /pmo status KEY and the Home tab --------------------------------------------------------

MAX_STATUS_LINE = 200  # of a title or question, in a status's bulleted lists
MAX_HOME_DECISIONS = 10  # a block each: the Home tab stays under its 100 blocks (handlers/blocks/home.py)


def _listed_section(heading: str, lines: list[str], count: int) -> Block:
    if count > len(lines):
        lines = [*lines, f"…and {count - len(lines)} more"]
    return section(clip(f"*{heading}* ({count})\n" + (bulleted(lines) if lines else "_none_"), SECTION_TEXT_LIMIT))


def status_raid_blocks(raid: ProjectRaid) -> list[Block]:
    """`/pmo status KEY`: the open risks scoring 15+, the open high and critical issues and the
    decisions asked for, each the first few with a count; `/pmo risks KEY` and the rest list them all."""
    risk_lines = [
        f"{escaped(clip(line.title, MAX_STATUS_LINE))} · score {line.score} · {_review_phrase(line)}"
        f" · {user(line.owner_user_id)}"
        for line in raid.risks
    ]
    issue_lines = [
        f"{escaped(clip(line.title, MAX_STATUS_LINE))} · {SEVERITY_MARKS.get(line.severity, line.severity)}"
        + (f" · due {slack_date(line.due)}" if line.due else "")
        + f" · {user(line.owner_user_id)}"
        for line in raid.issues
    ]
    today = raid.as_of
    decision_lines = [
        f"{escaped(clip(line.question, MAX_STATUS_LINE))} · {user(line.decider_user_id)} · by {slack_date(line.due)}"
        + (" :warning: past its date" if line.due < today else "")
        + f" · {decision_age(line, today)}"
        for line in raid.decisions
    ]
    return [
        _listed_section(f"Open risks scoring {HIGH_SCORE}+", risk_lines, raid.high_risks),
        _listed_section("Open high and critical issues", issue_lines, raid.high_issues),
        _listed_section("Decisions needed", decision_lines, raid.open_decisions),
    ]


def home_decisions_blocks(lines: list[DecisionLine], *, today: date) -> list[Block]:
    """The Home tab's decisions asked of the viewer, oldest first, each with Record decision."""
    if not lines:
        return []
    blocks: list[Block] = [header("Decisions waiting for you")]
    for line in lines[:MAX_HOME_DECISIONS]:
        block = section(decision_text(line, today=today))
        block["accessory"] = button(
            "Record decision", RaidActionId.DECISION_RECORD, DecisionRef(line.request_id).to_json(), style="primary"
        )
        blocks.append(block)
    if len(lines) > MAX_HOME_DECISIONS:
        blocks.append(context(f"…and {len(lines) - MAX_HOME_DECISIONS} more: `/pmo decisions` lists them all."))
    return [*blocks, divider()]
