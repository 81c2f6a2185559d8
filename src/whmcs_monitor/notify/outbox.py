"""The outbox: notifications are rows first, then a dispatcher delivers them with retries.

A row goes pending → sending → delivered, or back to pending with exponential backoff and
jitter, or to dead when the receiver refused it for good or too many attempts failed (which
stores a ``notify.delivery_failed`` event, so the failure raises an alert of its own). Every
attempt is written to ``deliveries`` as soon as it ends, under the lease of the pass that
claimed the row (:class:`Lease`), so several instances never send a row twice. Each group's
rows go out in id order, so an alert's resolved notice never overtakes its firing notice; rows
that piled up while a receiver was down are coalesced into one digest message instead of a
burst.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import takewhile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

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
# How long a claimed row is held without a word from its dispatcher. Renewed before every send,
# so it must outlast one send: a webhook gives up after at most 60 s, each SMTP step after at
# most 120 s. A crashed instance's rows are offered again after it.
LEASE = timedelta(minutes=10)
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
    lease_until: datetime  # what the claim wrote on the rows: its token (see Lease)


def claim(db: Database, *, now: datetime, limit: int = 200) -> list[Batch]:
    """Take the due rows that nobody else is delivering, in id order, group by group.

    Order is kept per group (so per alert: its resolved notice never overtakes its firing
    notice); see :func:`_in_group_order`.

    Race: two instances sharing PostgreSQL could both pick the same pending rows and send them
    twice. ``FOR UPDATE SKIP LOCKED`` gives each row to one instance, and a group whose oldest
    row another instance holds is left to that instance. On SQLite the single writer serializes
    claims.
    """
    if not _work_waiting(db, now):  # most passes: no write transaction, no turn on the lock
        return []
    until = now + LEASE
    with db.write() as conn:
        conn.execute(  # a crashed instance's lease ran out: offer its rows again
            notifications.update()
            .where(notifications.c.state == "sending", notifications.c.lease_until < now)
            .values(state="pending", lease_until=None)
        )
        pending = (
            sa.select(notifications)
            .where(notifications.c.state == "pending")
            .order_by(notifications.c.id)
        )
        due = conn.execute(
            _locked(conn, pending.where(notifications.c.next_attempt_at <= now).limit(limit))
        ).all()
        if not due:
            return []
        held_for_quiet_hours = pending.where(
            notifications.c.attempts == 0,
            notifications.c.next_attempt_at > now,
            notifications.c.group_key.in_({row.group_key for row in due}),
            notifications.c.id < max(row.id for row in due),
        )
        held = conn.execute(_locked(conn, held_for_quiet_hours)).all()
        rows = _in_group_order(conn, due, held)
        if rows:
            conn.execute(
                notifications.update()
                .where(notifications.c.id.in_([row.id for row in rows]))
                .values(state="sending", lease_until=until)
            )
    by_receiver: dict[str, list[sa.Row[Any]]] = defaultdict(list)
    for row in rows:
        by_receiver[row.receiver].append(row)
    return [Batch(name, held_rows, until) for name, held_rows in by_receiver.items()]


def _locked(conn: Connection, stmt: Select[Any]) -> Select[Any]:
    if conn.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt


def _work_waiting(db: Database, now: datetime) -> bool:
    due = sa.or_(
        sa.and_(notifications.c.state == "pending", notifications.c.next_attempt_at <= now),
        sa.and_(notifications.c.state == "sending", notifications.c.lease_until < now),
    )
    with db.read() as conn:
        return conn.scalar(sa.select(notifications.c.id).where(due).limit(1)) is not None


def _in_group_order(
    conn: Connection, due: Sequence[sa.Row[Any]], held: Sequence[sa.Row[Any]]
) -> list[sa.Row[Any]]:
    """Of the rows this claim locked, those that can go now without overtaking anything.

    A group's rows go from its oldest open (pending or sending) row on, for as long as they
    are this claim's: a row being sent, waiting for a retry or locked by another instance ends
    the run. A row held for quiet hours goes along only ahead of a due row of its group (a
    critical one, which bypasses them): arriving after it, a stale firing notice could follow
    its own resolved notice.
    """
    mine = {row.id: row for row in (*due, *held)}
    due_ids = {row.id for row in due}
    groups = {(row.receiver, row.group_key) for row in due}
    open_rows = conn.execute(
        sa.select(notifications.c.id, notifications.c.receiver, notifications.c.group_key)
        .where(
            notifications.c.state.in_(("pending", "sending")),
            notifications.c.group_key.in_({key for _, key in groups}),
            notifications.c.id <= max(due_ids),
        )
        .order_by(notifications.c.id)
    )
    runs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row_id, receiver, key in open_rows:
        if (receiver, key) in groups:
            runs[(receiver, key)].append(row_id)
    taken: list[sa.Row[Any]] = []
    for ids in runs.values():
        run = list(takewhile(mine.__contains__, ids))
        through = max((n for n, row_id in enumerate(run) if row_id in due_ids), default=-1)
        taken.extend(mine[row_id] for row_id in run[: through + 1])
    return sorted(taken, key=lambda row: int(row.id))


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


@dataclass
class Lease:
    """A pass's hold on claimed rows; ``until`` is the ``lease_until`` it last wrote on them.

    That value is the claim token. Another instance takes a row over only once its lease ran
    out, and then writes a later ``lease_until``; so every write made under ``until`` lands only
    on rows this pass still holds, and a pass that lost its rows sends and overwrites nothing.
    Before each send the lease is renewed for a full ``LEASE``, far longer than one send takes.
    """

    db: Database
    until: datetime
    clock: Callable[[], datetime]

    def start(self, rows: Sequence[sa.Row[Any]]) -> bool:
        """Renew the lease on a stream's rows before its first send if it has waited long
        enough to matter (behind other streams); a fresh claim needs no write."""
        if self.fresh():
            return True
        with self.db.write() as conn:
            return self._renew(conn, rows)

    def give_back(self, rows: Sequence[sa.Row[Any]]) -> None:
        with self.db.write() as conn:
            self._release(conn, rows)

    def fresh(self) -> bool:
        """Whether the lease has at least half of its length left: time to send under it."""
        return self.until - self.clock() > LEASE / 2

    def settle_all(
        self, receiver: ReceiverConfig, attempts: Sequence[Attempt], unsent: Sequence[sa.Row[Any]]
    ) -> None:
        """Record sends that nothing waits behind, in one transaction: one message per group,
        sent side by side; give back the rows not sent. Until recorded they stay leased to this
        pass, so no instance sends them again meanwhile; a crash before this leaves them to be
        offered again once the lease runs out."""
        delivered = [attempt for attempt in attempts if attempt.outcome == "delivered"]
        with self.db.write() as conn:
            self._record_delivered(conn, receiver.name, delivered)
            for attempt in attempts:
                if attempt.outcome != "delivered":
                    self._record(conn, receiver.name, receiver, attempt)
            self._release(conn, unsent)

    def _record_delivered(
        self, conn: Connection, receiver_name: str, attempts: Sequence[Attempt]
    ) -> None:
        """:meth:`_record` for many deliveries at once: two statements, not two each (at a
        few hundred alerts a second, a round trip per row was most of the delivery time)."""
        if not attempts:
            return
        rows = [row for attempt in attempts for row in attempt.rows]
        sent_at = {row.id: attempt.at for attempt in attempts for row in attempt.rows}
        kept = conn.execute(
            notifications.update()
            .where(self._held(rows))
            .values(
                state="delivered",
                delivered_at=sa.case(sent_at, value=notifications.c.id),
                attempts=notifications.c.attempts + 1,
                lease_until=None,
                last_error=None,
            )
        ).rowcount
        conn.execute(deliveries.insert(), [_delivery(receiver_name, a) for a in attempts])
        if kept != len(rows):
            log.warning(
                "%d of %d notification(s) to %s were delivered after their lease ran out, so "
                "another instance may send them again",
                len(rows) - kept,
                len(rows),
                receiver_name,
            )

    def settle(
        self,
        receiver_name: str,
        receiver: ReceiverConfig | None,
        attempt: Attempt,
        later: Sequence[sa.Row[Any]],
    ) -> bool:
        """Record one send as soon as it ended; then keep the rows behind it (after a success)
        or give them back to wait (after a failure). True if the stream may go on."""
        with self.db.write() as conn:
            self._record(conn, receiver_name, receiver, attempt)
            if attempt.outcome == "delivered":
                return self._renew(conn, later)
            self._release(conn, later)
            return False

    def _held(self, rows: Sequence[sa.Row[Any]]) -> sa.ColumnElement[bool]:
        return sa.and_(
            notifications.c.id.in_([row.id for row in rows]),
            notifications.c.state == "sending",
            notifications.c.lease_until == self.until,
        )

    def _renew(self, conn: Connection, rows: Sequence[sa.Row[Any]]) -> bool:
        """A full lease from now on ``rows``; if some are no longer held, the rest go back."""
        if not rows:
            return True
        until = self.clock() + LEASE
        kept = conn.execute(
            notifications.update().where(self._held(rows)).values(lease_until=until)
        ).rowcount
        self.until = until
        if kept == len(rows):
            return True
        log.warning(
            "notification(s) %s to %s were taken over by another instance; not sending them",
            [row.id for row in rows],
            rows[0].receiver,
        )
        self._release(conn, rows)
        return False

    def _release(self, conn: Connection, rows: Sequence[sa.Row[Any]]) -> None:
        """Back to pending as they were: rows waiting behind a failure or a rate limit."""
        if rows:
            conn.execute(
                notifications.update()
                .where(self._held(rows))
                .values(state="pending", lease_until=None)
            )

    def _record(
        self,
        conn: Connection,
        receiver_name: str,
        receiver: ReceiverConfig | None,
        attempt: Attempt,
    ) -> None:
        """The delivery log gets every attempt; the rows get its outcome only while held."""
        ids = [row.id for row in attempt.rows]
        kept = conn.execute(
            notifications.update()
            .where(self._held(attempt.rows))
            .values(**_outcome(receiver, attempt))
        ).rowcount
        conn.execute(deliveries.insert().values(**_delivery(receiver_name, attempt)))
        if kept != len(ids):
            log.warning(
                "notification(s) %s to %s: the lease ran out during the send (%s), so another "
                "instance may send them again",
                ids,
                receiver_name,
                attempt.outcome,
            )
        elif attempt.outcome == "dead":
            _raise_dead_letter(conn, receiver_name, ids, attempt.error or "", attempt.at)


def _delivery(receiver_name: str, attempt: Attempt) -> dict[str, Any]:
    """The delivery log's record of one attempt."""
    return {
        "receiver": receiver_name,
        "notification_ids": [row.id for row in attempt.rows],
        "attempt": attempt.rows[0].attempts + 1,
        "at": attempt.at,
        "outcome": attempt.outcome,
        "status": attempt.status,
        "error": attempt.error,
        "duration_ms": attempt.elapsed_ms,
    }


