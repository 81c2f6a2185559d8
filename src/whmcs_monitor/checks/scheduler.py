"""The check scheduler: asyncio, with a per-check interval, timeout and jitter, shared between
instances through row claims.

Each tick claims the checks due within the next :data:`LOOKAHEAD` (moving their ``next_run_at``
on by one interval in the same transaction), starts each probe at its planned time, and records
finished results in one write transaction. Probes only measure; :mod:`recording` turns results
into samples, state and events.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa

from whmcs_monitor import coverage
from whmcs_monitor.catalog import Catalog
from whmcs_monitor.checks.base import CheckBase, ProbeContext, Result
from whmcs_monitor.checks.definitions import Origin, all_checks
from whmcs_monitor.checks.recording import Outcome, record_outcomes
from whmcs_monitor.checks.tables import check_state
from whmcs_monitor.config import Settings
from whmcs_monitor.lib.periodic import in_thread
from whmcs_monitor.lib.timeutil import as_utc, utcnow
from whmcs_monitor.store.db import Database, dialect_insert

log = logging.getLogger(__name__)
TICK = timedelta(milliseconds=250)
LOOKAHEAD = timedelta(seconds=3)  # probes wait in-process for their exact start time
LEASE_MARGIN = timedelta(seconds=30)
SYNC_EVERY = timedelta(seconds=30)
MAX_CLAIM = 500


@coverage.wires("check", "add probes or heartbeats under `checks:` in the config (see docs)")
def _checks_wired(settings: Settings, _conn: sa.engine.Connection) -> bool:
    return bool(settings.checks.enabled and (settings.checks.probes or settings.checks.heartbeats))


def instance_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class Claim:
    name: str
    planned: datetime
    previous: Mapping[str, float]
    previous_at: datetime | None


def next_run(planned: datetime, now: datetime, check: CheckBase) -> datetime:
    """One interval after the planned time (so runs do not creep), shifted by up to ±jitter.

    After an outage the grid restarts from now instead of running every missed slot at once.
    """
    base = planned if planned > now - check.interval else now
    jitter = check.jitter.total_seconds()
    shift = timedelta(seconds=random.uniform(-jitter, jitter)) if jitter else timedelta(0)
    return max(base + check.interval + shift, now + check.interval / 2)


async def run_probe(
    check: CheckBase, claim: Claim, now: datetime, transport: httpx.AsyncBaseTransport | None
) -> Result:
    """One probe bounded by its timeout; a crash or a hang is a failed run, never a dead loop."""
    ctx = ProbeContext(now, claim.previous, claim.previous_at, transport)
    timeout = check.timeout.total_seconds()
    try:
        # asyncio.timeout, not wait_for: on Python 3.11, wait_for drops a cancellation that
        # arrives as the probe finishes, and the scheduler would then never stop.
        async with asyncio.timeout(timeout):
            return await check.probe(ctx)
    except TimeoutError:
        return Result("down", f"no result within the {timeout:g}s timeout")
    except Exception as exc:  # a probe bug must cost one result, not the scheduler
        log.exception("check %s: probe raised", check.name)
        return Result("down", f"the probe failed: {type(exc).__name__}: {exc}")


class Scheduler:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        catalog: Catalog,
        *,
        owner: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.catalog = catalog
        self.owner = owner or instance_name()
        self.transport = transport
        self.clock = clock
        self.checks: dict[str, CheckBase] = {}
        self._limit = asyncio.Semaphore(settings.checks.concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self._finished: list[Outcome] = []
        self.drift: list[float] = []  # seconds late per started probe, for the benchmark

    # -- the set of checks -------------------------------------------------------------------
    def sync(self) -> None:
        """Make ``check_state`` hold one row per known check; drop rows of removed ones."""
        now = self.clock()
        with self.db.write() as conn:
            found = all_checks(self.settings, conn)
            existing = {
                row.name: row
                for row in conn.execute(
                    sa.select(check_state.c.name, check_state.c.origin, check_state.c.target)
                )
            }
            for name, (check, origin) in found.items():
                self._upsert(conn, check, origin, existing.get(name), now)
            gone = [n for n, row in existing.items() if n not in found and row.origin != "api"]
            if gone:
                conn.execute(check_state.delete().where(check_state.c.name.in_(gone)))
        self.checks = {name: check for name, (check, _) in found.items()}

    @staticmethod
    def _upsert(
        conn: sa.engine.Connection,
        check: CheckBase,
        origin: Origin,
        row: sa.Row[tuple[str, str, str]] | None,
        now: datetime,
    ) -> None:
        fields = {"site": check.site, "type": check.type_name, "target": check.target[:512]}
        if row is None:
            # New checks start spread over one interval, so a restart is not a thundering herd.
            first = now + timedelta(seconds=random.uniform(0, check.interval.total_seconds()))
            # Instances starting together may both insert the row: the second one is a no-op.
            conn.execute(
                dialect_insert(conn, check_state)
                .on_conflict_do_nothing(index_elements=["name"])
                .values(
                    name=check.name,
                    origin=origin,
                    state="unknown",
                    fail_streak=0,
                    ok_streak=0,
                    next_run_at=first,
                    last_message="",
                    last_metrics={},
                    **fields,
                )
            )
        elif row.origin != origin or row.target != fields["target"]:
            conn.execute(
                check_state.update()
                .where(check_state.c.name == check.name)
                .values(origin=origin, **fields)
            )

    # -- claiming ----------------------------------------------------------------------------
    def claim(self, now: datetime, *, horizon: timedelta = LOOKAHEAD) -> list[Claim]:
        """Claim the known checks due by ``now + horizon`` for this instance.

        The race: two instances read the same due row at the same moment and both run the
        check. ``FOR UPDATE SKIP LOCKED`` makes the second reader skip a row the first has
        locked, and the first moves ``next_run_at`` past the horizon and sets a lease before
        committing, so after the commit the row is no longer due for anyone. On SQLite the
        write transaction (BEGIN IMMEDIATE) already admits one claimer at a time.
        """
        if not self.checks:
            return []
        claims = []
        with self.db.write() as conn:
            rows = conn.execute(
                sa.select(
                    check_state.c.name,
                    check_state.c.next_run_at,
                    check_state.c.last_metrics,
                    check_state.c.last_run_at,
                )
                .where(
                    check_state.c.name.in_(list(self.checks)),
                    check_state.c.next_run_at <= now + horizon,
                    sa.or_(
                        check_state.c.claimed_until.is_(None), check_state.c.claimed_until < now
                    ),
                )
                .order_by(check_state.c.next_run_at)
                .limit(MAX_CLAIM)
                .with_for_update(skip_locked=True)
            ).all()
            updates = []
            for row in rows:
                check = self.checks[row.name]
                planned = as_utc(row.next_run_at)
                updates.append(
                    {
                        "b_name": row.name,
                        "b_next": next_run(planned, now, check),
                        "b_until": max(planned, now) + check.timeout + LEASE_MARGIN,
                    }
                )
                last = as_utc(row.last_run_at) if row.last_run_at else None
                claims.append(Claim(row.name, planned, dict(row.last_metrics or {}), last))
            if updates:
                conn.execute(
                    check_state.update()
                    .where(check_state.c.name == sa.bindparam("b_name"))
                    .values(
                        next_run_at=sa.bindparam("b_next"),
                        claimed_by=self.owner,
                        claimed_until=sa.bindparam("b_until"),
                    ),
                    updates,
                )
        return claims

    # -- running -----------------------------------------------------------------------------
    def start(self, claim: Claim) -> None:
        task = asyncio.create_task(self._run_at(claim), name=f"check:{claim.name}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run_at(self, claim: Claim) -> None:
        delay = (claim.planned - self.clock()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        check = self.checks.get(claim.name)
        if check is None:
            return  # removed from the config since the claim; its lease just runs out
        async with self._limit:
            started = self.clock()
            self.drift.append(max(0.0, (started - claim.planned).total_seconds()))
            result = await run_probe(check, claim, started, self.transport)
        self._finished.append(Outcome(check, result, started))

    def record(self, outcomes: list[Outcome]) -> int:
        if outcomes:
            with self.db.write() as conn:
                record_outcomes(conn, self.catalog, outcomes, owner=self.owner)
        return len(outcomes)

    async def flush(self) -> int:
        """Record the results finished so far (taken on the loop, written in a thread)."""
        done, self._finished = self._finished, []
        return await in_thread(self.record, done)

    async def claim_and_start(self) -> None:
        for claim in await in_thread(self.claim, self.clock()):
            self.start(claim)

    async def run_due_now(self) -> int:
        """Claim what is due, run it and record it, all before returning (tests, one-off runs)."""
        for claim in await in_thread(lambda: self.claim(self.clock(), horizon=timedelta(0))):
            self.start(claim)
        await self.drain()
        return await self.flush()

    async def drain(self) -> None:
        while self._running:
            await asyncio.wait(set(self._running))

    async def run(self) -> None:
        """The worker: claim and start due checks, and record results, until cancelled.

        Claiming and recording are separate loops, so a slow write of results never delays
        the claims that keep probes on time.
        """
        recorder = asyncio.create_task(self._every_tick(self.flush, "recording results"))
        synced_at: datetime | None = None
        try:
            while True:
                now = self.clock()
                if synced_at is None or now - synced_at >= SYNC_EVERY:
                    await self._guarded(self._sync, "reading the check list")
                    synced_at = now
                await self._guarded(self.claim_and_start, "claiming due checks")
                await asyncio.sleep(TICK.total_seconds())
        finally:
            recorder.cancel()
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(recorder, *self._running, return_exceptions=True)
            await self.flush()

    async def _sync(self) -> None:
        await in_thread(self.sync)

    async def _every_tick(self, step: Callable[[], Awaitable[object]], what: str) -> None:
        while True:
            await asyncio.sleep(TICK.total_seconds())
            await self._guarded(step, what)

    @staticmethod
    async def _guarded(step: Callable[[], Awaitable[object]], what: str) -> None:
        """A database outage (or any failed statement) costs a tick, not the worker."""
        try:
            await step()
        except sa.exc.OperationalError as exc:
            log.warning("check scheduler: database unavailable while %s (%s)", what, exc.orig)
        except sa.exc.SQLAlchemyError:
            log.exception("check scheduler: failed while %s; retrying next tick", what)
