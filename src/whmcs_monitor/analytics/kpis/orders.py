"""Orders: conversion placed → paid → active, abandoned orders and the fraud-order rate.

An order (tblorders) is *paid* when its invoice (``tblorders.invoiceid`` → tblinvoices) has status
Paid, or when it has no invoice at all (a free order). It is *active* when its status is Active
(WHMCS accepted it). It is *abandoned* when it is neither Active nor Fraud, has an invoice that is
not Paid, and was placed longer ago than ``analytics.abandoned_after``. It is *fraud* when its
status is Fraud.
"""

from __future__ import annotations

from datetime import datetime

from whmcs_monitor.analytics.kpis.common import (
    Connection,
    Context,
    Measure,
    fetch,
    num,
    ratio,
    ratio_measures,
)
from whmcs_monitor.lib.durations import parse_duration

# business_orders_{placed,paid,active,fraud,abandoned}{period}: orders dated in the window;
# business_order_{paid,conversion,fraud}_rate{period}: paid, active and fraud over placed.
ORDERS_SQL = """
SELECT COUNT(*) AS placed,
       SUM(o.invoiceid = 0 OR i.status = 'Paid') AS paid,
       SUM(o.status = 'Active') AS active,
       SUM(o.status = 'Fraud') AS fraud,
       SUM(o.status NOT IN ('Active', 'Fraud') AND o.invoiceid <> 0
           AND COALESCE(i.status, '') <> 'Paid' AND o.date < %s) AS abandoned
FROM tblorders o
LEFT JOIN tblinvoices i ON i.id = o.invoiceid
WHERE o.date >= %s AND o.date < %s
"""

# Orders placed in [start, end) and how many of them were paid before ``end`` (a free order, with
# no invoice, counts as paid): comparable between a window that just closed and one weeks ago.
PAID_BY_SQL = """
SELECT COUNT(*) AS placed, SUM(o.invoiceid = 0 OR (i.status = 'Paid' AND i.datepaid < %s)) AS paid
FROM tblorders o
LEFT JOIN tblinvoices i ON i.id = o.invoiceid
WHERE o.date >= %s AND o.date < %s
"""


def paid_by(conn: Connection, start: datetime, end: datetime) -> tuple[int, int]:
    """(placed, paid before ``end``) for orders placed in [start, end)."""
    row = fetch(conn, PAID_BY_SQL, (end, start, end))[0]
    return int(num(row["placed"])), int(num(row["paid"]))


def counts(
    conn: Connection, start: datetime, end: datetime, abandon_before: datetime
) -> dict[str, float]:
    row = fetch(conn, ORDERS_SQL, (abandon_before, start, end))[0]
    return {key: num(row[key]) for key in ("placed", "paid", "active", "fraud", "abandoned")}


def measure(conn: Connection, ctx: Context) -> list[Measure]:
    abandon_before = ctx.now - parse_duration(ctx.config.abandoned_after)
    out: list[Measure] = []
    for period in ctx.periods:
        start, end = ctx.window(period)
        c = counts(conn, start, end, abandon_before)
        labels = {"period": period}
        out += [Measure(f"business_orders_{key}", value, labels) for key, value in c.items()]
        out += ratio_measures(
            {
                "business_order_paid_rate": ratio(c["paid"], c["placed"]),
                "business_order_conversion_rate": ratio(c["active"], c["placed"]),
                "business_order_fraud_rate": ratio(c["fraud"], c["placed"]),
            },
            labels,
        )
    return out
