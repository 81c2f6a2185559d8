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
import traceback
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
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


def outbox_row(
    receiver: ReceiverConfig,
    *,
    group_key: str,
    reason: str,
    payload: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """One notification row; quiet hours hold it until they end unless its severity bypasses them."""
    due = now
    quiet = receiver.quiet_hours
    severity = str(payload.get("severity", "warning"))
    if quiet is not None and not quiet.bypassed_by(severity):
        release = quiet.release_time(now)
        if release is not None:
            due = release
            payload = {**payload, "held_for_quiet_hours_until": release.isoformat()}
    return {
        "receiver": receiver.name,
        "group_key": group_key,
        "reason": reason,
        "payload": payload,
        "state": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": due,
    }


def enqueue(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Queue notifications built by :func:`outbox_row` (one statement for the whole pass)."""
    if rows:
        conn.execute(notifications.insert(), list(rows))


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
    """Take the due rows that nobody else is delivering, in id order, group by group.

    Order is kept per group (so per alert: its resolved notice never overtakes its firing
    notice): a group's rows are taken only from its oldest row still in the way, which is one
    being sent, one waiting to retry, or one due now. A row held for quiet hours is not in the
    way of a later critical one, which bypasses them.

    Race: two instances sharing PostgreSQL could both pick the same pending rows and send them
    twice. ``FOR UPDATE SKIP LOCKED`` gives each row to one instance, and a group whose oldest
    row another instance holds is left to that instance. On SQLite the single writer serializes
    claims.
    """
    if not _work_waiting(db, now):  # most passes: no write transaction, no turn on the lock
        return []
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
        due = conn.execute(stmt).all()
        heads = _group_heads(conn, now)
        taken: set[tuple[str, str]] = set()
        by_receiver: dict[str, list[sa.Row[Any]]] = defaultdict(list)
        for row in due:
            group = (row.receiver, row.group_key)
            if group in taken or heads.get(group) == row.id:
                taken.add(group)
                by_receiver[row.receiver].append(row)
        ids = [row.id for rows in by_receiver.values() for row in rows]
        if ids:
            conn.execute(
                notifications.update()
                .where(notifications.c.id.in_(ids))
                .values(state="sending", lease_until=now + LEASE)
            )
        return [Batch(name, rows) for name, rows in by_receiver.items()]


def _work_waiting(db: Database, now: datetime) -> bool:
    due = sa.or_(
        sa.and_(notifications.c.state == "pending", notifications.c.next_attempt_at <= now),
        sa.and_(notifications.c.state == "sending", notifications.c.lease_until < now),
    )
    with db.read() as conn:
        return conn.scalar(sa.select(notifications.c.id).where(due).limit(1)) is not None


def _group_heads(conn: Connection, now: datetime) -> dict[tuple[str, str], int]:
    """Per (receiver, group): the oldest row that later rows of the group must not overtake."""
    in_the_way = sa.or_(
        notifications.c.state == "sending",
        sa.and_(
            notifications.c.state == "pending",
            sa.or_(notifications.c.attempts > 0, notifications.c.next_attempt_at <= now),
        ),
    )
    rows = conn.execute(
        sa.select(
            notifications.c.receiver, notifications.c.group_key, sa.func.min(notifications.c.id)
        )
        .where(in_the_way)
        .group_by(notifications.c.receiver, notifications.c.group_key)
    )
    return {(receiver, group): first for receiver, group, first in rows}


Render = Callable[[ReceiverConfig, Sequence[dict[str, Any]]], Message]


@dataclass
class Attempt:
    """One send of one message (a notification or a digest of several) and how it ended."""

    rows: list[sa.Row[Any]]
    outcome: str  # delivered | retry | dead
    at: datetime
    elapsed_ms: int = 0
    status: int | None = None
    error: str | None = None


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
            gone = f"receiver {batch.receiver} is no longer configured"
            _record(
                db, batch.receiver, None, [Attempt(batch.rows, "dead", utcnow(), error=gone)], []
            )
            continue
        budget = receiver.max_per_minute - _sent_last_minute(db, receiver.name, now)
        if budget <= 0:  # rate limited: the rows wait, and go out later as one digest
            _record(db, receiver.name, receiver, [], batch.rows)
            continue
        delivered += _send_batch(db, receiver, receiver.channel(), batch, render, budget)
    return delivered


def _sent_last_minute(db: Database, receiver: str, now: datetime) -> int:
    with db.read() as conn:
        count = conn.scalar(
            sa.select(sa.func.count()).where(
                deliveries.c.receiver == receiver,
                deliveries.c.outcome == "delivered",
                deliveries.c.at > now - timedelta(minutes=1),
            )
        )
    return int(count or 0)


def _send_batch(
    db: Database,
    receiver: ReceiverConfig,
    channel: Channel,
    batch: Batch,
    render: Render,
    budget: int,
) -> int:
    """Send, then record every attempt in one transaction.

    A backlog, or more rows than the rate limit allows, becomes one digest. Otherwise each
    group's messages go in order, and up to ``parallel_sends`` groups at once: a slow answer
    for one group does not hold up the others. After a failure the rest of that group waits,
    so nothing overtakes the failed message.
    """
    rows = batch.rows
    if len(rows) >= receiver.coalesce_after or len(rows) > budget:
        streams = [[rows]]
    else:
        by_group: dict[str, list[list[sa.Row[Any]]]] = defaultdict(list)
        for row in rows:
            by_group[row.group_key].append([row])
        streams = list(by_group.values())

    def send(messages: list[list[sa.Row[Any]]]) -> tuple[list[Attempt], list[sa.Row[Any]]]:
        return _send_in_order(receiver, channel, render, messages)

    if len(streams) == 1:
        results = [send(streams[0])]
    else:
        with ThreadPoolExecutor(min(receiver.parallel_sends, len(streams))) as pool:
            results = list(pool.map(send, streams))
    attempts = [attempt for done, _ in results for attempt in done]
    waiting = [row for _, rest in results for row in rest]
    _record(db, receiver.name, receiver, attempts, waiting)
    return sum(len(a.rows) for a in attempts if a.outcome == "delivered")


def _send_in_order(
    receiver: ReceiverConfig,
    channel: Channel,
    render: Render,
    messages: list[list[sa.Row[Any]]],
) -> tuple[list[Attempt], list[sa.Row[Any]]]:
    """Send ``messages`` (each one or more rows) one after the other until one fails; returns
    the attempts and the rows that must wait behind the failure."""
    attempts: list[Attempt] = []
    for index, group in enumerate(messages):
        payloads = [dict(row.payload) | {"notification_id": row.id} for row in group]
        started = time.monotonic()
        try:
            channel.send(render(receiver, payloads), delivery_id="-".join(str(r.id) for r in group))
        except Exception as raised:
            exc = _as_delivery_error(channel, raised)
            dead = exc.permanent or group[0].attempts + 1 >= receiver.max_attempts
            outcome = "dead" if dead else "retry"
            attempts.append(Attempt(group, outcome, utcnow(), _ms(started), exc.status, str(exc)))
            return attempts, [row for later in messages[index + 1 :] for row in later]
        attempts.append(Attempt(group, "delivered", utcnow(), _ms(started)))
    return attempts, []


def _as_delivery_error(channel: Channel, exc: Exception) -> DeliveryError:
    """A channel's refusal as it is; anything else as a temporary failure of this one message.

    Anything else is a message that could not be built (a template error) or that the channel
    could not encode. Letting it escape would end the pass with every claimed row left in
    ``sending``; as a failure it is logged, retried and finally dead-lettered like any other.
    Only the exception's type and where it was raised are kept: its text may quote a secret.
    """
    if isinstance(exc, DeliveryError):
        return exc
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" in {Path(frames[-1].filename).name}" if frames else ""
    error = f"{channel.describe()}: the message could not be built or sent ({type(exc).__name__}{where})"
    log.warning("%s; it will be retried", error)
    return DeliveryError(error, permanent=False)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record(
    db: Database,
    receiver_name: str,
    receiver: ReceiverConfig | None,
    attempts: Sequence[Attempt],
    waiting: Sequence[sa.Row[Any]],
) -> None:
    """Store every attempt's outcome in one transaction (a few statements for a whole batch)."""
    delivered = [a for a in attempts if a.outcome == "delivered"]
    with db.write() as conn:
        if delivered:
            conn.execute(
                notifications.update()
                .where(notifications.c.id == sa.bindparam("row_id"))
                .values(
                    attempts=notifications.c.attempts + 1,
                    lease_until=None,
                    last_error=None,
                    state="delivered",
                    delivered_at=sa.bindparam("at"),
                ),
                [{"row_id": row.id, "at": a.at} for a in delivered for row in a.rows],
            )
        for attempt in attempts:
            if attempt.outcome != "delivered":
                _record_failure(conn, receiver_name, receiver, attempt)
        if attempts:
            conn.execute(
                deliveries.insert(),
                [
                    {
                        "receiver": receiver_name,
                        "notification_ids": [row.id for row in a.rows],
                        "attempt": a.rows[0].attempts + 1,
                        "at": a.at,
                        "outcome": a.outcome,
                        "status": a.status,
                        "error": a.error,
                        "duration_ms": a.elapsed_ms,
                    }
                    for a in attempts
                ],
            )
        if waiting:
            conn.execute(
                notifications.update()
                .where(notifications.c.id.in_([r.id for r in waiting]))
                .values(state="pending", lease_until=None)
            )


def _record_failure(
    conn: Connection, receiver_name: str, receiver: ReceiverConfig | None, attempt: Attempt
) -> None:
    """Back to pending with a backoff (retry), or dead, which raises an alert of its own."""
    ids = [row.id for row in attempt.rows]
    values: dict[str, Any] = {
        "attempts": notifications.c.attempts + 1,
        "lease_until": None,
        "last_error": attempt.error,
        "state": "pending" if attempt.outcome == "retry" else attempt.outcome,
    }
    if attempt.outcome == "retry":
        assert receiver is not None
        values["next_attempt_at"] = attempt.at + backoff(receiver, attempt.rows[0].attempts + 1)
    conn.execute(notifications.update().where(notifications.c.id.in_(ids)).values(**values))
    if attempt.outcome == "dead":
        _raise_dead_letter(conn, receiver_name, ids, attempt.error or "", attempt.at)


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
