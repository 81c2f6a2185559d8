"""The hash-chained audit trail names the first record that was tampered with."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.tables import audit_log

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


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


def _delete_newest(db: Database, n: int) -> list[int]:
    with db.write() as conn:
        ids = conn.scalars(sa.select(audit_log.c.id).order_by(audit_log.c.id)).all()
        conn.execute(audit_log.delete().where(audit_log.c.id.in_(ids[len(ids) - n :])))
    return list(ids)


def test_deleting_the_newest_records_is_detected(db: Database) -> None:
    _append(db, 5)
    ids = _delete_newest(db, 2)
    with db.read() as conn:
        result = audit.verify(conn)
    assert not result.ok and result.records == 3
    assert result.first_broken_id == ids[4]
    assert result.reason == (
        f"it is missing: the trail ends at record {ids[2]}, so the newest record(s) were deleted"
    )


def test_deleting_every_record_is_detected(db: Database) -> None:
    _append(db, 3)
    ids = _delete_newest(db, 3)
    with db.read() as conn:
        result = audit.verify(conn)
    assert (result.ok, result.records, result.first_broken_id) == (False, 0, ids[2])
    assert result.reason == "it is missing: every record of the trail was deleted"


def test_a_record_appended_after_a_truncation_does_not_hide_it(db: Database) -> None:
    _append(db, 3)
    _delete_newest(db, 1)
    _append(db, 1)
    with db.read() as conn:
        result = audit.verify(conn)
    assert not result.ok and result.reason == "its link to the previous record is broken"


def test_a_deleted_head_anchor_is_reported(db: Database) -> None:
    _append(db, 2)
    with db.write() as conn:
        conn.execute(audit.audit_head.delete())
    with db.read() as conn:
        result = audit.verify(conn)
    assert (result.ok, result.first_broken_id) == (False, None)
    assert result.reason.startswith("the head anchor (table audit_head) is missing")


def test_an_empty_trail_verifies(db: Database) -> None:
    with db.read() as conn:
        assert audit.verify(conn) == audit.VerifyResult(0)


def test_the_migration_anchors_an_existing_trail(database_url: str) -> None:
    from alembic import command

    database = Database(database_url)
    try:
        with database.write() as conn:  # a store as the version before the anchor left it
            command.upgrade(database._alembic_config(conn), "0003_event_indexes")
            prev = audit.GENESIS
            for target in ("u1", "u2", "u3"):
                digest = audit._digest(prev, T0, "alice", "user.create", target, "{}")
                conn.execute(
                    audit_log.insert().values(
                        at=T0,
                        actor="alice",
                        action="user.create",
                        target=target,
                        details="{}",
                        prev_hash=prev,
                        hash=digest,
                    )
                )
                prev = digest
        database.migrate()
        _delete_newest(database, 1)
        with database.read() as conn:
            assert audit.verify(conn).reason.startswith("it is missing: the trail ends at record")
    finally:
        database.dispose()
