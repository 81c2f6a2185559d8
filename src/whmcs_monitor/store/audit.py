"""The append-only, hash-chained audit trail.

Each record's hash covers its content and the previous record's hash, so editing or deleting any
record breaks every hash after it; :func:`verify` names the first record that does not check out.
Deleting the newest records (or all of them) breaks no link, so the head of the chain, the newest
record's id and hash, is also kept in ``audit_head``, a one-row table written in the same
transaction as each record.
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
from whmcs_monitor.store.tables import audit_log, metadata

GENESIS = "0" * 64
HEAD_ROW = 1

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always HEAD_ROW: one row
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


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
    """Append one record inside the caller's write transaction; returns its hash.

    The record chains onto the anchored head rather than onto the newest row, so after a
    truncation the next record does not paper over the gap: its link is broken.
    """
    advisory_lock(conn, LOCK_AUDIT_APPEND)  # two appenders must not chain onto the same head
    prev_hash = conn.scalar(sa.select(audit_head.c.hash)) or GENESIS
    at = utcnow().replace(microsecond=0)
    text = json.dumps(details or {}, sort_keys=True, ensure_ascii=False)
    digest = _digest(prev_hash, at, actor, action, target, text)
    record_id = conn.scalar(
        audit_log.insert()
        .values(
            at=at,
            actor=actor,
            action=action,
            target=target,
            details=text,
            prev_hash=prev_hash,
            hash=digest,
        )
        .returning(audit_log.c.id)
    )
    assert record_id is not None  # an INSERT ... RETURNING returns the row it inserted
    _move_head(conn, record_id, digest)
    return digest


def _move_head(conn: Connection, record_id: int, digest: str) -> None:
    moved = conn.execute(
        audit_head.update()
        .where(audit_head.c.id == HEAD_ROW)
        .values(record_id=record_id, hash=digest)
    )
    if moved.rowcount == 0:
        conn.execute(audit_head.insert().values(id=HEAD_ROW, record_id=record_id, hash=digest))


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """``first_broken_id`` names the record at fault; it is None when the trail is intact, or
    when what is broken is the head anchor itself."""

    records: int
    first_broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def verify(conn: Connection) -> VerifyResult:
    # The head is read first: a record appended while the chain is read only extends the chain
    # past it, while a head that names no record means the newest records were deleted.
    head = conn.execute(sa.select(audit_head.c.record_id, audit_head.c.hash)).first()
    prev_hash = GENESIS
    count = 0
    last_id: int | None = None
    head_found = False
    for row in conn.execute(sa.select(audit_log).order_by(audit_log.c.id)):
        count += 1
        if row.prev_hash != prev_hash:
            return VerifyResult(count, row.id, "its link to the previous record is broken")
        expected = _digest(prev_hash, row.at, row.actor, row.action, row.target, row.details)
        if row.hash != expected:
            return VerifyResult(count, row.id, "its content does not match its hash")
        if head is not None and row.id == head.record_id:
            if row.hash != head.hash:
                return VerifyResult(count, row.id, "its hash is not the one the head anchor holds")
            head_found = True
        prev_hash, last_id = row.hash, row.id
    if head is None:
        return VerifyResult(count) if count == 0 else VerifyResult(count, None, _NO_ANCHOR)
    if not head_found:
        return VerifyResult(count, head.record_id, _truncated(last_id))
    return VerifyResult(count)


_NO_ANCHOR = (
    "the head anchor (table audit_head) is missing, so the deletion of the newest records "
    "cannot be ruled out"
)


def _truncated(last_id: int | None) -> str:
    if last_id is None:
        return "it is missing: every record of the trail was deleted"
    return (
        f"it is missing: the trail ends at record {last_id}, so the newest record(s) were deleted"
    )
