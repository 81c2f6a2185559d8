"""A silent forwarder is caught: payments, tickets or orders in the database and no hook events."""

from __future__ import annotations

from datetime import datetime, timedelta

from poller_helpers import Harness, ago, custom_harness
from whmcs_db import WhmcsDb
from whmcs_monitor.lib.timeutil import utcnow

pytest_plugins = ["poller_fixtures"]


def _payment(
    w: WhmcsDb,
    invoiceid: int,
    *,
    gateway: str = "paypal",
    amount: str = "10.00",
    transid: str = "T1",
    **when: int,
) -> int:
    """An incoming payment of ``invoiceid`` recorded in tblaccounts ``when`` ago."""
    return w.insert(
        "tblaccounts",
        userid=1,
        currency=1,
        gateway=gateway,
        date=ago(**when),
        description="Invoice Payment",
        amountin=amount,
        transid=transid,
        invoiceid=invoiceid,
    )


def test_payments_without_invoice_paid_events_raise_one_critical_forwarder_silent(
    harness: Harness,
) -> None:
    w = harness.whmcs
    _payment(w, 501, minutes=50)
    _payment(w, 502, minutes=45, amount="12.00", transid="T2")
    harness.hook_event("invoice.paid", {"invoiceid": 501}, minutes_ago=49)
    assert harness.cycle().ok
    silent = harness.events("forwarder.silent")
    assert len(silent) == 1
    event = silent[0]
    assert event["severity"] == "critical" and event["site"] == harness.site.id
    assert event["payload"]["count"] == 1 and event["payload"]["invoice_ids"] == [502]
    assert event["payload"]["missing"] == "invoices"
    assert event["summary"] == (
        f"Hook forwarder silent since {event['payload']['since']}: 1 invoice paid in WHMCS"
        " without an InvoicePaid or AddInvoicePayment event"
    )
    assert harness.cycle().ok
    assert len(harness.events("forwarder.silent")) == 1


def test_payments_on_a_site_without_the_module_are_not_flagged(harness: Harness) -> None:
    """A site watched through the poller alone sends no hooks at all: nothing is silent there."""
    _payment(harness.whmcs, 501, minutes=50)
    assert harness.cycle().ok
    assert harness.events("forwarder.silent") == []
    harness.hook_event("forwarder.heartbeat", {}, minutes_ago=1)
    assert harness.cycle().ok
    assert [e["payload"]["invoice_ids"] for e in harness.events("forwarder.silent")] == [[501]]


def test_a_working_forwarder_and_recent_payments_raise_nothing(harness: Harness) -> None:
    w = harness.whmcs
    _payment(w, 601, minutes=40)
    _payment(w, 602, minutes=2, transid="T2")
    harness.hook_event("invoice.payment_added", {"invoiceid": 601}, minutes_ago=39)
    harness.hook_event("forwarder.heartbeat", {"module_version": "1.0"}, minutes_ago=3)
    assert harness.cycle().ok
    assert harness.events("forwarder.silent", "forwarder.heartbeat_missing") == []


def test_a_heartbeat_that_stops_is_reported_with_since_when(harness: Harness) -> None:
    harness.hook_event("forwarder.heartbeat", {"module_version": "1.0"}, minutes_ago=95)
    assert harness.cycle().ok
    (missing,) = harness.events("forwarder.heartbeat_missing")
    assert missing["severity"] == "critical" and missing["payload"]["minutes_silent"] >= 94
    assert missing["payload"]["since"] in missing["summary"]


def test_a_refund_is_not_a_payment_waiting_for_an_invoice_paid_hook(harness: Harness) -> None:
    payment = _payment(harness.whmcs, 700, days=3, gateway="stripe", transid="ch_1")
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
    harness.hook_event("invoice.refunded", {"invoiceid": 700}, minutes_ago=44)
    assert harness.cycle().ok
    assert harness.events("forwarder.silent") == []


def test_an_old_heartbeat_replayed_from_the_spool_does_not_hide_a_newer_one(
    harness: Harness,
) -> None:
    harness.hook_event("forwarder.heartbeat", {"module_version": "1.0"}, minutes_ago=1)
    harness.hook_event("forwarder.heartbeat", {"module_version": "1.0"}, minutes_ago=120)
    assert harness.cycle().ok
    assert harness.events("forwarder.heartbeat_missing") == []


