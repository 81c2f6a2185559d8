"""Upkeep of the dashboard's tables and of SQLite's planner statistics."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard_fixtures import (
    Dashboard,
    dashboard_fixture,  # noqa: F401  (registers the fixture)
)
from support import batch_body, event, signed_headers
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.web import housekeeping, sessions, throttle
from whmcs_monitor.web.tables import login_throttle, web_sessions


def test_housekeeping_forgets_ended_sessions_and_stale_login_counters(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    dashboard.login("alice")
    dashboard.login("bob", "wrong-password")
    services = dashboard.client.app.state.services  # type: ignore[attr-defined]
    later = utcnow() + timedelta(days=30)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    monkeypatch.setattr(throttle, "utcnow", lambda: later)
    housekeeping.purge(services)
    with dashboard.db.read() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(web_sessions)) == 0
        assert conn.scalar(sa.select(sa.func.count()).select_from(login_throttle)) == 0


def test_sqlite_gets_planner_statistics_for_the_events_indexes(dashboard: Dashboard) -> None:
    body = batch_body([event(vars={"invoiceid": n}) for n in range(3)])
    assert (
        dashboard.client.post(
            "/api/v1/ingest", content=body, headers=signed_headers(body)
        ).status_code
        == 202
    )
    housekeeping.refresh_statistics(dashboard.client.app.state.services)  # type: ignore[attr-defined]
    if dashboard.db.is_postgres:
        return  # autovacuum's job there; the call must simply not fail
    with dashboard.db.read() as conn:
        indexes = set(conn.scalars(sa.text("SELECT idx FROM sqlite_stat1 WHERE tbl = 'events'")))
    assert {"ix_events_site_seq", "ix_events_kind_seq"} <= indexes
