"""Read-only access to a site's WHMCS database (table counts, admin logins, the API log)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from whmcs_monitor.config import WhmcsDatabaseConfig
from whmcs_monitor.errors import InputError

if TYPE_CHECKING:
    from pymysql.connections import Connection

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 10


def _password(config: WhmcsDatabaseConfig) -> str:
    if config.password is not None:
        return config.password.get_secret_value()
    if config.password_env:
        return os.environ.get(config.password_env, "")
    return ""


@contextmanager
def connect(config: WhmcsDatabaseConfig) -> Iterator[Connection]:
    """A short-lived connection with bounded timeouts; errors name the database, not the password."""
    # Imported on first use: with the cryptography it loads, pymysql adds about 9 MB to a process.
    import pymysql

    try:
        conn = pymysql.connect(
            host=config.host,
            port=config.port,
            user=config.user,
            password=_password(config),
            database=config.name,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            ssl={"ssl": {}} if config.ssl else None,
        )
    except pymysql.MySQLError as exc:
        raise InputError(
            f"cannot reach the WHMCS database {config.name} at {config.host}:{config.port}: "
            f"{exc.args[-1] if exc.args else exc}"
        ) from exc
    try:
        yield conn
    finally:
        conn.close()


def count_tables(config: WhmcsDatabaseConfig) -> int:
    """The number of base tables in the WHMCS schema (read-only; information_schema)."""
    with connect(config) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            (config.name,),
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0
