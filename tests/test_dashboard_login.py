"""Logging in: cookies, throttling and lockout, TOTP, CSRF on the form, redirects and the audit."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from dashboard_fixtures import (
    Dashboard,
    dashboard_fixture,  # noqa: F401  (registers the fixture)
)
from whmcs_monitor.accounts import create_user, enable_totp, get_user, set_disabled
from whmcs_monitor.store.tables import audit_log


def _actions(board: Dashboard) -> list[tuple[str, str, str]]:
    with board.db.read() as conn:
        return [
            (r.actor, r.action, r.target)
            for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.id))
        ]


def test_a_visitor_without_a_session_is_sent_to_the_login_page(dashboard: Dashboard) -> None:
    response = dashboard.client.get("/events?since=1h", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fevents%3Fsince%3D1h"


def test_an_api_client_without_a_token_gets_401_in_the_error_shape(dashboard: Dashboard) -> None:
    response = dashboard.client.get("/api/v1/events")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["status"] == 401


def test_logging_in_sets_an_httponly_samesite_cookie_and_is_audited(dashboard: Dashboard) -> None:
    assert dashboard.login("alice") == 303
    cookie = next(c for c in dashboard.client.cookies.jar if c.name == "wm_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite").lower() == "lax"
    assert not cookie.secure
    assert ("alice", "login.success", "alice") in _actions(dashboard)
    assert dashboard.client.get("/").status_code == 200


def test_the_cookie_is_secure_behind_https(dashboard: Dashboard) -> None:
    dashboard.client.base_url = "https://testserver"  # type: ignore[assignment]
    response = dashboard.client.post(
        "/login",
        data={
            "username": "bob",
            "password": "bob-password-22",
            "csrf_token": dashboard.login_form_token(),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_is_refused_and_audited(dashboard: Dashboard) -> None:
    assert dashboard.login("alice", "not-the-password") == 401
    assert ("ip:testclient", "login.failure", "alice") in _actions(dashboard)
    assert dashboard.client.get("/", follow_redirects=False).status_code == 303


def test_five_failures_lock_the_account_even_against_the_right_password(
    dashboard: Dashboard,
) -> None:
    statuses = [dashboard.login("bob", f"wrong-{i}") for i in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    assert dashboard.login("bob") == 429
    actions = [action for _, action, target in _actions(dashboard) if target == "bob"]
    assert "login.lockout" in actions
    assert actions[-1] == "login.refused_locked"


def test_the_login_form_needs_its_csrf_token(dashboard: Dashboard) -> None:
    response = dashboard.client.post(
        "/login", data={"username": "alice", "password": "alice-password-1", "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert "wm_session" not in dashboard.client.cookies


def test_a_nul_character_in_the_login_form_is_a_422_before_any_lookup(
    dashboard: Dashboard,
) -> None:
    response = dashboard.client.post(
        "/login",
        data={
            "username": "adm\x00in",
            "password": "whatever-123456",
            "csrf_token": dashboard.login_form_token(),
        },
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 422
    assert "username: contains a NUL character" in response.text
    assert not [a for a in _actions(dashboard) if a[1] == "login.failure"]


def _enrol(board: Dashboard, username: str) -> pyotp.TOTP:
    """Two-factor for ``username``, enrolled with the previous step's code (which that spends)."""
    totp = pyotp.TOTP(pyotp.random_base32())
    enable_totp(board.db, username, totp.secret, totp.at(time.time() - 30), actor=username)
    return totp


def test_a_user_with_two_factor_needs_the_current_code(dashboard: Dashboard) -> None:
    totp = _enrol(dashboard, "charlie")
    assert dashboard.login("charlie") == 401
    assert dashboard.login("charlie", code="000000") == 401
    assert dashboard.login("charlie", code=totp.now()) == 303


def test_a_two_factor_code_works_only_once(dashboard: Dashboard) -> None:
    """RFC 6238 §5.2: a code seen over someone's shoulder or in a proxy log is already spent."""
    totp = _enrol(dashboard, "charlie")
    code = totp.now()
    assert dashboard.login("charlie", code=code) == 303
    dashboard.client.cookies.clear()
    assert dashboard.login("charlie", code=code) == 401
    assert dashboard.login("charlie", code=totp.at(time.time() - 30)) == 401  # older: spent too
    assert dashboard.login("charlie", code=totp.at(time.time() + 30)) == 303  # the next step


