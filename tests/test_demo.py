"""Demo mode: a business day sent through the real, signed ingest path."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from support import Collector
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.config import parse_settings
from whmcs_monitor.demo.scenarios import Business, hosting_order
from whmcs_monitor.demo.simulator import Simulator, Target


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
