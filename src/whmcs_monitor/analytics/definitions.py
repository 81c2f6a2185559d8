"""Every KPI metric: its title, unit and meaning; and the page that documents them with their SQL.

``docs/analytics.md`` is generated from this table and the SQL constants of each KPI module by
:func:`markdown` (a test fails when the page drifts), so the documented SQL is the SQL that runs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from whmcs_monitor.analytics import detect
from whmcs_monitor.analytics.kpis import (
    capacity,
    marketing,
    orders,
    payments,
    recurring,
    revenue,
    support,
)

Unit = Literal["money", "count", "ratio", "seconds", "days", "per_day"]


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    title: str
    unit: Unit
    meaning: str


FAMILIES: dict[str, tuple[ModuleType, tuple[Kpi, ...]]] = {
    "Revenue": (
        revenue,
        (
            Kpi(
                "business_revenue_gross",
                "Gross revenue",
                "money",
                "SUM(amountin) per gateway and currency",
            ),
            Kpi(
                "business_revenue_fees",
                "Gateway fees",
                "money",
                "SUM(fees) per gateway and currency",
            ),
            Kpi(
                "business_revenue_refunds",
                "Refunds",
                "money",
                "SUM(amountout) per gateway and currency",
            ),
            Kpi("business_revenue_net", "Net revenue", "money", "gross - fees - refunds"),
            Kpi(
                "business_revenue_net_base",
                "Net revenue (default currency)",
                "money",
                "SUM((amountin - fees - amountout) / rate)",
            ),
        ),
    ),
    "Recurring revenue and churn": (
        recurring,
        (
            Kpi(
                "business_mrr",
                "MRR",
                "money",
                "live recurring items / months in their cycle, per currency",
            ),
            Kpi(
                "business_mrr_base",
                "MRR (default currency)",
                "money",
                "MRR / tblcurrencies.rate, summed",
            ),
            Kpi("business_arr_base", "ARR (default currency)", "money", "12 x business_mrr_base"),
            Kpi(
                "business_mrr_new",
                "New MRR",
                "money",
                "monthly amount of items registered in the period that went live",
            ),
            Kpi(
                "business_mrr_churned",
                "Churned MRR",
                "money",
                "monthly amount of items cancelled or terminated in the period",
            ),
            Kpi(
                "business_services_churned",
                "Services churned",
                "count",
                "items cancelled or terminated in the period",
            ),
            Kpi(
                "business_service_churn_rate",
                "Service churn rate",
                "ratio",
                "churned items / items live at the period's start",
            ),
            Kpi(
                "business_clients_churned",
                "Clients churned",
                "count",
                "clients whose last live item ended in the period",
            ),
            Kpi(
                "business_client_churn_rate",
                "Client churn rate",
                "ratio",
                "churned clients / clients with a live item at the start",
            ),
            Kpi(
                "business_cancellation_requests",
                "Cancellation requests",
                "count",
                "tblcancelrequests rows per type",
            ),
        ),
    ),
    "Orders": (
        orders,
        (
            Kpi(
                "business_orders_placed",
                "Orders placed",
                "count",
                "tblorders rows dated in the period",
            ),
            Kpi(
                "business_orders_paid",
                "Orders paid",
                "count",
                "placed orders whose invoice is Paid (or that have none)",
            ),
            Kpi(
                "business_orders_active",
                "Orders active",
                "count",
                "placed orders with status Active",
            ),
            Kpi(
                "business_orders_fraud", "Fraud orders", "count", "placed orders with status Fraud"
            ),
            Kpi(
                "business_orders_abandoned",
                "Abandoned orders",
                "count",
                "unpaid, not Active or Fraud, older than abandoned_after",
            ),
            Kpi("business_order_paid_rate", "Paid rate", "ratio", "paid / placed"),
            Kpi("business_order_conversion_rate", "Conversion rate", "ratio", "active / placed"),
            Kpi("business_order_fraud_rate", "Fraud-order rate", "ratio", "fraud / placed"),
        ),
    ),
    "Payments": (
        payments,
        (
            Kpi(
                "business_payment_attempts",
                "Gateway log entries",
                "count",
                "tblgatewaylog rows per gateway",
            ),
            Kpi(
                "business_payments_failed",
                "Failed payments",
                "count",
                "rows whose result reads as a failure",
            ),
            Kpi(
                "business_failed_payment_rate",
                "Failed-payment rate",
                "ratio",
                "failed / attempts per gateway",
            ),
            Kpi(
                "business_refund_rate",
                "Refund rate",
                "ratio",
                "refund rows / payment rows in tblaccounts",
            ),
            Kpi(
                "business_refund_amount_rate",
                "Refunded share of income",
                "ratio",
                "SUM(amountout) / SUM(amountin), default currency",
            ),
        ),
    ),
    "Support": (
        support,
        (
            Kpi(
                "business_ticket_first_response_seconds",
                "First response (median)",
                "seconds",
                "business time to the first staff reply",
            ),
            Kpi(
                "business_ticket_resolution_seconds",
                "Resolution (median)",
                "seconds",
                "business time from opening to the last reply of Closed tickets",
            ),
            Kpi("business_ticket_backlog", "Backlog", "count", "tickets not in a closed status"),
            Kpi(
                "business_tickets_awaiting_reply",
                "Awaiting a reply",
                "count",
                "tickets in an awaiting status",
            ),
            Kpi(
                "business_sla_breaches",
                "SLA breaches",
                "count",
                "awaiting tickets waiting longer than their priority's target",
            ),
        ),
    ),
    "Capacity": (
        capacity,
        (
            Kpi(
                "business_server_accounts",
                "Accounts",
                "count",
                "Active and Suspended services on the server",
            ),
            Kpi("business_server_capacity", "Max accounts", "count", "tblservers.maxaccounts"),
            Kpi("business_server_utilization", "Utilization", "ratio", "accounts / maxaccounts"),
            Kpi(
                "business_server_growth_per_day",
                "Net growth per day",
                "per_day",
                "(placed - ended) / capacity_growth_days",
            ),
            Kpi(
                "business_server_days_until_full",
                "Days until full",
                "days",
                "(maxaccounts - accounts) / net growth per day",
            ),
        ),
    ),
    "Marketing": (
        marketing,
        (
            Kpi(
                "business_promo_uses",
                "Promo code uses",
                "count",
                "orders with a promo code, per code",
            ),
            Kpi(
                "business_promo_discount",
                "Discount given",
                "money",
                "minus the Promo* invoice lines",
            ),
            Kpi(
                "business_affiliate_commissions_earned",
                "Commissions earned",
                "money",
                "tblaffiliatespending created in the period",
            ),
            Kpi(
                "business_affiliate_commissions_pending",
                "Commissions pending",
                "money",
                "tblaffiliatespending not yet cleared",
            ),
            Kpi(
                "business_affiliate_withdrawn",
                "Commissions withdrawn",
                "money",
                "tblaffiliateswithdrawals in the period",
            ),
            Kpi(
                "business_affiliate_balance",
                "Affiliate balances",
                "money",
                "SUM(tblaffiliates.balance)",
            ),
        ),
    ),
}

BY_NAME: dict[str, Kpi] = {k.name: k for _, kpis in FAMILIES.values() for k in kpis}
FAMILY_OF: dict[str, str] = {k.name: family for family, (_, kpis) in FAMILIES.items() for k in kpis}


def _sql_constants(module: ModuleType) -> list[tuple[str, str]]:
    return [
        (name, value.strip())
        for name, value in vars(module).items()
        if name.endswith("_SQL") and isinstance(value, str) and "SELECT" in value
    ]


def markdown() -> str:
    """The text of docs/analytics.md."""
    lines = [
        "# Business analytics: KPI definitions",
        "",
        "<!-- Generated by whmcs_monitor.analytics.definitions.markdown(); do not edit by hand. -->",
        "",
        "Every KPI is a metric series per site (`store.metrics`), labelled with `period` (day, week",
        "or month so far, in the WHMCS server's time zone) where it covers a window. The SQL below is",
        "the SQL that runs; `%s` and `%(name)s` are the window bounds. Only non-secret columns are",
        "read: `whmcs-monitor analytics grants` prints the column-level GRANTs it needs.",
        "",
        "A *full* refresh (every `analytics.full_refresh_seconds`) computes every family over day,",
        "week and month and runs every detector; the *incremental* refreshes in between (every",
        "`analytics.interval_seconds`) recompute revenue, orders, payments, support and marketing",
        "for today and run the revenue, failed-payment, conversion and SLA detectors. Each refresh",
        "records `analytics_refresh_seconds{scope}`, its own duration. A ratio over an empty",
        "period (no orders, no payments, nothing live at its start) is not recorded: it has no",
        "value, and 0% would read as a collapse.",
        "",
        "Anomalies compare a value with the median of the same weekday and time in the last",
        "`analytics.baseline_weeks` weeks (robust to one odd week: median and MAD); each event",
        "carries the samples, median and MAD it was judged against, and nothing is raised below the",
        "minimum volume (`revenue_min_baseline`, `failed_payment_min_attempts`,",
        "`conversion_min_orders`, `churn_min_baseline`). A usual level of zero is not judged.",
        "",
        "Revenue baselines and the month-end forecast start at the site's first transaction: days",
        "before it are unknown, not days without revenue. Until three past weeks (or",
        "`baseline_weeks`, if fewer) have history, and two of each weekday for the forecast,",
        '`analytics refresh` and the report say "not enough data" instead of judging; a detector',
        "that fails is logged and named the same way, and the KPIs are recorded regardless.",
        "",
    ]
    for family, (module, kpis) in FAMILIES.items():
        lines += [
            f"## {family}",
            "",
            inspect.cleandoc(module.__doc__ or ""),
            "",
            "| metric | unit | meaning |",
            "|---|---|---|",
        ]
        lines += [f"| `{k.name}` | {k.unit} | {k.meaning} |" for k in kpis]
        for name, sql in _sql_constants(module):
            lines += ["", f"`{name}`:", "", "```sql", sql, "```"]
        lines.append("")
    lines += ["## Anomaly detectors", "", inspect.cleandoc(detect.__doc__ or ""), ""]
    for detector in detect.DETECTORS:
        lines.append(f"- `{detector.__name__}`: {inspect.getdoc(detector) or ''}")
    for name, sql in _sql_constants(detect):
        lines += ["", f"`{name}`:", "", "```sql", sql, "```"]
    lines.append("")
    return "\n".join(lines)
