"""``insert_events``: what it reports as new, and that its driver-level insert stores what
SQLAlchemy's own insert would."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.events.model import Event
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import insert_events
from whmcs_monitor.store.tables import events

AT = datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)


def _paid(invoice: int, *, site: str = "main") -> Event:
    return build_event(
        load_catalog().get("invoice.paid"),
        site=site,
        data={"invoiceid": invoice, "note": "ünïcode €", "nested": {"list": [1, 2.5, None]}},
        occurred_at=AT,
        received_at=AT,
        event_id=f"evt-{invoice}",
        context={"request": "client"},
        labels={"gateway": "stripe"},
    )


def test_it_reports_only_the_events_it_added_when_some_were_stored_before(db: Database) -> None:
    with db.write() as conn:
        assert insert_events(conn, [_paid(1), _paid(2)]) == {("main", "evt-1"), ("main", "evt-2")}
    batch = [_paid(2), _paid(3), _paid(3), _paid(1, site="eu"), _paid(1)]
    with db.write() as conn:
        added = insert_events(conn, batch)
    assert added == {("main", "evt-3"), ("eu", "evt-1")}
    with db.read() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(events)) == 4


def test_it_reports_nothing_for_a_batch_stored_before(db: Database) -> None:
    with db.write() as conn:
        insert_events(conn, [_paid(1)])
    with db.write() as conn:
        assert insert_events(conn, [_paid(1)]) == set()


def test_its_rows_are_the_rows_sqlalchemy_would_store(db: Database) -> None:
    """Same columns, same stored text for datetimes and JSON (compared as the database holds
    them, through plain SQL), whichever of the two inserts wrote the row."""
    mine = _paid(1)
    theirs = _paid(1, site="eu")
    with db.write() as conn:
        insert_events(conn, [mine])
        conn.execute(events.insert(), [theirs.to_row()])
    columns = ", ".join(
        f"CAST({c.key} AS TEXT)"
        for c in events.columns
        if c.key not in ("seq", "site", "fingerprint")
    )
    with db.read() as conn:
        rows = conn.execute(sa.text(f"SELECT {columns} FROM events ORDER BY seq")).all()
    assert rows[0] == rows[1]


def test_a_batch_larger_than_one_statement_is_stored_whole_and_in_order(db: Database) -> None:
    """SQLite takes a batch as several multi-row statements (256, 128, ... rows): every row of
    an odd-sized batch goes in once, in order, and ids stored before are skipped in any chunk."""
    with db.write() as conn:
        insert_events(conn, [_paid(n) for n in range(0, 700, 7)])
    batch = [_paid(n) for n in range(700)]  # 700 = 256 + 256 + 128 + 32 + 16 + 8 + 4
    with db.write() as conn:
        added = insert_events(conn, batch)
    assert added == {("main", f"evt-{n}") for n in range(700) if n % 7}
    with db.read() as conn:
        stored = conn.scalars(sa.select(events.c.event_id).order_by(events.c.seq)).all()
    fresh = [f"evt-{n}" for n in range(700) if n % 7]
    assert stored == [f"evt-{n}" for n in range(0, 700, 7)] + fresh
