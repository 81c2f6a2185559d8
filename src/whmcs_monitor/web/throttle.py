"""Login throttling: too many failures for one username or one address lock it out for a while.

State is in the database, so several instances behind one load balancer share one count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.lib.timeutil import as_utc, utcnow
from whmcs_monitor.web.config import WebConfig
from whmcs_monitor.web.tables import login_throttle


def keys(username: str, ip: str) -> list[str]:
    return [f"user:{username.lower()[:100]}", f"ip:{ip[:100]}"]


def locked_until(conn: Connection, names: list[str]) -> datetime | None:
    """The latest lock still in force over any of ``names``, or ``None``."""
    now = utcnow()
    until = [
        as_utc(value)
        for value in conn.scalars(
            sa.select(login_throttle.c.locked_until).where(login_throttle.c.key.in_(names))
        )
        if value is not None and as_utc(value) > now
    ]
    return max(until, default=None)


def record_failure(conn: Connection, names: list[str], config: WebConfig) -> datetime | None:
    """Count one failure against each key; returns the lock's end if this failure set one."""
    now = utcnow()
    window = timedelta(minutes=config.login_window_minutes)
    locked: datetime | None = None
    for name in names:
        row = conn.execute(sa.select(login_throttle).where(login_throttle.c.key == name)).first()
        if row is None or as_utc(row.window_start) + window <= now:
            failures, start = 1, now
        else:
            failures, start = row.failures + 1, as_utc(row.window_start)
        until = None
        if failures >= config.login_max_failures:
            until = now + timedelta(minutes=config.login_lockout_minutes)
            locked = until
        values = {"failures": failures, "window_start": start, "locked_until": until}
        if row is None:
            conn.execute(login_throttle.insert().values(key=name, **values))
        else:
            conn.execute(login_throttle.update().where(login_throttle.c.key == name).values(values))
    return locked


def clear(conn: Connection, name: str) -> None:
    conn.execute(login_throttle.delete().where(login_throttle.c.key == name))


def purge_stale(conn: Connection, config: WebConfig) -> int:
    """Forget counters whose window and lock have both passed (one row per name ever tried)."""
    now = utcnow()
    result = conn.execute(
        login_throttle.delete().where(
            login_throttle.c.window_start <= now - timedelta(minutes=config.login_window_minutes),
            sa.or_(login_throttle.c.locked_until.is_(None), login_throttle.c.locked_until <= now),
        )
    )
    return result.rowcount or 0
