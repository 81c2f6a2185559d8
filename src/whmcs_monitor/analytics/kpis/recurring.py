"""Recurring revenue: MRR and ARR from live services and addons, new and churned MRR, churn rates.

Each recurring amount (``tblhosting.amount``, ``tblhostingaddons.recurring``) is divided by the
months in its billing cycle; "Free Account", "One Time" and zero amounts are not recurring revenue.
MRR counts items whose status is Active or Suspended (a suspended service is still billed), in the
client's currency, and in the default currency through ``tblcurrencies.rate``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from whmcs_monitor.analytics.kpis.common import (
    ENDED,
    LIVE,
    MONTHS_SQL,
    Connection,
    Context,
    Measure,
    fetch,
    num,
    ratio,
)

_SVC_MONTHS = MONTHS_SQL.format(col="h.billingcycle")
_ADDON_MONTHS = MONTHS_SQL.format(col="ha.billingcycle")

# The recurring items, one row each: (userid, monthly amount, status, regdate, termination_date).
RECURRING_ITEMS_SQL = f"""
SELECT h.userid AS userid, h.amount / {_SVC_MONTHS} AS monthly, h.domainstatus AS status,
       h.regdate AS regdate, h.termination_date AS ended
FROM tblhosting h WHERE h.amount > 0 AND {_SVC_MONTHS} IS NOT NULL
UNION ALL
SELECT ha.userid, ha.recurring / {_ADDON_MONTHS}, ha.status, ha.regdate, ha.termination_date
FROM tblhostingaddons ha WHERE ha.recurring > 0 AND {_ADDON_MONTHS} IS NOT NULL
"""

_LIVE = str(LIVE)  # "('Active', 'Suspended')": a tuple's repr is an SQL list of strings
_ENDED = str(ENDED)

# business_mrr{currency} and business_mrr_base / business_arr_base (= 12 x MRR), default currency.
MRR_SQL = f"""
SELECT COALESCE(cur.code, '') AS currency, SUM(i.monthly) AS mrr,
       SUM(i.monthly / IF(cur.rate > 0, cur.rate, 1)) AS mrr_base
FROM ({RECURRING_ITEMS_SQL}) i
LEFT JOIN tblclients c ON c.id = i.userid
LEFT JOIN tblcurrencies cur ON cur.id = c.currency
WHERE i.status IN {_LIVE}
GROUP BY COALESCE(cur.code, '')
"""

# For a window [start, end), in the default currency:
#   new MRR:      items registered in the window that were ever live (not Pending or Fraud);
#   churned MRR:  items Cancelled or Terminated with termination_date in the window;
#   live at start: items registered before the window and live then (still live, or ended later).
# Service churn rate = churned items / live at start; client churn rate = clients whose last live
# item ended in the window and who have none left / clients with a live item at start.
FLOW_SQL = f"""
SELECT
  SUM(IF(i.regdate >= %(d0)s AND i.regdate < %(d1)s
         AND i.status IN ('Active', 'Suspended', 'Cancelled', 'Terminated', 'Completed'),
         i.monthly_base, 0)) AS new_mrr,
  SUM(IF(i.status IN {_ENDED} AND i.ended >= %(d0)s AND i.ended < %(d1)s, i.monthly_base, 0))
      AS churned_mrr,
  SUM(i.status IN {_ENDED} AND i.ended >= %(d0)s AND i.ended < %(d1)s) AS churned,
  SUM(i.regdate < %(d0)s AND (i.status IN {_LIVE} OR (i.status IN {_ENDED} AND i.ended >= %(d0)s)))
      AS live_at_start
FROM (
  SELECT r.*, r.monthly / IF(cur.rate > 0, cur.rate, 1) AS monthly_base
  FROM ({RECURRING_ITEMS_SQL}) r
  LEFT JOIN tblclients c ON c.id = r.userid
  LEFT JOIN tblcurrencies cur ON cur.id = c.currency
) i
"""

CLIENT_CHURN_SQL = f"""
SELECT
  SUM(x.live_now = 0 AND x.last_end >= %(d0)s AND x.last_end < %(d1)s) AS churned,
  SUM(x.live_at_start > 0) AS live_at_start
FROM (
  SELECT i.userid,
         SUM(i.status IN {_LIVE}) AS live_now,
         MAX(IF(i.status IN {_ENDED}, i.ended, NULL)) AS last_end,
         SUM(i.regdate < %(d0)s AND (i.status IN {_LIVE}
             OR (i.status IN {_ENDED} AND i.ended >= %(d0)s))) AS live_at_start
  FROM ({RECURRING_ITEMS_SQL}) i
  GROUP BY i.userid
) x
"""

# business_cancellation_requests{period,type}: tblcancelrequests rows dated in the window.
CANCEL_SQL = """
SELECT cr.type AS type, COUNT(*) AS n FROM tblcancelrequests cr
WHERE cr.date >= %s AND cr.date < %s GROUP BY cr.type
"""

# The most frequent cancellation reasons (free text) in a window, for reports.
REASONS_SQL = """
SELECT cr.reason AS reason, COUNT(*) AS n FROM tblcancelrequests cr
WHERE cr.date >= %s AND cr.date < %s GROUP BY cr.reason ORDER BY n DESC, reason LIMIT %s
"""


def mrr(conn: Connection) -> list[Measure]:
    out: list[Measure] = []
    base = 0.0
    for row in fetch(conn, MRR_SQL):
        out.append(
            Measure("business_mrr", round(num(row["mrr"]), 2), {"currency": row["currency"]})
        )
        base += num(row["mrr_base"])
    out.append(Measure("business_mrr_base", round(base, 2)))
    out.append(Measure("business_arr_base", round(base * 12, 2)))
    return out


def flows(conn: Connection, start: datetime, end: datetime, period: str) -> list[Measure]:
    # The dates are DATE columns: a window ending part-way through today includes today.
    last = end.date() if end.time() == time() else end.date() + timedelta(days=1)
    window = {"d0": start.date(), "d1": last}
    flow = fetch(conn, FLOW_SQL, window)[0]
    clients = fetch(conn, CLIENT_CHURN_SQL, window)[0]
    labels = {"period": period}
    return [
        Measure("business_mrr_new", round(num(flow["new_mrr"]), 2), labels),
        Measure("business_mrr_churned", round(num(flow["churned_mrr"]), 2), labels),
        Measure("business_services_churned", num(flow["churned"]), labels),
        Measure(
            "business_service_churn_rate",
            ratio(num(flow["churned"]), num(flow["live_at_start"])),
            labels,
        ),
        Measure("business_clients_churned", num(clients["churned"]), labels),
        Measure(
            "business_client_churn_rate",
            ratio(num(clients["churned"]), num(clients["live_at_start"])),
            labels,
        ),
    ]


def cancellations(conn: Connection, start: datetime, end: datetime, period: str) -> list[Measure]:
    return [
        Measure(
            "business_cancellation_requests",
            num(r["n"]),
            {"period": period, "type": r["type"] or ""},
        )
        for r in fetch(conn, CANCEL_SQL, (start, end))
    ]


def reasons(
    conn: Connection, start: datetime, end: datetime, limit: int = 10
) -> list[tuple[str, int]]:
    return [(r["reason"] or "", int(r["n"])) for r in fetch(conn, REASONS_SQL, (start, end, limit))]


def measure(conn: Connection, ctx: Context) -> list[Measure]:
    out = mrr(conn)
    for period in ctx.periods:
        start, end = ctx.window(period)
        out += flows(conn, start, end, period)
        out += cancellations(conn, start, end, period)
    return out
