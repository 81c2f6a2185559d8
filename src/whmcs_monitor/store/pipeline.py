"""Durable, per-consumer cursors over the event stream.

A consumer (the rule engine, the notifier...) processes events in ``seq`` order. Its cursor and its
own writes commit in the same transaction as the work, so a crash between stages loses nothing and
processes nothing twice. On PostgreSQL the cursor row is claimed ``FOR UPDATE SKIP LOCKED``: when
several instances share the database, exactly one of them advances a given consumer at a time and
the others return at once instead of queuing behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.db import dialect_insert
from whmcs_monitor.store.events import event_row_to_dict
from whmcs_monitor.store.tables import events, pipeline_cursors

Handler = Callable[[Connection, Sequence[dict[str, Any]]], None]


def _ensure_cursor(conn: Connection, consumer: str) -> None:
    conn.execute(
        dialect_insert(conn, pipeline_cursors)
        .values(consumer=consumer, position=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["consumer"])
    )


def _claim(conn: Connection, consumer: str) -> int | None:
    stmt = sa.select(pipeline_cursors.c.position).where(pipeline_cursors.c.consumer == consumer)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return conn.scalar(stmt)


def consume(conn: Connection, consumer: str, handler: Handler, *, limit: int = 500) -> int:
    """Hand the next events after ``consumer``'s cursor to ``handler``; return how many.

    Runs in the caller's write transaction, which ``handler`` writes its results through, and
    which may go on to act on them (the rule engine decides notifications in the same one).
    If anything raises before the commit, the cursor does not move and the same events are
    offered again next time.
    """
    position = _claim(conn, consumer)
    if position is None:  # a new consumer, or another instance holds it right now
        _ensure_cursor(conn, consumer)
        position = _claim(conn, consumer)
    if position is None:
        return 0
    rows = conn.execute(
        sa.select(events).where(events.c.seq > position).order_by(events.c.seq).limit(limit)
    ).all()
    if not rows:
        return 0
    batch = [event_row_to_dict(row._mapping) for row in rows]
    handler(conn, batch)
    conn.execute(
        pipeline_cursors.update()
        .where(pipeline_cursors.c.consumer == consumer)
        .values(position=batch[-1]["seq"], updated_at=utcnow())
    )
    return len(batch)


def positions(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(pipeline_cursors.c.consumer, pipeline_cursors.c.position))
    return {row.consumer: row.position for row in rows}
