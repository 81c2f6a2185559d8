"""The MySQL/MariaDB check against the real MariaDB at 127.0.0.1:3306."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pymysql
import pytest

from checks_fixtures import FrozenClock, dripping_server, kinds, scheduler_for, state, step
from support import require
from whmcs_monitor.checks.base import ProbeContext, Result
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.db import Database


def _mariadb_up() -> bool:
    try:
        pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=2).close()
        return True
    except pymysql.MySQLError:
        return False


@pytest.fixture(scope="module", autouse=True)
def mariadb() -> None:
    require(_mariadb_up(), "MariaDB is not reachable at 127.0.0.1:3306 as root")


async def run(ctx: ProbeContext | None = None, **spec: Any) -> Result:
    check = parse_check({"type": "mysql", "name": "db", "user": "root", "timeout": 3, **spec})
    return await check.probe(ctx or ProbeContext(utcnow()))


async def test_a_healthy_server_is_up_with_its_connection_figures() -> None:
    result = await run()
    assert result.status == "up"
    m = result.metrics
    assert m["max_connections"] > 0
    assert 1 <= m["threads_connected"] <= m["max_connections"]
    assert 0 < m["buffer_pool_hit_ratio"] <= 1
    assert m["connect_ms"] > 0
    assert "replica_lag_s" not in m  # this server is no replica


async def test_counters_become_rates_against_the_previous_run() -> None:
    first = await run()
    now = utcnow()
    ctx = ProbeContext(now, first.metrics, now - timedelta(seconds=10))
    second = await run(ctx)
    assert second.metrics["qps"] > 0  # our own SHOW statements count as questions
    assert second.metrics["slow_queries_per_s"] >= 0
    assert second.metrics["aborted_connects_per_s"] >= 0


async def test_a_threshold_crossed_makes_it_degraded() -> None:
    result = await run(max_connections_pct=0.01)
    assert result.status == "degraded"
    assert "of max_connections in use" in result.message


async def test_a_degraded_server_stores_one_degraded_event_not_a_failure_per_run(
    database_url: str, db: Database
) -> None:
    """The message holds changing figures ("3% of max_connections"); each run used to store a
    new error-level mysql.check_failed, which the default rules page as critical."""
    clock = FrozenClock()
    spec = {
        "name": "db",
        "type": "mysql",
        "user": "root",
        "timeout": 3,
        "interval": 10,
        "jitter": 0,
    }
    scheduler = scheduler_for(database_url, [{**spec, "max_connections_pct": 0.01}], clock, db)
    for _ in range(3):
        await step(scheduler, clock)
    assert state(db, "db").state == "degraded"
    assert kinds(db) == ["check.degraded"]


async def test_a_wrong_password_is_down_and_never_echoes_it() -> None:
    result = await run(user="nobody_here", password="s3cret-pw-9911")
    assert result.status == "down"
    assert "Access denied" in result.message
    assert "s3cret-pw-9911" not in result.message


async def test_a_closed_port_is_down() -> None:
    result = await run(port=1)
    assert result.status == "down"
    assert result.message.startswith("MySQL 127.0.0.1:1: Can't connect")


async def test_a_server_that_drips_its_handshake_is_down_when_the_timeout_runs_out() -> None:
    with dripping_server() as port:
        started = time.monotonic()
        async with asyncio.timeout(5):
            result = await run(port=port, timeout=1)
    assert result.status == "down"
    assert result.message == f"MySQL 127.0.0.1:{port}: no complete answer within 0.9s"
    assert time.monotonic() - started < 2.5


@pytest.fixture
def usage_only_user() -> Iterator[tuple[str, str]]:
    """A monitoring user with no privilege at all (USAGE), as a careful operator creates one."""
    user, password = "wm_usage_only", "usage-only-pw-41"
    root = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    with root.cursor() as cursor:
        for host in ("%", "localhost"):
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
            cursor.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'")
    try:
        yield user, password
    finally:
        with root.cursor() as cursor:
            for host in ("%", "localhost"):
                cursor.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        root.close()


async def test_a_user_without_the_replica_status_privilege_is_up_without_replica_data(
    usage_only_user: tuple[str, str],
) -> None:
    user, password = usage_only_user
    result = await run(user=user, password=password)
    assert result.status == "up", result.message
    assert result.metrics["max_connections"] > 0
    assert "replica_lag_s" not in result.metrics
