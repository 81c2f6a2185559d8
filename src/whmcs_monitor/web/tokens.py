"""API tokens: shown once, stored as sha256, scoped to read or write, revocable.

A token acts as its owner, capped by its scope: a ``read`` token has a viewer's rights whatever its
owner's role, a ``write`` token has its owner's. A disabled owner's tokens stop working with them.
The secret part has 256 bits of entropy, so a fast hash is enough (no password to guess).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.accounts import User, get_user_by_id
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import as_utc, utcnow
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database
from whmcs_monitor.web.tables import api_tokens

Scope = Literal["read", "write"]
SCOPES: tuple[str, ...] = get_args(Scope)
PREFIX = "wmt_"
USE_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scope": self.scope,
            "created_at": as_utc(self.created_at).isoformat(),
            "last_used_at": as_utc(self.last_used_at).isoformat() if self.last_used_at else None,
            "revoked": self.revoked,
        }


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(db: Database, user: User, name: str, scope: str, *, actor: str) -> tuple[str, TokenInfo]:
    """Issue a token; returns the secret (never stored, never shown again) and its record."""
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise InputError("name: give the token a name of 1-64 characters", field="name")
    if scope not in SCOPES:
        raise InputError(f"scope: must be one of {', '.join(SCOPES)}", field="scope")
    secret = PREFIX + secrets.token_urlsafe(32)
    with db.write() as conn:
        token_id = conn.execute(
            api_tokens.insert()
            .values(
                user_id=user.id,
                name=name,
                prefix=secret[:12],
                token_hash=_hash(secret),
                scope=scope,
                created_at=utcnow(),
            )
            .returning(api_tokens.c.id)
        ).scalar_one()
        audit.append(
            conn,
            actor=actor,
            action="token.create",
            target=f"{user.username}/{name}",
            details={"id": token_id, "scope": scope},
        )
        info = _list(conn, user.id, token_id)[0]
    return secret, info


def _list(conn: Connection, user_id: int, token_id: int | None = None) -> list[TokenInfo]:
    stmt = sa.select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id)
    if token_id is not None:
        stmt = stmt.where(api_tokens.c.id == token_id)
    return [
        TokenInfo(
            r.id, r.name, r.prefix, r.scope, r.created_at, r.last_used_at, r.revoked_at is not None
        )
        for r in conn.execute(stmt)
    ]


def list_for(db: Database, user: User) -> list[TokenInfo]:
    with db.read() as conn:
        return _list(conn, user.id)


def revoke(db: Database, user: User, token_id: int, *, actor: str) -> None:
    """Revoke one of ``user``'s tokens; someone else's token is "not found", not "forbidden"."""
    with db.write() as conn:
        found = _list(conn, user.id, token_id)
        if not found:
            raise InputError(f"no API token with id {token_id}", status=404, field="token_id")
        conn.execute(
            api_tokens.update()
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        audit.append(
            conn,
            actor=actor,
            action="token.revoke",
            target=f"{user.username}/{found[0].name}",
            details={"id": token_id},
        )


@dataclass(frozen=True, slots=True)
class TokenAuth:
    user: User
    scope: str
    stale: bool  # last_used_at is due for an update (at most once a minute, not per request)


def authenticate(conn: Connection, token: str) -> TokenAuth | None:
    """The owner and scope of a live token, or ``None``."""
    if not token.startswith(PREFIX) or len(token) > 128:
        return None
    row = conn.execute(
        sa.select(
            api_tokens.c.user_id,
            api_tokens.c.scope,
            api_tokens.c.revoked_at,
            api_tokens.c.last_used_at,
        ).where(api_tokens.c.token_hash == _hash(token))
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    user = get_user_by_id(conn, row.user_id)
    if user is None or user.disabled:
        return None
    used = row.last_used_at
    return TokenAuth(user, row.scope, used is None or as_utc(used) + USE_INTERVAL <= utcnow())


def mark_used(conn: Connection, token: str) -> None:
    conn.execute(
        api_tokens.update()
        .where(api_tokens.c.token_hash == _hash(token))
        .values(last_used_at=utcnow())
    )
