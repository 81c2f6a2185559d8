"""Which instance polls a site: instances sharing a PostgreSQL store take turns, site by site.

Two instances polling one site at once would both see the same outage and each report it, and
each would read and rewrite the same outage and cursor state. A cycle therefore runs under a
transaction-scoped advisory lock keyed by the site, held on a connection of its own for the
whole cycle; an instance that cannot take it at once skips the site, since the holder is polling
it right now. The lock ends with its transaction, so a crashed instance never leaves a site
claimed. SQLite serves one process, whose worker polls its sites one after another: no lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from whmcs_monitor.store.db import Database, lock_key


@contextmanager
def site_claim(db: Database, site: str) -> Iterator[bool]:
    """Yield whether this instance holds ``site`` for the block; never waits for the holder."""
    if not db.is_postgres:
        yield True
        return
    with db.engine.connect() as conn, conn.begin():
        taken = conn.execute(
            sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key("poller", site)}
        ).scalar()
        yield bool(taken)
