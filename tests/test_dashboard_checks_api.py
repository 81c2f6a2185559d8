"""Checks managed as code through /api/v1/checks, by admins only, with audit records."""

from __future__ import annotations

from dashboard_fixtures import Dashboard, dashboard_fixture  # noqa: F401
from whmcs_monitor.checks import definitions
from whmcs_monitor.store import audit


def stored_check_names(dashboard: Dashboard) -> list[str]:
    with dashboard.db.read() as conn:
        return [check.name for check in definitions.api_checks(conn)]


NEW_CHECK = {"name": "billing-site", "type": "http", "url": "https://billing.example.net/"}


def test_an_admin_adds_a_check_that_then_lists_and_removes_it(dashboard: Dashboard) -> None:
    csrf = dashboard.use_session("alice")
    headers = {"X-CSRF-Token": csrf}
    created = dashboard.client.post("/api/v1/checks", json=NEW_CHECK, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json() == {"name": "billing-site", "type": "http"}
    assert stored_check_names(dashboard) == ["billing-site"]  # the scheduler's next sync runs it
    again = dashboard.client.post("/api/v1/checks", json=NEW_CHECK, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "a check named 'billing-site' already exists"
    removed = dashboard.client.delete("/api/v1/checks/billing-site", headers=headers)
    assert removed.status_code == 204
    assert stored_check_names(dashboard) == []
    with dashboard.db.read() as conn:
        assert audit.verify(conn).ok
        trail = [row for row in conn.execute(audit.audit_log.select())]
    assert [(r.action, r.target) for r in trail if r.action.startswith("check.")] == [
        ("check.add", "billing-site"),
        ("check.remove", "billing-site"),
    ]


def test_a_bad_check_is_refused_naming_the_field(dashboard: Dashboard) -> None:
    csrf = dashboard.use_session("alice")
    response = dashboard.client.post(
        "/api/v1/checks",
        json={"name": "broken", "type": "http", "url": "not a url"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 422
    assert "url" in response.json()["error"]["message"]


def test_an_operator_cannot_add_a_check(dashboard: Dashboard) -> None:
    csrf = dashboard.use_session("bob")
    response = dashboard.client.post(
        "/api/v1/checks", json=NEW_CHECK, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 403
    assert stored_check_names(dashboard) == []
