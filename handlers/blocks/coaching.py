"""Block Kit for coaching: "Where coaching would help most" (digest and `/pmo coach`), the
"Plan a conversation" form, and the pack's coaching count. Pure: data in, blocks out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any, ClassVar

from bot.services.coaching import (
    AccountabilityGap,
    AccountableRole,
    CoachingMonth,
    Opportunity,
    OwnerChoice,
    OwnerQuestion,
    PlannedNote,
    PmoOwnedActions,
    StartingLessons,
    Topic,
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
    escaped,
    header,
    input_block,
    mrkdwn,
    plain,
    section,
    user,
)
from handlers.blocks.metadata import JsonState
from handlers.ids import CoachingId

SECTION_TITLE = "Where coaching would help most"
EVIDENCE_LIMIT = 300
MAX_EVIDENCE = 3  # lines of evidence per opportunity; the rest are counted
ABOUT_LIMIT = 500  # what the button carries to prefill the form
NO_OPPORTUNITIES = "_Nothing stands out this week: no sponsor, programme, lead or team needs a nudge from the PMO._"


@dataclass(frozen=True)
class ConversationTarget(JsonState):
    """What "Plan a conversation" is about, carried by the button and then by the form."""

    RERUN: ClassVar[str] = "/pmo coach"

    topic: Topic
    project_key: str
    with_user_id: str | None
    about: str


def _keys(keys: tuple[str, ...]) -> str:
    return ", ".join(keys)


def _subject(opportunity: Opportunity) -> str:
    keys = _keys(opportunity.project_keys)
    match opportunity.topic:
        case Topic.SPONSOR_BACKLOG:
            return f"{user(opportunity.with_user_id)}, sponsor of {keys}: overdue actions and unanswered help"
        case Topic.PROGRAMME_COMPLIANCE:
            return f"Programme *{escaped(opportunity.subject)}*: the lowest check-in compliance ({keys})"
        case Topic.LEAD_STUCK_AMBER:
            return f"{user(opportunity.with_user_id)}, lead of {keys}: stuck Amber"
        case Topic.PATH_TO_GREEN_SLIPPED:
            return f"*{keys}* (lead {user(opportunity.with_user_id)}): the path-to-green date keeps slipping"
        case _:
            return f"*{keys}* (lead {user(opportunity.with_user_id)}): reports Green, benefits off trajectory"


def _about(opportunity: Opportunity) -> str:
    """The form's starting text: plain words (a form field shows no mrkdwn)."""
    labels = {
        Topic.SPONSOR_BACKLOG: "Overdue actions and unanswered help requests",
        Topic.PROGRAMME_COMPLIANCE: f"Check-in compliance in {opportunity.subject}",
        Topic.LEAD_STUCK_AMBER: "Projects stuck Amber",
        Topic.PATH_TO_GREEN_SLIPPED: "The path-to-green date keeps slipping",
        Topic.GREEN_BENEFITS_OFF_TRACK: "Green while benefits are off trajectory",
    }
    label = labels.get(opportunity.topic, "Coaching")
    return clip(f"{label} ({_keys(opportunity.project_keys)}). " + " ".join(opportunity.evidence), ABOUT_LIMIT)


def opportunity_text(opportunity: Opportunity) -> str:
    """One opportunity: whom, why it has leverage, and its evidence."""
    projects, touched = len(opportunity.project_keys), opportunity.actions_touched
    reach = (
        f"leverage {opportunity.leverage}: {projects} project{'s' if projects != 1 else ''}, "
        f"{touched} overdue action{'s' if touched != 1 else ''} or help request{'s' if touched != 1 else ''}"
    )
    shown = opportunity.evidence[:MAX_EVIDENCE]
    evidence = "".join(f"\n      {escaped(clip(line, EVIDENCE_LIMIT))}" for line in shown)
    if len(opportunity.evidence) > len(shown):
        evidence += f"\n      …and {len(opportunity.evidence) - len(shown)} more"
    return f"{_subject(opportunity)} ({reach}){evidence}"


def coaching_section(opportunities: tuple[Opportunity, ...]) -> list[Block]:
    """The digest's section: a title and at most five opportunities, most leverage first."""
    if not opportunities:
        return [section(f"*{SECTION_TITLE}*\n{NO_OPPORTUNITIES}")]
    return [
        section(f"*{SECTION_TITLE}*, most leverage first"),
        *(section(f"{index}. {opportunity_text(o)}") for index, o in enumerate(opportunities, start=1)),
    ]


def pmo_owned_section(owned: tuple[PmoOwnedActions, ...]) -> Block:
    """The digest's count of open actions owned by PMO admins, per project: work the owners should hold."""
    title = "*Actions the PMO owns*, per project (the PMO coaches; the owners keep the work)"
    if not owned:
        return section(f"{title}\n_None._")
    lines = [f"{o.project_key} · {escaped(clip(o.project_name, 80))}: {o.open_actions} open" for o in owned]
    return section(title + "\n" + bulleted(lines, limit=SECTION_TEXT_LIMIT - len(title) - 1))


def coach_text(opportunities: tuple[Opportunity, ...]) -> str:
    return f"{SECTION_TITLE}: {len(opportunities)} conversations, most leverage first."


