"""The Receivers page and API send a test notification and report the receiver's answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from alerting_fixtures import WebhookReceiver
from dashboard_fixtures import Dashboard, seed_users
from support import make_settings
from whmcs_monitor.web.app import create_app


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver([410])  # the first post is refused for good, the next accepted
    yield receiver
    receiver.close()


@pytest.fixture
def board(database_url: str, hook: WebhookReceiver) -> Iterator[Dashboard]:
    receivers = [{"name": "ops", "webhook": {"url": f"{hook.url}/t0k3n", "secret": "s" * 16}}]
    settings = make_settings(database_url, alerting={"receivers": receivers})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        dashboard = Dashboard(client)
        seed_users(dashboard.db)
        yield dashboard


def test_a_refusing_receiver_is_reported_then_a_working_one_delivers(
    board: Dashboard, hook: WebhookReceiver
) -> None:
    csrf = board.use_session("bob")
    refused = board.client.post("/api/v1/receivers/ops/test", headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 200
    assert refused.json()["delivered"] is False and refused.json()["permanent"] is True
    assert "t0k3n" not in refused.text  # the webhook URL's secret path stays hidden
    page = board.client.post("/receivers/ops/test", data={"csrf_token": csrf})
    assert page.status_code == 200
    assert "Test notification delivered to ops" in page.text
    assert hook.received[-1].json()["type"] == "test"


def test_an_unknown_receiver_is_a_404_naming_the_known_ones(board: Dashboard) -> None:
    csrf = board.use_session("bob")
    response = board.client.post("/api/v1/receivers/pager/test", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "'pager' is not a receiver (ops)"


def test_a_viewer_cannot_send_tests_and_sees_no_button(board: Dashboard) -> None:
    csrf = board.use_session("charlie")
    assert "Send test" not in board.client.get("/receivers").text
    response = board.client.post("/api/v1/receivers/ops/test", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 403
