"""Fixtures: every store-backed test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support import (
    Collector,
    create_pg_database,
    drop_pg_database,
    make_settings,
    postgres_available,
    require,
)
from whmcs_db import _whmcs_pool, whmcs_db  # noqa: F401
from whmcs_monitor.config import Settings
from whmcs_monitor.store.db import Database
from whmcs_monitor.web.app import create_app

_PG_UP: bool | None = None


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each backend."""
    global _PG_UP
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'monitor.db'}"
        return
    if _PG_UP is None:
        _PG_UP = postgres_available()
    require(_PG_UP, "PostgreSQL is not reachable at 127.0.0.1:5432 (set WHMCS_MONITOR_TEST_PG)")
    url, name = create_pg_database()
    yield url
    drop_pg_database(name)


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database, for what only PostgreSQL has: instances sharing one store."""
    global _PG_UP
    if _PG_UP is None:
        _PG_UP = postgres_available()
    require(_PG_UP, "PostgreSQL is not reachable at 127.0.0.1:5432 (set WHMCS_MONITOR_TEST_PG)")
    url, name = create_pg_database()
    yield url
    drop_pg_database(name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The whole app in-process (lifespan included), with one site configured."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def collector(settings: Settings) -> Iterator[Collector]:
    """The real service over real HTTP on a loopback port."""
    server = Collector(settings)
    server.start()
    yield server
    server.stop()
