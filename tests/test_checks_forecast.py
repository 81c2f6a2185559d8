"""Disk-full forecasts: a linear fit of the host check's recent samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checks_fixtures import FrozenClock
from support import make_settings
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.checks.base import Result
from whmcs_monitor.checks.forecast import fit
from whmcs_monitor.checks.recording import Outcome, record_outcomes
from whmcs_monitor.checks.scheduler import Scheduler
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events

T0 = datetime(2026, 11, 27, tzinfo=UTC)


def line(start: float, per_hour: float, hours: int = 6) -> list[tuple[datetime, float]]:
    return [(T0 + timedelta(hours=h), start + per_hour * h) for h in range(hours)]


def test_a_rising_line_predicts_when_it_reaches_100_percent() -> None:
    trend = fit(line(50, 1))  # 1 % an hour, at 55 % now
    assert trend is not None
    assert trend.slope_per_day == pytest.approx(24)
    assert trend.days_to_full() == pytest.approx(45 / 24)


def test_flat_or_falling_use_never_fills_up() -> None:
    flat, falling = fit(line(50, 0)), fit(line(80, -2))
    assert flat is not None and flat.days_to_full() is None
    assert falling is not None and falling.days_to_full() is None


def test_too_few_points_give_no_forecast() -> None:
    assert fit(line(50, 1, hours=3)) is None


def test_a_filling_disk_is_forecast_as_an_event(database_url: str, db: Database) -> None:
    settings = make_settings(
        database_url,
        checks={
            "probes": [
                {
                    "name": "host",
                    "type": "host",
                    "host_label": "web1",
                    "forecast_days": 3,
                    "forecast_window": "12h",
                }
            ]
        },
    )
    catalog = load_catalog()
    scheduler = Scheduler(db, settings, catalog, clock=FrozenClock())
    scheduler.sync()
    check = scheduler.checks["host"]
    for hour, (data, root) in enumerate([(60, 40), (62, 40), (64, 40), (66, 40), (68, 40)]):
        metrics = {"disk_pct:/data": float(data), "disk_pct:/": float(root)}
        outcome = Outcome(check, Result("up", "ok", None, metrics), T0 + timedelta(hours=hour))
        with db.write() as conn:
            record_outcomes(conn, catalog, [outcome], owner=None)
    with db.read() as conn:
        [event] = query_events(conn, EventFilter(kinds=["host.disk_full_forecast"]))
    assert event["labels"] == {"host": "web1", "mount": "/data", "resource": "disk space"}
    assert (
        event["summary"]
        == "disk space on /data (web1) will run out in 0.7 days at the current rate"
    )
