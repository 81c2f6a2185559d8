"""Durable per-consumer cursors: nothing lost on failure, nothing processed twice."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.engine import Connection

from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import insert_events, max_seq
from whmcs_monitor.store.pipeline import Handler, consume, positions
from whmcs_monitor.store.tables import events


def consume_in(db: Database, consumer: str, handler: Handler, *, limit: int = 500) -> int:
    """One consume in a write transaction of its own, as the rule engine runs it."""
    with db.write() as conn:
        return consume(conn, consumer, handler, limit=limit)


def _store(db: Database, n: int) -> None:
    entry = load_catalog().get("invoice.paid")
    batch = [build_event(entry, site="main", data={"invoiceid": i}) for i in range(n)]
    with db.write() as conn:
        insert_events(conn, batch)


def test_a_consumer_sees_each_event_once_in_order(db: Database) -> None:
    _store(db, 25)
    seen: list[int] = []

    def handler(_: Connection, batch: Sequence[dict[str, Any]]) -> None:
        seen.extend(e["subjects"]["invoice"] for e in batch)

    while consume_in(db, "rules", handler, limit=10):
        pass
    assert seen == list(range(25))
    _store(db, 3)
    assert consume_in(db, "rules", handler) == 3
    assert seen[-3:] == [0, 1, 2] and len(seen) == 28


def test_a_failing_handler_leaves_the_cursor_where_it_was(db: Database) -> None:
    _store(db, 5)

    def broken(_: Connection, __: Sequence[dict[str, Any]]) -> None:
        raise RuntimeError("crash between stages")

    with pytest.raises(RuntimeError):
        consume_in(db, "notify", broken)
    with db.read() as conn:
        assert positions(conn).get("notify", 0) == 0  # not registered, or still at 0
    got: list[int] = []
    assert consume_in(db, "notify", lambda _c, b: got.extend(e["seq"] for e in b)) == 5
    assert len(got) == 5


def test_consumers_keep_separate_cursors(db: Database) -> None:
    _store(db, 4)
    assert consume_in(db, "a", lambda _c, _b: None) == 4
    assert consume_in(db, "b", lambda _c, _b: None) == 4
    assert consume_in(db, "a", lambda _c, _b: None) == 0


def test_two_workers_sharing_a_consumer_never_process_an_event_twice(db: Database) -> None:
    _store(db, 400)
    seen: list[int] = []
    lock = threading.Lock()

    def handler(_: Connection, batch: Sequence[dict[str, Any]]) -> None:
        with lock:
            seen.extend(e["seq"] for e in batch)

    def worker() -> None:
        for _ in range(200):
            consume_in(db, "shared", handler, limit=7)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while consume_in(db, "shared", handler, limit=50):
        pass
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 400


def test_a_consumer_running_beside_concurrent_writers_misses_nothing(db: Database) -> None:
    entry = load_catalog().get("invoice.paid")
    seen: list[int] = []
    done = threading.Event()

    def writer(offset: int) -> None:
        for i in range(40):
            with db.write() as conn:
                insert_events(
                    conn, [build_event(entry, site="main", data={"invoiceid": offset + i})]
                )

    def consumer() -> None:
        while not done.is_set():
            consume_in(db, "live", lambda _c, b: seen.extend(e["subjects"]["invoice"] for e in b))

    reader = threading.Thread(target=consumer)
    reader.start()
    writers = [threading.Thread(target=writer, args=(n * 1000,)) for n in range(3)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    while consume_in(db, "live", lambda _c, b: seen.extend(e["subjects"]["invoice"] for e in b)):
        pass
    assert sorted(seen) == sorted(n * 1000 + i for n in range(3) for i in range(40))


def test_events_stored_after_the_newest_were_deleted_reach_the_consumer(db: Database) -> None:
    """An erasure or a retention purge may delete the newest events after a consumer passed
    them: the events stored next must still be numbered past every seq ever handed out."""
    _store(db, 5)
    assert consume_in(db, "rules", lambda _c, _b: None) == 5
    with db.write() as conn:
        handed_out = max_seq(conn)
        conn.execute(events.delete().where(events.c.seq > handed_out - 2))
    _store(db, 3)
    got: list[int] = []
    assert consume_in(db, "rules", lambda _c, b: got.extend(e["seq"] for e in b)) == 3
    assert min(got) > handed_out
