"""The weekly business report reaches a receiver once a week, and the API serves the report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

import analytics_fixtures
from alerting_fixtures import WebhookReceiver
from analytics_fixtures import History
from dashboard_fixtures import Dashboard, seed_users
from support import SITE_ID, make_settings
from whmcs_monitor.analytics.publish import send_weekly_reports
from whmcs_monitor.config import Settings
from whmcs_monitor.store.db import Database
from whmcs_monitor.web.app import create_app

shared_history = analytics_fixtures.shared_history  # the module's fixture, under its own name
TUESDAY_AFTERNOON = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
MONDAY_EARLY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def site_settings(database_url: str, history: History, **extra: Any) -> Settings:
    cfg = history.whmcs.config
    database = {
        "host": cfg.host,
        "port": cfg.port,
        "name": cfg.name,
        "user": cfg.user,
        "password": history.whmcs.password,
    }
    return make_settings(
        database_url,
        sites=[{"id": SITE_ID, "secret": "x" * 40, "database": database}],
        **extra,
    )


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def test_the_weekly_report_is_sent_once_after_its_hour(
    database_url: str, shared_history: History, hook: WebhookReceiver
) -> None:
    settings = site_settings(
        database_url,
        shared_history,
        alerting={
            "receivers": [{"name": "owner", "webhook": {"url": hook.url, "secret": "s" * 16}}]
        },
        analytics={"weekly_report": {"receiver": "owner", "weekday": 0, "hour": 8}},
    )
    db = Database(settings.database_url)
    db.migrate()
    try:
        assert send_weekly_reports(settings, db, now=MONDAY_EARLY) == 0  # before Monday 08:00
        assert send_weekly_reports(settings, db, now=TUESDAY_AFTERNOON) == 1
        assert send_weekly_reports(settings, db, now=TUESDAY_AFTERNOON) == 0  # once a week
    finally:
        db.dispose()
    document = hook.received[0].json()
    assert document["type"] == "report"
    assert document["report"]["window"]["label"] == "2026-11-16 to 2026-11-22"


def test_a_weekly_report_for_an_unknown_receiver_is_a_config_error(
    database_url: str, shared_history: History
) -> None:
    from whmcs_monitor.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        site_settings(
            database_url, shared_history, analytics={"weekly_report": {"receiver": "nobody"}}
        )
    assert info.value.problems == [
        "analytics.weekly_report.receiver: 'nobody' is not one of alerting.receivers "
        "(none are configured)"
    ]


def test_the_api_serves_the_business_report_to_a_viewer(
    database_url: str, shared_history: History
) -> None:
    settings = site_settings(database_url, shared_history)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        board = Dashboard(client)
        seed_users(board.db)
        board.use_session("charlie")
        response = client.get("/api/v1/business/report", params={"period": "month"})
        assert response.status_code == 200, response.text
        assert response.json()["site"] == SITE_ID
        client.cookies.clear()
        assert client.get("/api/v1/business/report").status_code == 401
