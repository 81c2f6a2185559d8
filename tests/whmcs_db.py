"""A real, throw-away WHMCS database on the local MariaDB, shared by every part that reads WHMCS.

``whmcs_db`` creates ``whmcs_test_<random>`` from ``tests/whmcs_schema.sql`` (WHMCS 8.x tables,
zero-date defaults, the real indexes), a read-only user holding exactly the column-level GRANTs
the docs recommend, and drops both afterwards. Seed rows with ``whmcs_db.insert(table, **cols)``
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


@pytest.fixture
def whmcs_db() -> Iterator[WhmcsDb]:
    global _UP
    if _UP is None:
        _UP = mariadb_available()
    require(_UP, f"MariaDB is not reachable at {HOST}:{PORT} as root without a password")
    suffix = secrets.token_hex(5)
    name, user, password = f"whmcs_test_{suffix}", f"wm_ro_{suffix}", secrets.token_hex(16)
    root = admin_connection()
    with root.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci")
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
    admin = admin_connection(name)
    with admin.cursor() as cur:
        for statement in schema_statements():
            cur.execute(statement)
        for grant in grant_statements(name, user):
            cur.execute(grant)
    config = WhmcsDatabaseConfig(
        host=HOST, port=PORT, name=name, user=user, password=SecretStr(password)
    )
    try:
        yield WhmcsDb(name=name, user=user, password=password, admin=admin, config=config)
    finally:
        admin.close()
        with root.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        root.close()
