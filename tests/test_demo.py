"""Demo mode: a business day sent through the real, signed ingest path."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support import Collector, batch_body, event, make_settings, signed_headers
from whmcs_monitor.bootstrap import settle_demo
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.config import Settings, parse_settings
from whmcs_monitor.demo.scenarios import Business, hosting_order
from whmcs_monitor.demo.simulator import DemoSiteRefused, Simulator, Target
from whmcs_monitor.errors import ConfigError
from whmcs_monitor.web.app import create_app

DEMO_SECRET = "d" * 40


def test_the_simulator_fills_many_categories_through_real_ingest(collector: Collector) -> None:
    target = Target(collector.url, collector.site_id, collector.secret.encode())
    simulator = Simulator(target, events_per_minute=6000, seed=7)
    sent = asyncio.run(simulator.run(max_events=120, duration=30))
    stored = collector.events()
    assert sent >= 120 and len(stored) == sent
    categories = Counter(e["category"] for e in stored)
    assert len(categories) >= 6, categories
    catalog = load_catalog()
    assert all(catalog.get(e["kind"]) for e in stored)
    assert "whmcs.unlisted_hook" not in {e["kind"] for e in stored}


def test_a_story_keeps_its_ids_consistent() -> None:
    business = Business(rng=random.Random(3))
    steps = []
    while len(steps) < 2:  # an order that was paid has two requests
        steps = hosting_order(business)
    first, second = steps[0][1], steps[1][1]
    created = next(e for e in first if e.get("hook") == "InvoiceCreated")
    paid = next(e for e in second if e.get("hook") == "InvoicePaid")
    assert created["vars"]["invoiceid"] == paid["vars"]["invoiceid"]


def test_demo_settings_need_a_secret() -> None:
    settings = parse_settings({"demo": {"enabled": "on"}}, environ={})
    with pytest.raises(ValueError, match=r"demo\.secret is not set"):
        Target.from_settings(settings)


def test_a_short_demo_secret_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"demo": {"secret": "x"}}, environ={})
    assert info.value.problems == ["demo.secret: must be at least 32 characters"]


def _demo_post_status(settings: Settings) -> int:
    body = batch_body([event("InvoicePaid")])
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/v1/ingest",
            content=body,
            headers=signed_headers(body, site="demo", secret=DEMO_SECRET),
        )
    return response.status_code


def _demo_settings(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(
        f"sqlite:///{tmp_path / 'monitor.db'}",
        demo={"enabled": "auto", "secret": DEMO_SECRET},
        **overrides,
    )


def test_the_demo_site_is_refused_once_a_real_whmcs_is_connected(tmp_path: Path) -> None:
    settings = _demo_settings(
        tmp_path,
        sites=[
            {
                "id": "main",
                "secret": "s" * 40,
                "database": {"name": "whmcs", "user": "monitor"},
            }
        ],
    )
    assert settle_demo(settings, allowed=True, has_real_events=False) is False
    assert _demo_post_status(settings) == 401


def test_the_demo_site_is_refused_under_no_demo(tmp_path: Path) -> None:
    settings = _demo_settings(tmp_path)
    assert settle_demo(settings, allowed=False, has_real_events=False) is False
    assert _demo_post_status(settings) == 401


def test_the_demo_site_is_accepted_while_the_simulator_runs(tmp_path: Path) -> None:
    settings = _demo_settings(tmp_path)
    assert settle_demo(settings, allowed=True, has_real_events=False) is True
    assert _demo_post_status(settings) == 202


def test_the_demo_command_says_why_a_monitor_refuses_it(collector: Collector) -> None:
    url = collector.url.replace("http://", "http://proxyuser:hunter2pw@")  # behind basic auth
    simulator = Simulator(Target(url, "demo", DEMO_SECRET.encode()), events_per_minute=6000, seed=1)
    with pytest.raises(DemoSiteRefused, match=r"refused the demo site \(401\)") as info:
        asyncio.run(simulator.run(max_events=1, duration=10))
    assert "hunter2pw" not in str(info.value)
