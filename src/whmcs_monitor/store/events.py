"""Inserting and querying events. The dashboard, the API and the CLI share these queries."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from whmcs_monitor.events.model import Event
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.store.db import LOCK_EVENT_INSERT, advisory_lock
from whmcs_monitor.store.tables import events


def insert_events(conn: Connection, batch: Sequence[Event]) -> set[tuple[str, str]]:
    """Insert what is new; return the (site, event_id) pairs actually inserted."""
    return insert_prepared(conn, [prepare_events(conn.dialect, batch)])


_Params = tuple[Any, ...] | dict[str, Any]


@dataclass(frozen=True, slots=True)
class PreparedEvents:
    """A batch turned into the driver's parameters for :func:`insert_prepared`, one per id.

    Preparing is plain Python and needs no connection. The group-commit writer prepares each
    request's batch on the event loop, so that its own thread spends its time in SQLite, which
    runs without the GIL, instead of taking turns with the loop for it.
    """

    keys: tuple[tuple[str, str], ...]  # (site, event_id), in the order of ``params``
    params: list[_Params]


def prepare_events(dialect: Dialect, batch: Iterable[Event]) -> PreparedEvents:
    fresh: dict[tuple[str, str], Event] = {}
    for event in batch:
        fresh.setdefault((event.site, event.event_id), event)  # the first of a repeated id wins
    return PreparedEvents(tuple(fresh), _driver_insert(dialect).parameters(fresh.values()))


def insert_prepared(conn: Connection, batches: Sequence[PreparedEvents]) -> set[tuple[str, str]]:
    """Insert what is new in ``batches``; return the (site, event_id) pairs actually inserted.

    The event-insert lock is held until the caller's transaction commits: sequence numbers then
    become visible in commit order (without it a pipeline consumer on PostgreSQL could move past
    a ``seq`` whose transaction commits later, and never see that event), and no one else can
    insert events meanwhile. SQLite's write lock gives both already.

    ``ON CONFLICT DO NOTHING`` skips ids stored before. When the insert's row count says that
    some were skipped, the rows numbered after the ``seq`` read before inserting are exactly the
    ones this call added (the lock keeps everyone else out), so the common case, a batch of new
    events, costs no lookup beyond the unique index the insert probes anyway.
    """
    keys: dict[tuple[str, str], _Params] = {}
    for batch in batches:
        for key, params in zip(batch.keys, batch.params, strict=True):
            keys.setdefault(key, params)
    if not keys:
        return set()
    advisory_lock(conn, LOCK_EVENT_INSERT)
    head = max_seq(conn)
    if _driver_insert(conn.dialect).run(conn, list(keys.values())) == len(keys):
        return set(keys)
    added = sa.select(events.c.site, events.c.event_id).where(events.c.seq > head)
    return {(site, event_id) for site, event_id in conn.execute(added)}


@dataclass(frozen=True, slots=True)
class _DriverInsert:
    """The ``events`` insert as the driver takes it: SQL compiled once, each column's processor.

    ``Connection.execute(insert(events), rows)`` spends more time in SQLAlchemy's per-row
    parameter handling than SQLite spends inserting (about 40 µs an event). The values here go
    through the same bind processors SQLAlchemy would apply (its datetime format for SQLite, its
    JSON serializer, psycopg's ``Jsonb``), so the stored rows are identical; only the per-row
    bookkeeping is skipped.
    """

    sql: str
    keys: tuple[str, ...]
    values: Callable[[dict[str, Any]], tuple[Any, ...]]  # a row's values in ``keys`` order
    conversions: tuple[tuple[int, Callable[[Any], Any], bool], ...]  # (position, process, memo)
    positional: bool

    @classmethod
    def compile(cls, dialect: Dialect) -> _DriverInsert:
        keys = tuple(column.key for column in events.columns if column.key != "seq")
        insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        statement = insert(events).on_conflict_do_nothing(index_elements=["site", "event_id"])
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if dialect.positional:
            keys = tuple(compiled.positiontup or ())
        conversions = []
        for position, key in enumerate(keys):
            column_type = events.c[key].type
            process = column_type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                conversions.append((position, process, isinstance(column_type, sa.DateTime)))
        return cls(
            compiled.string,
            keys,
            operator.itemgetter(*keys),
            tuple(conversions),
            dialect.positional,
        )

    def parameters(self, batch: Iterable[Event]) -> list[_Params]:
        rows = [list(self.values(event.to_row())) for event in batch]
        for position, process, memo in self.conversions:
            if memo:
                _convert_distinct(rows, position, process)
            else:
                for row in rows:
                    row[position] = process(row[position])
        if self.positional:
            return [tuple(row) for row in rows]
        return [dict(zip(self.keys, row, strict=True)) for row in rows]

    def run(self, conn: Connection, params: list[_Params]) -> int:
        """Insert the rows of ``params``; the number stored (ids stored before are skipped).

        On SQLite, rows go in as multi-row ``VALUES`` statements of up to
        :data:`_ROWS_PER_STATEMENT` rows. ``executemany`` steps once per row, and each step hands
        the GIL back: while the event loop was busy reading the next requests, the writer thread
        waited for it again after every row, and a 100-row insert that needs 3 ms took 50-100 ms.
        One statement per few hundred rows waits a few times per group instead.
        """
        if conn.dialect.name != "sqlite":
            return conn.exec_driver_sql(self.sql, params).rowcount
        stored = 0
        start = 0
        while start < len(params):
            # Sizes are powers of two, so a handful of statements cover every batch and stay
            # in the driver's statement cache.
            size = min(_ROWS_PER_STATEMENT, 1 << ((len(params) - start).bit_length() - 1))
            values = tuple(value for row in params[start : start + size] for value in row)
            stored += conn.exec_driver_sql(_many_rows(self.sql, size), values).rowcount
            start += size
        return stored


def _convert_distinct(rows: list[list[Any]], position: int, process: Callable[[Any], Any]) -> None:
    """Convert each distinct value once: a request's events share their receipt time, and often
    their occurrence time. (A dict, not ``lru_cache``: building a cached wrapper for each batch
    cost more than a one-event batch saved.)"""
    converted: dict[Any, Any] = {}
    for row in rows:
        value = row[position]
        if value not in converted:
            converted[value] = process(value)
        row[position] = converted[value]


_ROWS_PER_STATEMENT = 256  # 23 columns each: well inside SQLite's 32,766 variables


@functools.lru_cache(maxsize=16)
def _many_rows(sql: str, rows: int) -> str:
    """``INSERT ... VALUES (?, ...) ON CONFLICT ...`` with ``rows`` value lists."""
    head, _, rest = sql.partition(" VALUES ")
    one_row, _, tail = rest.partition(") ")
    return f"{head} VALUES " + ", ".join([f"{one_row})"] * rows) + f" {tail}"


_DRIVER_INSERTS: dict[tuple[str, str], _DriverInsert] = {}


def _driver_insert(dialect: Dialect) -> _DriverInsert:
    key = (dialect.name, dialect.driver)
    if key not in _DRIVER_INSERTS:
        _DRIVER_INSERTS[key] = _DriverInsert.compile(dialect)
    return _DRIVER_INSERTS[key]


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
        # autoescape: a search for "100%" or "a_b" means those characters, not wildcards.
        stmt = stmt.where(events.c.summary.icontains(flt.text, autoescape=True))
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


# Built once: constructing a statement costs more than running this one (every insert reads it).
_MAX_SEQ = sa.select(sa.func.coalesce(sa.func.max(events.c.seq), 0))


def max_seq(conn: Connection) -> int:
    return int(conn.scalar(_MAX_SEQ) or 0)
