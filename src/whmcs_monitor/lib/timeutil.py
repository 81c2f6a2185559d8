"""Time helpers: the store may hand back naive datetimes (SQLite); everything here is UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# RFC 3339 section 5.6 ``date-time``; ``T``/``Z`` in either case, and a space for ``T`` (its note).
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:(\d{2})(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})"
)


def as_utc(value: datetime) -> datetime:
    """SQLite drops the zone; values were written in UTC, so a naive one is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_utc_or_none(value: datetime | None) -> datetime | None:
    """For nullable columns."""
    return as_utc(value) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; a value without a zone is refused, not guessed.

    ``datetime.fromisoformat`` alone takes much of ISO 8601 that RFC 3339 does not (week dates,
    ``+0200``, no seconds), so the grammar is checked first. A leap second (``:60``) is read as
    ``:59``, which Python can represent.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        if _RFC3339.fullmatch(text + "Z"):
            raise ValueError("has no time zone (add Z or an offset such as +00:00)")
        raise ValueError("is not an RFC 3339 timestamp")
    if match.group(1) == "60":
        text = text[: match.start(1)] + "59" + text[match.end(1) :]
    value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    return value.astimezone(UTC)
