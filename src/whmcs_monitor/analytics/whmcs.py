"""A read-only connection to a site's WHMCS database, for analytics.

The poller's sources package has no connection helper yet, so analytics opens its own here, in
one place: PyMySQL, bounded timeouts, zero dates read as strings (``kpis.common.moment`` turns
them into ``None``), and a read-only transaction so a mistaken query cannot write.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql

from whmcs_monitor.config import WhmcsDatabaseConfig
from whmcs_monitor.errors import ConfigError, MonitorError

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 60


class WhmcsUnavailable(MonitorError):
    """The WHMCS database could not be reached or refused the monitor's user."""


def _password(config: WhmcsDatabaseConfig) -> str:
    if config.password is not None:
        return config.password.get_secret_value()
    if config.password_env:
        value = os.environ.get(config.password_env)
        if value is None:
            raise ConfigError(
                [f"database.password_env: names {config.password_env}, which is not set"]
            )
        return value
    return ""


@contextmanager
def connect(config: WhmcsDatabaseConfig) -> Iterator[pymysql.connections.Connection[Any]]:
    """A connection for one refresh; closed on exit. Errors name the host, never the password."""
    try:
        conn = pymysql.connect(
            host=config.host,
            port=config.port,
            user=config.user,
            password=_password(config),
            database=config.name,
            charset="utf8mb4",
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            ssl={"ssl": {}} if config.ssl else None,
            autocommit=True,
        )
    except pymysql.err.MySQLError as exc:
        raise WhmcsUnavailable(
            f"cannot connect to the WHMCS database {config.name} at {config.host}:{config.port} "
            f"as {config.user}: {exc.args[-1] if exc.args else exc}"
        ) from exc
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION READ ONLY")
        yield conn
    finally:
        conn.close()
