"""The hash-chained audit trail names the first record that was tampered with."""

from __future__ import annotations

import sqlalchemy as sa

from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.tables import audit_log


def _append(db: Database, n: int) -> None:
    for i in range(n):
        with db.write() as conn:
            audit.append(
                conn, actor="alice", action="silence.create", target=f"s{i}", details={"i": i}
            )


def test_an_untouched_chain_verifies(db: Database) -> None:
    _append(db, 5)
    with db.read() as conn:
        result = audit.verify(conn)
    assert result.ok and result.records == 5


def test_an_edited_record_is_named(db: Database) -> None:
    _append(db, 5)
    with db.write() as conn:
        third = conn.scalars(sa.select(audit_log.c.id).order_by(audit_log.c.id)).all()[2]
        conn.execute(audit_log.update().where(audit_log.c.id == third).values(actor="mallory"))
    with db.read() as conn:
        result = audit.verify(conn)
    assert result.first_broken_id == third
    assert result.reason == "its content does not match its hash"


def test_a_deleted_record_breaks_the_next_link(db: Database) -> None:
    _append(db, 5)
    with db.write() as conn:
        ids = conn.scalars(sa.select(audit_log.c.id).order_by(audit_log.c.id)).all()
        conn.execute(audit_log.delete().where(audit_log.c.id == ids[1]))
    with db.read() as conn:
        result = audit.verify(conn)
    assert result.first_broken_id == ids[2]
    assert result.reason == "its link to the previous record is broken"
