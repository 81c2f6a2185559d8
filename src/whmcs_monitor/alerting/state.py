"""Alert state: one row per firing episode, keyed by fingerprint, with its full history.

Lifecycle: firing → acknowledged → resolved (acknowledging is optional). A fingerprint has at most
one open (not resolved) alert; firing again while open refreshes it instead of duplicating it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from whmcs_monitor.alerting.tables import alert_history, alerts
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import as_utc

OPEN_STATES = ("firing", "acknowledged")


def fingerprint(rule: str, site: str, group: Mapping[str, str]) -> str:
    material = json.dumps([rule, site, sorted(group.items())], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def record(
    conn: Connection, alert_id: int, action: str, *, at: datetime, actor: str, detail: str = ""
) -> None:
    conn.execute(
        alert_history.insert().values(
            alert_id=alert_id, at=at, action=action, actor=actor, detail=detail[:2000]
        )
    )


def open_alert(conn: Connection, fp: str) -> Row[Any] | None:
    return conn.execute(
        sa.select(alerts).where(alerts.c.fingerprint == fp, alerts.c.state.in_(OPEN_STATES))
    ).first()


def fire(
    conn: Connection,
    *,
    fp: str,
    rule: str,
    site: str,
    severity: str,
    labels: Mapping[str, str],
    summary: str,
    details: Mapping[str, Any],
    at: datetime,
) -> int:
    """Open an alert for ``fp`` or refresh the open one; returns its id."""
    current = open_alert(conn, fp)
    if current is not None:
        conn.execute(
            alerts.update()
            .where(alerts.c.id == current.id)
            .values(
                last_seen_at=max(as_utc(current.last_seen_at), at),
                event_count=current.event_count + 1,
                summary=summary,
                details=dict(details),
            )
        )
        return int(current.id)
    alert_id = conn.execute(
        alerts.insert()
        .values(
            fingerprint=fp,
            rule=rule,
            site=site,
            severity=severity,
            state="firing",
            labels=dict(labels),
            summary=summary,
            details=dict(details),
            event_count=1,
            starts_at=at,
            last_seen_at=at,
            escalated_to=[],
        )
        .returning(alerts.c.id)
    ).scalar_one()
    record(conn, alert_id, "fired", at=at, actor="rule", detail=summary)
    return int(alert_id)


def resolve(conn: Connection, alert_id: int, *, at: datetime, actor: str, reason: str) -> bool:
    """Resolve an open alert; ``False`` if it was already resolved."""
    changed = conn.execute(
        alerts.update()
        .where(alerts.c.id == alert_id, alerts.c.state.in_(OPEN_STATES))
        .values(state="resolved", ends_at=at)
    ).rowcount
    if changed:
        record(conn, alert_id, "resolved", at=at, actor=actor, detail=reason)
    return bool(changed)


def resolve_fingerprint(conn: Connection, fp: str, *, at: datetime, reason: str) -> bool:
    current = open_alert(conn, fp)
    return current is not None and resolve(conn, current.id, at=at, actor="rule", reason=reason)


def get(conn: Connection, alert_id: int) -> Row[Any]:
    row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
    if row is None:
        raise InputError(f"there is no alert {alert_id}", status=404, field="alert")
    return row


def acknowledge(
    conn: Connection, alert_id: int, *, actor: str, at: datetime, note: str = ""
) -> None:
    """Acknowledge a firing alert: it stops escalating and repeating until it resolves."""
    row = get(conn, alert_id)
    if row.state != "firing":
        raise InputError(
            f"alert {alert_id} is {row.state}; only a firing alert can be acknowledged"
        )
    conn.execute(
        alerts.update()
        .where(alerts.c.id == alert_id)
        .values(state="acknowledged", acked_by=actor, acked_at=at)
    )
    record(conn, alert_id, "acknowledged", at=at, actor=actor, detail=note)


def resolve_by_hand(
    conn: Connection, alert_id: int, *, actor: str, at: datetime, note: str
) -> None:
    row = get(conn, alert_id)
    if row.state == "resolved":
        raise InputError(f"alert {alert_id} is already resolved")
    resolve(conn, alert_id, at=at, actor=actor, reason=note or "resolved by hand")


def set_suppressed(conn: Connection, row: Row[Any], reason: str | None, *, at: datetime) -> None:
    """Store why the pipeline holds the alert back, and log each change of reason."""
    if row.suppressed == reason:
        return
    conn.execute(alerts.update().where(alerts.c.id == row.id).values(suppressed=reason))
    record(
        conn,
        row.id,
        "suppressed" if reason else "unsuppressed",
        at=at,
        actor="pipeline",
        detail=reason or "",
    )