def coach_blocks(opportunities: tuple[Opportunity, ...]) -> list[Block]:
    """`/pmo coach`: each opportunity with "Plan a conversation"."""
    blocks: list[Block] = [header(SECTION_TITLE)]
    if not opportunities:
        return [*blocks, section(NO_OPPORTUNITIES)]
    for index, opportunity in enumerate(opportunities, start=1):
        target = ConversationTarget(
            opportunity.topic, opportunity.project_keys[0], opportunity.with_user_id, _about(opportunity)
        )
        block = section(f"{index}. {opportunity_text(opportunity)}")
        block["accessory"] = button("Plan a conversation", CoachingId.PLAN_CONVERSATION, target.to_json())
        blocks.append(block)
    blocks.append(
        context(
            "Leverage: 3 for each project a conversation covers, plus 1 for each overdue action or unanswered "
            "help request on them. The follow-up you choose is chased like any action you own."
        )
    )
    return blocks


def plan_modal(target: ConversationTarget, follow_up_on: date) -> dict[str, Any]:
    """The "Plan a conversation" form, filled in with whom and what it is about."""
    with_whom: dict[str, Any] = {"type": "users_select"}
    if target.with_user_id:
        with_whom["initial_user"] = target.with_user_id
    return {
        "type": "modal",
        "callback_id": CoachingId.PLAN_FORM,
        "private_metadata": target.to_json(),
        "title": plain("Plan a conversation", MODAL_TITLE_LIMIT),
        "submit": plain("Plan it", MODAL_TITLE_LIMIT),
        "close": plain("Cancel", MODAL_TITLE_LIMIT),
        "blocks": [
            section(f"About *{escaped(target.project_key)}*. The PMO coaches; the owners keep the work."),
            input_block(CoachingId.WITH, "With whom", with_whom),
            input_block(
                CoachingId.ABOUT,
                "About what",
                {"type": "plain_text_input", "multiline": True, "initial_value": target.about, "max_length": 3000},
            ),
            input_block(
                CoachingId.FOLLOW_UP, "Follow up on", {"type": "datepicker", "initial_date": follow_up_on.isoformat()}
            ),
        ],
    }


def _day(day: date) -> str:
    """A date in each reader's own format; the fallback is ISO."""
    stamp = int(datetime.combine(day, time(12), tzinfo=timezone.utc).timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}}|{day.isoformat()}>"


def planned_modal(note: PlannedNote) -> dict[str, Any]:
    """What the form turns into once the conversation is recorded."""
    return {
        "type": "modal",
        "title": plain("Conversation planned", MODAL_TITLE_LIMIT),
        "close": plain("Close", MODAL_TITLE_LIMIT),
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn(
                    f"Your conversation with {user(note.with_user_id)} on {escaped(note.project_key)} is recorded. "
                    f"Its follow-up is action #{note.follow_up_action_id}, yours, due {_day(note.follow_up_on)}: "
                    "you are reminded as for any action you own."
                ),
            }
        ],
    }


def pack_coaching_section(months: tuple[CoachingMonth, ...]) -> Block:
    """The pack's measure of the PMO itself: coaching conversations held against alerts raised."""
    lines = "".join(
        f"\n• {m.month}: {m.conversations} coaching conversation{'s' if m.conversations != 1 else ''}, "
        f"{m.alerts_raised} alert{'s' if m.alerts_raised != 1 else ''} raised"
        for m in months
    )
    return section("*Coaching, not doing*: conversations the PMO held against alerts raised" + lines)


# --- accountability stays with the owners -------------------------------------------------

OWNER_QUESTION = "The PMO coaches; should the project's lead or sponsor own this?"
OWNER_BUTTONS = {
    OwnerChoice.LEAD: ("Give it to the lead", CoachingId.OWNER_TO_LEAD),
    OwnerChoice.SPONSOR: ("Give it to the sponsor", CoachingId.OWNER_TO_SPONSOR),
    OwnerChoice.KEEP: ("Keep it (the PMO really owns this)", CoachingId.OWNER_KEEP),
}


@dataclass(frozen=True)
class OwnerAnswer(JsonState):
    """Which action a "who should own this?" button answers for."""

    RERUN: ClassVar[str] = "/pmo actions"

    action_id: int


def _action(question: OwnerQuestion) -> str:
    return f"action #{question.action_id} “{escaped(clip(question.title, 200))}” on {question.project_key}"


def owner_question_text(question: OwnerQuestion) -> str:
    if question.choice is OwnerChoice.KEEP:
        return (
            f"{user(question.chosen_by_user_id)} kept {_action(question)} with {user(question.owner_user_id)}: "
            "the PMO really owns this."
        )
    if question.choice is not None:
        new_owner = question.lead_user_id if question.choice is OwnerChoice.LEAD else question.sponsor_user_id
        return (
            f"{user(question.chosen_by_user_id)} gave {_action(question)} to the project's {question.choice.value}, "
            f"{user(new_owner)}: the PMO coaches, the owners keep the work."
        )
    return f"{user(question.owner_user_id)} from the PMO now owns {_action(question)}. {OWNER_QUESTION}"


