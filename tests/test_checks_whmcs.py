"""WHMCS presets against a local server playing WHMCS: page times, license text, System Health."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from checks_fixtures import Reply, Route, json_reply, serve_http
from support import make_settings
from whmcs_monitor.checks.base import ProbeContext, Result
from whmcs_monitor.checks.definitions import all_checks
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.checks.whmcs import WhmcsCheck
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.db import Database

API_SECRET = "api-secret-value-4242"
HEALTH = {
    "result": "success",
    "checks": {
        "success": [{"name": "PhpVersion", "body": "fine"}],
        "warning": [{"name": "DisplayErrors", "body": "<p>display_errors is <b>on</b></p>"}],
        "danger": [{"name": "CronStatus", "body": "The daily cron has not completed"}],
    },
}


def whmcs_routes(admin_body: str = "<form>Admin Login</form>", **extra: Route) -> dict[str, Route]:
    def api(handler: Any) -> Reply:
        form = {k: v[0] for k, v in parse_qs(handler.server.requests[-1]["body"]).items()}
        ok = form.get("action") == "GetHealthStatus" and form.get("secret") == API_SECRET
        return json_reply(HEALTH) if ok else json_reply({"result": "error"}, 403)

    routes: dict[str, Route] = {
        "/": Reply(200, "Welcome"),
        "/cart.php": Reply(200, "Cart"),
        "/login.php": Reply(200, "Login"),
        "/admin/login.php": Reply(200, admin_body),
        "/includes/api.php": api,
    }
    routes.update(extra)
    return routes


async def run(url: str, **spec: Any) -> Result:
    check = parse_check({"type": "whmcs", "name": "whmcs", "url": url, "timeout": 2, **spec})
    return await check.probe(ProbeContext(utcnow()))


async def test_each_page_is_timed_separately() -> None:
    with serve_http(whmcs_routes()) as server:
        result = await run(server.url)
    assert result.status == "up"
    pages = {k.split(":", 1)[1] for k in result.metrics if k.startswith("page_ms:")}
    assert pages == {"homepage", "cart", "client_login", "admin_login"}


async def test_a_failing_page_is_down_and_named() -> None:
    with serve_http(whmcs_routes(**{"/cart.php": Reply(500, "boom")})) as server:
        result = await run(server.url)
    assert result.status == "down"
    assert result.message == "cart: HTTP 500"


async def test_a_slow_page_makes_it_degraded() -> None:
    with serve_http(whmcs_routes(**{"/login.php": Reply(200, "Login", delay=0.25)})) as server:
        result = await run(server.url, degraded_ms=150)
    assert result.status == "degraded"
    assert result.message.startswith("slow: client_login ")


async def test_license_invalid_on_the_admin_login_page_is_down_with_an_event() -> None:
    with serve_http(whmcs_routes("<div class='alert'>Licence Suspended</div>")) as server:
        result = await run(server.url)
    assert result.status == "down"
    assert result.message == "admin login page shows 'Licence Suspended'"
    [finding] = [f for f in result.findings if f.kind == "system.license_invalid"]
    assert finding.data["state"] == "Licence Suspended"


async def test_get_health_status_danger_and_warning_items_become_findings() -> None:
    with serve_http(whmcs_routes()) as server:
        result = await run(
            server.url, api_url=server.url, api_identifier="ident", api_secret=API_SECRET
        )
    by_kind = {f.kind: f for f in result.findings}
    assert by_kind["system.health_danger"].data == {
        "name": "CronStatus",
        "body": "The daily cron has not completed",
    }
    assert by_kind["system.health_warning"].data["body"] == "display_errors is on"
    assert API_SECRET not in repr(result)


async def test_a_site_with_a_whmcs_url_gets_preset_checks_with_its_api(tmp_path: Any) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'm.db'}",
        sites=[
            {
                "id": "main",
                "secret": "s" * 40,
                "whmcs_url": "https://billing.example.com/",
                "api": {"url": "https://billing.example.com/", "identifier": "i", "secret": "x"},
            }
        ],
    )
    db = Database(settings.database_url)
    db.migrate()
    try:
        with db.read() as conn:
            found = all_checks(settings, conn)
    finally:
        db.dispose()
    assert sorted(found) == ["main.tls", "main.whmcs"]
    whmcs, origin = found["main.whmcs"]
    assert origin == "preset"
    assert isinstance(whmcs, WhmcsCheck)
    assert whmcs.api_identifier == "i"
    assert found["main.tls"][0].target == "billing.example.com:443"
