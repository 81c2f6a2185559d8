"""Audit-trail checks and export, and the data-protection duties for the monitor's own store.

``privacy export`` and ``privacy erase`` act on every event about one WHMCS client (the events'
``client_id`` subject). Erasing deletes those events and appends a tombstone to the audit trail
(who erased which client id, how many events, when), so the chain stays verifiable: no audit
record is edited. Retention pseudonymizes old events (payload emptied, summary generic, subject
ids cleared; kind, time and labels kept for statistics) and later purges them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

import sqlalchemy as sa

from whmcs_monitor.catalog.loader import SUBJECTS
from whmcs_monitor.config import Settings
from whmcs_monitor.files.emit import Emitter, site_for, store
from whmcs_monitor.lib.timeutil import as_utc, utcnow
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import event_row_to_dict
from whmcs_monitor.store.tables import audit_log, events

PSEUDONYMIZED_SUMMARY = "(pseudonymized after the retention period)"


def check_audit_trail(db: Database, settings: Settings) -> audit.VerifyResult:
    """Verify the chain; a break becomes one compliance.audit_trail_broken event per break."""
    with db.read() as conn:
        result = audit.verify(conn)
    if not result.ok:
        event = Emitter(site_for(settings)).event(
            "compliance.audit_trail_broken",
            f"{result.first_broken_id}\0{result.reason}",
            {"entry": result.first_broken_id, "reason": result.reason, "records": result.records},
        )
        with db.write() as conn:
            store(conn, [event])
    return result


def export_audit(db: Database, sink: TextIO) -> int:
    """Write the audit trail as JSON Lines, oldest first; returns the record count."""
    count = 0
    with db.read() as conn:
        for row in conn.execute(sa.select(audit_log).order_by(audit_log.c.id)):
            record = {
                "id": row.id,
                "at": as_utc(row.at).isoformat(),
                "actor": row.actor,
                "action": row.action,
                "target": row.target,
                "details": json.loads(row.details) if row.details else {},
                "prev_hash": row.prev_hash,
                "hash": row.hash,
            }
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def _client_events(conn: sa.Connection, client_id: int) -> Iterator[Any]:
    yield from conn.execute(
        sa.select(events).where(events.c.client_id == client_id).order_by(events.c.seq)
    )


def export_client(db: Database, client_id: int) -> dict[str, Any]:
    """Everything the monitor holds about one client, as one JSON-ready document."""
    with db.read() as conn:
        rows = [event_row_to_dict(row._mapping) for row in _client_events(conn, client_id)]
    return {"client_id": client_id, "exported_at": utcnow().isoformat(), "events": rows}


def erase_client(db: Database, client_id: int, *, actor: str) -> int:
    """Delete the client's events and leave a tombstone in the audit trail; returns the count."""
    with db.write() as conn:
        deleted = conn.execute(events.delete().where(events.c.client_id == client_id)).rowcount
        audit.append(
            conn,
            actor=actor,
            action="privacy.erase",
            target=f"client:{client_id}",
            details={"events_deleted": deleted},
        )
    return int(deleted)


def apply_retention(
    db: Database, settings: Settings, *, now: datetime | None = None
) -> tuple[int, int]:
    """Pseudonymize and purge events past ``files.privacy``'s ages; returns both counts."""
    moment = now or utcnow()
    policy = settings.files.privacy
    pseudonymize_before = moment - policy.pseudonymize_after
    purge_before = moment - policy.purge_after
    cleared: dict[str, Any] = {f"{s}_id": None for s in SUBJECTS}
    with db.write() as conn:
        purged = conn.execute(events.delete().where(events.c.occurred_at < purge_before)).rowcount
        pseudonymized = conn.execute(
            events.update()
            .where(
                events.c.occurred_at < pseudonymize_before,
                events.c.summary != PSEUDONYMIZED_SUMMARY,
            )
            .values(payload={}, context={}, summary=PSEUDONYMIZED_SUMMARY, **cleared)
        ).rowcount
        if pseudonymized or purged:
            audit.append(
                conn,
                actor="monitor",
                action="privacy.retention",
                target="events",
                details={"pseudonymized": pseudonymized, "purged": purged},
            )
    return int(pseudonymized), int(purged)
