"""The WHMCS API source, against a stand-in for includes/api.php with the documented answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from support import SITE_ID, SITE_SECRET, make_settings
from whmcs_monitor.config import WhmcsApiConfig
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services
from whmcs_monitor.sources.api import (
    WhmcsApi,
    WhmcsApiAuthError,
    WhmcsApiError,
    WhmcsApiIpError,
    WhmcsApiPermissionError,
)
from whmcs_monitor.sources.api_poller import poll_api_site
from whmcs_monitor.store.events import EventFilter, query_events
from whmcs_monitor.store.metrics import latest

API = WhmcsApiConfig(url="https://billing.example.com/", identifier="ident", secret="s3cret-api")
Handler = Callable[[dict[str, str]], tuple[int, Any]]


# Fixed for the whole module: a real WHMCS answers the same values on every call.
NOW = utcnow().replace(microsecond=0)


def _day(days: int) -> str:
    return (NOW + timedelta(days=days)).strftime("%Y-%m-%d")


def _stamp(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%d %H:%M:%S")


class FakeWhmcs:
    """Answers like WHMCS 8: form POST in, ``{"result": "success", ...}`` out."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.calls: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/includes/api.php"
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.calls.append(form)
        status, body = self.handler(form)
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def _list(
    form: dict[str, str], outer: str, inner: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    start, num = int(form.get("limitstart", 0)), int(form.get("limitnum", 25))
    page = items[start : start + num]
    return {
        "result": "success",
        "totalresults": len(items),
        "startnumber": start,
        "numreturned": len(page),
        outer: {inner: page} if page else "",
    }


def _invoice(invoice_id: int, *, due_days_ago: int) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "userid": 3,
        "invoicenum": "",
        "duedate": _day(-due_days_ago),
        "total": "30.00",
        "status": "Unpaid",
        "paymentmethod": "stripe",
    }


def whmcs_answers(form: dict[str, str]) -> tuple[int, Any]:
    action = form["action"]
    if action == "WhmcsDetails":
        return 200, {
            "result": "success",
            "whmcs": {"version": "8.13.1", "canonicalversion": "8.13.1-release.1"},
        }
    if action == "GetActivityLog":
        entries = [
            {
                "id": 9,
                "clientId": 0,
                "userId": 0,
                "adminId": 0,
                "date": _stamp(minutes=2),
                "description": "Failed Admin Login Attempt - Username: admin",
                "username": "System",
                "ipaddress": "203.0.113.5",
            },
            {
                "id": 8,
                "clientId": 0,
                "date": _stamp(minutes=3),
                "description": "Cron Job: Starting",
                "username": "System",
                "ipaddress": "",
            },
        ]
        return 200, _list(form, "activity", "entry", entries)
    if action == "GetInvoices":
        assert form["status"] == "Overdue"
        return 200, _list(form, "invoices", "invoice", [_invoice(71, due_days_ago=15)])
    if action == "GetModuleQueue":
        return 200, {
            "result": "success",
            "count": 1,
            "queue": [
                {
                    "id": 4,
                    "serviceType": "service",
                    "serviceId": 12,
                    "moduleName": "cpanel",
                    "moduleAction": "CreateAccount",
                    "lastAttempt": _stamp(minutes=5),
                    "lastAttemptError": "Login failed",
                    "numRetries": 4,
                    "completed": False,
                }
            ],
        }
    if action == "GetAutomationLog":
        return 200, {
            "result": "success",
            "currentDatetime": _stamp(),
            "lastDailyCronInvocationTime": _stamp(hours=49),
            "statistics": {},
        }
    if action == "GetHealthStatus":
        return 200, {
            "result": "success",
            "checks": {
                "success": [],
                "warning": [],
                "danger": [
                    {
                        "name": "CronStatus",
                        "type": "cron",
                        "severityLevel": "danger",
                        "body": "Cron has not run in 48 hours",
                    }
                ],
            },
        }
    if action == "GetClientsDomains":
        domains = [
            {
                "id": 5,
                "userid": 3,
                "domainname": "soon.example",
                "registrar": "enom",
                "regdate": _day(-360),
                "expirydate": _day(13),
                "status": "Active",
            }
        ]
        return 200, _list(form, "domains", "domain", domains)
    if action == "GetTickets":
        tickets = [
            {
                "id": 40,
                "tid": "XYZ-1",
                "deptid": 1,
                "deptname": "Support",
                "userid": 3,
                "date": _stamp(hours=30),
                "subject": "Down!",
                "status": "Open",
                "priority": "High",
                "lastreply": _stamp(hours=30),
            }
        ]
        return 200, _list(form, "tickets", "ticket", tickets)
    if action == "GetOrders":
        orders = [
            {
                "id": 90,
                "ordernum": 555,
                "userid": 3,
                "date": _stamp(minutes=5),
                "amount": "99.00",
                "paymentmethod": "stripe",
                "invoiceid": 0,
                "status": "Fraud",
            }
        ]
        return 200, _list(form, "orders", "order", orders if form["status"] == "Fraud" else [])
    if action == "GetStats":
        return 200, {
            "result": "success",
            "orders_pending": "3",
            "tickets_awaitingreply": 2,
            "cancellations_pending": 1,
            "income_today": "$10.00 USD",
        }
    return 200, {"result": "error", "message": f"Command Not Found: {action}"}


