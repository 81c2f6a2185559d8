"""Connections to the store: SQLite (WAL) by default, PostgreSQL by URL.

Reads and writes use separate engines on SQLite: writes open with ``BEGIN IMMEDIATE`` so that two
writers queue on the lock instead of failing to upgrade a read lock (SQLITE_BUSY mid-transaction),
while reads stay deferred and never block the writer under WAL.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from whmcs_monitor.errors import StoreError
from whmcs_monitor.lib import jsoncodec

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# One key for every "only one of us at a time" section on PostgreSQL; see advisory_lock().
LOCK_MIGRATE = 7_301_001
LOCK_EVENT_INSERT = 7_301_002
LOCK_AUDIT_APPEND = 7_301_003
LOCK_ALERT_PIPELINE = 7_301_004
CONNECT_TIMEOUT = 5  # seconds for PostgreSQL to accept a connection


def dialect_insert(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ``on_conflict_do_nothing``/``_do_update``: both backends have them,
    each spelled by its own dialect."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return insert(table)


def lock_key(scope: str, name: str) -> int:
    """A stable advisory-lock key for one thing of a kind (``lock_key("poller", site)``): 60 bits
    of a hash, a PostgreSQL bigint, far from the fixed LOCK_* keys in practice."""
    return int(hashlib.sha256(f"{scope}:{name}".encode()).hexdigest()[:15], 16)


def advisory_lock(conn: Connection, key: int) -> None:
    """Hold a transaction-scoped lock on PostgreSQL; SQLite's write lock already serializes."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a 202 means the batch survives a power cut, not just a process crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _make_engine(url: sa.URL, *, immediate: bool, pool_size: int) -> Engine:
    if url.get_backend_name() != "sqlite":
        # A host that drops or holds connections fails them in seconds, not minutes (libpq
        # waits forever by default); ?connect_timeout= in database.url takes precedence.
        timeout = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT}
        return sa.create_engine(
            url,
            connect_args=timeout,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            json_serializer=jsoncodec.dumps,
            json_deserializer=jsoncodec.loads,
        )
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 10},
        json_serializer=jsoncodec.dumps,
        json_deserializer=jsoncodec.loads,
    )
    sa.event.listen(engine, "connect", _sqlite_pragmas)

    @sa.event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite must not BEGIN on its own

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


_HANDED_OVER = 0  # no thread has this id
# Query parameters that carry a credential (libpq takes ?password=, and sslpassword=).
_SECRET_PARAMETER = re.compile(r"pass|secret|token", re.IGNORECASE)


def _without_secrets(url: sa.URL) -> str:
    """``url`` as text with the password masked, in the userinfo and in the query string."""
    hidden = {key: "REDACTED" for key in url.query if _SECRET_PARAMETER.search(key)}
    return url.update_query_dict(hidden).render_as_string(hide_password=True)


class WriterQueue:
    """SQLite has one writer at a time; this process's writers take turns in arrival order.

    Waiting in SQLite's busy handler instead sleeps in steps of up to 100 ms, long after the
    lock is free, and a plain lock favours the thread that just released it: the rule engine,
    which writes in a loop, would keep ingest (whose 202 waits for its commit) out.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: collections.deque[threading.Lock] = collections.deque()
        self._owner: int | None = None

    def __enter__(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                raise RuntimeError("a write transaction inside another one would wait for itself")
            if self._owner is None:
                self._owner = me
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the writer before us when it hands over
        with self._mutex:
            self._owner = me

    def __exit__(self, *_: object) -> None:
        with self._mutex:
            if not self._waiting:
                self._owner = None
                return
            self._owner = _HANDED_OVER  # newcomers queue behind the writer being woken
            turn = self._waiting.popleft()
        turn.release()


def _create_private_file(path: Path) -> None:
    """Create the SQLite file mode 0600 before SQLite does (0644): it holds password hashes and
    TOTP secrets. SQLite gives the -wal and -shm files the mode of the database file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _applied_revisions(conn: Connection, script: ScriptDirectory) -> set[str]:
    """The revisions the database is at; all of them must be ones this version ships.

    A database migrated by a newer whmcs-monitor names a revision this one lacks: Alembic would
    fail on it with a traceback, and this version must not run on a schema it does not know.
    """
    applied = set(MigrationContext.configure(conn).get_current_heads())
    unknown = sorted(applied - {revision.revision for revision in script.walk_revisions()})
    if unknown:
        raise StoreError(
            "the database schema is newer than this whmcs-monitor "
            f"(unknown revision {', '.join(unknown)}); upgrade whmcs-monitor"
        )
    return applied


class Database:
    """The store's engines plus migration helpers; one per process."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        """Open ``url``; a SQLite file that does not exist yet is created readable by its owner
        only, whoever opens it first (``init``, ``run``, a command after the file was removed)."""
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"database.url is not a database URL: {exc}") from exc
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if (
            parsed.get_backend_name() == "sqlite"
            and parsed.database
            and parsed.database != ":memory:"
        ):
            _create_private_file(Path(parsed.database))
        self.url = parsed
        self.dialect = parsed.get_backend_name()
        self.engine = _make_engine(parsed, immediate=False, pool_size=pool_size)
        self.write_engine = (
            _make_engine(parsed, immediate=True, pool_size=pool_size)
            if self.dialect == "sqlite"
            else self.engine
        )
        self._write_turn: contextlib.AbstractContextManager[Any] = (
            WriterQueue() if self.dialect == "sqlite" else contextlib.nullcontext()
        )

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends without an exception."""
        with self._write_turn, self.write_engine.begin() as conn:
            yield conn

    def _alembic_config(self, conn: Connection) -> AlembicConfig:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn
        return cfg

    def migrate(self) -> None:
        """Bring the schema to the newest version; safe to run from several instances at once."""
        try:
            with self.write() as conn:
                advisory_lock(conn, LOCK_MIGRATE)
                config = self._alembic_config(conn)
                _applied_revisions(conn, ScriptDirectory.from_config(config))
                command.upgrade(config, "heads")
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot migrate the database at {self.safe_url}: {exc.orig}") from exc

    def pending_migrations(self) -> set[str]:
        """Revisions the code has that the database has not applied (empty when current).

        Raises :class:`StoreError` when the database was migrated by a newer version.
        """
        with self.read() as conn:
            script = ScriptDirectory.from_config(self._alembic_config(conn))
            return set(script.get_heads()) - _applied_revisions(conn, script)

    def ping(self) -> None:
        with self.read() as conn:
            conn.execute(sa.text("SELECT 1"))

    @property
    def safe_url(self) -> str:
        return _without_secrets(self.url)

    @staticmethod
    def describe(url: str) -> str:
        """The URL with any password hidden, for banners and logs."""
        return _without_secrets(sa.make_url(url))

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
