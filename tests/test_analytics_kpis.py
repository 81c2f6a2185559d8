"""Each KPI against the value the seeded history implies (see tests/analytics_fixtures.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

import analytics_fixtures
from analytics_fixtures import (
    EXPECTED_MRR_BASE,
    EXPECTED_MRR_EUR,
    EXPECTED_MRR_USD,
    NOW,
    History,
    config,
)
from whmcs_monitor.analytics.kpis import (
    capacity,
    marketing,
    orders,
    payments,
    recurring,
    revenue,
    support,
)
from whmcs_monitor.analytics.kpis.common import Context, Measure
from whmcs_monitor.analytics.refresh import collect

shared_history = analytics_fixtures.shared_history  # the fixture, under its own name
WEEK = timedelta(weeks=1)


def ctx(**overrides: object) -> Context:
    return Context(NOW, config(**overrides))


def value(measures: list[Measure], name: str, **labels: str) -> float:
    found = [
        m.value
        for m in measures
        if m.name == name and all(m.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, f"{name} {labels}: {found}"
    return found[0]


def test_revenue_today_is_net_of_fees_per_gateway_and_currency(shared_history: History) -> None:
    got = revenue.measure(shared_history.conn, ctx())
    # Tuesday 08:00-15:00: 8 Stripe payments of 10 USD with 0.50 fees; one PayPal 20 EUR, fee 1.
    assert (
        value(got, "business_revenue_gross", period="day", gateway="stripe", currency="USD") == 80
    )
    assert value(got, "business_revenue_fees", period="day", gateway="stripe", currency="USD") == 4
    assert value(got, "business_revenue_net", period="day", gateway="stripe", currency="USD") == 76
    assert value(got, "business_revenue_net", period="day", gateway="paypal", currency="EUR") == 19
    assert value(got, "business_revenue_net_base", period="day") == 85.5


def test_revenue_this_week_subtracts_the_monday_refund(shared_history: History) -> None:
    got = revenue.measure(shared_history.conn, ctx())
    # Monday 12 + Tuesday 8 payments of 10 USD (fees 0.50 each), one 10 USD refund on Monday.
    assert (
        value(got, "business_revenue_refunds", period="week", gateway="stripe", currency="USD")
        == 10
    )
    assert (
        value(got, "business_revenue_net", period="week", gateway="stripe", currency="USD") == 180
    )
    assert value(got, "business_revenue_net", period="week", gateway="paypal", currency="EUR") == 38
    assert value(got, "business_revenue_net_base", period="week") == 199


def test_revenue_this_month_counts_weekday_and_weekend_days(shared_history: History) -> None:
    got = revenue.measure(shared_history.conn, ctx())
    # November to the 24th: 16 weekdays x 12 + 7 weekend days x 6 + 8 today = 242 payments,
    # 4 Monday refunds; 24 PayPal payments of 20 EUR (fee 1) = 456 EUR = 228 USD.
    assert (
        value(got, "business_revenue_net", period="month", gateway="stripe", currency="USD")
        == 2420 - 121 - 40
    )
    assert (
        value(got, "business_revenue_net", period="month", gateway="paypal", currency="EUR") == 456
    )
    assert value(got, "business_revenue_net_base", period="month") == 2259 + 228


def test_mrr_normalizes_every_billing_cycle_and_skips_free_and_one_time_items(
    shared_history: History,
) -> None:
    got = recurring.mrr(shared_history.conn, ctx())
    assert value(got, "business_mrr", currency="USD") == EXPECTED_MRR_USD
    assert value(got, "business_mrr", currency="EUR") == EXPECTED_MRR_EUR
    assert value(got, "business_mrr_base") == EXPECTED_MRR_BASE
    assert value(got, "business_arr_base") == EXPECTED_MRR_BASE * 12


def test_new_and_churned_mrr_and_churn_rates_follow_registration_and_termination_dates(
    shared_history: History,
) -> None:
    got = recurring.measure(shared_history.conn, ctx())
    # Month: two 10 USD services registered on the 10th; four terminated (20th and 23rd), out of
    # 25 services and 5 addons live on the 1st; clients 30 and 31 lost everything, of 23 clients.
    assert value(got, "business_mrr_new", period="month") == 20
    assert value(got, "business_mrr_churned", period="month") == 40
    assert value(got, "business_service_churn_rate", period="month") == pytest.approx(4 / 30)
    assert value(got, "business_client_churn_rate", period="month") == pytest.approx(2 / 23)
    # Week from Monday the 23rd: the two terminated that day, of 30 live items and 24 clients.
    assert value(got, "business_mrr_churned", period="week") == 20
    assert value(got, "business_services_churned", period="week") == 2
    assert value(got, "business_client_churn_rate", period="week") == pytest.approx(1 / 24)


def test_cancellation_requests_are_counted_by_type_and_reasons_ranked(
    shared_history: History,
) -> None:
    got = recurring.measure(shared_history.conn, ctx())
    assert (
        value(got, "business_cancellation_requests", period="week", type="End of Billing Period")
        == 2
    )
    assert value(got, "business_cancellation_requests", period="day", type="Immediate") == 1
    start, end = ctx().window("week")
    assert recurring.reasons(shared_history.conn, start, end) == [
        ("Too expensive", 2),
        ("Moving to another host", 1),
    ]


def test_order_funnel_counts_placed_paid_active_fraud_and_abandoned(
    shared_history: History,
) -> None:
    got = orders.measure(shared_history.conn, ctx())
    # Week: Monday's 10 orders and Tuesday's 7 so far; Monday's pending order is not 3 days old.
    assert [
        value(got, f"business_orders_{k}", period="week")
        for k in ("placed", "paid", "active", "fraud", "abandoned")
    ] == [17, 15, 15, 1, 0]
    # Month: 16 weekdays x 10 + 7 weekend days x 4 + 7 today; one unpaid order a day until the
    # 21st is older than 3 days; a Fraud order on each full weekday.
    assert value(got, "business_orders_placed", period="month") == 195
    assert value(got, "business_orders_abandoned", period="month") == 21
    assert value(got, "business_orders_fraud", period="month") == 16
    assert value(got, "business_order_conversion_rate", period="month") == pytest.approx(156 / 195)
    assert value(got, "business_order_fraud_rate", period="month") == pytest.approx(16 / 195)


def test_failed_payment_rate_per_gateway_and_refund_rate(shared_history: History) -> None:
    got = payments.measure(shared_history.conn, ctx())
    # Today 00:00-15:30: 16 hours x 10 Stripe entries, a failure in each of the 8 even hours.
    assert value(got, "business_payment_attempts", period="day", gateway="stripe") == 160
    assert value(got, "business_failed_payment_rate", period="day", gateway="stripe") == 0.05
    assert value(got, "business_failed_payment_rate", period="day", gateway="paypal") == 0
    # Week: 22 payments (12 + 1 on Monday, 8 + 1 today) and one refund.
    assert value(got, "business_refund_rate", period="week") == pytest.approx(1 / 22)


def test_response_times_count_business_hours_only(shared_history: History) -> None:
    got = support.measure(shared_history.conn, ctx())
    support_high = {"department": "Support", "priority": "High"}
    # Today: tickets answered in 20 and 15 minutes (a customer's own reply does not count).
    assert (
        value(got, "business_ticket_first_response_seconds", period="day", **support_high) == 1050
    )
    # Week adds Monday 16:00 -> Tuesday 09:30: one business hour on Monday, half an hour today.
    assert (
        value(got, "business_ticket_first_response_seconds", period="week", **support_high) == 1200
    )
    # Month adds Friday 16:30 -> Monday 09:30 (1 h) closed at Monday 10:00 (1.5 h).
    sales_low = {"department": "Sales", "priority": "Low"}
    assert value(got, "business_ticket_first_response_seconds", period="month", **sales_low) == 3600
    assert value(got, "business_ticket_resolution_seconds", period="month", **sales_low) == 5400


def test_business_hours_are_configurable(shared_history: History) -> None:
    around_the_clock = {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "00:00",
        "end": "23:59:59",
    }
    got = support.measure(shared_history.conn, ctx(business_hours=around_the_clock))
    # Monday 16:00 -> Tuesday 09:30 is 17.5 hours when support never closes (less the second
    # between 23:59:59 and midnight).
    week = [
        m.value
        for m in got
        if m.name == "business_ticket_first_response_seconds" and m.labels.get("period") == "week"
    ]
    assert week == [1200]
    month_sales = value(
        got,
        "business_ticket_first_response_seconds",
        period="month",
        department="Sales",
        priority="Low",
    )
    assert month_sales == pytest.approx(3 * 86400 - 7 * 3600 - 3, abs=3)


def test_backlog_and_sla_breaches_per_department_and_priority(shared_history: History) -> None:
    measures, breaches = support.backlog(shared_history.conn, ctx())
    support_high = {"department": "Support", "priority": "High"}
    assert value(measures, "business_ticket_backlog", **support_high) == 3
    assert value(measures, "business_tickets_awaiting_reply", **support_high) == 1
    assert value(measures, "business_sla_breaches", **support_high) == 1
    assert value(measures, "business_sla_breaches", department="Sales", priority="Medium") == 0
    # Ticket 4's customer wrote at 12:00; 3.5 business hours later it breaches the 1 h target.
    assert [(b.ticket_id, b.waited_seconds, b.target_seconds) for b in breaches] == [
        (4, 12600, 3600)
    ]


def test_capacity_compares_live_accounts_with_maxaccounts_and_growth(
    shared_history: History,
) -> None:
    got = capacity.measure(shared_history.conn, ctx())
    # web2: 40 of 50, 10 placed in the last 30 days; web1 has no limit, "old" is disabled.
    assert value(got, "business_server_accounts", server="web2") == 40
    assert value(got, "business_server_utilization", server="web2") == 0.8
    assert value(got, "business_server_days_until_full", server="web2") == 30
    assert {m.labels["server"] for m in got} == {"web2"}


def test_marketing_counts_promo_uses_discounts_and_affiliate_commissions(
    shared_history: History,
) -> None:
    got = marketing.measure(shared_history.conn, ctx())
    assert value(got, "business_promo_uses", period="week", code="SAVE10") == 2
    assert value(got, "business_promo_uses", period="month", code="SAVE10") == 17
    assert value(got, "business_promo_discount", period="week") == 10
    assert value(got, "business_affiliate_balance") == 20
    assert value(got, "business_affiliate_commissions_pending") == 7.25
    assert value(got, "business_affiliate_commissions_earned", period="day") == 7.25
    assert value(got, "business_affiliate_withdrawn", period="month") == 12


def closed_week(monday: date) -> Context:
    start = datetime.combine(monday, time())
    return Context(NOW, config(), periods=("week",), fixed={"week": (start, start + WEEK)})


def test_a_closed_window_leaves_dates_of_its_end_day_to_the_next_window(
    shared_history: History,
) -> None:
    # The two promo invoices are dated Monday the 23rd and the withdrawal Monday the 2nd: each
    # belongs to the week starting that day, not also to the week ending at its midnight.
    weeks = {
        monday: marketing.measure(shared_history.conn, closed_week(monday))
        for monday in (
            date(2026, 10, 26),
            date(2026, 11, 2),
            date(2026, 11, 16),
            date(2026, 11, 23),
        )
    }
    assert [value(m, "business_promo_discount", period="week") for m in weeks.values()] == [
        0,
        0,
        0,
        10,
    ]
    assert [value(m, "business_affiliate_withdrawn", period="week") for m in weeks.values()] == [
        0,
        12,
        0,
        0,
    ]


RATES = {
    "business_order_paid_rate",
    "business_order_conversion_rate",
    "business_order_fraud_rate",
    "business_refund_rate",
    "business_refund_amount_rate",
    "business_service_churn_rate",
    "business_client_churn_rate",
}


def test_a_rate_over_an_empty_period_is_left_out_not_recorded_as_zero(
    shared_history: History, bare_history: History
) -> None:
    # At 05:00 no order or payment has come in today (the first are at 08:00 and 09:00).
    early = Context(NOW.replace(hour=5), config())
    got = orders.measure(shared_history.conn, early) + payments.measure(shared_history.conn, early)
    assert value(got, "business_orders_placed", period="day") == 0
    assert not RATES & {m.name for m in got if m.labels["period"] == "day"}
    # Monday's 10 orders, 8 of them Active.
    assert value(got, "business_order_conversion_rate", period="week") == 0.8
    # A site with nothing live has no churn rate either.
    empty = collect(bare_history.conn, ctx())
    assert not RATES & {m.name for m in empty}
    assert value(empty, "business_orders_placed", period="month") == 0


history = analytics_fixtures.history  # the fixtures, under their own names
bare_history = analytics_fixtures.bare_history


def test_odd_rows_with_zero_dates_and_unknown_values_are_read_without_failing(
    history: History,
) -> None:
    w = history.whmcs
    # A ticket whose lastreply is WHMCS's zero date waits since it was opened (12:00 today).
    w.insert(
        "tbltickets",
        id=50,
        did=1,
        urgency="Urgent!",
        date=NOW.replace(hour=12),
        status="Open",
        lastreply="0000-00-00 00:00:00",
        tid="T50",
        userid=1,
        message="x",
    )
    # A live service with a zero registration date, and one with a billing cycle WHMCS never wrote.
    w.insert(
        "tblhosting",
        userid=2,
        amount=10,
        billingcycle="Monthly",
        domainstatus="Active",
        regdate="0000-00-00",
        server=1,
        packageid=1,
    )
    w.insert(
        "tblhosting",
        userid=2,
        amount=99,
        billingcycle="Fortnightly",
        domainstatus="Active",
        regdate="2026-01-01",
        server=1,
        packageid=1,
    )
    # A transaction without a date and a gateway-log row with a zero date.
    w.insert(
        "tblaccounts",
        userid=1,
        currency=0,
        gateway="stripe",
        date=None,
        amountin=1000,
        fees=0,
        amountout=0,
        rate=1,
        invoiceid=0,
    )
    w.insert(
        "tblgatewaylog", date="0000-00-00 00:00:00", gateway="stripe", result="Failure", data=""
    )
    got = collect(history.conn, ctx())
    # The unknown priority falls back to the default 8 h SLA: 3.5 business hours is no breach.
    assert (
        value(got, "business_tickets_awaiting_reply", department="Support", priority="Urgent!") == 1
    )
    assert value(got, "business_sla_breaches", department="Support", priority="Urgent!") == 0
    # The zero-dated service counts in MRR; the unknown cycle does not.
    assert value(got, "business_mrr", currency="USD") == EXPECTED_MRR_USD + 10
    assert value(got, "business_revenue_net_base", period="day") == 85.5
