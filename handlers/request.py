"""The one request path every Slack request takes before its listener: a global Bolt middleware.

It cleans what Slack delivered, so listeners and the domain see the same text on SQLite and
PostgreSQL, and fills in what a listener may rely on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest

# C0 control characters and DEL, except tab, newline and carriage return. PostgreSQL refuses
# NUL in text and SQLite keeps it; nobody means to type either, so they are dropped everywhere.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_characters(value: Any) -> Any:
    """`value` with control characters dropped from every string in it; containers are changed in place,
    so every view Bolt gives a listener (body, command, view, action) sees the same clean text."""
    if isinstance(value, str):
        return CONTROL_CHARACTERS.sub("", value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = without_control_characters(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = without_control_characters(item)
    return value


def clean_body(req: BoltRequest, next: Callable[[], None]) -> None:  # noqa: A002 (Bolt's argument name)
    body = without_control_characters(req.body)
    view = body.get("view") if body.get("type") in ("view_submission", "view_closed") else None
    if isinstance(view, dict):
        state = view.get("state")
        # A form submitted without `state.values` (no inputs, or a client that left it out) is an empty form.
        if not isinstance(state, dict) or not isinstance(state.get("values"), dict):
            view["state"] = {**(state if isinstance(state, dict) else {}), "values": {}}
    next()
