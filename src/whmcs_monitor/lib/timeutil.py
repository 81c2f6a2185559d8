"""Time helpers: the store may hand back naive datetimes (SQLite); everything here is UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """SQLite drops the zone; values were written in UTC, so a naive one is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_utc_or_none(value: datetime | None) -> datetime | None:
    """For nullable columns."""
    return as_utc(value) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; a value without a zone is refused, not guessed."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("has no time zone (add Z or an offset such as +00:00)")
    return value.astimezone(UTC)
