"""A read-only connection to one WHMCS database, and tolerant conversion of what WHMCS stores.

WHMCS writes ``0000-00-00`` for "no date", mixes NULL and empty strings, and older installs hold
latin1 bytes that were stored through a utf8 connection (mojibake such as ``CafÃ©``). The poller
must never stop on such a row, so every value passes through ``as_datetime``/``as_text``/``as_int``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from whmcs_monitor.config import WhmcsDatabaseConfig
from whmcs_monitor.sources.queries import SESSION_SETUP, SHOW_GRANTS

Row = dict[str, Any]
Connection: TypeAlias = Any  # pymysql ships no type hints
_WRITE_PRIVILEGES = re.compile(
    r"\b(ALL PRIVILEGES|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|INDEX|GRANT OPTION|EXECUTE|"
    r"SUPER|FILE|TRIGGER|REFERENCES|LOCK TABLES|CREATE ROUTINE|ALTER ROUTINE|EVENT)\b",
    re.IGNORECASE,
)


class WhmcsDatabaseError(Exception):
    """The WHMCS database cannot be reached or refused the poller; ``str()`` is user-facing."""


# pymysql is imported where a WHMCS database is first used, not with this module: with the
# cryptography it loads, it adds about 9 MB to every process, and most nodes never use it.
# An ``except`` clause evaluates these functions only when an exception reaches it.


def unreachable_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean "the WHMCS database is not there right now", as opposed to a bug."""
    import pymysql

    return (pymysql.err.OperationalError, pymysql.err.InterfaceError, ConnectionError, TimeoutError)


def database_errors() -> tuple[type[BaseException], ...]:
    """:func:`unreachable_errors` plus the refusals this module reports itself."""
    return (WhmcsDatabaseError, *unreachable_errors())


def password_of(cfg: WhmcsDatabaseConfig) -> str:
    if cfg.password is not None:
        return cfg.password.get_secret_value()
    if cfg.password_env:
        value = os.environ.get(cfg.password_env)
        if value is None:
            raise WhmcsDatabaseError(f"password_env names {cfg.password_env}, which is not set")
        return value
    return ""


def connect(
    cfg: WhmcsDatabaseConfig,
    *,
    timeout: int = 5,
    read_timeout: int | None = None,
    cursorclass: type[Any] | None = None,
) -> Connection:
    """A fresh connection; read-only at the session level too, so a slip cannot write.

    The poller reads rows as dicts (the default, ``pymysql.cursors.DictCursor``); analytics asks
    for tuples (``pymysql.cursors.Cursor``) and a longer ``read_timeout`` for its aggregate
    queries.
    """
    import pymysql.cursors

    try:
        return pymysql.connect(
            host=cfg.host,
            port=cfg.port,
            user=cfg.user,
            password=password_of(cfg),
            database=cfg.name,
            charset="utf8mb4",
            cursorclass=cursorclass or pymysql.cursors.DictCursor,
            connect_timeout=timeout,
            read_timeout=read_timeout or max(timeout * 6, 30),
            write_timeout=timeout,
            autocommit=True,
            ssl={"ssl": {}} if cfg.ssl else None,
            init_command=SESSION_SETUP,
        )
    except unreachable_errors() as exc:
        raise WhmcsDatabaseError(describe_error(exc, cfg)) from exc


def describe_error(exc: BaseException, cfg: WhmcsDatabaseConfig) -> str:
    """One plain line naming the server, without the password."""
    detail = exc.args[1] if len(exc.args) > 1 else str(exc) or type(exc).__name__
    return f"{cfg.user}@{cfg.host}:{cfg.port}/{cfg.name}: {detail}"


@contextmanager
def session(cfg: WhmcsDatabaseConfig, *, timeout: int = 5) -> Iterator[Connection]:
    conn = connect(cfg, timeout=timeout)
    try:
        yield conn
    finally:
        conn.close()


def fetch(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


@dataclass(frozen=True)
class ReadOnlyReport:
    read_only: bool
    grants: list[str]
    offending: list[str]


def check_read_only(conn: Connection) -> ReadOnlyReport:
    """Whether this user can only read; the grants that let it write, if any."""
    rows = fetch(conn, SHOW_GRANTS)
    grants = [str(next(iter(row.values()))) for row in rows]
    offending = [g for g in grants if _WRITE_PRIVILEGES.search(g.split(" ON ")[0])]
    return ReadOnlyReport(read_only=not offending, grants=grants, offending=offending)


# --- tolerant conversions ------------------------------------------------------------------------


def as_datetime(value: Any, zone: ZoneInfo) -> datetime | None:
    """A UTC datetime, or None for NULL, zero dates and anything unparseable.

    WHMCS writes local wall-clock time in DATETIME and TIMESTAMP columns (see
    ``Context.zone``); ``zone`` is the WHMCS server's zone.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = as_text(value).strip()
        if not text or text.startswith("0000-00-00"):
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = as_text(value).strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


_MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]")


def as_text(value: Any, limit: int = 2000) -> str:
    """Text from bytes or str; repairs latin1-read-as-utf8 mojibake; never raises."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            text = bytes(value).decode("latin-1")
    elif isinstance(value, Decimal):
        text = format(value, "f")
    else:
        text = str(value)
    if _MOJIBAKE.search(text):
        with suppress(UnicodeEncodeError, UnicodeDecodeError):
            text = text.encode("latin-1").decode("utf-8")
    return text[:limit]


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_money(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    try:
        return format(Decimal(str(value)), "f")
    except ArithmeticError:
        return as_text(value)


def age_minutes(moment: datetime | None, now: datetime) -> int | None:
    if moment is None:
        return None
    return max(0, int((now - moment) / timedelta(minutes=1)))
