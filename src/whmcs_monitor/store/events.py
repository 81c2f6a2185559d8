"""Inserting and querying events. The dashboard, the API and the CLI share these queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from whmcs_monitor.events.model import Event
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.store.db import LOCK_EVENT_INSERT
from whmcs_monitor.store.tables import events


def insert_events(conn: Connection, batch: Sequence[Event]) -> set[tuple[str, str]]:
    """Insert what is new; return the (site, event_id) pairs actually inserted.

    The event-insert lock is held until the caller's transaction commits: sequence numbers then
    become visible in commit order (without it a pipeline consumer on PostgreSQL could move past
    a ``seq`` whose transaction commits later, and never see that event), and the ids read here
    cannot be inserted by anyone else meanwhile. SQLite's write lock gives both already.
    ``ON CONFLICT DO NOTHING`` stays as the last line of defence; a plain multi-row insert is
    much cheaper than ``RETURNING`` for large batches.
    """
    if not batch:
        return set()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_EVENT_INSERT})
    wanted = {(e.site, e.event_id) for e in batch}
    existing: set[tuple[str, str]] = set()
    for site in {site for site, _ in wanted}:
        ids = [event_id for s, event_id in wanted if s == site]
        for start in range(0, len(ids), 500):
            stmt = sa.select(events.c.event_id).where(
                events.c.site == site, events.c.event_id.in_(ids[start : start + 500])
            )
            existing.update((site, event_id) for event_id in conn.scalars(stmt))
    fresh: dict[tuple[str, str], Event] = {}
    for event in batch:
        key = (event.site, event.event_id)
        if key not in existing:
            fresh.setdefault(key, event)
    if fresh:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = insert(events).on_conflict_do_nothing(index_elements=["site", "event_id"])
        conn.execute(statement, [e.to_row() for e in fresh.values()])
    return set(fresh)


@dataclass(frozen=True, slots=True)
class EventFilter:
    since: datetime | None = None
    until: datetime | None = None
    kinds: Sequence[str] = ()
    categories: Sequence[str] = ()
    sites: Sequence[str] = ()
    severities: Sequence[str] = ()
    text: str | None = None
    limit: int = 100
    before_seq: int | None = None


def query_events(conn: Connection, flt: EventFilter) -> list[dict[str, Any]]:
    """Newest first; ``before_seq`` pages backwards through the result."""
    stmt = sa.select(events).order_by(events.c.seq.desc()).limit(flt.limit)
    if flt.since is not None:
        stmt = stmt.where(events.c.occurred_at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(events.c.occurred_at < flt.until)
    if flt.kinds:
        stmt = stmt.where(events.c.kind.in_(flt.kinds))
    if flt.categories:
        stmt = stmt.where(events.c.category.in_(flt.categories))
    if flt.sites:
        stmt = stmt.where(events.c.site.in_(flt.sites))
    if flt.severities:
        stmt = stmt.where(events.c.severity.in_(flt.severities))
    if flt.text:
        stmt = stmt.where(events.c.summary.ilike(f"%{flt.text}%"))
    if flt.before_seq is not None:
        stmt = stmt.where(events.c.seq < flt.before_seq)
    return [event_row_to_dict(row._mapping) for row in conn.execute(stmt)]


def event_row_to_dict(row: Any) -> dict[str, Any]:
    """A stored event as the JSON document the API and ``events --json`` print."""
    subjects = {
        name[: -len("_id")]: row[name]
        for name in row
        if name.endswith("_id") and name != "event_id" and row[name] is not None
    }
    return {
        "seq": row["seq"],
        "id": row["event_id"],
        "site": row["site"],
        "kind": row["kind"],
        "category": row["category"],
        "severity": row["severity"],
        "source": row["source"],
        "hook": row["hook"],
        "occurred_at": _iso(row["occurred_at"]),
        "received_at": _iso(row["received_at"]),
        "summary": row["summary"],
        "subjects": subjects,
        "labels": row["labels"],
        "payload": row["payload"],
        "context": row["context"],
        "fingerprint": row["fingerprint"],
    }


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def kinds_seen_since(
    conn: Connection, since: datetime, *, exclude_sites: Sequence[str] = ()
) -> set[str]:
    stmt = sa.select(events.c.kind).where(events.c.occurred_at >= since).distinct()
    if exclude_sites:
        stmt = stmt.where(events.c.site.not_in(exclude_sites))
    return set(conn.scalars(stmt))


def sites_with_source(
    conn: Connection, source: str, *, exclude_sites: Sequence[str] = ()
) -> set[str]:
    """Sites that have ever sent an event of this source (e.g. the hook module is installed)."""
    stmt = sa.select(events.c.site).where(events.c.source == source).distinct()
    if exclude_sites:
        stmt = stmt.where(events.c.site.not_in(exclude_sites))
    return set(conn.scalars(stmt))


def max_seq(conn: Connection) -> int:
    return int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(events.c.seq), 0))) or 0)
