"""Operator actions on alerts and silences; each one commits with its audit-trail record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from whmcs_monitor.alerting import silence, state
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
