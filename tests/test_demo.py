"""Demo mode: a business day sent through the real, signed ingest path."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support import Collector, batch_body, event, make_settings, signed_headers
from whmcs_monitor.bootstrap import settle_demo
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.catalog.loader import Catalog
from whmcs_monitor.config import Settings, parse_settings
from whmcs_monitor.demo.scenarios import (
    SCENARIOS,
    Business,
    Step,
    hosting_order,
    support_ticket,
)
from whmcs_monitor.demo.simulator import DemoSiteRefused, Simulator, Target
from whmcs_monitor.errors import ConfigError
from whmcs_monitor.events.model import Event
from whmcs_monitor.events.normalize import build_event, render_summary
from whmcs_monitor.web.app import create_app

DEMO_SECRET = "d" * 40
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.\-]+)\}")


def _unfilled(catalog: Catalog, kind: str, payload: dict[str, Any]) -> list[str]:
    """The placeholders of the kind's summary template that the payload leaves as "?"."""
    paths = PLACEHOLDER.findall(catalog.get(kind).summary)
    return [p for p in paths if render_summary(f"{{{p}}}", payload) == "?"]


def _normalized(catalog: Catalog, steps: list[Step]) -> list[Event]:
    """The events of a story's requests, resolved and normalized as ingest does it."""
    events = []
    for _delay, batch in steps:
        for item in batch:
            name = item.get("hook") or item["kind"]
            entry = catalog.for_hook(name) if "hook" in item else catalog.resolve_one(name)
            assert entry is not None, item
            events.append(build_event(entry, site="demo", data=item["vars"]))
    return events


def _story_events(catalog: Catalog, rounds: int, seed: int) -> list[Event]:
    """Every event of ``rounds`` rounds of every story."""
    business = Business(rng=random.Random(seed))
    return [
        event
        for _ in range(rounds)
        for story, _weight in SCENARIOS
        for event in _normalized(catalog, story(business))
    ]


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
    assert [e["summary"] for e in stored if _unfilled(catalog, e["kind"], e["payload"])] == []


def test_every_demo_summary_is_filled_in() -> None:
    """A newcomer's first screen must read like a business day: no "created on ?"."""
    catalog = load_catalog()
    events = _story_events(catalog, rounds=200, seed=11)
    unfilled = {(e.kind, path) for e in events for path in _unfilled(catalog, e.kind, e.payload)}
    assert unfilled == set()
    kinds = {e.kind for e in events}  # the rare branches ran too
    assert {"module.create_failed", "registrar.registration_failed", "security.ip_banned"} <= kinds
    assert all("{" not in e.summary and "?" not in e.summary for e in events)


def test_module_events_name_their_server_as_whmcs_does() -> None:
    """The server label is what groups module failures and lets a server-down alert mute them."""
    events = _story_events(load_catalog(), rounds=100, seed=5)
    modules = [e for e in events if e.kind.startswith("module.")]
    assert {e.kind for e in modules} == {"module.created", "module.create_failed"}
    for module in modules:
        params = module.payload["params"]
        assert module.labels["server"] == params["serverhostname"]
        assert module.subjects["server"] == params["serverid"]
        assert f" on {params['serverhostname']}" in module.summary


def test_a_story_keeps_its_ids_consistent() -> None:
    business = Business(rng=random.Random(3))
    steps = []
    while len(steps) < 2:  # an order that was paid has two requests
        steps = hosting_order(business)
    first, second = steps[0][1], steps[1][1]
    created = next(e for e in first if e.get("hook") == "InvoiceCreated")
    paid = next(e for e in second if e.get("hook") == "InvoicePaid")
    assert created["vars"]["invoiceid"] == paid["vars"]["invoiceid"]
    catalog = load_catalog()
    orders = _numbers(catalog, steps, r"^Order #(\d+) (?:placed|paid)")
    assert len(orders) == 2 and len(set(orders)) == 1  # one order, one number
    tickets = _numbers(catalog, support_ticket(business), r"[Tt]icket #(\d+)")
    assert len(tickets) == 4 and len(set(tickets)) == 1


def _numbers(catalog: Catalog, steps: list[Step], pattern: str) -> list[str]:
    """What the story's summaries matching ``pattern`` give as its first group."""
    summaries = [e.summary for e in _normalized(catalog, steps)]
    return [m.group(1) for s in summaries if (m := re.search(pattern, s))]


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