def owner_question_blocks(question: OwnerQuestion) -> list[Block]:
    """The question with its three buttons; once answered, the answer alone."""
    blocks = [section(owner_question_text(question))]
    if question.choice is not None:
        return blocks
    value = OwnerAnswer(question.action_id).to_json()
    available = {
        OwnerChoice.LEAD: question.lead_user_id,
        OwnerChoice.SPONSOR: question.sponsor_user_id,
        OwnerChoice.KEEP: question.owner_user_id,
    }
    buttons = [
        button(label, action_id, value) for choice, (label, action_id) in OWNER_BUTTONS.items() if available[choice]
    ]
    return [*blocks, actions(*buttons)]


def handed_over_text(question: OwnerQuestion) -> str:
    """The DM to the lead or sponsor who now owns what the PMO was given."""
    return (
        f"{user(question.chosen_by_user_id)} gave you {_action(question)}, which had gone to "
        f"{user(question.owner_user_id)} from the PMO: the PMO coaches, and the project's own people own its work. "
        "`/pmo actions` lists yours."
    )


# --- nobody accountable ---------------------------------------------------------------------

NOBODY_ACCOUNTABLE = "nobody is accountable"


def accountability_gap_text(gap: AccountabilityGap) -> str:
    """Why nobody is accountable, e.g. "no sponsor; the lead <@U1> has left the workspace"."""
    reasons = [f"no {role}" for role in gap.missing]
    reasons += [f"the {holder.role} {user(holder.user_id)} has left the workspace" for holder in gap.left]
    return "; ".join(reasons)


def accountability_warning(gap: AccountabilityGap | None) -> list[Block]:
    """The line `/pmo status KEY` shows while nobody is accountable for the project."""
    if gap is None:
        return []
    return [section(f":warning: *{gap.project_key}: {NOBODY_ACCOUNTABLE}*: {accountability_gap_text(gap)}.")]


def nobody_accountable_section(gaps: tuple[AccountabilityGap, ...]) -> Block:
    """The digest's list of projects nobody is accountable for: the PMO finds them an owner."""
    title = f"*Nobody accountable* ({len(gaps)}): a sponsor and a lead who are still here are needed"
    if not gaps:
        return section("*Nobody accountable*\n_None._")
    lines = [
        f"{gap.project_key} · {escaped(clip(gap.project_name, 80))}: {accountability_gap_text(gap)}" for gap in gaps
    ]
    return section(title + "\n" + bulleted(lines, limit=SECTION_TEXT_LIMIT - len(title) - 1))


def redirected_text(gap: AccountabilityGap, role: AccountableRole, text: str) -> str:
    """A message meant for the project's sponsor or lead, sent to the PMO channel instead; `text`
    is that message as its builder made it."""
    return (
        f":warning: *{gap.project_key} · {escaped(clip(gap.project_name, 80))}: {NOBODY_ACCOUNTABLE}* "
        f"({accountability_gap_text(gap)}), so this message for its {role} comes to the PMO:\n{text}"
    )


# --- lessons at the start -------------------------------------------------------------------

LESSON_KINDS = {"repeat": "Repeat", "avoid": "Avoid"}
LESSON_LIMIT = 500


def starting_lessons_text(found: StartingLessons) -> str:
    return f"Lessons from closed projects like {found.project_key} · {escaped(clip(found.project_name, 80))}"


def starting_lessons_blocks(found: StartingLessons) -> list[Block]:
    """The DM to a new project's lead and sponsor: up to five lessons, newest first, each with its project."""
    lines = [
        f"*{LESSON_KINDS.get(lesson.kind, 'Lesson')}* ({lesson.from_project_key} · "
        f"{escaped(clip(lesson.from_project_name, 80))}, {_day(lesson.recorded_at.date())}): "
        f"{escaped(clip(' '.join(lesson.text.split()), LESSON_LIMIT))}"
        for lesson in found.lessons
    ]
    keys = " ".join(
        f"`/pmo lessons {key}`" for key in dict.fromkeys(lesson.from_project_key for lesson in found.lessons)
    )
    return [
        section(
            f"*{found.project_key} · {escaped(clip(found.project_name, 80))}* is starting. "
            "Closed projects like it left these lessons:"
        ),
        section(bulleted(lines)),
        context(f"More from each: {keys}. The check-in form links here for the project's first four weeks."),
    ]


@dataclass(frozen=True)
class LessonsLink:
    """What a new project's check-in form points to: the lessons DM and the projects they came from."""

    dm_link: str | None  # the permalink of the lessons DM, for someone who got it
    from_keys: tuple[str, ...]


def lessons_link_blocks(lessons: LessonsLink | None) -> list[Block]:
    """The check-in form's line, in a project's first weeks, pointing to what projects like it learnt."""
    if lessons is None or not lessons.from_keys:
        return []
    where = f"<{lessons.dm_link}|in your DMs>, or " if lessons.dm_link else ""
    commands = ", ".join(f"`/pmo lessons {key}`" for key in lessons.from_keys)
    return [context(f":bulb: Lessons from closed projects like this one: {where}{commands}.")]