@contextmanager
def _services(database_url: str, start_at: str) -> Iterator[Services]:
    api = {"url": API.url, "identifier": API.identifier, "secret": API.secret.get_secret_value()}
    settings = make_settings(
        database_url,
        sites=[{"id": SITE_ID, "secret": SITE_SECRET, "api": api}],
        poller={"start_at": start_at},
    )
    services = Services.open(settings)
    try:
        yield services
    finally:
        services.db.dispose()


@pytest.fixture
def api_services(database_url: str) -> Iterator[Services]:
    with _services(database_url, "beginning") as services:
        yield services


def _events(services: Services, *kinds: str) -> list[dict[str, Any]]:
    with services.db.read() as conn:
        return query_events(conn, EventFilter(kinds=kinds, limit=1000))


def test_an_api_only_site_gets_the_same_derived_events(api_services: Services) -> None:
    fake = FakeWhmcs(whmcs_answers)
    site = api_services.settings.sites[0]
    report = poll_api_site(api_services, site, transport=fake.transport())
    assert report.ok, report
    kinds = sorted(e["kind"] for e in _events(api_services))
    assert kinds == sorted(
        [
            "security.admin_login_failed",
            "invoice.overdue",
            "module.queue_item_stuck",
            "cron.daily_not_run",
            "system.health_danger",
            "domain.expiring",
            "ticket.awaiting_reply_too_long",
            "order.status_changed",
        ]
    )
    (overdue,) = _events(api_services, "invoice.overdue")
    assert overdue["id"] == "poll:tblinvoices:71:overdue:14" and overdue["labels"]["age"] == "14d+"
    (ticket,) = _events(api_services, "ticket.awaiting_reply_too_long")
    assert ticket["labels"]["department"] == "Support"
    assert all(
        call["identifier"] == "ident" and call["responsetype"] == "json" for call in fake.calls
    )
    assert "s3cret-api" not in json.dumps(_events(api_services))
    with api_services.db.read() as conn:
        ((_, _, pending),) = latest(conn, "whmcs_orders_pending", site=site.id)
        assert latest(conn, "whmcs_staff_online", site=site.id) == []
    assert pending == 3.0
    assert poll_api_site(api_services, site, transport=fake.transport()).ok
    assert len(_events(api_services)) == len(kinds)


def test_an_api_login_failure_is_reported_once_and_backs_off(api_services: Services) -> None:
    fake = FakeWhmcs(lambda form: (200, {"result": "error", "message": "Authentication Failed"}))
    site = api_services.settings.sites[0]
    now = utcnow()
    first = poll_api_site(api_services, site, now=now, transport=fake.transport())
    assert not first.ok and "rejected the API credential" in (first.error or "")
    assert len(fake.calls) == 1
    assert poll_api_site(
        api_services, site, now=now + timedelta(seconds=5), transport=fake.transport()
    ).skipped
    poll_api_site(api_services, site, now=now + timedelta(hours=1), transport=fake.transport())
    (event,) = _events(api_services, "system.api_unreachable")
    assert event["severity"] == "critical" and "Authentication Failed" in event["summary"]


def _refusing(*actions: str) -> Handler:
    """WHMCS for a credential whose API role does not allow ``actions`` (all when empty)."""

    def answer(form: dict[str, str]) -> tuple[int, Any]:
        if actions and form["action"] not in actions:
            return whmcs_answers(form)
        message = f'Invalid Permissions: API action "{form["action"].lower()}" is not allowed'
        return 403, {"result": "error", "message": message}

    return answer


