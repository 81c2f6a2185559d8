"""The dashboard in real headless Chromium (Debian's, driven by Playwright; never a downloaded one).

One browser for the module; the real service runs under uvicorn on loopback. Every page visited is
screenshotted to the artifacts folder, and any console error, uncaught exception or CSP violation
fails the test that caused it.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from dashboard_fixtures import PASSWORDS, fire_alert, seed_users
from support import Collector, make_settings, require
from whmcs_monitor import accounts
from whmcs_monitor.checks.tables import check_state
from whmcs_monitor.store import metrics as metric_store
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.metrics import Sample

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("WHMCS_MONITOR_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("WHMCS_MONITOR_ARTIFACTS", "/tmp/whmcs-monitor-artifacts"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = [
    "/",
    "/events",
    "/alerts",
    "/checks",
    "/silences",
    "/receivers",
    "/coverage",
    "/sites",
    "/users",
    "/account",
    "/api",
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """The real service on SQLite, with alice, bob, charlie and dave."""
    require(shutil.which(CHROMIUM) is not None, f"Chromium is not installed at {CHROMIUM}")
    patch = pytest.MonkeyPatch()
    patch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'monitor.db'}"
    db = Database(url)
    db.migrate()
    seed_users(db)
    db.dispose()
    server = Collector(make_settings(url, web={"stream_poll_seconds": 0.2}))
    server.start()
    yield server
    server.stop()
    patch.undo()


@pytest.fixture(scope="module")
def browser(live: Collector) -> Iterator[object]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """One logged-in page that records console errors and CSP violations."""

    def __init__(self, browser: object, live: Collector, *, mobile: bool = False) -> None:
        size = {"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900}
        self.context = browser.new_context(viewport=size, base_url=live.url)  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))

    def login(self, username: str) -> None:
        self.page.goto("/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORDS[username])
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(r".*/$"))

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert self.problems == [], f"console errors or CSP violations: {self.problems}"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def test_a_freshly_ingested_event_appears_on_the_overview_without_a_reload(
    browser: object, live: Collector
) -> None:
    tab = Tab(browser, live)
    tab.login("bob")
    tab.page.wait_for_selector("#live-state[data-state=live]")
    invoice = 90_000 + uuid.uuid4().int % 9_999
    response = live.post(
        [
            {
                "id": str(uuid.uuid4()),
                "hook": "InvoicePaid",
                "occurred_at": _now(),
                "vars": {"invoiceid": invoice},
            }
        ]
    )
    assert response.status_code == 202
    row = tab.page.locator("#live-events tr", has_text=f"Invoice #{invoice} paid")
    row.wait_for(timeout=10_000)
    tab.shot("overview-live")
    tab.close()


def test_filtering_events_swaps_the_list_and_keeps_the_filter_in_the_url(
    browser: object, live: Collector
) -> None:
    live.post(
        [
            {
                "id": str(uuid.uuid4()),
                "hook": "TicketOpen",
                "occurred_at": _now(),
                "vars": {
                    "ticketid": 5,
                    "ticketmask": "KQX-204518",
                    "userid": 3,
                    "deptname": "Sales",
                    "subject": "Need help",
                    "priority": "Low",
                },
            }
        ]
    )
    tab = Tab(browser, live)
    tab.login("charlie")
    tab.page.goto("/events")
    tab.page.fill("input[name=q]", "Need help")
    tab.page.press("input[name=q]", "Enter")
    tab.page.wait_for_url(re.compile(r".*q=Need(%20|\+)help.*"), wait_until="commit")
    rows = tab.page.locator("#event-rows tr")
    rows.first.wait_for()
    assert all("Need help" in text for text in rows.all_inner_texts())
    tab.shot("events-filtered")
    tab.close()


def test_an_operator_acknowledges_an_alert_and_silences_it_from_the_list(
    browser: object, live: Collector
) -> None:
    db = Database(live.settings.database_url)
    alert_id = fire_alert(db, "Every stripe capture failing")
    db.dispose()
    tab = Tab(browser, live)
    tab.login("bob")
    tab.page.goto("/alerts")
    row = tab.page.locator("table.alerts tr", has_text="Every stripe capture failing")
    row.locator("button", has_text="Acknowledge").click()
    tab.page.wait_for_load_state()
    assert (
        "acknowledged by bob"
        in tab.page.locator("table.alerts tr", has_text="Every stripe").inner_text()
    )
    tab.page.locator("table.alerts tr", has_text="Every stripe").locator(
        "a", has_text="Silence"
    ).click()
    assert "gateway=stripe" in tab.page.input_value("textarea[name=matchers]")
    tab.page.fill("input[name=comment]", "Stripe incident, they know")
    tab.page.click("button:has-text('Create silence')")
    tab.page.wait_for_url(re.compile(r".*/silences$"))
    assert "Stripe incident, they know" in tab.page.inner_text("main")
    tab.shot("silence-created")
    tab.page.goto(f"/alerts/{alert_id}")
    assert "acknowledged" in tab.page.inner_text("ol.timeline")
    tab.shot("alert-timeline")
    tab.close()


def test_a_viewer_is_shown_no_admin_links_and_is_refused_the_users_page(
    browser: object, live: Collector
) -> None:
    tab = Tab(browser, live)
    tab.login("charlie")
    assert tab.page.locator("header nav a", has_text="Users").count() == 0
    tab.page.goto("/alerts")
    assert tab.page.locator("button", has_text="Acknowledge").count() == 0
    tab.page.goto("/silences")
    assert tab.page.locator("textarea[name=matchers]").count() == 0
    response = tab.page.goto("/users")
    assert response is not None and response.status == 403
    assert "this needs the admin role" in tab.page.inner_text("main")
    tab.problems = [p for p in tab.problems if "403" not in p]  # the browser logs the 403 itself
    tab.close()


def _seed_check(url: str) -> None:
    """A check with an hour of latency samples, as the scheduler would have left it."""
    now = datetime.now(UTC)
    labels = {"check": "billing-site", "type": "http"}
    db = Database(url)
    with db.write() as conn:
        conn.execute(
            check_state.insert().values(
                name="billing-site",
                site="main",
                type="http",
                target="https://billing.example.com/",
                origin="config",
                state="up",
                fail_streak=0,
                ok_streak=12,
                next_run_at=now + timedelta(days=365),
                last_run_at=now,
                last_status="ok",
                last_message="200 OK",
                last_latency_ms=181.0,
                last_metrics={},
            )
        )
        metric_store.record(
            conn,
            [
                Sample(name, value, labels, site="main", ts=now - timedelta(minutes=5 * n))
                for n in range(12)
                for name, value in (("check_latency_ms", 150.0 + 10 * (n % 4)), ("check_up", 1.0))
            ],
        )
    db.dispose()


def test_a_checks_latency_chart_draws_under_the_csp(browser: object, live: Collector) -> None:
    _seed_check(live.settings.database_url)
    tab = Tab(browser, live)
    tab.login("charlie")
    tab.page.goto("/checks")
    assert "100.00%" in tab.page.inner_text("main")
    tab.page.click("text=billing-site")
    tab.page.wait_for_selector("#latency-chart canvas")
    tab.shot("check-latency")
    tab.close()


def test_every_page_renders_without_a_server_error_on_a_desktop_and_a_phone(
    browser: object, live: Collector
) -> None:
    for mobile in (False, True):
        tab = Tab(browser, live, mobile=mobile)
        tab.login("alice")
        for path in PAGES:
            response = tab.page.goto(path)
            assert response is not None and response.status == 200, path
            name = ("phone" if mobile else "desktop") + (
                path.replace("/", "-") if path != "/" else "-overview"
            )
            tab.shot(name)
        tab.page.goto("/")
        tab.page.click("#theme-toggle")
        tab.shot(("phone" if mobile else "desktop") + "-overview-toggled-theme")
        tab.close()
