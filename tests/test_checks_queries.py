"""The query functions the dashboard builds on: checks with state, latency series and uptime."""

from __future__ import annotations

from datetime import timedelta

from checks_fixtures import FrozenClock
from support import make_settings
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.checks.base import Result
from whmcs_monitor.checks.queries import check_detail, list_checks
from whmcs_monitor.checks.recording import Outcome, record_outcomes
from whmcs_monitor.checks.scheduler import Scheduler
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.metrics import rollup

CATALOG = load_catalog()


def seed(database_url: str, db: Database, clock: FrozenClock) -> Scheduler:
    settings = make_settings(
        database_url,
        checks={
            "probes": [
                {"name": "site", "type": "tcp", "host": "127.0.0.1", "port": 1},
                {"name": "db", "type": "tcp", "host": "127.0.0.1", "port": 2},
            ]
        },
    )
    scheduler = Scheduler(db, settings, CATALOG, clock=clock)
    scheduler.sync()
    return scheduler


def record(
    db: Database,
    scheduler: Scheduler,
    name: str,
    status: str,
    at: FrozenClock,
    latency: float = 20.0,
) -> None:
    result = Result(status, "x", latency)  # type: ignore[arg-type]
    with db.write() as conn:
        record_outcomes(
            conn, CATALOG, [Outcome(scheduler.checks[name], result, at.now)], owner=None
        )


def test_uptime_windows_are_computed_from_the_samples(database_url: str, db: Database) -> None:
    clock = FrozenClock()
    start = clock.now
    scheduler = seed(database_url, db, clock)
    # 20 days ago: one bad hour (4 runs, all down); the last day: 3 up and 1 down.
    clock.now = start - timedelta(days=20)
    for _ in range(4):
        record(db, scheduler, "site", "down", clock)
        clock.advance(timedelta(minutes=10))
    clock.now = start - timedelta(hours=3)
    for status in ("up", "up", "down", "up"):
        record(db, scheduler, "site", status, clock)
        clock.advance(timedelta(minutes=30))
    with db.write() as conn:
        rollup(conn, now=start, lookback=timedelta(days=30))
    with db.read() as conn:
        checks = {c["name"]: c for c in list_checks(conn, now=start)}
    site = checks["site"]
    assert site["uptime"] == {"24h": 75.0, "7d": 75.0, "30d": 37.5}
    assert checks["db"]["uptime"] == {"24h": None, "7d": None, "30d": None}
    assert site["state"] == "up"
    assert site["latency_ms"] == 20.0


def test_down_checks_are_listed_first(database_url: str, db: Database) -> None:
    clock = FrozenClock()
    scheduler = seed(database_url, db, clock)
    record(db, scheduler, "db", "up", clock)
    for _ in range(2):
        record(db, scheduler, "site", "down", clock)
        clock.advance(timedelta(seconds=60))
    with db.read() as conn:
        listed = list_checks(conn, now=clock.now)
    assert [(c["name"], c["state"]) for c in listed] == [("site", "down"), ("db", "up")]
    assert listed[0]["down_since"] is not None


def test_check_detail_has_a_latency_series(database_url: str, db: Database) -> None:
    clock = FrozenClock()
    scheduler = seed(database_url, db, clock)
    for latency in (10.0, 30.0, 20.0):
        record(db, scheduler, "db", "up", clock, latency)
        clock.advance(timedelta(minutes=1))
    with db.read() as conn:
        detail = check_detail(conn, "db", now=clock.now)
    assert [value for _, value in detail["latency"]] == [10.0, 30.0, 20.0]
    assert detail["uptime"]["24h"] == 100.0
    assert detail["target"] == "127.0.0.1:2"
