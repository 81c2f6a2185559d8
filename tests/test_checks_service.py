"""The running service: the checks worker probes on schedule and /metrics exports the result;
the coverage scorecard counts check-sourced kinds as wired once checks are configured."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from support import Collector, make_settings
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.checks.tables import check_state
from whmcs_monitor.coverage import compute
from whmcs_monitor.store.db import Database


@pytest.fixture
def port() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def test_the_worker_runs_checks_and_metrics_exports_them(tmp_path: Path, port: int) -> None:
    probe = {
        "name": "billing-port",
        "type": "tcp",
        "host": "127.0.0.1",
        "port": port,
        "interval": 1,
        "jitter": 0,
    }
    settings = make_settings(f"sqlite:///{tmp_path / 'm.db'}", checks={"probes": [probe]})
    server = Collector(settings)
    server.start()
    try:
        db = Database(settings.database_url)
        deadline = time.monotonic() + 10
        row = None
        while time.monotonic() < deadline:
            with db.read() as conn:
                row = conn.execute(sa.select(check_state)).first()
            if row is not None and row.state == "up":
                break
            time.sleep(0.1)
        db.dispose()
        assert row is not None and row.state == "up"
        body = httpx.get(f"{server.url}/metrics").text
    finally:
        server.stop()
    assert 'whmcs_monitor_check_up{check="billing-port",site="monitor",type="tcp"} 1.0' in body
    assert 'whmcs_monitor_check_latency_seconds{check="billing-port"' in body


def test_coverage_counts_check_kinds_as_wired_once_checks_are_configured(
    database_url: str, db: Database
) -> None:
    catalog = load_catalog()
    bare = make_settings(database_url)
    configured = make_settings(
        database_url, checks={"probes": [{"name": "p", "type": "tcp", "host": "x", "port": 1}]}
    )
    with db.read() as conn:
        before = compute(catalog, bare, conn)
        after = compute(catalog, configured, conn)
    by_category = {s.category: s for s in after.categories}
    assert (
        by_category["external_dependencies"].wired
        > {s.category: s for s in before.categories}["external_dependencies"].wired
    )