def _tickets(h: Harness, *minutes_ago: int) -> list[int]:
    return [
        h.whmcs.insert(
            "tbltickets",
            tid=f"ABC-{n}",
            did=1,
            userid=1,
            title="Site down",
            status="Open",
            urgency="High",
            date=ago(minutes=m),
            lastreply=ago(minutes=m),
        )
        for n, m in enumerate(minutes_ago)
    ]


def _orders(h: Harness, *minutes_ago: int) -> list[int]:
    return [
        h.whmcs.insert(
            "tblorders",
            ordernum=1000 + n,
            userid=1,
            date=ago(minutes=m),
            amount="9.99",
            status="Pending",
            paymentmethod="paypal",
        )
        for n, m in enumerate(minutes_ago)
    ]


def test_tickets_opened_without_any_ticket_hook_since_raise_forwarder_silent(
    harness: Harness,
) -> None:
    harness.hook_event("ticket.opened", {"ticketid": 1}, minutes_ago=300)
    ids = _tickets(harness, 80, 60, 45, 2)  # the last is still within the grace delay
    assert harness.cycle().ok
    (event,) = harness.events("forwarder.silent")
    payload = event["payload"]
    assert event["severity"] == "critical" and event["site"] == harness.site.id
    assert payload["missing"] == "tickets" and payload["ticket_ids"] == ids[:3]
    first_ticket = utcnow() - timedelta(minutes=80)
    assert abs(datetime.fromisoformat(payload["since"]) - first_ticket) < timedelta(seconds=5)
    assert event["summary"] == (
        f"Hook forwarder silent since {payload['since']}: 3 tickets opened in WHMCS and no"
        " TicketOpen, TicketOpenAdmin or TicketPiping event since the first of them"
    )
    assert harness.cycle().ok
    assert len(harness.events("forwarder.silent")) == 1


def test_one_ticket_hook_since_the_first_ticket_shows_the_forwarder_works(
    harness: Harness,
) -> None:
    harness.hook_event("ticket.opened", {"ticketid": 1}, minutes_ago=300)
    _tickets(harness, 80, 60, 45)
    harness.hook_event("ticket.piped", {"email": "a@example.com"}, minutes_ago=70)
    assert harness.cycle().ok
    assert harness.events("forwarder.silent") == []


def test_a_single_staff_order_without_a_checkout_hook_raises_nothing(harness: Harness) -> None:
    harness.hook_event("order.placed", {"OrderID": 1}, minutes_ago=300)
    _orders(harness, 50)
    assert harness.cycle().ok
    assert harness.events("forwarder.silent") == []


def test_orders_placed_without_any_checkout_hook_since_raise_forwarder_silent(
    harness: Harness,
) -> None:
    harness.hook_event("order.placed", {"OrderID": 1}, minutes_ago=300)
    ids = _orders(harness, 100, 50, 40)
    assert harness.cycle().ok
    (event,) = harness.events("forwarder.silent")
    assert event["payload"]["missing"] == "orders" and event["payload"]["order_ids"] == ids
    assert event["summary"].endswith(
        ": 3 orders placed in WHMCS and no AfterShoppingCartCheckout event since the first of them"
    )


def test_a_site_that_never_sent_ticket_or_order_hooks_is_not_flagged(harness: Harness) -> None:
    _tickets(harness, 80, 60, 45)
    _orders(harness, 80, 60, 45)
    assert harness.cycle().ok
    assert harness.events("forwarder.silent") == []


def test_the_minimum_number_of_rows_is_configurable(database_url: str, whmcs_db: WhmcsDb) -> None:
    with custom_harness(database_url, whmcs_db, thresholds={"forwarder_silent_min_rows": 1}) as h:
        h.hook_event("order.placed", {"OrderID": 1}, minutes_ago=300)
        (order,) = _orders(h, 50)
        assert h.cycle().ok
        (event,) = h.events("forwarder.silent")
        assert event["payload"]["order_ids"] == [order] and event["payload"]["count"] == 1
