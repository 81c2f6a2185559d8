"""Read-only queries for the dashboard, the API and the CLI; each returns plain dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.alerting.silence import silence_state
from whmcs_monitor.alerting.state import OPEN_STATES
from whmcs_monitor.alerting.tables import alert_history, alerts, deliveries, notifications, silences
from whmcs_monitor.config import Settings
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import as_utc


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _alert(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "fingerprint": row.fingerprint,
        "rule": row.rule,
        "site": row.site,
        "severity": row.severity,
        "state": row.state,
        "labels": dict(row.labels),
        "summary": row.summary,
        "details": dict(row.details),
        "event_count": row.event_count,
        "starts_at": _iso(row.starts_at),
        "last_seen_at": _iso(row.last_seen_at),
        "ends_at": _iso(row.ends_at),
        "acked_by": row.acked_by,
        "acked_at": _iso(row.acked_at),
        "suppressed": row.suppressed,
        "notified_at": _iso(row.notified_at),
        "resolved_notified_at": _iso(row.resolved_notified_at),
        "escalated_to": list(row.escalated_to),
    }


def list_alerts(
    conn: Connection, *, states: tuple[str, ...] = OPEN_STATES, limit: int = 200
) -> list[dict[str, Any]]:
    """Newest first; ``states`` empty means every state."""
    stmt = sa.select(alerts).order_by(alerts.c.id.desc()).limit(limit)
    if states:
        stmt = stmt.where(alerts.c.state.in_(states))
    return [_alert(row) for row in conn.execute(stmt)]


def get_alert(conn: Connection, alert_id: int) -> dict[str, Any]:
    """One alert with its history (oldest first) and the notifications that carried it."""
    row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
    if row is None:
        raise InputError(f"there is no alert {alert_id}", status=404, field="alert")
    doc = _alert(row)
    doc["history"] = [
        {"at": _iso(h.at), "action": h.action, "actor": h.actor, "detail": h.detail}
        for h in conn.execute(
            sa.select(alert_history)
            .where(alert_history.c.alert_id == alert_id)
            .order_by(alert_history.c.id)
        )
    ]
    doc["notifications"] = [
        {
            "id": n.id,
            "receiver": n.receiver,
            "reason": n.reason,
            "state": n.state,
            "created_at": _iso(n.created_at),
            "delivered_at": _iso(n.delivered_at),
        }
        for n in conn.execute(sa.select(notifications).order_by(notifications.c.id))
        if any(a.get("id") == alert_id for a in n.payload.get("alerts", []))
    ]
    return doc


def list_silences(
    conn: Connection, now: datetime, *, include_expired: bool = False
) -> list[dict[str, Any]]:
    out = []
    for row in conn.execute(sa.select(silences).order_by(silences.c.id.desc())):
        current = silence_state(row, now)
        if current == "expired" and not include_expired:
            continue
        out.append(
            {
                "id": row.id,
                "matchers": list(row.matchers),
                "state": current,
                "starts_at": _iso(row.starts_at),
                "ends_at": _iso(row.ends_at),
                "created_by": row.created_by,
                "comment": row.comment,
            }
        )
    return out


def list_receivers(settings: Settings) -> list[dict[str, Any]]:
    """Receivers with their channel described without secrets."""
    return [
        {
            "name": r.name,
            "kind": r.kind,
            "target": r.channel().describe(),
            "quiet_hours": r.quiet_hours.model_dump(mode="json") if r.quiet_hours else None,
            "max_attempts": r.max_attempts,
        }
        for r in settings.alerting.receivers
    ]


def list_deliveries(
    conn: Connection, *, receiver: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    stmt = sa.select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    if receiver is not None:
        stmt = stmt.where(deliveries.c.receiver == receiver)
    return [
        {
            "id": row.id,
            "receiver": row.receiver,
            "notification_ids": list(row.notification_ids),
            "attempt": row.attempt,
            "at": _iso(row.at),
            "outcome": row.outcome,
            "status": row.status,
            "error": row.error,
            "duration_ms": row.duration_ms,
        }
        for row in conn.execute(stmt)
    ]


def outbox_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        sa.select(notifications.c.state, sa.func.count()).group_by(notifications.c.state)
    )
    return {state: int(count) for state, count in rows}
