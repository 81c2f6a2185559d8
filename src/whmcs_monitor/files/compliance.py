"""Audit-trail checks and export, and the data-protection duties for the monitor's own store.

``privacy export`` and ``privacy erase`` act on every event about one WHMCS client (the events'
``client_id`` subject) and on what the alerting part copied from them: the alerts whose latest
event was one of them (summary, details, labels taken from event fields), those alerts' history
and the notifications that carried them. Erasing deletes the events, overwrites those copies and
appends a tombstone to the audit trail (who erased which client id, how much, when), so the chain
stays verifiable: no audit record is edited. Retention pseudonymizes old events (payload emptied,
summary generic, subject ids and personal labels such as ``ip`` cleared; kind, time and the
other labels kept for statistics) and later purges them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

import sqlalchemy as sa

from whmcs_monitor.alerting.tables import alert_history, alerts, notifications
from whmcs_monitor.catalog.loader import SUBJECTS
from whmcs_monitor.config import Settings
from whmcs_monitor.events.normalize import fingerprint
from whmcs_monitor.files.emit import Emitter, site_for, store
from whmcs_monitor.lib.timeutil import as_utc, utcnow
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import event_row_to_dict
from whmcs_monitor.store.tables import audit_log, events

PSEUDONYMIZED_SUMMARY = "(pseudonymized after the retention period)"
ERASED = "(erased at the client's request)"
# Catalog labels whose values name or locate a person (a client's or an admin's login, IP).
PERSONAL_LABELS = frozenset({"ip", "username", "admin", "email"})
# Labels every alert has from its rule and event kind; never personal.
STRUCTURAL_LABELS = frozenset({"rule", "site", "severity", "category", "source", "kind"})
RETENTION_BATCH = 1000
# Events purged per transaction: about 0.1 s of SQLite's write lock, so ingest never waits longer.
PURGE_BATCH = 5000


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


def _client_events(conn: sa.Connection, client_id: int) -> list[Any]:
    query = sa.select(events).where(events.c.client_id == client_id).order_by(events.c.seq)
    return list(conn.execute(query))


@dataclass
class ClientRecords:
    """Everything the store holds about one client: its events, and the alerts (with their
    history) and notifications that repeat what those events said."""

    events: list[Any]
    alerts: list[Any]
    history: list[Any]
    notifications: list[Any]
    values: set[str]  # the values in its events, to recognise them in alert labels

    @property
    def alert_ids(self) -> set[int]:
        return {row.id for row in self.alerts}


def _alert_is_about(details: Mapping[str, Any] | None, client_id: int, seqs: set[int]) -> bool:
    """An alert carries the subjects and summary of its latest event (``details``)."""
    details = details or {}
    subjects = details.get("subjects") or {}
    event = details.get("event") or {}
    return subjects.get("client") == client_id or event.get("seq") in seqs


def _alert_ids_in(payload: Mapping[str, Any] | None) -> set[int]:
    return {doc.get("id") for doc in (payload or {}).get("alerts") or []}


def _scalars(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    elif value is not None and value != "":
        yield str(value)


def _client_records(conn: sa.Connection, client_id: int) -> ClientRecords:
    rows = _client_events(conn, client_id)
    seqs = {row.seq for row in rows}
    values = {str(client_id)}
    for row in rows:
        values.update(_scalars([row.payload, row.labels]))
    about = [
        row
        for row in conn.execute(sa.select(alerts).order_by(alerts.c.id))
        if _alert_is_about(row.details, client_id, seqs)
    ]
    ids = {row.id for row in about}
    history = []
    if ids:
        query = sa.select(alert_history).where(alert_history.c.alert_id.in_(ids))
        history = list(conn.execute(query.order_by(alert_history.c.id)))
    mentioning = [
        row
        for row in conn.execute(sa.select(notifications).order_by(notifications.c.id))
        if ids & _alert_ids_in(row.payload)
    ]
    return ClientRecords(rows, about, history, mentioning, values)


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def _alert_export(row: Any, history: list[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "rule": row.rule,
        "site": row.site,
        "severity": row.severity,
        "state": row.state,
        "summary": row.summary,
        "labels": dict(row.labels),
        "details": dict(row.details or {}),
        "starts_at": _iso(row.starts_at),
        "ends_at": _iso(row.ends_at),
        "history": [
            {"at": _iso(h.at), "action": h.action, "actor": h.actor, "detail": h.detail}
            for h in history
            if h.alert_id == row.id
        ],
    }


def export_client(db: Database, client_id: int) -> dict[str, Any]:
    """Everything the monitor holds about one client, as one JSON-ready document."""
    with db.read() as conn:
        found = _client_records(conn, client_id)
    return {
        "client_id": client_id,
        "exported_at": utcnow().isoformat(),
        "events": [event_row_to_dict(row._mapping) for row in found.events],
        "alerts": [_alert_export(row, found.history) for row in found.alerts],
        "notifications": [
            {
                "id": row.id,
                "receiver": row.receiver,
                "state": row.state,
                "created_at": _iso(row.created_at),
                "payload": row.payload,
            }
            for row in found.notifications
        ],
    }


@dataclass(frozen=True, slots=True)
class Erasure:
    events: int
    alerts: int
    notifications: int


def _erased_labels(labels: Mapping[str, str], values: set[str]) -> dict[str, str]:
    """Group labels come from event fields (an email, an IP): erase those that repeat one."""
    return {
        key: ERASED if key not in STRUCTURAL_LABELS and value in values else value
        for key, value in labels.items()
    }


def _erase_alerts(conn: sa.Connection, found: ClientRecords) -> None:
    """Keep each alert's place in the alerting state (rule, times, severity) but not what it
    said about the client; the history keeps who did what and when, not the text."""
    for row in found.alerts:
        event = (row.details or {}).get("event") or {}
        kept = {key: event[key] for key in ("kind", "occurred_at") if key in event}
        conn.execute(
            alerts.update()
            .where(alerts.c.id == row.id)
            .values(
                summary=ERASED,
                labels=_erased_labels(row.labels, found.values),
                details={"event": kept, "subjects": {}, "key_fields": {}},
            )
        )
    if found.alerts:
        conn.execute(
            alert_history.update()
            .where(alert_history.c.alert_id.in_(found.alert_ids))
            .values(detail=ERASED)
        )


def _erased_payload(payload: Mapping[str, Any], found: ClientRecords) -> dict[str, Any]:
    ids = found.alert_ids
    documents = []
    for doc in payload.get("alerts") or []:
        if doc.get("id") in ids:
            links = {k: v for k, v in (doc.get("links") or {}).items() if k != "whmcs"}
            labels = _erased_labels(doc.get("labels") or {}, found.values)
            doc = {**doc, "summary": ERASED, "key_fields": {}, "labels": labels, "links": links}
        documents.append(doc)
    group = _erased_labels(payload.get("group_labels") or {}, found.values)
    return {**payload, "alerts": documents, "group_labels": group}


def _erase_notifications(conn: sa.Connection, found: ClientRecords) -> None:
    for row in found.notifications:
        conn.execute(
            notifications.update()
            .where(notifications.c.id == row.id)
            .values(payload=_erased_payload(row.payload, found))
        )


def erase_client(db: Database, client_id: int, *, actor: str) -> Erasure:
    """Delete the client's events, erase what alerts and notifications repeat of them, and
    leave a tombstone in the audit trail."""
    with db.write() as conn:
        found = _client_records(conn, client_id)
        deleted = conn.execute(events.delete().where(events.c.client_id == client_id)).rowcount
        _erase_alerts(conn, found)
        _erase_notifications(conn, found)
        erasure = Erasure(int(deleted), len(found.alerts), len(found.notifications))
        audit.append(
            conn,
            actor=actor,
            action="privacy.erase",
            target=f"client:{client_id}",
            details={
                "events_deleted": erasure.events,
                "alerts_erased": erasure.alerts,
                "notifications_erased": erasure.notifications,
            },
        )
    return erasure


def _pseudonymize_batch(conn: sa.Connection, before: datetime, after_seq: int) -> list[int]:
    """Pseudonymize up to :data:`RETENTION_BATCH` events past ``after_seq``; their seqs.

    Labels that name or locate a person go, and the fingerprint is recomputed without them and
    without the subjects: a hash of one IPv4 address or client id is reversed by trying them all.
    """
    rows = conn.execute(
        sa.select(events.c.seq, events.c.site, events.c.kind, events.c.labels)
        .where(
            events.c.seq > after_seq,
            events.c.occurred_at < before,
            events.c.summary != PSEUDONYMIZED_SUMMARY,
        )
        .order_by(events.c.seq)
        .limit(RETENTION_BATCH)
    ).all()
    if not rows:
        return []
    changes = []
    for row in rows:
        labels = {k: v for k, v in dict(row.labels).items() if k not in PERSONAL_LABELS}
        changes.append(
            {"_seq": row.seq, "_labels": labels, "_fp": fingerprint(row.site, row.kind, labels, {})}
        )
    cleared: dict[str, Any] = {f"{s}_id": None for s in SUBJECTS}
    conn.execute(
        events.update()
        .where(events.c.seq == sa.bindparam("_seq"))
        .values(
            payload={},
            context={},
            summary=PSEUDONYMIZED_SUMMARY,
            labels=sa.bindparam("_labels"),
            fingerprint=sa.bindparam("_fp"),
            **cleared,
        ),
        changes,
    )
    return [row.seq for row in rows]


def _purge_batch(conn: sa.Connection, before: datetime) -> int:
    """Delete up to :data:`PURGE_BATCH` events that occurred before ``before``; how many.

    The seqs come from the ``occurred_at`` index: the rows deleted by the batches before are
    gone from it, so each batch reads only what it deletes.
    """
    batch = sa.select(events.c.seq).where(events.c.occurred_at < before).limit(PURGE_BATCH)
    return int(conn.execute(events.delete().where(events.c.seq.in_(batch))).rowcount)


def _purge(db: Database, before: datetime) -> int:
    purged = 0
    while True:
        with db.write() as conn:
            done = _purge_batch(conn, before)
        purged += done
        if done < PURGE_BATCH:
            return purged


def apply_retention(
    db: Database, settings: Settings, *, now: datetime | None = None
) -> tuple[int, int]:
    """Pseudonymize and purge events past ``files.privacy``'s ages; returns both counts.

    Both go in batches, each its own transaction, so a first run over a large store does not
    hold the write lock (and ingest, which waits for it) for seconds or minutes.
    """
    moment = now or utcnow()
    policy = settings.files.privacy
    purged = _purge(db, moment - policy.purge_after)
    pseudonymized, last = 0, 0
    while True:
        with db.write() as conn:
            done = _pseudonymize_batch(conn, moment - policy.pseudonymize_after, last)
        if not done:
            break
        pseudonymized, last = pseudonymized + len(done), done[-1]
    if pseudonymized or purged:
        with db.write() as conn:
            audit.append(
                conn,
                actor="monitor",
                action="privacy.retention",
                target="events",
                details={"pseudonymized": pseudonymized, "purged": purged},
            )
    return pseudonymized, purged
