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


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, line breaks included, made one space.

    Titles come from event summaries, which quote WHMCS and module answers that often hold CR/LF;
    a title becomes a mail Subject, where a line break is refused (it would start a new header).
    """
    return " ".join(text.split())
