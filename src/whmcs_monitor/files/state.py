"""Small JSON state documents per site and key (log offsets, last reports, open findings)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.files.tables import files_state
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.db import dialect_insert


def load(conn: Connection, site: str, key: str) -> dict[str, Any]:
    value = conn.scalar(
        sa.select(files_state.c.value).where(files_state.c.site == site, files_state.c.key == key)
    )
    return dict(value) if isinstance(value, dict) else {}


def save(conn: Connection, site: str, key: str, value: dict[str, Any]) -> None:
    stmt = dialect_insert(conn, files_state).values(
        site=site, key=key, value=value, updated_at=utcnow()
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["site", "key"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
    )
