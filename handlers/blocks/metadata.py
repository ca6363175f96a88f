"""State carried in `private_metadata`, button values and block ids: small typed records, serialised here.

Each record is a frozen dataclass validated by pydantic when it comes back from Slack. The
JSON carries a version (`v`); a message posted before a field was added or renamed still
parses while its version is one this code reads, and anything else (hand-edited, truncated,
from a future version) is refused as out of date, changing nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import cache
from typing import Any, ClassVar, Self

from pydantic import TypeAdapter, ValidationError

from bot.errors import UserError

VERSION_FIELD = "v"


class StaleState(UserError):
    """A button, block or form carried state this version of the app cannot read."""


@cache
def _adapter(state_class: type) -> TypeAdapter[Any]:
    return TypeAdapter(state_class)


class JsonState:
    """Mixin for frozen dataclasses that travel through Slack as JSON text (255 to 3,000 chars at most)."""

    VERSION: ClassVar[int] = 1
    # The command that brings up a fresh copy of the message or form carrying this state.
    RERUN: ClassVar[str] = "/pmo help"

    def to_json(self) -> str:
        fields = {VERSION_FIELD: self.VERSION, **asdict(self)}  # type: ignore[call-overload]
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Self:
        """The record in `text`; StaleState (a UserError, so the user is told) if it is not one."""
        try:
            fields: Any = json.loads(text)
            if not isinstance(fields, dict):
                raise ValueError("not a JSON object")
            # Messages from before versions were written carry none: they are version 1.
            version = fields.pop(VERSION_FIELD, 1)
            if version != cls.VERSION:
                raise ValueError(f"version {version!r}, expected {cls.VERSION}")
            return _adapter(cls).validate_python(fields, strict=False)
        except (ValueError, TypeError, ValidationError) as problem:  # JSONDecodeError is a ValueError
            raise StaleState(f"This button is out of date; run `{cls.RERUN}` again.") from problem
