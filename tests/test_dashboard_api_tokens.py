"""API tokens: shown once, stored hashed, capped by scope, revocable, and audited."""

from __future__ import annotations

import pyotp
import pytest
import sqlalchemy as sa

from dashboard_fixtures import (
    PASSWORDS,
    Dashboard,
    dashboard_fixture,  # noqa: F401  (registers the fixture)
)
from whmcs_monitor.accounts import enable_totp, get_user, set_disabled, verify_password
from whmcs_monitor.store.tables import audit_log
from whmcs_monitor.web.tables import api_tokens


def _issue(board: Dashboard, username: str, scope: str) -> str:
    csrf = board.use_session(username)
    response = board.client.post(
        "/api/v1/tokens",
        json={"name": f"{scope}-token", "scope": scope},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201
    board.client.cookies.clear()
    token: str = response.json()["token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_stored_only_as_its_hash(dashboard: Dashboard) -> None:
    token = _issue(dashboard, "bob", "read")
    with dashboard.db.read() as conn:
        rows = [tuple(map(str, r)) for r in conn.execute(sa.select(api_tokens))]
    assert rows and not any(token in value for row in rows for value in row)
    assert any(token[:12] == row[3] for row in rows)  # the prefix, to recognise it in a list
    listed = dashboard.client.get("/api/v1/tokens", headers=_bearer(token)).json()["tokens"]
    assert "token" not in listed[0]


def test_a_read_token_acts_as_a_viewer_whatever_its_owner_is(dashboard: Dashboard) -> None:
    token = _issue(dashboard, "alice", "read")
    assert dashboard.client.get("/api/v1/events", headers=_bearer(token)).status_code == 200
    denied = dashboard.client.get("/api/v1/users", headers=_bearer(token))
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == "this needs the admin role; you are viewer"


def test_a_write_token_carries_its_owners_role_without_csrf(dashboard: Dashboard) -> None:
    token = _issue(dashboard, "alice", "write")
    response = dashboard.client.patch(
        "/api/v1/users/dave", json={"role": "operator"}, headers=_bearer(token)
    )
    assert response.status_code == 200
    assert response.json()["role"] == "operator"
    with dashboard.db.read() as conn:
        actions = {(r.actor, r.action, r.target) for r in conn.execute(sa.select(audit_log))}
    assert ("alice", "user.role", "dave") in actions
    assert ("alice", "token.create", "alice/write-token") in actions


def test_a_revoked_token_stops_working(dashboard: Dashboard) -> None:
    token = _issue(dashboard, "charlie", "read")
    token_id = dashboard.client.get("/api/v1/tokens", headers=_bearer(token)).json()["tokens"][0][
        "id"
    ]
    csrf = dashboard.use_session("charlie")
    revoked = dashboard.client.delete(f"/api/v1/tokens/{token_id}", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 204
    dashboard.client.cookies.clear()
    assert dashboard.client.get("/api/v1/events", headers=_bearer(token)).status_code == 401


def test_a_read_token_changes_nothing_not_even_its_owners_tokens(dashboard: Dashboard) -> None:
    token = _issue(dashboard, "alice", "read")
    created = dashboard.client.post(
        "/api/v1/tokens", json={"name": "escalate", "scope": "write"}, headers=_bearer(token)
    )
    assert created.status_code == 403
    assert created.json()["error"]["message"] == (
        "this API token is read-only; create a write token to make changes"
    )
    token_id = dashboard.client.get("/api/v1/tokens", headers=_bearer(token)).json()["tokens"][0][
        "id"
    ]
    revoked = dashboard.client.delete(f"/api/v1/tokens/{token_id}", headers=_bearer(token))
    assert revoked.status_code == 403
    listed = dashboard.client.get("/api/v1/tokens", headers=_bearer(token)).json()["tokens"]
    assert [(t["name"], t["revoked"]) for t in listed] == [("read-token", False)]


@pytest.mark.parametrize("scope", ["read", "write"])
def test_no_token_can_turn_off_two_factor_or_change_the_password(
    dashboard: Dashboard, scope: str
) -> None:
    secret = pyotp.random_base32()
    enable_totp(dashboard.db, "alice", secret, pyotp.TOTP(secret).now(), actor="test")
    token = _issue(dashboard, "alice", scope)
    disabled = dashboard.client.post("/account/totp/disable", headers=_bearer(token))
    assert disabled.status_code == 403
    assert get_user(dashboard.db, "alice").totp_enabled
    changed = dashboard.client.post(
        "/account/password",
        data={"current_password": PASSWORDS["alice"], "new_password": "taken-over-by-token"},
        headers=_bearer(token),
    )
    assert changed.status_code == 403
    assert verify_password(dashboard.db, "alice", PASSWORDS["alice"]) is not None


def test_nobody_can_revoke_someone_elses_token(dashboard: Dashboard) -> None:
    victim = _issue(dashboard, "charlie", "read")
    victim_id = dashboard.client.get("/api/v1/tokens", headers=_bearer(victim)).json()["tokens"][0][
        "id"
    ]
    attacker = _issue(dashboard, "alice", "write")
    response = dashboard.client.delete(f"/api/v1/tokens/{victim_id}", headers=_bearer(attacker))
    assert response.status_code == 404
    assert dashboard.client.get("/api/v1/events", headers=_bearer(victim)).status_code == 200


def test_a_disabled_users_tokens_stop_working(dashboard: Dashboard) -> None:
    token = _issue(dashboard, "dave", "read")
    set_disabled(dashboard.db, "dave", True, actor="test")
    assert dashboard.client.get("/api/v1/events", headers=_bearer(token)).status_code == 401


def test_a_malformed_authorization_header_is_a_401_not_a_session_fallback(
    dashboard: Dashboard,
) -> None:
    dashboard.use_session("alice")
    response = dashboard.client.get(
        "/api/v1/users", headers={"Authorization": "Basic YWxpY2U6eA=="}
    )
    assert response.status_code == 401
