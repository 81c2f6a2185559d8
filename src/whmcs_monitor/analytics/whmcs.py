"""A read-only connection to a site's WHMCS database, for analytics.

It is the poller's connection (``sources.whmcs_db.connect``: bounded timeouts, a read-only
session, errors that name the host but never the password), with tuple rows and a longer read
timeout for aggregate queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from whmcs_monitor.config import WhmcsDatabaseConfig
from whmcs_monitor.errors import MonitorError
from whmcs_monitor.sources.whmcs_db import WhmcsDatabaseError
from whmcs_monitor.sources.whmcs_db import connect as connect_whmcs

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 60


class WhmcsUnavailable(MonitorError):
    """The WHMCS database could not be reached or refused the monitor's user."""


@contextmanager
def connect(config: WhmcsDatabaseConfig) -> Iterator[Any]:
    """A connection for one refresh; closed on exit."""
    import pymysql.cursors  # on first use, like the poller's connection

    try:
        conn = connect_whmcs(
            config,
            timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            cursorclass=pymysql.cursors.Cursor,
        )
    except WhmcsDatabaseError as exc:
        raise WhmcsUnavailable(f"cannot connect to the WHMCS database {exc}") from exc
    try:
        yield conn
    finally:
        conn.close()
