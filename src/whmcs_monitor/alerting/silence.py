"""Silences: ad hoc mutes by label matchers with an expiry; their state derives from their times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from whmcs_monitor.alerting.candidates import Candidate
from whmcs_monitor.alerting.matchers import Matcher, matches_all, parse_matchers
from whmcs_monitor.alerting.tables import silences
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import as_utc


def silence_state(row: Row[Any], now: datetime) -> str:
    """``pending``, ``active`` or ``expired``: computed, never stored (Alertmanager's rule)."""
    if now < as_utc(row.starts_at):
        return "pending"
    return "active" if now < as_utc(row.ends_at) else "expired"


def create(
    conn: Connection,
    matchers: Sequence[str],
    *,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    now: datetime,
) -> int:
    if not matchers:
        raise InputError("a silence needs at least one matcher, like server=web1", field="matchers")
    try:
        parsed = parse_matchers(matchers)
    except ValueError as exc:
        raise InputError(str(exc), field="matchers") from exc
    if ends_at <= starts_at or ends_at <= now:
        raise InputError("a silence must end after it starts and in the future", field="ends_at")
    return int(
        conn.execute(
            silences.insert()
            .values(
                matchers=[str(m) for m in parsed],
                starts_at=starts_at,
                ends_at=ends_at,
                created_by=created_by,
                comment=comment,
                created_at=now,
            )
            .returning(silences.c.id)
        ).scalar_one()
    )


def expire(conn: Connection, silence_id: int, *, now: datetime) -> None:
    """End a silence now; an expired silence is history and cannot be changed."""
    row = conn.execute(sa.select(silences).where(silences.c.id == silence_id)).first()
    if row is None:
        raise InputError(f"there is no silence {silence_id}", status=404, field="silence")
    if silence_state(row, now) == "expired":
        raise InputError(f"silence {silence_id} has already expired")
    conn.execute(
        silences.update()
        .where(silences.c.id == silence_id)
        .values(ends_at=now, starts_at=min(as_utc(row.starts_at), now))
    )


class Silencer:
    def __init__(self, conn: Connection, now: datetime) -> None:
        rows = conn.execute(
            sa.select(silences).where(silences.c.starts_at <= now, silences.c.ends_at > now)
        )
        self.active: list[tuple[Row[Any], tuple[Matcher, ...]]] = [
            (row, parse_matchers(row.matchers)) for row in rows
        ]

    def mutes(self, candidate: Candidate) -> str | None:
        labels = candidate.labels
        for row, matchers in self.active:
            if matches_all(matchers, labels):
                until = as_utc(row.ends_at).strftime("%Y-%m-%d %H:%M UTC")
                return (
                    f"silenced by silence {row.id} ({row.created_by}: {row.comment}) until {until}"
                )
        return None