def _outcome(receiver: ReceiverConfig | None, attempt: Attempt) -> dict[str, Any]:
    """A row after an attempt: delivered, pending again after a backoff (retry), or dead."""
    values: dict[str, Any] = {
        "attempts": notifications.c.attempts + 1,
        "lease_until": None,
        "last_error": attempt.error,
    }
    if attempt.outcome == "delivered":
        return values | {"state": "delivered", "delivered_at": attempt.at}
    if attempt.outcome == "retry":
        assert receiver is not None
        retry_at = attempt.at + backoff(receiver, attempt.rows[0].attempts + 1)
        return values | {"state": "pending", "next_attempt_at": retry_at}
    return values | {"state": "dead"}


def deliver(
    db: Database,
    receivers: Sequence[ReceiverConfig],
    render: Render,
    *,
    now: datetime | None = None,
) -> int:
    """One dispatcher pass: claim, then send and record message by message.

    Returns the number of notifications delivered.
    """
    now = now or utcnow()
    started = time.monotonic()

    def clock() -> datetime:  # the pass's time (a test may set it), moving with the wall clock
        return now + timedelta(seconds=time.monotonic() - started)

    by_name = {r.name: r for r in receivers}
    delivered = 0
    for batch in claim(db, now=now):
        lease = Lease(db, batch.lease_until, clock)
        receiver = by_name.get(batch.receiver)
        if receiver is None:
            gone = f"receiver {batch.receiver} is no longer configured"
            lease.settle(
                batch.receiver, None, Attempt(batch.rows, "dead", utcnow(), error=gone), []
            )
            continue
        budget = receiver.max_per_minute - _sent_last_minute(db, receiver.name, now)
        if budget <= 0:  # rate limited: the rows wait, and go out later as one digest
            lease.give_back(batch.rows)
            continue
        delivered += _send_batch(receiver, batch, render, budget, lease)
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
    receiver: ReceiverConfig, batch: Batch, render: Render, budget: int, lease: Lease
) -> int:
    """Send one receiver's claimed rows; returns how many were delivered.

    A backlog, or more rows than the rate limit allows, becomes one digest. Otherwise each
    group's messages go in order, and up to ``parallel_sends`` groups at once: a slow answer
    for one group does not hold up the others. After a failure the rest of that group waits,
    so nothing overtakes the failed message. Groups of one message (most: one alert fired)
    are recorded together once sent, one write for all of them rather than one each.
    """
    rows = batch.rows
    if len(rows) >= receiver.coalesce_after or len(rows) > budget:
        streams = [[rows]]
    else:
        by_group: dict[str, list[list[sa.Row[Any]]]] = defaultdict(list)
        for row in rows:
            by_group[row.group_key].append([row])
        streams = list(by_group.values())
    channel = receiver.channel()
    singles = [stream[0] for stream in streams if len(stream) == 1]
    ordered = [stream for stream in streams if len(stream) > 1]

    def send_ordered(messages: list[list[sa.Row[Any]]]) -> int:
        # Each stream renews only its own rows, so each holds a token of its own.
        return _send_in_order(receiver, channel, render, replace(lease), messages)

    def send_single(message: list[sa.Row[Any]]) -> Attempt | None:
        # One that waited long behind slow sends is left for the next pass and a fresh claim.
        return _attempt(receiver, channel, render, message) if lease.fresh() else None

    with ThreadPoolExecutor(max(1, min(receiver.parallel_sends, len(streams)))) as pool:
        ordered_sent = pool.map(send_ordered, ordered)
        results = list(pool.map(send_single, singles))
        delivered = sum(ordered_sent)
    attempts = [attempt for attempt in results if attempt is not None]
    unsent = [
        row for message, got in zip(singles, results, strict=True) if got is None for row in message
    ]
    if singles:
        lease.settle_all(receiver, attempts, unsent)
    return delivered + sum(len(a.rows) for a in attempts if a.outcome == "delivered")


