"""The scheduler on both backends: results become samples and state, flap control turns state
changes into events, and instances sharing a database never run one check twice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from checks_fixtures import (
    FrozenClock,
    Reply,
    Route,
    SwitchableListener,
    dripping_server,
    kinds,
    scheduler_for,
    serve_http,
    state,
    step,
)
from support import make_settings
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.checks.base import CheckBase, ProbeContext, Result
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.checks.scheduler import Claim, Scheduler, run_probe
from whmcs_monitor.checks.tables import check_state
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events
from whmcs_monitor.store.metrics import latest


@pytest.fixture
def listener() -> Iterator[SwitchableListener]:
    port = SwitchableListener()
    port.up()
    yield port
    port.down()


def tcp(name: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "tcp",
        "host": "127.0.0.1",
        "port": port,
        "interval": 10,
        "jitter": 0,
        "timeout": 1,
        **extra,
    }


async def test_a_result_becomes_state_samples_and_latency(
    database_url: str, db: Database, listener: SwitchableListener
) -> None:
    clock = FrozenClock()
    scheduler = scheduler_for(database_url, [tcp("db-port", listener.port)], clock, db)
    assert await scheduler.run_due_now() == 1
    row = state(db, "db-port")
    assert (row.state, row.last_status, row.claimed_by) == ("up", "up", None)
    assert row.last_message.startswith("connected in ")
    with db.read() as conn:
        [(_, _, up)] = latest(conn, "check_up", labels={"check": "db-port"})
        [(_, _, ms)] = latest(conn, "check_latency_ms", labels={"check": "db-port"})
    assert up == 1.0
    assert ms >= 0
    assert kinds(db) == []  # unknown -> up is the first result, not news


async def test_flap_control_needs_n_failures_to_go_down_and_m_successes_to_come_back(
    database_url: str, db: Database, listener: SwitchableListener
) -> None:
    clock = FrozenClock()
    spec = tcp("billing-port", listener.port, down_after=2, up_after=2)
    scheduler = scheduler_for(database_url, [spec], clock, db)
    await scheduler.run_due_now()
    listener.down()
    await step(scheduler, clock)
    assert state(db, "billing-port").state == "up"  # one failure is a blip
    await step(scheduler, clock)
    assert state(db, "billing-port").state == "down"
    assert kinds(db) == ["check.down"]
    listener.up()
    await step(scheduler, clock)
    assert state(db, "billing-port").state == "down"  # one success is not yet a recovery
    await step(scheduler, clock)
    assert state(db, "billing-port").state == "up"
    assert kinds(db) == ["check.down", "check.up"]
    with db.read() as conn:
        up_event = query_events(conn, EventFilter(kinds=["check.up"]))[0]
    assert (
        up_event["summary"] == "billing-port is UP again after 20s"
    )  # down at the 2nd failure, up at the 2nd success
    assert up_event["labels"]["check"] == "billing-port"


async def test_a_check_type_with_its_own_down_kind_stores_it_beside_check_down(
    database_url: str, db: Database
) -> None:
    clock = FrozenClock()
    spec = {
        "name": "mx",
        "type": "smtp",
        "host": "127.0.0.1",
        "port": 1,
        "down_after": 1,
        "jitter": 0,
        "timeout": 1,
    }
    scheduler = scheduler_for(database_url, [spec], clock, db)
    await scheduler.run_due_now()
    assert kinds(db) == ["check.down", "dependency.smtp_down"]
    with db.read() as conn:
        [smtp] = query_events(conn, EventFilter(kinds=["dependency.smtp_down"]))
    assert smtp["labels"]["host"] == "127.0.0.1"
    assert smtp["summary"].startswith("SMTP server 127.0.0.1 check failed: SMTP 127.0.0.1:1:")


async def test_a_failing_runs_findings_wait_until_flap_control_says_down(
    database_url: str, db: Database
) -> None:
    from checks_fixtures import dns_stub

    clock = FrozenClock()
    with dns_stub({("billing.example.com", "A"): ["192.0.2.66"]}) as port:
        spec = {
            "name": "dns",
            "type": "dns",
            "query": "billing.example.com",
            "expected": ["192.0.2.10"],
            "resolvers": ["127.0.0.1"],
            "resolver_port": port,
            "interval": 10,
            "down_after": 2,
            "jitter": 0,
            "timeout": 2,
        }
        scheduler = scheduler_for(database_url, [spec], clock, db)
        await scheduler.run_due_now()
        assert kinds(db) == []
        await step(scheduler, clock)
        await step(scheduler, clock)  # the same wrong answer again is the same finding
    assert kinds(db) == ["check.down", "dns.mismatch"]


def test_two_instances_claiming_at_once_never_take_the_same_check(
    database_url: str, db: Database
) -> None:
    clock = FrozenClock()
    probes = [tcp(f"c{i}", 1) for i in range(40)]
    first = scheduler_for(database_url, probes, clock, db, owner="first")
    second_db = Database(database_url)
    try:
        second = Scheduler(second_db, first.settings, first.catalog, owner="second", clock=clock)
        second.checks = dict(first.checks)
        taken: dict[str, list[str]] = {}
        for _round in range(3):
            barrier = threading.Barrier(2)

            def claim(scheduler: Scheduler, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                names = [c.name for c in scheduler.claim(clock.now, horizon=timedelta(0))]
                taken.setdefault(scheduler.owner, []).extend(names)

            threads = [threading.Thread(target=claim, args=(s,)) for s in (first, second)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            clock.advance(timedelta(seconds=10))
            with db.write() as conn:  # the runs finished: leases released
                conn.execute(check_state.update().values(claimed_by=None, claimed_until=None))
    finally:
        second_db.dispose()
    everything = taken.get("first", []) + taken.get("second", [])
    # Every due check was claimed in every round, and never by both instances in one round.
    assert sorted(everything) == sorted([f"c{i}" for i in range(40)] * 3)


def test_instances_starting_together_both_sync_the_same_new_checks(
    database_url: str, db: Database
) -> None:
    clock = FrozenClock()
    settings = make_settings(database_url, checks={"probes": [tcp(f"c{i}", 1) for i in range(30)]})
    databases = [Database(database_url), Database(database_url)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def sync(database: Database) -> None:
        barrier.wait()
        try:
            Scheduler(database, settings, load_catalog(), clock=clock).sync()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sync, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for database in databases:
        database.dispose()
    assert errors == []
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(check_state)).scalar() == 30


async def test_a_result_from_an_instance_that_lost_its_claim_is_dropped(
    database_url: str, db: Database, listener: SwitchableListener
) -> None:
    clock = FrozenClock()
    scheduler = scheduler_for(database_url, [tcp("port", listener.port)], clock, db, owner="slow")
    [claim] = scheduler.claim(clock.now, horizon=timedelta(0))
    with db.write() as conn:  # the lease ran out and another instance took the check over
        conn.execute(check_state.update().values(claimed_by="fast"))
    scheduler.start(claim)
    await scheduler.drain()
    await scheduler.flush()
    assert state(db, "port").last_run_at is None


async def test_a_claimed_check_is_not_due_again_until_its_next_interval(
    database_url: str, db: Database
) -> None:
    clock = FrozenClock()
    scheduler = scheduler_for(database_url, [tcp("p", 1, interval=60)], clock, db)
    assert len(scheduler.claim(clock.now)) == 1
    assert scheduler.claim(clock.now) == []
    row = state(db, "p")
    assert row.next_run_at.replace(tzinfo=None) == (clock.now + timedelta(seconds=60)).replace(
        tzinfo=None
    )


class _Exploding(CheckBase):
    type: str = "exploding"

    @property
    def target(self) -> str:
        return "nowhere"

    async def probe(self, ctx: ProbeContext) -> Result:
        raise RuntimeError("bug in a probe")


async def test_a_probe_that_raises_costs_one_result_not_the_scheduler() -> None:
    check = _Exploding(name="boom")
    clock = FrozenClock()
    result = await run_probe(check, Claim("boom", clock.now, {}, None), clock.now, None)
    assert result.status == "down"
    assert result.message == "the probe failed: RuntimeError: bug in a probe"


class _Awaiting(CheckBase):
    """A probe that finishes when the test says so."""

    type: str = "awaiting"
    finish: ClassVar[asyncio.Event]

    @property
    def target(self) -> str:
        return "nowhere"

    async def probe(self, ctx: ProbeContext) -> Result:
        await self.finish.wait()
        return Result("up", "finished")


@pytest.mark.parametrize("yields", range(5))
async def test_a_cancel_that_arrives_as_the_probe_finishes_is_not_lost(yields: int) -> None:
    """On Python 3.11 ``asyncio.wait_for`` returned the probe's result instead of raising
    when the cancel came in the turns between the probe finishing and the caller resuming, and
    the scheduler then ran on after shutdown had cancelled it."""
    _Awaiting.finish = asyncio.Event()  # one per test: an event belongs to its loop
    clock = FrozenClock()
    task = asyncio.create_task(
        run_probe(_Awaiting(name="a"), Claim("a", clock.now, {}, None), clock.now, None)
    )
    await asyncio.sleep(0.01)
    _Awaiting.finish.set()
    for _ in range(yields):
        await asyncio.sleep(0)
    if task.cancel():  # still running: the cancel must win
        with pytest.raises(asyncio.CancelledError):
            await task
    else:  # it had finished before the cancel came
        assert (await task).status == "up"


async def test_sync_drops_checks_removed_from_the_config(database_url: str, db: Database) -> None:
    clock = FrozenClock()
    scheduler_for(database_url, [tcp("old", 1), tcp("kept", 1)], clock, db)
    scheduler_for(database_url, [tcp("kept", 1)], clock, db)
    with db.read() as conn:
        names = [r.name for r in conn.execute(sa.select(check_state.c.name))]
    assert names == ["kept"]


async def test_hung_mail_and_mysql_probes_leave_the_default_executor_free() -> None:
    """Ingest, /ping and the scheduler's own claims run in the loop's default executor; a probe
    stuck on a dripping server used to hold one of its threads for good."""
    loop = asyncio.get_running_loop()
    default = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(default)
    clock = FrozenClock()
    with dripping_server() as port:
        specs = [
            {"type": "smtp", "host": "127.0.0.1", "port": port, "tls": "none"},
            {"type": "mysql", "host": "127.0.0.1", "port": port, "user": "monitor"},
        ]
        probes = [
            run_probe(
                parse_check({"name": f"hung{i}", "timeout": 0.5, **spec}), claim, clock.now, None
            )
            for i, spec in enumerate(specs)
            for claim in [Claim(f"hung{i}", clock.now, {}, None)]
        ]
        results = await asyncio.gather(*probes)
        async with asyncio.timeout(2):
            assert await asyncio.to_thread(lambda: "free") == "free"
    assert [r.status for r in results] == ["down", "down"]


async def test_wavering_between_up_and_degraded_stores_nothing_and_a_recovery_says_degraded(
    database_url: str, db: Database
) -> None:
    """Without damping, alternating slow and fast answers stored a state change per run, and
    the way back from degraded said "UP again" of a check that was never down."""
    slow = [False]
    routes: dict[str, Route] = {"/": lambda _request: Reply(200, "ok", delay=0.25 * slow[0])}
    clock = FrozenClock()
    with serve_http(routes) as server:
        spec = {"name": "web", "type": "http", "url": server.url + "/", "degraded_ms": 150}
        probes = [{**spec, "interval": 10, "jitter": 0, "timeout": 2, "down_after": 2}]
        scheduler = scheduler_for(database_url, probes, clock, db)
        for turn in range(7):
            slow[0] = turn % 2 == 1
            await step(scheduler, clock)
        assert kinds(db) == []
        slow[0] = True
        await step(scheduler, clock)
        await step(scheduler, clock)
        slow[0] = False
        await step(scheduler, clock)
    assert kinds(db) == ["check.degraded", "check.up"]
    with db.read() as conn:
        [up] = query_events(conn, EventFilter(kinds=["check.up"]))
    assert up["summary"] == "web recovered after 10s degraded"
