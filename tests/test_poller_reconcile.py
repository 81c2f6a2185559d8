"""A silent forwarder is caught: payments in the database with no matching hook events."""

from __future__ import annotations

from datetime import timedelta

from poller_helpers import Harness, ago
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.events import insert_events

pytest_plugins = ["poller_fixtures"]


def _hook_event(h: Harness, kind: str, data: dict, minutes_ago: int) -> None:  # type: ignore[type-arg]
    event = build_event(
        load_catalog().get(kind),
        site=h.site.id,
        data=data,
        occurred_at=utcnow() - timedelta(minutes=minutes_ago),
    )
    with h.services.db.write() as conn:
        insert_events(conn, [event])


def test_payments_without_invoice_paid_events_raise_one_critical_forwarder_silent(
    harness: Harness,
) -> None:
    w = harness.whmcs
    w.insert(
        "tblaccounts",
        userid=1,
        currency=1,
        gateway="paypal",
        date=ago(minutes=50),
        description="Invoice Payment",
        amountin="10.00",
        transid="T1",
        invoiceid=501,
    )
    w.insert(
        "tblaccounts",
        userid=1,
        currency=1,
        gateway="paypal",
        date=ago(minutes=45),
        description="Invoice Payment",
        amountin="12.00",
        transid="T2",
        invoiceid=502,
    )
    _hook_event(harness, "invoice.paid", {"invoiceid": 501}, minutes_ago=49)
    assert harness.cycle().ok
    silent = harness.events("forwarder.silent")
    assert len(silent) == 1
    event = silent[0]
    assert event["severity"] == "critical" and event["site"] == harness.site.id
    assert event["payload"]["paid_count"] == 1 and event["payload"]["invoice_ids"] == [502]
    assert event["payload"]["since"] in event["summary"]
    assert harness.cycle().ok
    assert len(harness.events("forwarder.silent")) == 1


def test_a_working_forwarder_and_recent_payments_raise_nothing(harness: Harness) -> None:
    w = harness.whmcs
    w.insert(
        "tblaccounts",
        userid=1,
        currency=1,
        gateway="paypal",
        date=ago(minutes=40),
        description="Invoice Payment",
        amountin="10.00",
        transid="T1",
        invoiceid=601,
    )
    w.insert(
        "tblaccounts",
        userid=1,
        currency=1,
        gateway="paypal",
        date=ago(minutes=2),
        description="Invoice Payment",
        amountin="10.00",
        transid="T2",
        invoiceid=602,
    )
    _hook_event(harness, "invoice.payment_added", {"invoiceid": 601}, minutes_ago=39)
    _hook_event(harness, "forwarder.heartbeat", {"module_version": "1.0"}, minutes_ago=3)
    assert harness.cycle().ok
    assert harness.events("forwarder.silent", "forwarder.heartbeat_missing") == []


def test_a_heartbeat_that_stops_is_reported_with_since_when(harness: Harness) -> None:
    _hook_event(harness, "forwarder.heartbeat", {"module_version": "1.0"}, minutes_ago=95)
    assert harness.cycle().ok
    (missing,) = harness.events("forwarder.heartbeat_missing")
    assert missing["severity"] == "critical" and missing["payload"]["minutes_silent"] >= 94
    assert missing["payload"]["since"] in missing["summary"]


def test_a_refund_is_not_a_payment_waiting_for_an_invoice_paid_hook(harness: Harness) -> None:
    payment = harness.whmcs.insert(
        "tblaccounts",
        userid=1,
        currency=1,
        gateway="stripe",
        date=ago(days=3),
        description="Invoice Payment",
        amountin="10.00",
        transid="ch_1",
        invoiceid=700,
    )
    harness.whmcs.insert(
        "tblaccounts",
        userid=1,
        currency=1,
        gateway="stripe",
        date=ago(minutes=45),
        description="Refund of Transaction ID ch_1",
        amountout="10.00",
        transid="re_1",
        invoiceid=700,
        refundid=payment,
    )
    _hook_event(harness, "invoice.refunded", {"invoiceid": 700}, minutes_ago=44)
    assert harness.cycle().ok
    assert harness.events("forwarder.silent") == []


def test_an_old_heartbeat_replayed_from_the_spool_does_not_hide_a_newer_one(
    harness: Harness,
) -> None:
    _hook_event(harness, "forwarder.heartbeat", {"module_version": "1.0"}, minutes_ago=1)
    _hook_event(harness, "forwarder.heartbeat", {"module_version": "1.0"}, minutes_ago=120)
    assert harness.cycle().ok
    assert harness.events("forwarder.heartbeat_missing") == []
