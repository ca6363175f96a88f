"""Text as it arrives from outside (Slack, monitoring tools), cleaned once before anything reads it."""

from __future__ import annotations

import re
from typing import Any

# C0 control characters and DEL, except tab, newline and carriage return. PostgreSQL refuses
# NUL in text and SQLite keeps it; nobody means to type either, so they are dropped everywhere.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_characters(value: Any) -> Any:
    """`value` with control characters dropped from every string in it; containers are changed in place,
    so every view of a parsed body (Bolt's body, command, view, action) sees the same clean text."""
    if isinstance(value, str):
        return CONTROL_CHARACTERS.sub("", value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = without_control_characters(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = without_control_characters(item)
    return value
