"""The outbox: notifications are rows first, then a dispatcher delivers them with retries.

A row goes pending → sending → delivered, or back to pending with exponential backoff and
jitter, or to dead when the receiver refused it for good or too many attempts failed (which
stores a ``notify.delivery_failed`` event, so the failure raises an alert of its own). Every
attempt is written to ``deliveries``. Each receiver's rows go out in id order, so an alert's
resolved notice never overtakes its firing notice; rows that piled up while a receiver was down
are coalesced into one digest message instead of a burst.
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.alerting.tables import deliveries, notifications
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.notify.errors import DeliveryError
from whmcs_monitor.notify.message import Message
from whmcs_monitor.notify.receivers import SEVERITY_ORDER, Channel, ReceiverConfig
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import insert_events

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
MONITOR_SITE = "monitor"


def enqueue(
    conn: Connection,
    receiver: ReceiverConfig,
    *,
    group_key: str,
    reason: str,
    payload: dict[str, Any],
    now: datetime,
) -> int:
    """Queue one notification; quiet hours hold it until they end unless its severity bypasses them."""
    due = now
    quiet = receiver.quiet_hours
    severity = str(payload.get("severity", "warning"))
    if quiet is not None and not quiet.bypassed_by(severity):
        release = quiet.release_time(now)
        if release is not None:
            due = release
            payload = {**payload, "held_for_quiet_hours_until": release.isoformat()}
    return int(
        conn.execute(
            notifications.insert()
            .values(
                receiver=receiver.name,
                group_key=group_key,
                reason=reason,
                payload=payload,
                state="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=due,
            )
            .returning(notifications.c.id)
        ).scalar_one()
    )


def max_severity(severities: Sequence[str]) -> str:
    ranked = [s for s in severities if s in SEVERITY_ORDER]
    return max(ranked, key=SEVERITY_ORDER.index) if ranked else "warning"


def backoff(receiver: ReceiverConfig, attempts: int) -> timedelta:
    """Exponential backoff with full jitter, capped at the receiver's ``backoff_max``."""
    ceiling = min(receiver.backoff_max, receiver.backoff_base * (2 ** min(attempts - 1, 20)))
    return timedelta(seconds=random.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds()))


@dataclass
class Batch:
    receiver: str
    rows: list[sa.Row[Any]]


