"""Heartbeats under a frozen clock, and the /ping routes over the real app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from checks_fixtures import FrozenClock
from support import make_settings
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.checks import heartbeats
from whmcs_monitor.checks.config import HeartbeatConfig
from whmcs_monitor.checks.queries import heartbeat_snippet, list_heartbeats
from whmcs_monitor.checks.tables import heartbeats as heartbeat_table
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events
from whmcs_monitor.store.metrics import latest
from whmcs_monitor.web.app import create_app

TOKEN = "cron-token-0123456789abcdef"
HEARTBEAT_CONFIG = {"heartbeats": [{"name": "whmcs-cron", "token": TOKEN, "period": "5m"}]}
CATALOG = load_catalog()


def beat(**extra: Any) -> HeartbeatConfig:
    spec: dict[str, Any] = {"name": "whmcs-cron", "token": TOKEN, "period": "1h", "grace": "10m"}
    return HeartbeatConfig.model_validate({**spec, **extra})


def row(db: Database) -> Any:
    with db.read() as conn:
        return conn.execute(sa.select(heartbeat_table)).one()


def events(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return list(reversed(query_events(conn, EventFilter(limit=100))))


def ping(
    db: Database, hb: HeartbeatConfig, signal: Any, now: datetime, code: int | None = None
) -> None:
    with db.write() as conn:
        heartbeats.ping(conn, CATALOG, hb, signal, now, exit_code=code)


def sweep(db: Database, hb: HeartbeatConfig, now: datetime) -> list[Any]:
    with db.write() as conn:
        heartbeats.sync(conn, [hb], now)
        return heartbeats.sweep(conn, CATALOG, [hb], now)


def test_a_heartbeat_goes_late_then_down_then_recovers(db: Database) -> None:
    hb, clock = beat(), FrozenClock()
    ping(db, hb, "success", clock.now)
    assert row(db).state == "up"
    sweep(db, hb, clock.advance(timedelta(minutes=59)))
    assert row(db).state == "up"
    sweep(db, hb, clock.advance(timedelta(minutes=2)))
    assert row(db).state == "late"
    assert events(db) == []  # late is within the grace time: nobody is paged yet
    sweep(db, hb, clock.advance(timedelta(minutes=9)))
    assert row(db).state == "down"
    [missed] = events(db)
    assert missed["kind"] == "heartbeat.missed"
    assert missed["labels"] == {"heartbeat": "whmcs-cron"}
    assert missed["summary"] == "Heartbeat whmcs-cron missed: last ping 2026-11-27T12:00:00+00:00"
    assert sweep(db, hb, clock.advance(timedelta(minutes=30))) == []  # told once, not every sweep
    ping(db, hb, "success", clock.advance(timedelta(minutes=1)))
    assert row(db).state == "up"
    assert [e["kind"] for e in events(db)] == ["heartbeat.missed", "check.up"]
    assert events(db)[-1]["summary"] == "whmcs-cron is UP again after 31m"


def test_the_missed_alert_stays_open_while_the_job_is_dead_and_resolves_on_its_next_ping(
    database_url: str, db: Database
) -> None:
    """The default rule resolved heartbeat.missed after 1 h whatever the job did, and the
    recovery's check.up carried no heartbeat label to resolve it with."""
    from alerting_fixtures import alert_rows
    from whmcs_monitor.alerting.engine import Engine

    hb, clock = beat(), FrozenClock()
    engine = Engine(make_settings(database_url), db)
    ping(db, hb, "success", clock.now)
    sweep(db, hb, clock.advance(timedelta(minutes=71)))
    engine.step(clock.now)
    [alert] = alert_rows(db, rule="heartbeat-missed")
    assert alert["state"] == "firing"
    sweep(db, hb, clock.advance(timedelta(hours=3)))
    engine.step(clock.now)
    assert alert_rows(db, rule="heartbeat-missed")[0]["state"] == "firing"  # still dead
    ping(db, hb, "success", clock.advance(timedelta(minutes=1)))
    assert events(db)[-1]["labels"]["heartbeat"] == "whmcs-cron"
    engine.step(clock.now)
    assert alert_rows(db, rule="heartbeat-missed")[0]["state"] == "resolved"


def test_a_heartbeat_that_never_pinged_does_not_alert(db: Database) -> None:
    hb, clock = beat(), FrozenClock()
    sweep(db, hb, clock.now)
    sweep(db, hb, clock.advance(timedelta(days=3)))
    assert row(db).state == "new"
    assert events(db) == []


def test_run_duration_is_measured_from_start_to_success(db: Database) -> None:
    hb, clock = beat(), FrozenClock()
    ping(db, hb, "start", clock.now)
    ping(db, hb, "success", clock.advance(timedelta(seconds=95)))
    assert row(db).last_duration_s == 95
    with db.read() as conn:
        [(_, _, seconds)] = latest(conn, "heartbeat_duration_seconds")
    assert seconds == 95