def _send_in_order(
    receiver: ReceiverConfig,
    channel: Channel,
    render: Render,
    lease: Lease,
    messages: list[list[sa.Row[Any]]],
) -> int:
    """Send ``messages`` (each one or more rows) one after the other, each recorded as soon as
    it is sent, until one fails (the rest wait behind it) or the rows are no longer held."""
    if not lease.start([row for message in messages for row in message]):
        return 0
    delivered = 0
    for index, message in enumerate(messages):
        attempt = _attempt(receiver, channel, render, message)
        delivered += len(message) if attempt.outcome == "delivered" else 0
        later = [row for rest in messages[index + 1 :] for row in rest]
        if not lease.settle(receiver.name, receiver, attempt, later):
            break
    return delivered


def _attempt(
    receiver: ReceiverConfig, channel: Channel, render: Render, rows: list[sa.Row[Any]]
) -> Attempt:
    payloads = [dict(row.payload) | {"notification_id": row.id} for row in rows]
    started = time.monotonic()
    try:
        channel.send(render(receiver, payloads), delivery_id="-".join(str(r.id) for r in rows))
    except Exception as raised:
        exc = _as_delivery_error(channel, raised)
        dead = exc.permanent or rows[0].attempts + 1 >= receiver.max_attempts
        outcome = "dead" if dead else "retry"
        return Attempt(rows, outcome, utcnow(), _ms(started), exc.status, str(exc))
    return Attempt(rows, "delivered", utcnow(), _ms(started))


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