def test_an_action_the_api_role_does_not_allow_skips_only_that_step(
    api_services: Services,
) -> None:
    fake = FakeWhmcs(_refusing("GetHealthStatus"))
    site = api_services.settings.sites[0]
    report = poll_api_site(api_services, site, transport=fake.transport())
    assert report.ok and list(report.feed_errors) == ["health"]
    assert "add GetHealthStatus to" in report.feed_errors["health"]
    assert _events(api_services, "ticket.awaiting_reply_too_long")
    assert _events(api_services, "system.api_unreachable", "system.health_danger") == []
    assert not poll_api_site(api_services, site, transport=fake.transport()).skipped


def test_a_role_that_allows_no_action_is_an_outage(api_services: Services) -> None:
    fake = FakeWhmcs(_refusing())
    report = poll_api_site(api_services, api_services.settings.sites[0], transport=fake.transport())
    assert not report.ok and "allows none of the actions" in (report.error or "")
    assert len(_events(api_services, "system.api_unreachable")) == 1
    fixed = FakeWhmcs(whmcs_answers)
    site = api_services.settings.sites[0]
    assert poll_api_site(api_services, site, force=True, transport=fixed.transport()).ok
    assert len(_events(api_services, "system.api_reachable")) == 1


def test_pagination_follows_limitstart_until_totalresults() -> None:
    entries = [{"id": n, "description": "x"} for n in range(600, 0, -1)]
    fake = FakeWhmcs(lambda form: (200, _list(form, "activity", "entry", entries)))
    with WhmcsApi(API, transport=fake.transport()) as api:
        got = api.activity_log(max_items=1000)
    assert [e["id"] for e in got] == list(range(600, 0, -1))
    assert [c["limitstart"] for c in fake.calls] == ["0", "250", "500"]


def test_server_errors_are_retried_with_backoff_but_whmcs_errors_are_not() -> None:
    answers = iter(
        [(503, "busy"), (502, "<html>bad gateway</html>"), (200, {"result": "success", "x": 1})]
    )
    fake = FakeWhmcs(lambda form: next(answers))
    sleeps: list[float] = []
    with WhmcsApi(API, transport=fake.transport(), sleep=sleeps.append) as api:
        assert api.call("GetStats")["x"] == 1
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    ("message", "error", "hint"),
    [
        ("Authentication Failed", WhmcsApiAuthError, "sites[].api.identifier"),
        ("Invalid IP 198.51.100.4", WhmcsApiIpError, "API IP allow-list"),
        ("Your IP has been banned", WhmcsApiIpError, "Banned IPs"),
        ("Invalid Permissions: API action ...", WhmcsApiPermissionError, "add GetStats to"),
    ],
)
def test_auth_failures_and_ip_bans_raise_clear_errors(message: str, error: type, hint: str) -> None:
    fake = FakeWhmcs(lambda form: (403, {"result": "error", "message": message}))
    with (
        WhmcsApi(API, transport=fake.transport(), sleep=lambda s: None) as api,
        pytest.raises(error) as exc,
    ):
        api.call("GetStats")
    assert hint in str(exc.value) and "s3cret-api" not in str(exc.value)
    assert len(fake.calls) == 1


def test_unreachable_or_non_json_answers_name_the_problem() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with (
        WhmcsApi(API, transport=httpx.MockTransport(refuse), sleep=lambda s: None) as api,
        pytest.raises(WhmcsApiError, match="cannot reach WHMCS"),
    ):
        api.call("GetStats")
    fake = FakeWhmcs(lambda form: (200, "<html>login</html>"))
    with (
        WhmcsApi(API, transport=fake.transport()) as api,
        pytest.raises(WhmcsApiError, match="WHMCS URL"),
    ):
        api.call("GetStats")


def test_starting_at_the_end_reports_invoices_as_they_age_not_the_old_backlog(
    database_url: str,
) -> None:
    invoices = [_invoice(71, due_days_ago=200)]

    def answers(form: dict[str, str]) -> tuple[int, Any]:
        if form["action"] == "GetInvoices":
            return 200, _list(form, "invoices", "invoice", invoices)
        return whmcs_answers(form)

    fake = FakeWhmcs(answers)
    with _services(database_url, "end") as services:
        site = services.settings.sites[0]
        assert poll_api_site(services, site, transport=fake.transport()).ok
        assert poll_api_site(services, site, transport=fake.transport()).ok
        assert _events(services, "invoice.overdue") == []
        invoices.append(_invoice(72, due_days_ago=1))
        assert poll_api_site(services, site, transport=fake.transport()).ok
        (overdue,) = _events(services, "invoice.overdue")
        assert overdue["id"] == "poll:tblinvoices:72:overdue:1"
