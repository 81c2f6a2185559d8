"""The append-only, hash-chained audit trail.

Each record's hash covers its content and the previous record's hash, so editing or deleting any
record breaks every hash after it; :func:`verify` names the first record that does not check out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.lib.timeutil import as_utc, utcnow
from whmcs_monitor.store.db import LOCK_AUDIT_APPEND, advisory_lock
from whmcs_monitor.store.tables import audit_log

GENESIS = "0" * 64


def _digest(
    prev_hash: str, at: datetime, actor: str, action: str, target: str, details: str
) -> str:
    material = json.dumps(
        [prev_hash, as_utc(at).isoformat(), actor, action, target, details], ensure_ascii=False
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> str:
    """Append one record inside the caller's write transaction; returns its hash."""
    advisory_lock(conn, LOCK_AUDIT_APPEND)  # two appenders must not chain onto the same head
    prev = conn.scalar(sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1))
    prev_hash = prev or GENESIS
    at = utcnow().replace(microsecond=0)
    text = json.dumps(details or {}, sort_keys=True, ensure_ascii=False)
    digest = _digest(prev_hash, at, actor, action, target, text)
    conn.execute(
        audit_log.insert().values(
            at=at,
            actor=actor,
            action=action,
            target=target,
            details=text,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return digest


@dataclass(frozen=True, slots=True)
class VerifyResult:
    records: int
    first_broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify(conn: Connection) -> VerifyResult:
    prev_hash = GENESIS
    count = 0
    for row in conn.execute(sa.select(audit_log).order_by(audit_log.c.id)):
        count += 1
        if row.prev_hash != prev_hash:
            return VerifyResult(count, row.id, "its link to the previous record is broken")
        expected = _digest(prev_hash, row.at, row.actor, row.action, row.target, row.details)
        if row.hash != expected:
            return VerifyResult(count, row.id, "its content does not match its hash")
        prev_hash = row.hash
    return VerifyResult(count)
