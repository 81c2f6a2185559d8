"""The running service: a signed ingest becomes a webhook notification whose link acknowledges the alert."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alerting_fixtures import WebhookReceiver, alert_settings
from dashboard_fixtures import (
    Dashboard,
    dashboard_fixture,  # noqa: F401  (registers the fixture)
)
from support import Collector, event
from whmcs_monitor.alerting import queries
from whmcs_monitor.store.db import Database


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def service(database_url: str, receiver: WebhookReceiver, tmp_path: Path) -> Iterator[Collector]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules: [{name: refunds, match: {kinds: [invoice.refunded]}, severity: warning}]"
    )
    settings = alert_settings(
        database_url,
        default_rules=False,
        rule_files=[str(rules)],
        evaluation_interval=0.2,
        receivers=[{"name": "ops", "webhook": {"url": receiver.url + "/hook"}}],
        route={"receiver": "ops", "group_wait": "0s"},
    )
    collector = Collector(settings)
    settings.server.public_url = collector.url
    collector.start()
    yield collector
    collector.stop()


def _wait_for(predicate: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_an_ingested_event_is_notified_and_its_signed_link_acknowledges_the_alert(
    service: Collector, receiver: WebhookReceiver
) -> None:
    assert (
        service.post(
            [event("InvoiceRefunded", vars={"invoiceid": 77, "amount": "5.00"})]
        ).status_code
        == 202
    )
    _wait_for(lambda: receiver.received)
    (alert,) = receiver.received[0].json()["alerts"]
    ack = alert["links"]["ack"]
    assert ack.startswith(f"{service.url}/links/alerts/{alert['id']}/ack?token=")
    forged = httpx.get(ack.rsplit("=", 1)[0] + "=" + "0" * 32)
    assert forged.status_code == 403 and forged.json()["error"]["field"] == "token"
    page = httpx.get(ack)
    assert page.status_code == 200 and "<form method='post'" in page.text
    assert queries_state(service, alert["id"]) == "firing"  # a GET never acknowledges
    done = httpx.post(ack)
    assert done.status_code == 200 and f"Alert {alert['id']} acknowledged" in done.text
    assert queries_state(service, alert["id"]) == "acknowledged"
    again = httpx.post(ack)
    assert again.status_code == 409 and "only a firing alert can be acknowledged" in again.text


def queries_state(service: Collector, alert_id: int) -> str:
    db = Database(service.settings.database_url)
    try:
        with db.read() as conn:
            doc = queries.get_alert(conn, alert_id)
    finally:
        db.dispose()
    return str(doc["state"])


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"duration": "999999999w"},
            "duration",
            "duration: '999999999w' is not a duration: it is too long (at most 999999999d)",
        ),
        ({"duration": "400d"}, "duration", "duration: a silence lasts at most 366 days"),
        (
            {"starts_at": "9999-12-31T23:00:00Z"},
            "starts_at",
            "starts_at: a silence starts within 100 years from now",
        ),
    ],
)
def test_the_api_refuses_a_silence_too_long_or_too_far_ahead_with_the_field(
    dashboard: Dashboard, body: dict[str, str], field: str, message: str
) -> None:
    response = dashboard.client.post(
        "/api/v1/silences",
        json={"matchers": ["server=web1"], "comment": "x", **body},
        headers={"X-CSRF-Token": dashboard.use_session("bob")},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert response.json()["error"]["message"] == message
