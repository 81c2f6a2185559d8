"""Browser sessions: a random cookie value, stored only as its sha256, with a CSRF token each.

A session ends when it has been idle too long, when it reaches its maximum age, at logout, or when
its user is disabled (checked on every request, so disabling someone takes effect at once).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.accounts import User, get_user_by_id
from whmcs_monitor.lib.timeutil import as_utc, utcnow
from whmcs_monitor.web.config import WebConfig
from whmcs_monitor.web.tables import web_sessions

COOKIE = "wm_session"
# Touch last_seen_at at most this often, so reading a page is not a write every time.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str
    id_hash: str
    stale: bool = False  # last_seen_at is due for a touch


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def create(conn: Connection, user_id: int, ip: str, config: WebConfig) -> str:
    """Start a session; returns the cookie value (shown to the browser only)."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    conn.execute(
        web_sessions.insert().values(
            id_hash=_hash(value),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=config.session_max_hours),
            ip=ip[:64],
        )
    )
    return value


def load(conn: Connection, value: str, config: WebConfig) -> Session | None:
    """The live session for a cookie value, or ``None`` (unknown, expired, idle or disabled)."""
    if not value or len(value) > 128:
        return None
    id_hash = _hash(value)
    row = conn.execute(sa.select(web_sessions).where(web_sessions.c.id_hash == id_hash)).first()
    if row is None:
        return None
    now = utcnow()
    idle = timedelta(minutes=config.session_idle_minutes)
    if as_utc(row.expires_at) <= now or as_utc(row.last_seen_at) + idle <= now:
        return None
    user = get_user_by_id(conn, row.user_id)
    if user is None or user.disabled:
        return None
    return Session(
        user, row.csrf_token, id_hash, stale=as_utc(row.last_seen_at) + TOUCH_INTERVAL <= now
    )


def touch(conn: Connection, id_hash: str) -> None:
    conn.execute(
        web_sessions.update().where(web_sessions.c.id_hash == id_hash).values(last_seen_at=utcnow())
    )


def end(conn: Connection, id_hash: str) -> None:
    conn.execute(web_sessions.delete().where(web_sessions.c.id_hash == id_hash))


def end_others(conn: Connection, user_id: int, keep_hash: str) -> None:
    """Log a user out everywhere but here (after they changed their password)."""
    conn.execute(
        web_sessions.delete().where(
            web_sessions.c.user_id == user_id, web_sessions.c.id_hash != keep_hash
        )
    )


def purge_expired(conn: Connection, config: WebConfig) -> int:
    now = utcnow()
    idle_cutoff = now - timedelta(minutes=config.session_idle_minutes)
    result = conn.execute(
        web_sessions.delete().where(
            sa.or_(web_sessions.c.expires_at <= now, web_sessions.c.last_seen_at <= idle_cutoff)
        )
    )
    return result.rowcount or 0
