"""Block Kit for closing a project and finding lessons: the closure form, its confirmation,
the note in the project's channel, and `/pmo lessons` results. Pure: data in, blocks out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from bot.services.closure import AVOID, MAX_TEXT_LENGTH, OUTCOMES, Closure, LessonSearch
from bot.services.portfolio import BenefitLine
from handlers.blocks.benefits import benefit_line_text
from handlers.blocks.common import MODAL_TITLE_LIMIT, Block, bulleted, clip, context, escaped, plain, section, user
from handlers.blocks.metadata import JsonState
from handlers.ids import CallbackId, ClosureBlock

KIND_LABELS = {"repeat": ":white_check_mark: repeat", AVOID: ":warning: avoid"}


@dataclass(frozen=True)
class ClosureTarget(JsonState):
    """The project a closure form is for (private_metadata)."""

    RERUN: ClassVar[str] = "/pmo close KEY"

    project_key: str


def _text_input(block_id: str, label: str, *, hint: str, optional: bool) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label),
        "hint": plain(hint),
        "element": {
            "type": "plain_text_input",
            "action_id": block_id,
            "multiline": True,
            "max_length": MAX_TEXT_LENGTH,
        },
    }


def closure_modal(project_key: str, project_name: str, benefits: list[BenefitLine]) -> dict[str, Any]:
    """The form; the project's benefits are shown so the status can be written against them."""
    options = [{"text": plain(label, 75), "value": value} for value, label in OUTCOMES.items()]
    blocks: list[Block] = [
        context(
            f"Closing *{project_key} · {escaped(clip(project_name, 200))}*. Its check-in prompts stop and its channel "
            "gets a short closure note. Benefits stay tracked: their owners keep reporting after closure. "
            f"Only archiving it (a duplicate, or it never started)? Cancel and type `/pmo close {project_key} archive`."
        )
    ]
    if benefits:
        blocks.append(section("*Benefits now*\n" + bulleted([benefit_line_text(line) for line in benefits])))
    blocks += [
        {
            "type": "input",
            "block_id": ClosureBlock.OUTCOME,
            "label": plain("Outcome"),
            "element": {"type": "static_select", "action_id": ClosureBlock.OUTCOME, "options": options},
        },
        _text_input(
            ClosureBlock.SUMMARY, "What was delivered, or why it stopped", hint="A sentence or two.", optional=True
        ),
        _text_input(
            ClosureBlock.BENEFITS,
            "Benefits status",
            hint="Where each benefit stands, and who keeps measuring it now the project is closed.",
            optional=False,
        ),
        _text_input(
            ClosureBlock.REPEAT,
            "Lessons: what to repeat",
            hint="One lesson per line; other projects find them with /pmo lessons.",
            optional=True,
        ),
        _text_input(ClosureBlock.AVOID, "Lessons: what to avoid", hint="One lesson per line.", optional=True),
    ]
    return {
        "type": "modal",
        "callback_id": CallbackId.CLOSE_PROJECT,
        "private_metadata": ClosureTarget(project_key).to_json(),
        "title": plain(f"Close {project_key}", MODAL_TITLE_LIMIT),
        "submit": plain("Close project", MODAL_TITLE_LIMIT),
        "close": plain("Cancel", MODAL_TITLE_LIMIT),
        "blocks": blocks,
    }


def _lesson_count(closure: Closure) -> str:
    return f"{closure.lessons_to_repeat} to repeat and {closure.lessons_to_avoid} to avoid"


def project_closed_modal(closure: Closure) -> dict[str, Any]:
    where = (
        f"A closure note is posted in <#{closure.primary_channel_id}>."
        if closure.primary_channel_id
        else "It has no working channel, so no closure note is posted."
    )
    return {
        "type": "modal",
        "title": plain("Project closed", MODAL_TITLE_LIMIT),
        "close": plain("Done", MODAL_TITLE_LIMIT),
        "blocks": [
            section(
                f"*{closure.project_key} · {escaped(clip(closure.project_name, 200))}* is closed: "
                f"*{escaped(closure.outcome)}*. "
                f"Lessons recorded: {_lesson_count(closure)}; `/pmo lessons {closure.project_key}` lists them.\n"
                f"{where}"
            )
        ],
    }


def closure_note_text(closure: Closure) -> str:
    return f"{closure.project_key} · {escaped(closure.project_name)} is closed: {escaped(closure.outcome)}."


def closure_note_blocks(closure: Closure, closed_by: str) -> list[Block]:
    summary = f"\n{escaped(closure.summary)}" if closure.summary else ""
    return [
        section(
            f":checkered_flag: *{closure.project_key} · {escaped(clip(closure.project_name, 200))}* is closed: "
            f"*{escaped(closure.outcome)}*, by {user(closed_by)}.{summary}"
        ),
        *([section(f"*Benefits:* {escaped(closure.benefits_status)}")] if closure.benefits_status else []),
        context(
            f"Lessons recorded: {_lesson_count(closure)} (`/pmo lessons {closure.project_key}`). "
            f"Weekly check-ins have stopped; `/pmo reopen {closure.project_key}` undoes the close."
        ),
    ]


def archived_text(closure: Closure) -> str:
    where = f" A note is posted in <#{closure.primary_channel_id}>." if closure.primary_channel_id else ""
    return (
        f"{closure.project_key} · {escaped(clip(closure.project_name, 200))} is archived: no more check-in prompts, "
        f"its benefits stay tracked.{where} `/pmo reopen {closure.project_key}` undoes it."
    )


def reopened_text(project_key: str, project_name: str) -> str:
    return (
        f"{project_key} · {escaped(clip(project_name, 200))} is open again: its check-in prompts resume "
        "from its next check-in time. Its lessons and the closure stay on record."
    )


# --- /pmo lessons -------------------------------------------------------------------------


def _searched(search: LessonSearch) -> str:
    return escaped(clip(" ".join(search.words), 200))


def lessons_text(search: LessonSearch) -> str:
    return f"{search.total} lesson{'s' if search.total != 1 else ''} match “{_searched(search)}”."


def lessons_blocks(search: LessonSearch) -> list[Block]:
    if not search.lessons:
        return [
            section(
                f"No lessons match “{_searched(search)}”. Every word must appear in a lesson or its project's "
                "key or name. Lessons are recorded when a project closes (`/pmo close KEY`)."
            )
        ]
    shown = len(search.lessons)
    count = f"the newest {shown} of {search.total}" if search.total > shown else f"{search.total}"
    blocks: list[Block] = [section(f"*Lessons matching “{_searched(search)}”*: {count}")]
    blocks += [
        section(f"*{lesson.project_key}* · {KIND_LABELS.get(lesson.kind, lesson.kind)}: {escaped(lesson.text)}")
        for lesson in search.lessons
    ]
    if search.total > shown:
        blocks.append(context("Add words to narrow the search."))
    return blocks
