"""Alert state: one row per firing episode, keyed by fingerprint, with its full history.

Lifecycle: firing → acknowledged → resolved (acknowledging is optional). A fingerprint has at most
one open (not resolved) alert; firing again while open refreshes it instead of duplicating it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from whmcs_monitor.alerting.tables import alert_changes, alert_history, alerts
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


def mark_changed(conn: Connection, ids: Iterable[int]) -> None:
    """Queue alerts for the notification pipeline, which reads only what changed (and what is due).

    Every change that can alter what is notified goes through here: a new alert, a resolve, an
    acknowledgement, and the pipeline's own "nothing more is owed" updates. A refresh of an open
    alert does not: the set of firing alerts, which decides notifications, stays the same.
    """
    rows = [{"alert_id": alert_id} for alert_id in ids]
    if rows:
        conn.execute(alert_changes.insert(), rows)


def open_alert(conn: Connection, fp: str) -> Row[Any] | None:
    return conn.execute(
        sa.select(alerts).where(alerts.c.fingerprint == fp, alerts.c.state.in_(OPEN_STATES))
    ).first()


@dataclass(frozen=True, slots=True)
class Firing:
    """One rule match to turn into an alert (new) or a refresh (open alert of the same fingerprint)."""

    fp: str
    rule: str
    site: str
    severity: str
    labels: Mapping[str, str]
    summary: str
    details: Mapping[str, Any]
    at: datetime


def fire(conn: Connection, firings: Sequence[Firing]) -> None:
    """Open or refresh the alerts for a batch of matches in a handful of statements."""
    if not firings:
        return
    by_fp: dict[str, list[Firing]] = {}
    for firing in firings:
        by_fp.setdefault(firing.fp, []).append(firing)
    current = {
        row.fingerprint: row
        for row in conn.execute(
            sa.select(
                alerts.c.id, alerts.c.fingerprint, alerts.c.event_count, alerts.c.last_seen_at
            ).where(alerts.c.fingerprint.in_(sorted(by_fp)), alerts.c.state.in_(OPEN_STATES))
        )
    }
    refreshed = []
    created = []
    for fp, matches in by_fp.items():
        last = matches[-1]
        row = current.get(fp)
        if row is not None:
            refreshed.append(
                {
                    "alert_id": row.id,
                    "seen": max([as_utc(row.last_seen_at), *(m.at for m in matches)]),
                    "count": row.event_count + len(matches),
                    "summary": last.summary,
                    "details": dict(last.details),
                }
            )
            continue
        first = matches[0]
        created.append(
            {
                "fingerprint": fp,
                "rule": first.rule,
                "site": first.site,
                "severity": first.severity,
                "state": "firing",
                "labels": dict(first.labels),
                "summary": last.summary,
                "details": dict(last.details),
                "event_count": len(matches),
                "starts_at": first.at,
                "last_seen_at": max(m.at for m in matches),
                "escalated_to": [],
            }
        )
    if refreshed:
        conn.execute(
            alerts.update()
            .where(alerts.c.id == sa.bindparam("alert_id"))
            .values(
                last_seen_at=sa.bindparam("seen"),
                event_count=sa.bindparam("count"),
                summary=sa.bindparam("summary"),
                details=sa.bindparam("details"),
            ),
            refreshed,
        )
    if created:
        rows = conn.execute(
            alerts.insert().returning(alerts.c.id, alerts.c.starts_at, alerts.c.summary), created
        ).all()
        mark_changed(conn, (r.id for r in rows))
        conn.execute(
            alert_history.insert(),
            [
                {
                    "alert_id": r.id,
                    "at": r.starts_at,
                    "action": "fired",
                    "actor": "rule",
                    "detail": r.summary[:2000],
                }
                for r in rows
            ],
        )


def resolve(conn: Connection, alert_id: int, *, at: datetime, actor: str, reason: str) -> bool:
    """Resolve an open alert; ``False`` if it was already resolved."""
    changed = conn.execute(
        alerts.update()
        .where(alerts.c.id == alert_id, alerts.c.state.in_(OPEN_STATES))
        .values(state="resolved", ends_at=at)
    ).rowcount
    if changed:
        mark_changed(conn, [alert_id])
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
    mark_changed(conn, [alert_id])
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
