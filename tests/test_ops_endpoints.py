"""/healthz, /readyz, /metrics (checked by promtool) and /openapi.json."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from support import (
    batch_body,
    event,
    make_settings,
    mark_migrated_by_a_newer_version,
    require_binary,
    signed_headers,
)
from whmcs_monitor.config import Settings
from whmcs_monitor.services import Services
from whmcs_monitor.store.db import CONNECT_TIMEOUT, Database
from whmcs_monitor.web import ops
from whmcs_monitor.web.app import create_app


def test_healthz_and_readyz_are_ok_on_a_migrated_store(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


def test_readyz_says_when_the_schema_is_newer_than_this_version(
    client: TestClient, settings: Settings
) -> None:
    mark_migrated_by_a_newer_version(settings.database_url)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["reason"] == (
        "the database schema is newer than this whmcs-monitor (unknown revision "
        "9001_from_the_future); upgrade whmcs-monitor"
    )


def test_metrics_count_ingested_events_and_rejections_and_pass_promtool(client: TestClient) -> None:
    promtool = require_binary("promtool")
    body = batch_body([event("InvoicePaid"), event("InvoicePaid")])
    client.post("/api/v1/ingest", content=body, headers=signed_headers(body))
    client.post("/api/v1/ingest", content=b"{", headers=signed_headers(b"{"))
    text = client.get("/metrics").text
    assert 'whmcs_monitor_events_ingested_total{kind="invoice.paid",site="main"} 2.0' in text
    assert 'whmcs_monitor_ingest_rejections_total{reason="bad_json"} 1.0' in text
    assert "whmcs_monitor_ingest_request_duration_seconds_bucket" in text
    assert "whmcs_monitor_pipeline_lag_events" in text
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_openapi_documents_the_ingest_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/ingest" in spec["paths"]
    operation = spec["paths"]["/api/v1/ingest"]["post"]
    assert "202" in operation["responses"]
    headers = {p["name"]: p["required"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {
        "x-whmcs-monitor-site": True,
        "x-whmcs-monitor-timestamp": True,
        "x-whmcs-monitor-signature": True,
    }
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    event = body["properties"]["events"]["items"]
    assert set(event["required"]) == {"id", "occurred_at"}
    assert {"hook", "kind", "vars", "context"} <= set(event["properties"])


def test_an_unknown_path_gets_the_common_error_shape(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "message": "Not Found", "field": None}}


@pytest.fixture
def silent_host() -> Iterator[str]:
    """A PostgreSQL URL whose host takes connections and never answers (a hung server, a
    proxy in front of a dead one): the kernel completes each handshake, nobody replies."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"postgresql://monitor@127.0.0.1:{server.getsockname()[1]}/monitor"
    server.close()


@pytest.fixture
def refused_host() -> str:
    """A PostgreSQL URL whose port is closed: every connection is refused at once."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"postgresql://monitor@127.0.0.1:{port}/monitor"


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    """The app on SQLite without its background workers, so only the request reads the store."""
    settings = make_settings(f"sqlite:///{tmp_path / 'm.db'}", server={"run_workers": False})
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@contextlib.contextmanager
def use_database(client: TestClient, url: str) -> Iterator[None]:
    """Point the running app's reads at ``url`` for the duration (ingest keeps its writer)."""
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    kept, services.db = services.db, Database(url)
    try:
        yield
    finally:
        services.db.dispose()
        services.db = kept


def test_a_database_host_that_never_answers_fails_the_connection_in_seconds(
    silent_host: str,
) -> None:
    db = Database(silent_host)
    failure: list[BaseException] = []

    def ping() -> None:
        try:
            db.ping()
        except sa.exc.OperationalError as exc:
            failure.append(exc)

    pinger = threading.Thread(target=ping, daemon=True)
    pinger.start()
    pinger.join(CONNECT_TIMEOUT + 5)
    assert failure, "the connection attempt was still waiting"
    db.dispose()


def test_readyz_answers_in_time_when_the_database_never_answers(
    app_client: TestClient, silent_host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ops, "READY_TIMEOUT_SECONDS", 0.5)
    with use_database(app_client, f"{silent_host}?connect_timeout=60"):
        started = time.monotonic()
        answer = app_client.get("/readyz")
        assert time.monotonic() - started < 3
    assert answer.status_code == 503
    assert answer.json()["reason"] == "database unreachable: no answer within 0.5 s"


def test_metrics_still_export_the_ingest_counters_while_the_database_is_down(
    app_client: TestClient, refused_host: str
) -> None:
    promtool = require_binary("promtool")
    body = batch_body([event("InvoicePaid")])
    assert app_client.post("/api/v1/ingest", content=body, headers=signed_headers(body)).is_success
    assert "whmcs_monitor_database_up 1.0" in app_client.get("/metrics").text
    with use_database(app_client, refused_host):
        answer = app_client.get("/metrics")
    assert answer.status_code == 200
    assert 'whmcs_monitor_events_ingested_total{kind="invoice.paid",site="main"} 1.0' in answer.text
    assert "whmcs_monitor_database_up 0.0" in answer.text
    assert "whmcs_monitor_pipeline_lag_events{consumer=" not in answer.text
    check = subprocess.run(
        [promtool, "check", "metrics"], input=answer.text, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
