"""Revenue from tblaccounts, net of refunds and gateway fees, by gateway and currency.

A row of tblaccounts is one money movement: ``amountin`` received, ``fees`` kept by the gateway,
``amountout`` paid back (a refund). Its currency is the client's (``tblclients.currency``) or, for
a transaction without a client, the row's own ``currency``; ``rate`` converts it to the default
currency, as WHMCS's own income reports do (``amount / rate``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from whmcs_monitor.analytics.kpis.common import (
    Connection,
    Context,
    Measure,
    fetch,
    moment,
    num,
)

# business_revenue_{gross,fees,refunds,net}{period,gateway,currency}: sums over tblaccounts rows
# with date in the period so far; net = gross - fees - refunds. business_revenue_net_base{period}
# is net converted to the default currency.
REVENUE_SQL = """
SELECT a.gateway AS gateway, COALESCE(cur.code, '') AS currency,
       SUM(a.amountin) AS gross, SUM(a.fees) AS fees, SUM(a.amountout) AS refunds,
       SUM((a.amountin - a.fees - a.amountout) / IF(a.rate > 0, a.rate, 1)) AS net_base
FROM tblaccounts a
LEFT JOIN tblclients c ON c.id = a.userid
LEFT JOIN tblcurrencies cur ON cur.id = IF(a.userid > 0, c.currency, a.currency)
WHERE a.date >= %s AND a.date < %s
GROUP BY a.gateway, COALESCE(cur.code, '')
"""

# Net revenue in the default currency per calendar day: the history forecasts and reports use.
DAILY_SQL = """
SELECT DATE(a.date) AS day,
       SUM((a.amountin - a.fees - a.amountout) / IF(a.rate > 0, a.rate, 1)) AS net_base
FROM tblaccounts a
WHERE a.date >= %s AND a.date < %s
GROUP BY DATE(a.date)
"""

# Net revenue per day up to a time of day ("revenue so far today" on past days, for baselines):
# one index range per day, [midnight, midnight + time of day), OR-ed together.
SO_FAR_SQL = """
SELECT DATE(a.date) AS day,
       SUM((a.amountin - a.fees - a.amountout) / IF(a.rate > 0, a.rate, 1)) AS net_base
FROM tblaccounts a
WHERE {ranges}
GROUP BY DATE(a.date)
"""
_RANGE = "(a.date >= %s AND a.date < %s)"

# The first transaction: revenue history starts on its day (zero and NULL dates are skipped).
FIRST_SQL = "SELECT MIN(a.date) AS first FROM tblaccounts a WHERE a.date >= %s"
EARLIEST = datetime(1970, 1, 1)  # an earlier date is WHMCS's zero date or garbage


def measure(conn: Connection, ctx: Context) -> list[Measure]:
    out: list[Measure] = []
    for period in ctx.periods:
        start, end = ctx.window(period)
        total = 0.0
        for row in fetch(conn, REVENUE_SQL, (start, end)):
            labels = {
                "period": period,
                "gateway": row["gateway"] or "",
                "currency": row["currency"],
            }
            gross, fees, refunds = num(row["gross"]), num(row["fees"]), num(row["refunds"])
            out += [
                Measure("business_revenue_gross", gross, labels),
                Measure("business_revenue_fees", fees, labels),
                Measure("business_revenue_refunds", refunds, labels),
                Measure("business_revenue_net", gross - fees - refunds, labels),
            ]
            total += num(row["net_base"])
        out.append(Measure("business_revenue_net_base", round(total, 2), {"period": period}))
    return out


def first_day(conn: Connection, ctx: Context) -> date | None:
    """The day of the site's first transaction (``None`` before it has one): days before it are
    not days without revenue and must not count in a baseline or forecast as zeros."""
    if "revenue.first_day" not in ctx.memo:
        found = moment(fetch(conn, FIRST_SQL, (EARLIEST,))[0]["first"])
        ctx.memo["revenue.first_day"] = found.date() if found else None
    first: date | None = ctx.memo["revenue.first_day"]
    return first


def daily_net(conn: Connection, first: date, last: date) -> dict[date, float]:
    """Net revenue in the default currency for each day in [first, last]; days without are 0."""
    found = {
        row["day"]: num(row["net_base"])
        for row in fetch(
            conn,
            DAILY_SQL,
            (datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())),
        )
    }
    days: dict[date, float] = defaultdict(float)
    day = first
    while day <= last:
        days[day] = found.get(day, 0.0)
        day += timedelta(days=1)
    return dict(days)


def so_far_on(conn: Connection, days: list[date], until: time) -> dict[date, float]:
    """Net revenue (default currency) on each of ``days`` before time of day ``until``."""
    if not days:
        return {}
    sql = SO_FAR_SQL.format(ranges=" OR ".join([_RANGE] * len(days)))
    args = [
        bound for d in days for bound in (datetime.combine(d, time()), datetime.combine(d, until))
    ]
    found = {row["day"]: num(row["net_base"]) for row in fetch(conn, sql, args)}
    return {d: found.get(d, 0.0) for d in days}