def claim(db: Database, *, now: datetime, limit: int = 200) -> list[Batch]:
    """Take the due rows of each receiver that nobody else is delivering, in id order.

    Race: two instances sharing PostgreSQL could both pick the same pending rows and send them
    twice. ``FOR UPDATE SKIP LOCKED`` gives each row to one instance; and a receiver whose oldest
    undelivered row we did not get (another instance holds it or is sending it) is skipped as a
    whole, so its rows never go out of order. On SQLite the single writer serializes claims.
    """
    with db.write() as conn:
        conn.execute(  # a crashed instance's lease ran out: offer its rows again
            notifications.update()
            .where(notifications.c.state == "sending", notifications.c.lease_until < now)
            .values(state="pending", lease_until=None)
        )
        stmt = (
            sa.select(notifications)
            .where(notifications.c.state == "pending", notifications.c.next_attempt_at <= now)
            .order_by(notifications.c.id)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        by_receiver: dict[str, list[sa.Row[Any]]] = defaultdict(list)
        for row in conn.execute(stmt):
            by_receiver[row.receiver].append(row)
        heads: dict[str, int] = {
            name: first
            for name, first in conn.execute(
                sa.select(notifications.c.receiver, sa.func.min(notifications.c.id))
                .where(notifications.c.state.in_(("pending", "sending")))
                .group_by(notifications.c.receiver)
            )
        }
        batches = [
            Batch(name, rows) for name, rows in by_receiver.items() if rows[0].id == heads.get(name)
        ]
        ids = [row.id for batch in batches for row in batch.rows]
        if ids:
            conn.execute(
                notifications.update()
                .where(notifications.c.id.in_(ids))
                .values(state="sending", lease_until=now + LEASE)
            )
        return batches


Render = Callable[[ReceiverConfig, Sequence[dict[str, Any]]], Message]


def deliver(
    db: Database,
    receivers: Sequence[ReceiverConfig],
    render: Render,
    *,
    now: datetime | None = None,
) -> int:
    """One dispatcher pass: claim, send, record. Returns the number of notifications delivered."""
    now = now or utcnow()
    by_name = {r.name: r for r in receivers}
    delivered = 0
    for batch in claim(db, now=now):
        receiver = by_name.get(batch.receiver)
        if receiver is None:
            _finish(
                db,
                batch,
                None,
                "dead",
                f"receiver {batch.receiver} is no longer configured",
                now,
                0,
            )
            continue
        delivered += _send_batch(db, receiver, receiver.channel(), batch, render, now)
    return delivered


def _send_batch(
    db: Database,
    receiver: ReceiverConfig,
    channel: Channel,
    batch: Batch,
    render: Render,
    now: datetime,
) -> int:
    rows = batch.rows
    groups = [rows] if len(rows) >= receiver.coalesce_after else [[row] for row in rows]
    sent = 0
    for index, group in enumerate(groups):
        message = render(
            receiver, [dict(row.payload) | {"notification_id": row.id} for row in group]
        )
        started = time.monotonic()
        try:
            channel.send(message, delivery_id="-".join(str(row.id) for row in group))
        except DeliveryError as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            attempts = group[0].attempts + 1
            dead = exc.permanent or attempts >= receiver.max_attempts
            _finish(
                db,
                Batch(batch.receiver, group),
                exc.status,
                "dead" if dead else "retry",
                str(exc),
                now,
                elapsed,
                receiver,
            )
            # Keep the receiver's order: what follows waits for the failed message.
            rest = [row for later in groups[index + 1 :] for row in later]
            if rest:
                _release(db, rest)
            return sent
        elapsed = int((time.monotonic() - started) * 1000)
        _finish(db, Batch(batch.receiver, group), None, "delivered", None, now, elapsed)
        sent += len(group)
    return sent


def _release(db: Database, rows: Sequence[sa.Row[Any]]) -> None:
    with db.write() as conn:
        conn.execute(
            notifications.update()
            .where(notifications.c.id.in_([r.id for r in rows]))
            .values(state="pending", lease_until=None)
        )


def _finish(
    db: Database,
    batch: Batch,
    status: int | None,
    outcome: str,
    error: str | None,
    now: datetime,
    elapsed_ms: int,
    receiver: ReceiverConfig | None = None,
) -> None:
    ids = [row.id for row in batch.rows]
    attempt = batch.rows[0].attempts + 1
    finished = utcnow()
    with db.write() as conn:
        values: dict[str, Any] = {
            "attempts": notifications.c.attempts + 1,
            "lease_until": None,
            "last_error": error,
        }
        if outcome == "delivered":
            values.update(state="delivered", delivered_at=finished)
        elif outcome == "dead":
            values.update(state="dead")
        else:
            assert receiver is not None
            values.update(state="pending", next_attempt_at=finished + backoff(receiver, attempt))
        conn.execute(notifications.update().where(notifications.c.id.in_(ids)).values(**values))
        conn.execute(
            deliveries.insert().values(
                receiver=batch.receiver,
                notification_ids=ids,
                attempt=attempt,
                at=finished,
                outcome=outcome,
                status=status,
                error=error,
                duration_ms=elapsed_ms,
            )
        )
        if outcome == "dead":
            _raise_dead_letter(conn, batch.receiver, ids, error or "", finished)


def _raise_dead_letter(
    conn: Connection, receiver: str, ids: Sequence[int], error: str, at: datetime
) -> None:
    entry = load_catalog().get("notify.delivery_failed")
    event = build_event(
        entry,
        site=MONITOR_SITE,
        data={"receiver": receiver, "error": error, "notification_ids": list(ids)},
        occurred_at=at,
        event_id=f"notify:dead:{ids[0]}",
    )
    insert_events(conn, [event])
    log.warning("notification(s) %s to %s moved to dead letter: %s", list(ids), receiver, error)
