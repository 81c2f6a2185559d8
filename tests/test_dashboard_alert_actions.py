"""Acknowledging, resolving and silencing from the dashboard and the API, each audited."""

from __future__ import annotations

import sqlalchemy as sa

from dashboard_fixtures import (
    Dashboard,
    dashboard_fixture,  # noqa: F401  (registers the fixture)
)
from whmcs_monitor.store.tables import audit_log


def _audit(board: Dashboard) -> set[tuple[str, str]]:
    with board.db.read() as conn:
        return {(r.actor, r.action) for r in conn.execute(sa.select(audit_log))}


def test_an_operator_acknowledges_then_resolves_from_the_alerts_page(dashboard: Dashboard) -> None:
    alert_id = dashboard.fire_alert()
    csrf = dashboard.use_session("bob")
    page = dashboard.client.get("/alerts").text
    assert f'action="/alerts/{alert_id}/ack"' in page
    dashboard.client.post(f"/alerts/{alert_id}/ack", data={"csrf_token": csrf})
    assert dashboard.client.get(f"/api/v1/alerts/{alert_id}").json()["acked_by"] == "bob"
    dashboard.client.post(f"/alerts/{alert_id}/resolve", data={"csrf_token": csrf})
    detail = dashboard.client.get(f"/api/v1/alerts/{alert_id}").json()
    assert detail["state"] == "resolved"
    assert {("bob", "alert.acknowledge"), ("bob", "alert.resolve")} <= _audit(dashboard)


def test_acknowledging_a_resolved_alert_is_a_clear_4xx(dashboard: Dashboard) -> None:
    alert_id = dashboard.fire_alert()
    csrf = dashboard.use_session("bob")
    dashboard.client.post(
        f"/api/v1/alerts/{alert_id}/resolve", json={}, headers={"X-CSRF-Token": csrf}
    )
    again = dashboard.client.post(
        f"/api/v1/alerts/{alert_id}/ack", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert again.status_code == 422
    assert "only a firing alert can be acknowledged" in again.json()["error"]["message"]


def test_a_viewer_sees_alerts_but_no_buttons(dashboard: Dashboard) -> None:
    alert_id = dashboard.fire_alert()
    dashboard.use_session("charlie")
    page = dashboard.client.get("/alerts").text
    assert "Gateway stripe failing" in page
    assert (
        f"/alerts/{alert_id}/ack" not in page
        and "Create silence" not in dashboard.client.get("/silences").text
    )


def test_silence_from_an_alert_prefills_its_labels(dashboard: Dashboard) -> None:
    dashboard.fire_alert()
    dashboard.use_session("bob")
    link = "/silences?matchers=rule%3Ddomain-registration-failed%0Agateway%3Dstripe"
    assert link in dashboard.client.get("/alerts").text.replace("&amp;", "&")
    assert (
        "rule=domain-registration-failed\ngateway=stripe</textarea>"
        in dashboard.client.get(link).text
    )


def test_scheduling_a_maintenance_window_through_the_api_then_expiring_it(
    dashboard: Dashboard,
) -> None:
    csrf = dashboard.use_session("bob")
    headers = {"X-CSRF-Token": csrf}
    created = dashboard.client.post(
        "/api/v1/silences",
        json={
            "matchers": ["server=web1"],
            "duration": "2h",
            "starts_at": "2099-01-01T02:00:00Z",
            "comment": "kernel upgrade",
        },
        headers=headers,
    )
    assert created.status_code == 201
    assert created.json()["state"] == "pending"
    silence_id = created.json()["id"]
    assert (
        dashboard.client.delete(f"/api/v1/silences/{silence_id}", headers=headers).status_code
        == 204
    )
    states = {
        s["id"]: s["state"] for s in dashboard.client.get("/api/v1/silences").json()["silences"]
    }
    assert states[silence_id] == "expired"
    assert {("bob", "silence.create"), ("bob", "silence.expire")} <= _audit(dashboard)


def test_a_silence_with_a_bad_duration_names_the_field(dashboard: Dashboard) -> None:
    csrf = dashboard.use_session("bob")
    response = dashboard.client.post(
        "/api/v1/silences",
        json={"matchers": ["server=web1"], "duration": "soon", "comment": "x"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "duration"
