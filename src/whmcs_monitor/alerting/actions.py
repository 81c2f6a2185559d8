"""Operator actions on alerts and silences; each one commits with its audit-trail record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from whmcs_monitor.alerting import silence, state
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database


def acknowledge(db: Database, alert_id: int, *, actor: str, note: str = "") -> None:
    with db.write() as conn:
        state.acknowledge(conn, alert_id, actor=actor, at=utcnow(), note=note)
        audit.append(
            conn,
            actor=actor,
            action="alert.acknowledge",
            target=f"alert:{alert_id}",
            details={"note": note},
        )


def resolve(db: Database, alert_id: int, *, actor: str, note: str = "") -> None:
    with db.write() as conn:
        state.resolve_by_hand(conn, alert_id, actor=actor, at=utcnow(), note=note)
        audit.append(
            conn,
            actor=actor,
            action="alert.resolve",
            target=f"alert:{alert_id}",
            details={"note": note},
        )


# A silence is for an incident or a maintenance: longer than a year is a typo (999999999w).
MAX_SILENCE = timedelta(days=366)
# Maintenance may be scheduled years ahead (2099 is fine); the year 9999 is a typo, and its end
# would fall past the last date a datetime holds.
MAX_SILENCE_LEAD = timedelta(days=36_500)


def _check_silence_span(now: datetime, start: datetime, duration: timedelta) -> None:
    if duration > MAX_SILENCE:
        raise InputError(
            f"duration: a silence lasts at most {MAX_SILENCE.days} days", field="duration"
        )
    if start - now > MAX_SILENCE_LEAD:
        raise InputError("starts_at: a silence starts within 100 years from now", field="starts_at")


def add_silence(
    db: Database,
    matchers: Sequence[str],
    *,
    duration: timedelta,
    actor: str,
    comment: str,
    starts_at: datetime | None = None,
) -> int:
    now = utcnow()
    start = starts_at or now
    _check_silence_span(now, start, duration)
    with db.write() as conn:
        silence_id = silence.create(
            conn,
            matchers,
            starts_at=start,
            ends_at=start + duration,
            created_by=actor,
            comment=comment,
            now=now,
        )
        audit.append(
            conn,
            actor=actor,
            action="silence.create",
            target=f"silence:{silence_id}",
            details={
                "matchers": list(matchers),
                "starts_at": start.isoformat(),
                "ends_at": (start + duration).isoformat(),
                "comment": comment,
            },
        )
    return silence_id


def expire_silence(db: Database, silence_id: int, *, actor: str) -> None:
    with db.write() as conn:
        silence.expire(conn, silence_id, now=utcnow())
        audit.append(conn, actor=actor, action="silence.expire", target=f"silence:{silence_id}")