def test_a_failure_or_a_nonzero_exit_code_is_down_at_once(db: Database) -> None:
    hb, clock = beat(), FrozenClock()
    ping(db, hb, "success", clock.now, code=0)
    ping(db, hb, "success", clock.advance(timedelta(minutes=1)), code=3)
    assert (row(db).state, row(db).last_exit_code) == ("down", 3)
    [down] = events(db)
    assert down["summary"] == "whmcs-cron is DOWN: the job reported a failure (exit code 3)"
    ping(db, hb, "fail", clock.advance(timedelta(minutes=1)))
    assert len(events(db)) == 1  # already down
    ping(db, hb, "success", clock.advance(timedelta(minutes=1)))
    assert [e["kind"] for e in events(db)] == ["check.down", "check.up"]


def test_a_cron_schedule_expects_the_next_fire_time_in_its_zone() -> None:
    hb = beat(period=None, cron="30 2 * * *", tz="Europe/London")
    after = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # London is UTC+1 in July
    assert heartbeats.next_expected(hb, after) == datetime(2026, 7, 2, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"token": "short"}, "must be 16-128 letters"),
        ({"cron": "* * *"}, "is not a cron expression"),
        ({"cron": "*/5 * * * *"}, "give either period"),
        ({"period": None}, "give either period"),
        ({"tz": "Mars/Olympus"}, "is not a time zone name"),
        ({"grace": "0s"}, "must be between 1s and 30d"),
    ],
    ids=["token", "cron", "both", "neither", "zone", "grace"],
)
def test_bad_heartbeat_settings_are_refused(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        beat(**extra)


def test_the_whmcs_cron_snippet_pings_start_and_exit_code() -> None:
    settings = make_settings(
        "sqlite://",
        server={"public_url": "https://monitor.example.com"},
        checks={"heartbeats": [{"name": "whmcs-cron", "token": TOKEN, "period": "5m"}]},
    )
    line = heartbeat_snippet(settings, "whmcs-cron", "/home/billing/whmcs")
    assert line == (
        "*/5 * * * * curl -fsS -m 10 --retry 3 -o /dev/null "
        f"https://monitor.example.com/ping/{TOKEN}/start; "
        "php -q /home/billing/whmcs/crons/cron.php; "
        f"curl -fsS -m 10 --retry 3 -o /dev/null https://monitor.example.com/ping/{TOKEN}/$?"
    )


@contextmanager
def serve(database_url: str) -> Iterator[tuple[TestClient, Database]]:
    settings = make_settings(database_url, checks=HEARTBEAT_CONFIG)
    database = Database(settings.database_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, database
    database.dispose()


@pytest.fixture
def app(database_url: str) -> Iterator[tuple[TestClient, Database]]:
    with serve(database_url) as served:
        yield served


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[tuple[TestClient, Database]]:
    """URL parsing is the same on both backends; one is enough for the refusals."""
    with serve(f"sqlite:///{tmp_path / 'monitor.db'}") as served:
        yield served


def test_pings_over_http_move_the_heartbeat(app: tuple[TestClient, Database]) -> None:
    client, db = app
    assert client.post(f"/ping/{TOKEN}/start").text == "OK"
    response = client.get(f"/ping/{TOKEN}")
    assert (response.status_code, response.text) == (200, "OK")
    assert client.get(f"/ping/{TOKEN}/0").status_code == 200
    assert client.get(f"/ping/{TOKEN}/fail").status_code == 200
    assert row(db).state == "down"
    with db.read() as conn:
        [listed] = list_heartbeats(conn, make_settings("sqlite://", checks=HEARTBEAT_CONFIG))
    assert (listed["state"], listed["pings"]) == ("down", 3)
    assert TOKEN not in str(listed)
    metrics = client.get("/metrics").text
    assert 'whmcs_monitor_heartbeat_up{heartbeat="whmcs-cron",site="monitor"} 0.0' in metrics
    assert TOKEN not in metrics


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/ping/not-a-known-token-at-all", "no heartbeat has this token; check the ping URL"),
        (
            f"/ping/{TOKEN}/oops",
            "'oops' is not an exit status; use /start, /fail or a number from 0 to 255",
        ),
        (
            f"/ping/{TOKEN}/256",
            "'256' is not an exit status; use /start, /fail or a number from 0 to 255",
        ),
    ],
    ids=["unknown-token", "word", "too-big"],
)
def test_a_bad_ping_url_is_a_404_that_says_why(
    sqlite_app: tuple[TestClient, Database], path: str, message: str
) -> None:
    client, _ = sqlite_app
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == message
