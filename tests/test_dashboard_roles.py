"""Every route, once per role: anonymous, alice (admin), bob (operator) and charlie (viewer).

Each route must either be on the short public list below or depend on exactly one role guard;
the walk then proves the guard is what the server enforces, and that nobody gets a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from starlette.routing import Mount

from dashboard_fixtures import (
    ROLES,
    Dashboard,
    dashboard_fixture,  # noqa: F401  (registers the fixture)
)
from whmcs_monitor.accounts import RANK
from whmcs_monitor.web.guard import Require
from whmcs_monitor.web.headers import CSP

# Reachable without logging in, each for a reason.
PUBLIC = {
    ("GET", "/login"): "the login form",
    ("POST", "/login"): "logging in",
    ("GET", "/healthz"): "liveness probe",
    ("GET", "/readyz"): "readiness probe",
    ("GET", "/metrics"): "Prometheus scrape (bind to loopback or protect at the proxy)",
    ("POST", "/api/v1/ingest"): "authenticated by the site's HMAC signature instead",
    ("GET", "/openapi.json"): "the API's public description",
    **{
        (method, "/links/alerts/{alert_id}/ack"): "a notification's acknowledge link; its "
        "signed token is the authorization"
        for method in ("GET", "POST")
    },
    **{
        (method, path): "heartbeat pings, authenticated by the heartbeat's secret token"
        for method in ("GET", "POST")
        for path in (
            "/ping/{token}",
            "/ping/{token}/start",
            "/ping/{token}/fail",
            "/ping/{token}/{exit_code}",
        )
    },
}
SAMPLE_PATH_VALUES = {
    "seq": "1",
    "token_id": "1",
    "username": "dave",
    "alert_id": "1",
    "silence_id": "1",
    "name": "web",
}
SAMPLE_JSON: dict[str, Any] = {"name": "walk", "username": "walker", "password": "x" * 14}
# A role below the guard's gets 403 before any of this is looked at; at or above, the sample
# values may be refused (422, 404) but never with 401/403.


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    role: str | None


def _guards(dependant: Dependant) -> list[str]:
    found = [dependant.call.role] if isinstance(dependant.call, Require) else []
    for sub in dependant.dependencies:
        found += _guards(sub)
    return found


def _flatten(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            yield from route.effective_route_contexts()
        else:
            yield route


def route_table(app: FastAPI) -> list[RouteInfo]:
    table = []
    for route in _flatten(app.routes):
        if isinstance(route, Mount):
            continue  # /static: the vendored scripts and stylesheet, public by nature
        guards = _guards(route.dependant) if hasattr(route, "dependant") else []
        for method in sorted(route.methods - {"HEAD"}):
            if (method, route.path) in PUBLIC:
                assert not guards, f"{method} {route.path} is public but has a guard"
                table.append(RouteInfo(method, route.path, None))
                continue
            assert len(set(guards)) == 1, f"{method} {route.path} needs exactly one role guard"
            table.append(RouteInfo(method, route.path, guards[0]))
    return table


def _call(board: Dashboard, info: RouteInfo, csrf: str) -> int:
    path = info.path
    for name, value in SAMPLE_PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    kwargs: dict[str, Any] = {"follow_redirects": False}
    if info.method != "GET":
        kwargs["headers"] = {"X-CSRF-Token": csrf}
        if path.startswith("/api/"):
            kwargs["json"] = SAMPLE_JSON
        else:
            kwargs["data"] = {"csrf_token": csrf}
    return board.client.request(info.method, path, **kwargs).status_code


def test_every_route_is_public_by_decision_or_guarded_by_one_role(dashboard: Dashboard) -> None:
    table = route_table(dashboard.client.app)  # type: ignore[arg-type]
    assert {(r.method, r.path) for r in table if r.role is None} == set(PUBLIC)
    guarded = {(r.method, r.path): r.role for r in table if r.role}
    assert guarded[("GET", "/users")] == "admin"
    assert guarded[("POST", "/users")] == "admin"
    assert guarded[("GET", "/events")] == "viewer"
    assert guarded[("POST", "/alerts/{alert_id}/ack")] == "operator"
    assert guarded[("POST", "/api/v1/silences")] == "operator"


@pytest.mark.parametrize("who", ["anonymous", "alice", "bob", "charlie"])
def test_the_server_enforces_each_routes_role(dashboard: Dashboard, who: str) -> None:
    table = [r for r in route_table(dashboard.client.app) if r.role is not None]  # type: ignore[arg-type]
    outcomes = {}
    for info in table:
        if who == "anonymous":
            dashboard.client.cookies.clear()
            csrf = ""
        else:
            csrf = dashboard.use_session(who)  # fresh each time: /logout ends the session
        status = _call(dashboard, info, csrf)
        outcomes[f"{info.method} {info.path}"] = status
        assert status < 500, f"{who}: {info.method} {info.path} answered {status}"
        if who == "anonymous":
            expected = 401 if info.path.startswith("/api/") else 303
            assert status == expected, f"anonymous: {info.method} {info.path} answered {status}"
        elif RANK[ROLES[who]] < RANK[info.role or "viewer"]:
            assert status == 403, f"{who}: {info.method} {info.path} answered {status}"
        else:
            assert status not in (401, 403), f"{who}: {info.method} {info.path} answered {status}"
    assert len(outcomes) >= 25


def test_a_form_post_without_the_csrf_token_is_refused(dashboard: Dashboard) -> None:
    dashboard.use_session("alice")
    response = dashboard.client.post(
        "/users", data={"username": "eve", "password": "e" * 14, "role": "admin"}
    )
    assert response.status_code == 403
    assert "reload and retry" in response.text
    assert "eve" not in dashboard.client.get("/api/v1/users").text


def test_an_api_write_with_a_session_needs_the_csrf_header(dashboard: Dashboard) -> None:
    csrf = dashboard.use_session("alice")
    body = {"username": "eve", "password": "e" * 14, "role": "viewer"}
    assert dashboard.client.post("/api/v1/users", json=body).status_code == 403
    created = dashboard.client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    assert created.json()["role"] == "viewer"


def test_every_page_carries_the_security_headers(dashboard: Dashboard) -> None:
    dashboard.use_session("charlie")
    for path in ("/", "/login", "/api/v1/events", "/static/app.js"):
        headers = dashboard.client.get(path).headers
        assert headers["content-security-policy"] == CSP
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
    assert "'unsafe-inline'" not in CSP
    assert "frame-ancestors 'none'" in CSP


def test_a_server_error_carries_the_security_headers_too(dashboard: Dashboard) -> None:
    app = dashboard.client.app

    @app.get("/api/v1/test-only/crash")  # type: ignore[attr-defined, untyped-decorator]
    def crash() -> None:
        raise RuntimeError("a bug")

    response = dashboard.client.get("/api/v1/test-only/crash")
    assert response.status_code == 500
    assert response.json()["error"]["message"].startswith("internal error")
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-frame-options"] == "DENY"
