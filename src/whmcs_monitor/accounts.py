"""Local user accounts: argon2id password hashes, the three roles and optional TOTP."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection

from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.tables import users

Role = Literal["admin", "operator", "viewer"]
ROLES: tuple[str, ...] = get_args(Role)
# Each role may do everything the roles before it may.
RANK = {role: rank for rank, role in enumerate(("viewer", "operator", "admin"))}
TOTP_ISSUER = "whmcs-monitor"
MIN_PASSWORD = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: str
    disabled: bool
    must_change_password: bool
    created_at: datetime
    last_login_at: datetime | None
    totp_enabled: bool = False

    def can(self, role: str) -> bool:
        """Whether this user holds ``role`` or a stronger one."""
        return RANK[self.role] >= RANK[role]


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: must be at least {MIN_PASSWORD} characters", field="password")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"role: must be one of {', '.join(ROLES)}, not {role!r}", field="role")


def create_user(
    db: Database,
    username: str,
    password: str,
    role: str,
    *,
    actor: str,
    must_change_password: bool = False,
) -> User:
    _check_role(role)
    _check_password(password)
    if (
        not username
        or len(username) > 64
        or not username.replace("-", "").replace("_", "").replace(".", "").isalnum()
    ):
        raise InputError("username: use 1-64 letters, digits, '.', '-' or '_'", field="username")
    with db.write() as conn:
        if conn.scalar(sa.select(users.c.id).where(users.c.username == username)) is not None:
            raise InputError(f"username: {username!r} already exists", field="username")
        conn.execute(
            users.insert().values(
                username=username,
                password_hash=_hasher.hash(password),
                role=role,
                disabled=False,
                must_change_password=must_change_password,
                created_at=utcnow(),
            )
        )
        audit.append(
            conn, actor=actor, action="user.create", target=username, details={"role": role}
        )
    return get_user(db, username)


def get_user(db: Database, username: str) -> User:
    with db.read() as conn:
        return _load(conn, username)


def _load(conn: Connection, username: str) -> User:
    row = conn.execute(sa.select(users).where(users.c.username == username)).first()
    if row is None:
        raise InputError(f"no user named {username!r}", status=404, field="username")
    return User(
        row.id,
        row.username,
        row.role,
        row.disabled,
        row.must_change_password,
        row.created_at,
        row.last_login_at,
        row.totp_secret is not None,
    )


def list_users(db: Database) -> list[User]:
    with db.read() as conn:
        names = conn.scalars(sa.select(users.c.username).order_by(users.c.username)).all()
        return [_load(conn, name) for name in names]


def set_password(db: Database, username: str, password: str, *, actor: str) -> None:
    _check_password(password)
    with db.write() as conn:
        _load(conn, username)
        conn.execute(
            users.update()
            .where(users.c.username == username)
            .values(password_hash=_hasher.hash(password), must_change_password=False)
        )
        audit.append(conn, actor=actor, action="user.password", target=username)


def set_disabled(db: Database, username: str, disabled: bool, *, actor: str) -> None:
    with db.write() as conn:
        _load(conn, username)
        conn.execute(users.update().where(users.c.username == username).values(disabled=disabled))
        audit.append(
            conn,
            actor=actor,
            action="user.disable" if disabled else "user.enable",
            target=username,
        )


def verify_password(db: Database, username: str, password: str) -> User | None:
    """The user if the password is right and the account enabled; ``None`` otherwise."""
    with db.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).first()
    if row is None or row.disabled:
        _hasher.hash(password)  # same cost either way, so timing does not reveal usernames
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return get_user(db, username)


def get_user_by_id(conn: Connection, user_id: int) -> User | None:
    username = conn.scalar(sa.select(users.c.username).where(users.c.id == user_id))
    return None if username is None else _load(conn, username)


def set_role(db: Database, username: str, role: str, *, actor: str) -> None:
    _check_role(role)
    with db.write() as conn:
        before = _load(conn, username)
        conn.execute(users.update().where(users.c.username == username).values(role=role))
        audit.append(
            conn,
            actor=actor,
            action="user.role",
            target=username,
            details={"from": before.role, "to": role},
        )


def record_login(conn: Connection, user_id: int) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(last_login_at=utcnow()))


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app imports."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def totp_step(secret: str, code: str) -> int | None:
    """The time step (unix time // 30) ``code`` is the code of, or ``None``.

    One 30-second step of clock drift either way is accepted.
    """
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    return next(
        (
            step
            for step in (now - 1, now, now + 1)
            if hmac.compare_digest(totp.generate_otp(step), code)
        ),
        None,
    )


def _claim_step(conn: Connection, username: str, step: int) -> bool:
    """Record ``step`` as used, unless it or a later one already was: a code works only once
    (RFC 6238 §5.2). One conditional update, so two logins racing with one code cannot both
    win."""
    claimed = conn.execute(
        users.update()
        .where(
            users.c.username == username,
            sa.or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return claimed.rowcount == 1


def check_totp(db: Database, username: str, code: str) -> bool:
    """Whether ``code`` is a valid, unused code for the user's enrolled secret (``True`` when
    not enrolled). A valid code is spent by this call."""
    with db.read() as conn:
        secret = conn.scalar(sa.select(users.c.totp_secret).where(users.c.username == username))
    if secret is None:
        return True
    step = totp_step(secret, code)
    if step is None:
        return False
    with db.write() as conn:
        return _claim_step(conn, username, step)


def enable_totp(db: Database, username: str, secret: str, code: str, *, actor: str) -> None:
    """Enrol a secret, but only once the user proved their app produces its codes (which spends
    that code: it cannot log in afterwards)."""
    step = totp_step(secret, code)
    if step is None:
        raise InputError(
            "code: that code does not match; check the phone's clock and type the current code",
            field="code",
        )
    with db.write() as conn:
        _load(conn, username)
        conn.execute(
            users.update()
            .where(users.c.username == username)
            .values(totp_secret=secret, totp_last_step=step)
        )
        audit.append(conn, actor=actor, action="user.totp_enable", target=username)


def disable_totp(db: Database, username: str, *, actor: str) -> None:
    with db.write() as conn:
        _load(conn, username)
        conn.execute(
            users.update()
            .where(users.c.username == username)
            .values(totp_secret=None, totp_last_step=None)
        )
        audit.append(conn, actor=actor, action="user.totp_disable", target=username)
