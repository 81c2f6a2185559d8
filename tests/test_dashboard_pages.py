"""The pages and their JSON twins: same data, filters, event detail, coverage, sites, overview."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from dashboard_fixtures import (
    Dashboard,
    dashboard_fixture,  # noqa: F401  (registers the fixture)
)
from support import batch_body, signed_headers
from whmcs_monitor.events.model import Event
from whmcs_monitor.store.events import insert_events
from whmcs_monitor.web.queries import BUSINESS_FIGURES, UNKNOWN_KIND

SEEDED_PASSWORD = "hunter2-client-password"


def _ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _event(
    hook: str | None, minutes_ago: int, vars: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    body = {"id": str(uuid.uuid4()), "occurred_at": _ago(minutes_ago), "vars": vars, **extra}
    if hook is not None:
        body["hook"] = hook
    return body


def _ingest(board: Dashboard, events: list[dict[str, Any]]) -> None:
    body = batch_body(events)
    response = board.client.post("/api/v1/ingest", content=body, headers=signed_headers(body))
    assert response.status_code == 202, response.text


@pytest.fixture
def seeded(dashboard: Dashboard) -> Dashboard:
    _ingest(
        dashboard,
        [
            _event("InvoicePaid", 5, {"invoiceid": 42}),
            _event("InvoicePaid", 90, {"invoiceid": 43}),
            _event(
                "ClientAdd",
                3,
                {
                    "client_id": 7,
                    "user_id": 9,
                    "firstname": "Ada",
                    "lastname": "Lovelace",
                    "email": "ada@example.com",
                    "password": SEEDED_PASSWORD,
                },
            ),
            _event(
                None,
                2,
                {
                    "module_version": "1.4.0",
                    "catalog_version": "1",
                    "hooks_registered": 180,
                    "spool_depth": 3,
                    "dropped_events": 2,
                    "rejected_events": 0,
                    "php_version": "8.2.36",
                    "whmcs_version": "8.11.0",
                },
                kind="forwarder.heartbeat",
                context={"whmcs_version": "8.11.0", "module_version": "1.4.0"},
            ),
        ],
    )
    dashboard.use_session("charlie")
    return dashboard


def test_the_events_page_and_its_json_twin_show_the_same_filtered_events(seeded: Dashboard) -> None:
    twin = seeded.client.get("/api/v1/events?kind=InvoicePaid&since=1h").json()
    assert [e["summary"] for e in twin["events"]] == ["Invoice #42 paid"]
    assert twin["filters"]["kind"] == "InvoicePaid"
    page = seeded.client.get("/events?kind=InvoicePaid&since=1h").text
    assert "Invoice #42 paid" in page
    assert "Invoice #43 paid" not in page


def test_events_page_backwards_with_the_before_cursor(seeded: Dashboard) -> None:
    first = seeded.client.get("/api/v1/events?limit=2").json()
    assert len(first["events"]) == 2 and first["next_before"] is not None
    second = seeded.client.get(f"/api/v1/events?limit=2&before={first['next_before']}").json()
    seqs = [e["seq"] for e in first["events"] + second["events"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 4


def test_severity_filters_by_at_least_and_text_searches_the_summary(seeded: Dashboard) -> None:
    assert seeded.client.get("/api/v1/events?severity=error").json()["events"] == []
    found = seeded.client.get("/api/v1/events?q=lovelace").json()["events"]
    assert [e["kind"] for e in found] == ["client.added"]


@pytest.mark.parametrize(
    ("q", "found"),
    [("%", []), ("_", []), ("Invoice #4_", []), ("invoice #42", ["Invoice #42 paid"]), ("/", [])],
    ids=["percent", "underscore", "underscore-inside", "plain", "escape-character"],
)
def test_the_text_search_has_no_wildcards(seeded: Dashboard, q: str, found: list[str]) -> None:
    events = seeded.client.get("/api/v1/events", params={"q": q}).json()["events"]
    assert [e["summary"] for e in events] == found


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("kind=NoSuchHook", "kind"),
        ("category=nope", "category"),
        ("severity=loud", "severity"),
        ("limit=0", "query.limit"),
        ("since=99999999d", "since"),
        ("until=3000000d", "until"),
        ("since=1h&until=2h", "until"),
    ],
    ids=[
        "bad-since",
        "unknown-kind",
        "unknown-category",
        "unknown-severity",
        "zero-limit",
        "since-before-year-1",
        "until-before-year-1",
        "until-before-since",
    ],
)
def test_a_bad_filter_is_a_4xx_naming_the_field(
    seeded: Dashboard, query: str, field: str | None
) -> None:
    response = seeded.client.get(f"/api/v1/events?{query}")
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert message.startswith(f"{field}: ")
    page = seeded.client.get(f"/events?{query}", headers={"Accept": "text/html"})
    assert page.status_code == 422 and "That did not work" in page.text


def test_a_lookback_of_up_to_100_years_is_accepted(seeded: Dashboard) -> None:
    found = seeded.client.get("/api/v1/events?since=36500d&until=1m").json()["events"]
    assert len(found) == 4


def test_the_event_detail_shows_the_redacted_payload_and_a_whmcs_deep_link(
    dashboard: Dashboard, database_url: str
) -> None:
    from fastapi.testclient import TestClient

    from support import make_settings
    from whmcs_monitor.web.app import create_app

    settings = make_settings(
        database_url,
        sites=[
            {
                "id": "main",
                "secret": "s3cr3t-for-tests-" + "x" * 32,
                "whmcs_url": "https://billing.example.com/",
            }
        ],
    )
    with TestClient(create_app(settings)) as client:
        board = Dashboard(client)
        _ingest(
            board,
            [
                _event(
                    "ClientAdd",
                    1,
                    {
                        "client_id": 7,
                        "user_id": 9,
                        "firstname": "Ada",
                        "lastname": "L",
                        "email": "a@example.com",
                        "password": SEEDED_PASSWORD,
                    },
                )
            ],
        )
        board.use_session("charlie")
        seq = client.get("/api/v1/events").json()["events"][0]["seq"]
        detail = client.get(f"/api/v1/events/{seq}").json()
        assert SEEDED_PASSWORD not in str(detail)
        assert detail["whmcs_links"] == [
            {
                "label": "Client profile #7",
                "url": "https://billing.example.com/admin/clientssummary.php?userid=7",
            }
        ]
        page = client.get(f"/events/{seq}").text
        assert "clientssummary.php?userid=7" in page and SEEDED_PASSWORD not in page
        assert client.get("/api/v1/events/999999").status_code == 404


def test_the_sites_page_reports_the_forwarders_heartbeat(seeded: Dashboard) -> None:
    site = seeded.client.get("/api/v1/sites").json()["sites"][0]
    assert site["id"] == "main"
    assert site["module_version"] == "1.4.0"
    assert site["whmcs_version"] == "8.11.0"
    assert site["spool_depth"] == 3
    assert site["dropped"] == 2
    assert site["hook_count"] == 180
    assert site["forwarder_state"] == "backlog"
    page = seeded.client.get("/sites").text
    assert "holding events in its spool" in page
    assert "<dt>Hooks registered</dt><dd>180</dd>" in page


def _store(board: Dashboard, kind: str, summary: str) -> None:
    """An event as a check, the poller or an older version stores it, without ingest."""
    now = datetime.now(UTC)
    stored = Event(
        event_id=str(uuid.uuid4()),
        site="main",
        kind=kind,
        category="system_health",
        severity="error",
        source="check",
        occurred_at=now,
        received_at=now,
        summary=summary,
        fingerprint=uuid.uuid4().hex,
    )
    with board.db.write() as conn:
        insert_events(conn, [stored])


def test_an_event_whose_kind_left_the_catalog_still_has_a_detail_page(seeded: Dashboard) -> None:
    _store(seeded, "legacy.removed_kind", "Something an older version recorded")
    seq = seeded.client.get("/api/v1/events?limit=1").json()["events"][0]["seq"]
    detail = seeded.client.get(f"/api/v1/events/{seq}")
    assert detail.status_code == 200
    assert detail.json()["description"] == UNKNOWN_KIND
    page = seeded.client.get(f"/events/{seq}")
    assert page.status_code == 200 and "not in this version&#39;s event catalog" in page.text


def test_the_sites_page_takes_the_whmcs_version_from_the_heartbeat_not_the_last_event(
    seeded: Dashboard,
) -> None:
    """A check or poller event after the heartbeat has an empty context."""
    _store(seeded, "check.down", "Check web is down")
    site = seeded.client.get("/api/v1/sites").json()["sites"][0]
    assert site["last_event_summary"] == "Check web is down"
    assert (site["whmcs_version"], site["module_version"]) == ("8.11.0", "1.4.0")


def test_the_overview_counts_business_figures_over_24_hours(seeded: Dashboard) -> None:
    data = seeded.client.get("/api/v1/overview").json()
    figures = {f["kind"]: f["count_24h"] for f in data["figures"]}
    assert figures["invoice.paid"] == 2
    assert figures["client.added"] == 1
    assert figures["gateway.failure"] == 0
    health = {h["category"]: h["state"] for h in data["health"]}
    assert health["orders_payments"] == "ok"
    assert health["support"] == "quiet"
    page = seeded.client.get("/").text
    assert "Invoices paid" in page and "No open alerts" in page


def test_the_business_figures_name_real_catalog_kinds(dashboard: Dashboard) -> None:
    catalog = dashboard.client.app.state.services.catalog  # type: ignore[attr-defined]
    for kind, _ in BUSINESS_FIGURES:
        assert catalog.get(kind).kind == kind


def test_the_coverage_page_lists_each_gaps_action(seeded: Dashboard) -> None:
    card = seeded.client.get("/api/v1/coverage").json()
    assert card["gaps"]
    page = seeded.client.get("/coverage").text
    for gap in card["gaps"][:3]:
        assert gap["action"].split("`")[0] in page


def test_empty_pages_say_what_will_appear_and_what_to_configure(seeded: Dashboard) -> None:
    assert "alerting.receivers" in seeded.client.get("/receivers").text
    assert "under <code>checks:</code>" in seeded.client.get("/checks").text
    assert "checks.heartbeats" in seeded.client.get("/heartbeats").text
    assert seeded.client.get("/api/v1/checks").json() == {"checks": [], "heartbeats": []}


def test_an_open_alert_shows_on_the_overview_and_the_alerts_page(seeded: Dashboard) -> None:
    alert_id = seeded.fire_alert("Every stripe capture failing")
    overview = seeded.client.get("/api/v1/overview").json()
    assert [a["id"] for a in overview["open_alerts"]] == [alert_id]
    assert "Every stripe capture failing" in seeded.client.get("/").text
    detail = seeded.client.get(f"/api/v1/alerts/{alert_id}").json()
    assert [h["action"] for h in detail["history"]] == ["fired"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/api/v1/events?q=a%00b", None, "q"),
        ("GET", "/api/v1/events?site=%00", None, "site"),
        ("GET", "/api/v1/checks/a%00b", None, "name"),
        ("PATCH", "/api/v1/users/a%00b", {"role": "viewer"}, "username"),
        ("POST", "/api/v1/tokens", {"name": "a\x00b"}, "name"),
        ("POST", "/api/v1/silences", {"matchers": ["site=a\x00"], "comment": "x"}, "matchers[0]"),
        ("POST", "/api/v1/checks", {"name": "t", "type": "tcp", "host": "\x00", "port": 9}, "host"),
    ],
    ids=["query", "filter", "path", "path-with-body", "json", "json-list", "json-spec"],
)
def test_a_nul_character_anywhere_is_a_422_naming_the_field(
    dashboard: Dashboard, method: str, path: str, body: Any, field: str
) -> None:
    csrf = dashboard.use_session("alice")
    response = dashboard.client.request(
        method, path, json=body, headers={"X-CSRF-Token": csrf, "Accept": "application/json"}
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert error["message"] == (
        f"{field}: contains a NUL character (\\0), which is not allowed; remove it"
    )


def test_a_value_the_database_refuses_is_a_422_not_a_500(dashboard: Dashboard) -> None:
    """The safety net behind the NUL check, for any route, even one without the check."""
    app = dashboard.client.app

    @app.get("/api/v1/test-only/store-nul")  # type: ignore[attr-defined, untyped-decorator]
    def store_nul() -> None:
        with dashboard.db.read() as conn:  # PostgreSQL refuses the NUL here ...
            conn.execute(sa.text("SELECT CAST(:value AS text)"), {"value": "a\x00b"})
        # ... SQLite stores it, so raise what psycopg would have.
        raise sa.exc.DataError("SELECT", {}, ValueError("cannot contain NUL (0x00) characters"))

    response = dashboard.client.get("/api/v1/test-only/store-nul")
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("the database refused a value")


def test_the_event_page_shows_the_payload_as_readable_escaped_text(dashboard: Dashboard) -> None:
    hostile = "</pre><script>alert(1)</script>"
    _ingest(
        dashboard,
        [
            _event(
                "ClientAdd",
                1,
                {
                    "client_id": 8,
                    "firstname": "Jürgen",
                    "lastname": hostile,
                    "companyname": "Smith & Sons <UK>",
                },
            )
        ],
    )
    dashboard.use_session("charlie")
    seq = dashboard.client.get("/api/v1/events").json()["events"][0]["seq"]
    page = dashboard.client.get(f"/events/{seq}").text
    shown = html.unescape(page)  # what the browser displays
    assert '"companyname": "Smith & Sons <UK>"' in shown
    assert '"firstname": "Jürgen"' in shown
    assert f'"lastname": "{hostile}"' in shown
    assert "<script>alert" not in page and "\\u00fc" not in page and "\\u0026" not in page