def test_enrolling_two_factor_refuses_a_code_from_another_secret(dashboard: Dashboard) -> None:
    dashboard.login("charlie")
    other = pyotp.TOTP(pyotp.random_base32()).now()
    response = dashboard.client.post(
        "/account/totp",
        data={"secret": pyotp.random_base32(), "code": other, "csrf_token": dashboard.csrf()},
    )
    assert response.status_code == 422
    assert "code does not match" in response.text


@pytest.mark.parametrize(
    "target",
    ["//evil.example/phish", "https://evil.example/", "/\t/evil.example", "/\\evil.example"],
    ids=["protocol-relative", "absolute", "tab-smuggled", "backslash"],
)
def test_after_login_the_browser_returns_only_to_a_path_on_this_site(
    dashboard: Dashboard, target: str
) -> None:
    response = dashboard.client.post(
        "/login",
        data={
            "username": "alice",
            "password": "alice-password-1",
            "csrf_token": dashboard.login_form_token(),
            "next": target,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_logging_out_ends_the_session_on_the_server(dashboard: Dashboard) -> None:
    dashboard.login("alice")
    stolen = dict(dashboard.client.cookies)
    response = dashboard.client.post(
        "/logout", data={"csrf_token": dashboard.csrf()}, follow_redirects=False
    )
    assert response.headers["location"] == "/login"
    dashboard.client.cookies.clear()
    dashboard.client.cookies.update(stolen)
    replay = dashboard.client.get("/", follow_redirects=False)
    assert replay.status_code == 303
    assert ("alice", "logout", "alice") in _actions(dashboard)


def test_disabling_a_user_ends_their_session_at_once(dashboard: Dashboard) -> None:
    dashboard.use_session("dave")
    assert dashboard.client.get("/").status_code == 200
    set_disabled(dashboard.db, "dave", True, actor="test")
    assert dashboard.client.get("/", follow_redirects=False).status_code == 303


def test_changing_the_password_logs_out_the_other_sessions(dashboard: Dashboard) -> None:
    elsewhere, _ = dashboard.session_for("bob")
    csrf = dashboard.use_session("bob")
    response = dashboard.client.post(
        "/account/password",
        data={
            "current_password": "bob-password-22",
            "new_password": "a-new-password-9",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert dashboard.client.get("/account").status_code == 200
    dashboard.client.cookies.clear()
    dashboard.client.cookies.update(elsewhere)
    assert dashboard.client.get("/account", follow_redirects=False).status_code == 303
    assert dashboard.login("bob", "a-new-password-9") == 303


def _password_form_csrf(board: Dashboard) -> str:
    found = re.search(
        r'name="csrf_token" value="([^"]+)"', board.client.get("/account/password").text
    )
    assert found is not None
    return found.group(1)


def test_a_generated_password_must_be_changed_before_anything_else(dashboard: Dashboard) -> None:
    """The first admin from ``whmcs-monitor init`` gets a generated password and this flag."""
    create_user(
        dashboard.db,
        "root",
        "generated-password-1",
        "admin",
        actor="init",
        must_change_password=True,
    )
    response = dashboard.client.post(
        "/login",
        data={
            "username": "root",
            "password": "generated-password-1",
            "csrf_token": dashboard.login_form_token(),
        },
    )
    assert response.url.path == "/account/password"
    assert "must set a new password before you continue" in response.text
    for path in ("/", "/events", "/account", "/users"):
        page = dashboard.client.get(path, follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/account/password")
    refused = dashboard.client.get("/api/v1/events")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith("your account must set a new password")
    same = dashboard.client.post(
        "/account/password",
        data={
            "current_password": "generated-password-1",
            "new_password": "generated-password-1",
            "csrf_token": _password_form_csrf(dashboard),
        },
    )
    assert same.status_code == 422
    changed = dashboard.client.post(
        "/account/password",
        data={
            "current_password": "generated-password-1",
            "new_password": "my-own-password-2",
            "csrf_token": _password_form_csrf(dashboard),
        },
        follow_redirects=False,
    )
    assert (changed.status_code, changed.headers["location"]) == (303, "/")
    assert not get_user(dashboard.db, "root").must_change_password
    assert dashboard.client.get("/", follow_redirects=False).status_code == 200
    assert dashboard.client.get("/api/v1/events").status_code == 200
