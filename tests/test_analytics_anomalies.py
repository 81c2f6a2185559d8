"""Seasonal anomaly detection on the seeded history: injected problems are found, a normal week is not."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

import analytics_fixtures
from analytics_fixtures import NOW, History, config, daily_takings, insert_rows
from whmcs_monitor.analytics import detect
from whmcs_monitor.analytics.kpis.common import PERIODS, Connection, Context
from whmcs_monitor.analytics.refresh import FAMILIES, Scope, refresh_site
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.store import metrics as metric_store
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events

ANOMALIES = {
    "business.revenue_anomaly",
    "business.failed_payment_rate_anomaly",
    "business.churn_spike",
    "business.conversion_drop",
}

history = analytics_fixtures.history  # the fixtures, under their own names
shared_history = analytics_fixtures.shared_history
bare_history = analytics_fixtures.bare_history


def drop_revenue_after_ten(history: History) -> None:
    history.whmcs.execute(
        "DELETE FROM tblaccounts WHERE gateway = 'stripe' AND date >= %s",
        (NOW.replace(hour=11, minute=0),),
    )


def spike_stripe_failures(history: History) -> None:
    for n in range(40):
        history.whmcs.insert(
            "tblgatewaylog",
            date=NOW.replace(hour=15, minute=0) + timedelta(seconds=n),
            gateway="stripe",
            result="Declined: insufficient funds",
            data="",
        )


def test_a_revenue_drop_is_reported_against_a_typical_tuesday(history: History) -> None:
    drop_revenue_after_ten(history)
    [signal] = detect.revenue_today(history.conn, Context(NOW, config()))
    # 3 Stripe payments (28.50) + PayPal (9.50) = 38 against 85.50 on each past Tuesday.
    assert signal.data["message"] == (
        "revenue so far today is 56% below a typical Tuesday at this hour"
    )
    assert (signal.data["actual"], signal.data["expected"]) == ("38.00", "85.50")
    baseline = signal.data["baseline"]
    assert baseline["samples"] == [85.5] * 8
    assert "last 8 Tuesdays" in baseline["description"]


def test_a_gateway_failure_spike_is_reported_as_a_multiple_of_its_usual_rate(
    history: History,
) -> None:
    spike_stripe_failures(history)
    [signal] = detect.failed_payments(history.conn, Context(NOW, config()))
    # Last 6 hours: 60 entries with 3 failures (5%), plus 40 declines: 43 of 100.
    assert signal.labels == {"gateway": "stripe"}
    assert signal.data["message"] == (
        "the failed payment rate at stripe is 8.6x its usual (43.0% vs 5.0%)"
    )
    assert signal.data["baseline_detail"]["samples"] == [0.05] * 8


def test_a_normal_week_with_weekend_dips_raises_no_anomaly(shared_history: History) -> None:
    sensitive = config(conversion_min_orders=3, failed_payment_min_attempts=10)
    found = []
    for day in range(1, 8):
        for hour, minute in ((10, 0), (15, 30), (21, 0)):
            now = (NOW - timedelta(days=day)).replace(hour=hour, minute=minute)
            detection = detect.detect(shared_history.conn, Context(now, sensitive))
            found += [(now, note) for note in detection.notes]
            found += [
                (now, s.data.get("message")) for s in detection.signals if s.kind in ANOMALIES
            ]
    assert found == []


def test_mrr_moving_more_than_the_threshold_this_week_is_reported(shared_history: History) -> None:
    # Two 10 USD services terminated on Monday: 260 -> 240, down 7.7%.
    assert list(detect.mrr_change(shared_history.conn, Context(NOW, config()))) == []
    [signal] = detect.mrr_change(
        shared_history.conn, Context(NOW, config(mrr_change_min_relative=0.05))
    )
    assert signal.data["message"] == "MRR down 8% since Monday (260.00 then)"
    assert (signal.data["change"], signal.data["mrr"]) == ("20.00", "240.00")


def test_a_quiet_site_does_not_page_below_the_minimum_volume(history: History) -> None:
    drop_revenue_after_ten(history)
    spike_stripe_failures(history)
    quiet = config(revenue_min_baseline=1000, failed_payment_min_attempts=500)
    assert list(detect.revenue_today(history.conn, Context(NOW, quiet))) == []
    assert list(detect.failed_payments(history.conn, Context(NOW, quiet))) == []


def test_a_refresh_records_kpis_and_stores_each_anomaly_once_with_its_baseline(
    history: History, database_url: str
) -> None:
    drop_revenue_after_ten(history)
    spike_stripe_failures(history)
    db = Database(database_url)
    db.migrate()
    try:
        now = NOW.replace(tzinfo=UTC)
        first = refresh_site(
            db, load_catalog(), site="main", whmcs=history.conn, config=config(), now=now
        )
        again = refresh_site(
            db, load_catalog(), site="main", whmcs=history.conn, config=config(), now=now
        )
        assert first is not None and again is not None
        assert again.new_events == 0 < first.new_events
        with db.read() as conn:
            [(_, _, mrr)] = metric_store.latest(conn, "business_mrr_base", site="main")
            events = query_events(conn, EventFilter(since=now - timedelta(days=1), limit=100))
            stored = "\n".join(
                str(v)
                for table in ("events", "metric_series")
                for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
                for v in row
            )
        assert mrr == 240
        kinds = sorted(e["kind"] for e in events)
        assert kinds == [
            "business.capacity_forecast",
            "business.failed_payment_rate_anomaly",
            "business.revenue_anomaly",
            "business.support_sla_breach",
        ]
        revenue_event = next(e for e in events if e["kind"] == "business.revenue_anomaly")
        assert (
            revenue_event["summary"] == "Revenue below expected: 38.00 vs 85.50 (today until 15:30)"
        )
        assert revenue_event["payload"]["baseline"]["median"] == 85.5
        for secret in (
            "server-secret",
            "svc-secret",
            "client-secret",
            "pop3-secret",
            "4111111111111111",
        ):
            assert secret not in stored
    finally:
        db.dispose()


def test_churn_with_the_guard_at_zero_and_no_usual_churn_is_not_judged(
    shared_history: History,
) -> None:
    # Two services ended on Monday the 23rd; none on the eight Mondays before: a usual level of 0
    # has no percentage to state (it divided by zero and aborted the refresh).
    unguarded = Context(NOW, config(churn_min_baseline=0))
    assert list(detect.churn_yesterday(shared_history.conn, unguarded)) == []


def test_a_conversion_baseline_of_zero_is_not_judged(bare_history: History) -> None:
    # A bank-transfer shop: 20 orders in each 24 hours before now and the same time of past
    # weeks, none paid within a day (a usual conversion of 0 divided by zero).
    invoices, orders = [], []
    for week in range(9):
        for n in range(20):
            placed = NOW - timedelta(weeks=week, minutes=60 * n + 30)
            invoices.append(
                dict(id=len(invoices) + 1, userid=1, date=placed.date(), status="Unpaid")
            )
            orders.append(
                dict(
                    ordernum=len(orders) + 1,
                    userid=1,
                    date=placed,
                    invoiceid=len(invoices),
                    status="Pending",
                    amount=10,
                )
            )
    insert_rows(bare_history.whmcs.admin, "tblinvoices", invoices)
    insert_rows(bare_history.whmcs.admin, "tblorders", orders)
    assert list(detect.conversion(bare_history.conn, Context(NOW, config()))) == []


def broken_detector(conn: Connection, ctx: Context) -> Iterator[detect.Signal]:
    raise ZeroDivisionError("float division by zero")
    yield  # a generator, like every detector


def test_a_failing_detector_is_logged_and_the_kpis_and_other_detectors_still_count(
    history: History, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    drop_revenue_after_ten(history)
    scope = Scope("full", tuple(FAMILIES), PERIODS, (broken_detector, detect.revenue_today))
    db = Database(database_url)
    db.migrate()
    try:
        with caplog.at_level(logging.ERROR):
            result = refresh_site(
                db,
                load_catalog(),
                site="main",
                whmcs=history.conn,
                config=config(),
                now=NOW.replace(tzinfo=UTC),
                scope=scope,
            )
        assert result is not None
        assert [s.kind for s in result.signals] == ["business.revenue_anomaly"]
        assert result.notes == [
            "broken_detector: failed (ZeroDivisionError: float division by zero); "
            "see the service log"
        ]
        assert "analytics detector broken_detector failed" in caplog.text
        with db.read() as conn:
            [(_, _, mrr)] = metric_store.latest(conn, "business_mrr_base", site="main")
        assert mrr == 240
    finally:
        db.dispose()


def test_a_three_week_old_shop_with_no_revenue_today_is_reported(bare_history: History) -> None:
    # 100.00 a day from Tuesday 3 November to yesterday: three past Tuesdays of history, and the
    # five weeks before the first transaction are not Tuesdays without revenue.
    daily_takings(bare_history.whmcs, range(1, 22))
    [signal] = detect.revenue_today(bare_history.conn, Context(NOW, config()))
    assert signal.data["message"] == (
        "revenue so far today is 100% below a typical Tuesday at this hour"
    )
    assert signal.data["baseline"]["samples"] == [100, 100, 100]
    assert "last 3 Tuesdays" in signal.data["baseline"]["description"]


def test_a_two_week_old_shop_is_not_judged_and_the_refresh_says_so(bare_history: History) -> None:
    daily_takings(bare_history.whmcs, range(1, 15))
    detection = detect.detect(bare_history.conn, Context(NOW, config()), detect.FAST_DETECTORS)
    assert detection.signals == []
    assert detection.notes == [
        "revenue_today: not enough data: revenue so far today is not compared until 3 past "
        "Tuesdays have revenue history; the site has 2 since its first transaction on 2026-11-10"
    ]
