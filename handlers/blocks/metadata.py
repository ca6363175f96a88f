"""State carried in `private_metadata` and button values: small typed records, serialised here."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Self


class JsonState:
    """Mixin for frozen dataclasses that travel through Slack as JSON text (3,000 chars at most)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, text: str) -> Self:
        fields: dict[str, Any] = json.loads(text)
        return cls(**fields)
