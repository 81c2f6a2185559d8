"""The periodic refresh: full then incremental, skipped when fresh, one bad site never stops the rest."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import analytics_fixtures
from analytics_fixtures import History
from support import SITE_SECRET, make_settings
from whmcs_monitor.analytics.refresh import FULL, INCREMENTAL, last_refresh
from whmcs_monitor.analytics.worker import refresh_all, scope_due
from whmcs_monitor.services import Services
from whmcs_monitor.store import metrics as metric_store
from whmcs_monitor.workers import background_workers

history = analytics_fixtures.history  # the fixture, under its own name


def site(site_id: str, database: dict[str, Any]) -> dict[str, Any]:
    return {"id": site_id, "secret": SITE_SECRET, "database": database}


def database_of(history: History) -> dict[str, Any]:
    cfg = history.whmcs.config
    return {
        "host": cfg.host,
        "port": cfg.port,
        "name": cfg.name,
        "user": cfg.user,
        "password": history.whmcs.password,
    }


def test_the_worker_runs_a_full_refresh_then_incremental_ones_and_skips_fresh_sites(
    history: History, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    broken = site(
        "broken", {"host": "127.0.0.1", "port": 1, "name": "x", "user": "y", "password": "z-secret"}
    )
    settings = make_settings(database_url, sites=[broken, site("main", database_of(history))])
    services = Services.open(settings)
    try:
        assert scope_due(services, "main") is FULL
        with caplog.at_level(logging.WARNING):
            assert refresh_all(services) == 1
        assert "analytics refresh of site broken failed: cannot connect" in caplog.text
        assert "z-secret" not in caplog.text
        with services.db.read() as conn:
            assert last_refresh(conn, "main", "full") is not None
            months = metric_store.latest(
                conn, "business_orders_placed", site="main", labels={"period": "month"}
            )
        assert len(months) == 1
        assert scope_due(services, "main") is INCREMENTAL
        assert refresh_all(services) == 0  # refreshed less than half an interval ago
    finally:
        services.db.dispose()


def test_the_analytics_worker_is_registered(database_url: str) -> None:
    services = Services.open(make_settings(database_url))
    try:
        assert "analytics" in [name for name, _ in background_workers(services)]
    finally:
        services.db.dispose()
