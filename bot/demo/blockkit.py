"""Block Kit rules that Slack enforces on its side, as pure functions.

slack_sdk validates only its `slack_sdk.models` objects; plain dicts reach Slack unchecked
and Slack answers `invalid_blocks` (messages) or `invalid_arguments` (views). These
functions reject the same payloads so tests catch them without Slack. An empty list means
valid; each problem ends with a JSON pointer, as in Slack's own error messages:
"section text is longer than 3000 characters (3001) [json-pointer:/blocks/0/text/text]".

Not a complete Block Kit schema: it checks the limits below, the block and element types,
where each element may appear, and that ids are unique.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# --- Limits (characters, unless said otherwise) -------------------------------------------
MAX_MESSAGE_BLOCKS = 50  # blocks in one message
MAX_VIEW_BLOCKS = 100  # blocks in a modal or Home tab
MAX_MESSAGE_TEXT = 40_000  # the `text` argument of a message
MAX_VIEW_BYTES = 250_000  # the serialized view; Slack answers view_too_large beyond "250kb"
MAX_TEXT_OBJECT_TEXT = 3000  # any text object without a stricter limit of its own
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10  # fields in one section
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_URL = 3000
MAX_SELECT_OPTIONS = 100  # options (or option groups) in a select menu
MAX_OVERFLOW_OPTIONS = 5
MAX_CHOICE_OPTIONS = 10  # checkboxes and radio buttons
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_PLACEHOLDER = 150
MAX_INPUT_LABEL = 2000
MAX_INPUT_HINT = 2000
MAX_IMAGE_ALT_TEXT = 2000
MAX_IMAGE_TITLE = 2000
MAX_MODAL_TITLE = 24
MAX_MODAL_BUTTON_TEXT = 24  # submit and close
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255
MAX_EXTERNAL_ID = 255

VIEW_TYPES = ("modal", "home")
TEXT_OBJECT_TYPES = ("plain_text", "mrkdwn")
# Blocks with rules of their own are in _BLOCK_RULES (at the end); others are only type-checked.
BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
_SELECTS = frozenset(
    f"{multi}{kind}_select"
    for multi in ("", "multi_")
    for kind in ("static", "external", "users", "conversations", "channels")
)
# Where each element may appear ("Works with block types" in Slack's element reference).
ELEMENTS_ALLOWED_IN: dict[str, frozenset[str]] = {
    "section": _SELECTS
    | {"button", "checkboxes", "datepicker", "image", "overflow", "radio_buttons", "timepicker", "workflow_button"},
    "actions": _SELECTS
    | {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "overflow",
        "radio_buttons",
        "timepicker",
        "workflow_button",
    },
    "input": _SELECTS
    | {
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "email_text_input",
        "file_input",
        "number_input",
        "plain_text_input",
        "radio_buttons",
        "rich_text_input",
        "timepicker",
        "url_text_input",
    },
}


def message_problems(blocks: Any) -> list[str]:
    """Problems Slack would report for the blocks of a message (chat.postMessage,
    chat.postEphemeral, chat.update, response_url). The text limit is MAX_MESSAGE_TEXT;
    Slack reports it with its own error (msg_too_long), so it is not checked here."""
    checker = _Checker(surface="message")
    checker.blocks(blocks, "/blocks", max_blocks=MAX_MESSAGE_BLOCKS)
    return checker.problems


def view_problems(view: Any) -> list[str]:
    """Problems Slack would report for a modal or Home tab view (views.open/push/update/publish)."""
    if not isinstance(view, dict):
        return ["view must be a JSON object [json-pointer:/view]"]
    checker = _Checker(surface=str(view.get("type")))
    if view.get("type") not in VIEW_TYPES:
        checker.problem("/view/type", f"view type must be one of {', '.join(VIEW_TYPES)} (got {view.get('type')!r})")
    if view.get("type") == "modal":
        checker.modal_chrome(view)
    checker.max_length(view.get("private_metadata"), "/view/private_metadata", MAX_PRIVATE_METADATA)
    checker.max_length(view.get("callback_id"), "/view/callback_id", MAX_CALLBACK_ID)
    checker.max_length(view.get("external_id"), "/view/external_id", MAX_EXTERNAL_ID)
    if "blocks" not in view:
        checker.problem("/view/blocks", "blocks is required")
    else:
        checker.blocks(view["blocks"], "/view/blocks", max_blocks=MAX_VIEW_BLOCKS)
    return checker.problems


def view_size(view: Any) -> int:
    """Bytes of the view as Slack receives it, to compare with MAX_VIEW_BYTES."""
    return len(json.dumps(view, ensure_ascii=False).encode("utf-8"))


class _Checker:
    """Walks one message or view, collecting problems; block ids must be unique across it."""

    def __init__(self, *, surface: str) -> None:
        self.surface = surface  # "message", "modal" or "home"
        self.problems: list[str] = []
        self._block_ids: set[str] = set()

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{message} [json-pointer:{path}]")

    # --- primitives ---------------------------------------------------------------------

    def max_length(self, value: Any, path: str, limit: int, what: str | None = None) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.problem(path, f"{what or path.rsplit('/', 1)[-1]} must be a string")
        elif len(value) > limit:
            self.problem(path, f"{what or path.rsplit('/', 1)[-1]} is longer than {limit} characters ({len(value)})")

    def text_object(self, value: Any, path: str, *, limit: int, what: str, plain_only: bool = False) -> None:
        if not isinstance(value, dict):
            self.problem(path, f"{what} must be a text object")
            return
        allowed = ("plain_text",) if plain_only else TEXT_OBJECT_TYPES
        if value.get("type") not in allowed:
            self.problem(f"{path}/type", f"{what} must be of type {' or '.join(allowed)} (got {value.get('type')!r})")
        text = value.get("text")
        if not isinstance(text, str) or not text:
            self.problem(f"{path}/text", f"{what} must not be empty")
        else:
            self.max_length(text, f"{path}/text", limit, what)

    def list_of(self, value: Any, path: str, *, limit: int, what: str) -> list[Any]:
        """The list at `path`, or [] after reporting why it is not an acceptable list."""
        if not isinstance(value, list) or not value:
            self.problem(path, f"{what} must be a non-empty list")
            return []
        if len(value) > limit:
            self.problem(path, f"no more than {limit} {what} allowed ({len(value)})")
        return value

    # --- surfaces -----------------------------------------------------------------------

    def modal_chrome(self, view: dict[str, Any]) -> None:
        if "title" not in view:
            self.problem("/view/title", "a modal requires a title")
        else:
            self.text_object(view["title"], "/view/title", limit=MAX_MODAL_TITLE, what="title", plain_only=True)
        for button in ("submit", "close"):
            if view.get(button) is not None:
                self.text_object(
                    view[button], f"/view/{button}", limit=MAX_MODAL_BUTTON_TEXT, what=button, plain_only=True
                )
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and view.get("submit") is None:
            self.problem("/view/submit", "a modal with input blocks requires submit")

    def blocks(self, blocks: Any, path: str, *, max_blocks: int) -> None:
        if not isinstance(blocks, list):
            self.problem(path, "blocks must be a list")
            return
        if len(blocks) > max_blocks:
            self.problem(path, f"no more than {max_blocks} blocks allowed ({len(blocks)})")
        for index, block in enumerate(blocks):
            self.block(block, f"{path}/{index}")

    def block(self, block: Any, path: str) -> None:
        if not isinstance(block, dict):
            self.problem(path, "a block must be an object")
            return
        block_type = block.get("type")
        if block_type not in BLOCK_TYPES:
            self.problem(f"{path}/type", f"unknown block type {block_type!r}")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            self.max_length(block_id, f"{path}/block_id", MAX_BLOCK_ID)
            if block_id in self._block_ids:
                self.problem(f"{path}/block_id", f"block_id {block_id!r} is not unique")
            self._block_ids.add(block_id)
        rule = _BLOCK_RULES.get(block_type)
        if rule is not None:
            rule(self, block, path)

    # --- blocks with rules of their own (see _BLOCK_RULES) -----------------------------

    def section_block(self, block: dict[str, Any], path: str) -> None:
        if "text" not in block and "fields" not in block:
            self.problem(path, "a section requires text or fields")
        if "text" in block:
            self.text_object(block["text"], f"{path}/text", limit=MAX_SECTION_TEXT, what="section text")
        if "fields" in block:
            fields = self.list_of(block["fields"], f"{path}/fields", limit=MAX_SECTION_FIELDS, what="fields")
            for index, field in enumerate(fields):
                self.text_object(field, f"{path}/fields/{index}", limit=MAX_SECTION_FIELD_TEXT, what="section field")
        if "accessory" in block:
            self.element(block["accessory"], f"{path}/accessory", "section", set())

    def header_block(self, block: dict[str, Any], path: str) -> None:
        self.text_object(block.get("text"), f"{path}/text", limit=MAX_HEADER_TEXT, what="header text", plain_only=True)

    def context_block(self, block: dict[str, Any], path: str) -> None:
        elements = self.list_of(
            block.get("elements"), f"{path}/elements", limit=MAX_CONTEXT_ELEMENTS, what="context elements"
        )
        for index, element in enumerate(elements):
            element_path = f"{path}/elements/{index}"
            if isinstance(element, dict) and element.get("type") == "image":
                self.image(element, element_path)
            else:
                self.text_object(element, element_path, limit=MAX_TEXT_OBJECT_TEXT, what="context text")

    def actions_block(self, block: dict[str, Any], path: str) -> None:
        elements = self.list_of(
            block.get("elements"), f"{path}/elements", limit=MAX_ACTIONS_ELEMENTS, what="actions elements"
        )
        action_ids: set[str] = set()
        for index, element in enumerate(elements):
            self.element(element, f"{path}/elements/{index}", "actions", action_ids)

    def input_block(self, block: dict[str, Any], path: str) -> None:
        # Stricter than Slack, which nowadays also renders input blocks in messages: the
        # app keeps forms in modals, so an input block in a message is a bug here.
        if self.surface == "message":
            self.problem(path, "input blocks are only allowed in modals and Home tabs")
        self.text_object(
            block.get("label"), f"{path}/label", limit=MAX_INPUT_LABEL, what="input label", plain_only=True
        )
        if "hint" in block:
            self.text_object(block["hint"], f"{path}/hint", limit=MAX_INPUT_HINT, what="input hint", plain_only=True)
        if "element" not in block:
            self.problem(f"{path}/element", "an input block requires an element")
        else:
            self.element(block["element"], f"{path}/element", "input", set())

    def image_block(self, block: dict[str, Any], path: str) -> None:
        self.image(block, path)
        if "title" in block:
            self.text_object(
                block["title"], f"{path}/title", limit=MAX_IMAGE_TITLE, what="image title", plain_only=True
            )

    # --- elements -----------------------------------------------------------------------

    def image(self, image: dict[str, Any], path: str) -> None:
        if "image_url" not in image and "slack_file" not in image:
            self.problem(path, "an image requires image_url or slack_file")
        self.max_length(image.get("image_url"), f"{path}/image_url", MAX_URL)
        if not image.get("alt_text"):
            self.problem(f"{path}/alt_text", "an image requires alt_text")
        self.max_length(image.get("alt_text"), f"{path}/alt_text", MAX_IMAGE_ALT_TEXT)

    def element(self, element: Any, path: str, block_type: str, action_ids: set[str]) -> None:
        """An element in a block; `action_ids` are those already used in the same block."""
        if not isinstance(element, dict):
            self.problem(path, "an element must be an object")
            return
        element_type = element.get("type")
        if element_type not in ELEMENTS_ALLOWED_IN[block_type]:
            self.problem(f"{path}/type", f"element type {element_type!r} is not allowed in {block_type} blocks")
            return
        if element_type == "image":
            self.image(element, path)
            return
        action_id = element.get("action_id")
        if action_id is not None:
            self.max_length(action_id, f"{path}/action_id", MAX_ACTION_ID)
            if action_id in action_ids:
                self.problem(f"{path}/action_id", f"action_id {action_id!r} is not unique in its block")
            action_ids.add(action_id)
        if "placeholder" in element:
            self.text_object(
                element["placeholder"],
                f"{path}/placeholder",
                limit=MAX_PLACEHOLDER,
                what="placeholder",
                plain_only=True,
            )
        if element_type == "button":
            self.text_object(
                element.get("text"), f"{path}/text", limit=MAX_BUTTON_TEXT, what="button text", plain_only=True
            )
            self.max_length(element.get("value"), f"{path}/value", MAX_BUTTON_VALUE)
            self.max_length(element.get("url"), f"{path}/url", MAX_URL)
        elif element_type in ("static_select", "multi_static_select"):
            self.select_options(element, path)
        elif element_type == "overflow":
            self.options(element.get("options"), f"{path}/options", limit=MAX_OVERFLOW_OPTIONS, plain_only=True)
        elif element_type in ("checkboxes", "radio_buttons"):
            self.options(element.get("options"), f"{path}/options", limit=MAX_CHOICE_OPTIONS, plain_only=False)

    def select_options(self, select: dict[str, Any], path: str) -> None:
        if "option_groups" in select:
            groups = self.list_of(
                select["option_groups"], f"{path}/option_groups", limit=MAX_SELECT_OPTIONS, what="option groups"
            )
            for index, group in enumerate(groups):
                group_path = f"{path}/option_groups/{index}"
                if not isinstance(group, dict):
                    self.problem(group_path, "an option group must be an object")
                    continue
                self.text_object(
                    group.get("label"),
                    f"{group_path}/label",
                    limit=MAX_OPTION_TEXT,
                    what="option group label",
                    plain_only=True,
                )
                self.options(group.get("options"), f"{group_path}/options", limit=MAX_SELECT_OPTIONS, plain_only=True)
        else:
            self.options(select.get("options"), f"{path}/options", limit=MAX_SELECT_OPTIONS, plain_only=True)

    def options(self, options: Any, path: str, *, limit: int, plain_only: bool) -> None:
        for index, option in enumerate(self.list_of(options, path, limit=limit, what="options")):
            option_path = f"{path}/{index}"
            if not isinstance(option, dict):
                self.problem(option_path, "an option must be an object")
                continue
            self.text_object(
                option.get("text"),
                f"{option_path}/text",
                limit=MAX_OPTION_TEXT,
                what="option text",
                plain_only=plain_only,
            )
            value = option.get("value")
            if not isinstance(value, str) or not value:
                self.problem(f"{option_path}/value", "option value must not be empty")
            else:
                self.max_length(value, f"{option_path}/value", MAX_OPTION_VALUE, "option value")
            if "description" in option:
                self.text_object(
                    option["description"],
                    f"{option_path}/description",
                    limit=MAX_OPTION_TEXT,
                    what="option description",
                    plain_only=plain_only,
                )
            self.max_length(option.get("url"), f"{option_path}/url", MAX_URL)


_BLOCK_RULES: dict[str, Callable[[_Checker, dict[str, Any], str], None]] = {
    "actions": _Checker.actions_block,
    "context": _Checker.context_block,
    "header": _Checker.header_block,
    "image": _Checker.image_block,
    "input": _Checker.input_block,
    "section": _Checker.section_block,
}
