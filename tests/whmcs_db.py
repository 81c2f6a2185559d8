"""A real, throw-away WHMCS database on the local MariaDB, shared by every part that reads WHMCS.

``whmcs_db`` gives each test an empty ``whmcs_test_<random>`` database built from
``tests/whmcs_schema.sql`` (WHMCS 8.x tables, zero-date defaults, the real indexes) and a fresh
read-only user holding exactly the column-level GRANTs the docs recommend. Databases are emptied
and reused within a test session (creating 45 InnoDB tables takes seconds) and dropped at its end;
the user is dropped after each test. Seed rows with ``whmcs_db.insert(table, **cols)``
through ``whmcs_db.admin`` (root, sql_mode='' so WHMCS's zero dates are accepted).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest
from pydantic import SecretStr

from support import require
from whmcs_monitor.config import WhmcsDatabaseConfig
from whmcs_monitor.sources.allowlist import grant_statements

HOST = "127.0.0.1"
PORT = 3306
SCHEMA = Path(__file__).with_name("whmcs_schema.sql")


def admin_connection(database: str | None = None) -> pymysql.connections.Connection[Any]:
    """A root connection with WHMCS's own permissive SQL mode (zero dates allowed)."""
    conn = pymysql.connect(
        host=HOST,
        port=PORT,
        user="root",
        database=database,
        charset="utf8mb4",
        autocommit=True,
        connect_timeout=3,
        init_command="SET SESSION sql_mode=''",
    )
    return conn


def mariadb_available() -> bool:
    try:
        admin_connection().close()
        return True
    except pymysql.err.MySQLError:
        return False


def schema_statements() -> list[str]:
    text = "\n".join(
        line for line in SCHEMA.read_text("utf-8").splitlines() if not line.startswith("--")
    )
    return [s.strip() for s in text.split(";") if s.strip()]


@dataclass
class WhmcsDb:
    name: str
    user: str
    password: str
    admin: pymysql.connections.Connection[Any]
    config: WhmcsDatabaseConfig

    def insert(self, table: str, **cols: Any) -> int:
        """Insert one row as WHMCS would write it; returns the new id."""
        names = ", ".join(f"`{c}`" for c in cols)
        marks = ", ".join(["%s"] * len(cols))
        with self.admin.cursor() as cur:
            cur.execute(f"INSERT INTO `{table}` ({names}) VALUES ({marks})", list(cols.values()))
            return int(cur.lastrowid)

    def execute(self, sql: str, args: Any = None) -> int:
        with self.admin.cursor() as cur:
            return int(cur.execute(sql, args))


_UP: bool | None = None


def _create_database(root: pymysql.connections.Connection[Any]) -> str:
    name = f"whmcs_test_{secrets.token_hex(5)}"
    with root.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci")
        cur.execute(f"USE `{name}`")
        for statement in schema_statements():
            cur.execute(statement)
    return name


def _reset(root: pymysql.connections.Connection[Any], name: str) -> None:
    """Empty every table a test wrote to and restart its ids, as in a brand-new database."""
    with root.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = %s AND AUTO_INCREMENT > 1",
            (name,),
        )
        for (table,) in cur.fetchall():
            cur.execute(f"DELETE FROM `{name}`.`{table}`")
            cur.execute(f"ALTER TABLE `{name}`.`{table}` AUTO_INCREMENT = 1")


@pytest.fixture(scope="session")
def _whmcs_pool() -> Iterator[list[str]]:
    """Schemas are slow to create (one InnoDB file per table), so clean ones are reused."""
    pool: list[str] = []
    yield pool
    if pool:
        root = admin_connection()
        with root.cursor() as cur:
            for name in pool:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        root.close()


@pytest.fixture
def whmcs_db(_whmcs_pool: list[str]) -> Iterator[WhmcsDb]:
    """An empty WHMCS database and a read-only user with the recommended column-level GRANTs."""
    global _UP
    if _UP is None:
        _UP = mariadb_available()
    require(_UP, f"MariaDB is not reachable at {HOST}:{PORT} as root without a password")
    root = admin_connection()
    name = _whmcs_pool.pop() if _whmcs_pool else _create_database(root)
    user, password = f"wm_ro_{secrets.token_hex(5)}", secrets.token_hex(16)
    with root.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
        for grant in grant_statements(name, user):
            cur.execute(grant)
    admin = admin_connection(name)
    config = WhmcsDatabaseConfig(
        host=HOST, port=PORT, name=name, user=user, password=SecretStr(password)
    )
    try:
        yield WhmcsDb(name=name, user=user, password=password, admin=admin, config=config)
    finally:
        admin.close()
        with root.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%%'")
        _reset(root, name)
        _whmcs_pool.append(name)
        root.close()
