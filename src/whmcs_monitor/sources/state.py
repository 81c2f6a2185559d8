"""Reading and writing the poller's cursors and state rows in the monitor's own store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from whmcs_monitor.sources.tables import poller_cursors, poller_state


def _upsert(
    conn: Connection, table: sa.Table, keys: dict[str, Any], values: dict[str, Any]
) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(**keys, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=values))


def get_position(conn: Connection, site: str, feed: str) -> str | None:
    row = conn.execute(
        sa.select(poller_cursors.c.position).where(
            poller_cursors.c.site == site, poller_cursors.c.feed == feed
        )
    ).first()
    return None if row is None else str(row.position)


def set_position(conn: Connection, site: str, feed: str, position: str, now: datetime) -> None:
    _upsert(
        conn,
        poller_cursors,
        {"site": site, "feed": feed},
        {"position": position, "updated_at": now},
    )


def positions(conn: Connection, site: str) -> dict[str, tuple[str, datetime]]:
    rows = conn.execute(sa.select(poller_cursors).where(poller_cursors.c.site == site))
    return {r.feed: (r.position, r.updated_at) for r in rows}


def get_state(conn: Connection, site: str, key: str) -> dict[str, Any]:
    row = conn.execute(
        sa.select(poller_state.c.value).where(
            poller_state.c.site == site, poller_state.c.key == key
        )
    ).first()
    return dict(row.value) if row is not None else {}


def set_state(conn: Connection, site: str, key: str, value: dict[str, Any], now: datetime) -> None:
    _upsert(conn, poller_state, {"site": site, "key": key}, {"value": value, "updated_at": now})


def clear_state(conn: Connection, site: str, key: str) -> None:
    conn.execute(
        sa.delete(poller_state).where(poller_state.c.site == site, poller_state.c.key == key)
    )
