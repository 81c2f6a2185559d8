"""Checks managed as code through /api/v1/checks, by admins only, with audit records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from dashboard_fixtures import Dashboard, dashboard_fixture, seed_users  # noqa: F401
from support import SITE_ID, SITE_SECRET, make_settings
from whmcs_monitor import accounts
from whmcs_monitor.checks import definitions
from whmcs_monitor.checks.tables import check_definitions, check_state
from whmcs_monitor.store import audit
from whmcs_monitor.web.app import create_app


def stored_check_names(dashboard: Dashboard) -> list[str]:
    settings = dashboard.client.app.state.services.settings  # type: ignore[attr-defined]
    with dashboard.db.read() as conn:
        return [check.name for check in definitions.api_checks(conn, settings)]


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


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dashboard]:
    """A site with a whmcs_url (so presets main.whmcs and main.tls) and one configured probe."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    settings = make_settings(
        database_url,
        sites=[{"id": SITE_ID, "secret": SITE_SECRET, "whmcs_url": "https://billing.example.com/"}],
        checks={"probes": [{"name": "mail-port", "type": "tcp", "host": "127.0.0.1", "port": 9}]},
        server={"run_workers": False},
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        board = Dashboard(client)
        seed_users(board.db)
        yield board


@pytest.mark.parametrize(
    ("name", "source"),
    [("main.whmcs", "a site preset (sites[].whmcs_url)"), ("mail-port", "checks.probes")],
    ids=["preset", "configured"],
)
def test_a_check_cannot_take_the_name_of_one_from_the_config_file(
    configured: Dashboard, name: str, source: str
) -> None:
    csrf = configured.use_session("alice")
    response = configured.client.post(
        "/api/v1/checks", json={**NEW_CHECK, "name": name}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "status": 409,
        "message": f"a check named {name!r} already comes from {source} in the config file; "
        "choose another name",
        "field": "name",
    }
    assert stored_check_names(configured) == []


def test_removing_an_api_check_keeps_the_state_of_a_preset_of_that_name(
    configured: Dashboard,
) -> None:
    """A clash stored before names were checked: the preset's history must survive it."""
    now = datetime.now(UTC)
    with configured.db.write() as conn:
        conn.execute(
            check_definitions.insert().values(
                name="main.whmcs", type="http", spec=NEW_CHECK, created_at=now, created_by="old"
            )
        )
        conn.execute(
            check_state.insert().values(
                name="main.whmcs",
                site=SITE_ID,
                type="whmcs",
                target="https://billing.example.com/",
                origin="preset",
                state="up",
                fail_streak=0,
                ok_streak=12,
                next_run_at=now,
                last_message="",
                last_metrics={},
            )
        )
    csrf = configured.use_session("alice")
    removed = configured.client.delete("/api/v1/checks/main.whmcs", headers={"X-CSRF-Token": csrf})
    assert removed.status_code == 204
    with configured.db.read() as conn:
        kept = conn.execute(sa.select(check_state.c.origin, check_state.c.ok_streak)).all()
    assert [tuple(row) for row in kept] == [("preset", 12)]
