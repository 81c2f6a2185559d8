"""A notification rendered for a channel: title, text and HTML bodies, and the JSON document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    """What a channel sends; ``document`` is the versioned webhook payload."""

    title: str
    text: str
    html: str
    document: dict[str, Any]
    severity: str = "warning"
