"""/healthz, /readyz, /metrics (checked by promtool) and /openapi.json."""

from __future__ import annotations

import subprocess

from fastapi.testclient import TestClient

from support import (
    batch_body,
    event,
    mark_migrated_by_a_newer_version,
    require_binary,
    signed_headers,
)
from whmcs_monitor.config import Settings


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
