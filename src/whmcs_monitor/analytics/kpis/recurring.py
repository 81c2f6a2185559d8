"""Recurring revenue: MRR and ARR from live services and addons, new and churned MRR, churn rates.

Each recurring amount (``tblhosting.amount``, ``tblhostingaddons.recurring``) is divided by the
months in its billing cycle; "Free Account", "One Time" and zero amounts are not recurring revenue.
MRR counts items whose status is Active or Suspended (a suspended service is still billed), in the
client's currency, and in the default currency through ``tblcurrencies.rate``.
"""

from __future__ import annotations

import functools
from datetime import date, datetime

from whmcs_monitor.analytics.kpis.common import (
    ENDED,
    LIVE,
    MONTHS_SQL,
    PERIODS,
    Connection,
    Context,
    Measure,
    date_bounds,
    fetch,
    num,
    ratio,
    ratio_measures,
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


def _window_columns(period: str) -> str:
    """Conditional sums for one window, its bounds bound as %(d0_<period>)s and %(d1_<period>)s."""
    d0, d1 = f"%(d0_{period})s", f"%(d1_{period})s"
    ended = f"i.status IN {_ENDED} AND i.ended >= {d0} AND i.ended < {d1}"
    return f""",
  SUM(IF(i.regdate >= {d0} AND i.regdate < {d1}
         AND i.status IN ('Active', 'Suspended', 'Cancelled', 'Terminated', 'Completed'),
         i.monthly_base, 0)) AS new_mrr_{period},
  SUM(IF({ended}, i.monthly_base, 0)) AS churned_mrr_{period},
  SUM({ended}) AS churned_{period},
  SUM(i.regdate < {d0} AND (i.status IN {_LIVE} OR (i.status IN {_ENDED} AND i.ended >= {d0})))
      AS live_at_start_{period}"""


@functools.cache
def recurring_sql(periods: tuple[str, ...]) -> str:
    """MRR per currency and, per window, new and churned MRR and the items live at its start.

    One pass over every recurring item: new MRR counts items registered in the window that were
    ever live (not Pending or Fraud); churned MRR those Cancelled or Terminated with
    termination_date in the window; "live at start" those registered before the window and live
    then (still live, or ended later). Service churn rate = churned / live at start.
    """
    return f"""
SELECT i.currency AS currency,
  SUM(IF(i.status IN {_LIVE}, i.monthly, 0)) AS mrr,
  SUM(IF(i.status IN {_LIVE}, i.monthly_base, 0)) AS mrr_base{"".join(_window_columns(p) for p in periods)}
FROM (
  SELECT r.*, COALESCE(cur.code, '') AS currency, r.monthly / IF(cur.rate > 0, cur.rate, 1) AS monthly_base
  FROM ({RECURRING_ITEMS_SQL}) r
  LEFT JOIN tblclients c ON c.id = r.userid
  LEFT JOIN tblcurrencies cur ON cur.id = c.currency
) i
GROUP BY i.currency
"""


@functools.cache
def client_churn_sql(periods: tuple[str, ...]) -> str:
    """Per window: clients whose last live item ended in it and who have none left, and clients
    with a live item at its start. Client churn rate = the first / the second."""
    columns = ",\n".join(
        f"  SUM(x.live_now = 0 AND x.last_end >= %(d0_{p})s AND x.last_end < %(d1_{p})s)"
        f" AS churned_{p},\n"
        f"  SUM(x.live_at_{p} > 0) AS live_at_start_{p}"
        for p in periods
    )
    per_client = "".join(
        f""",
         SUM(i.regdate < %(d0_{p})s AND (i.status IN {_LIVE}
             OR (i.status IN {_ENDED} AND i.ended >= %(d0_{p})s))) AS live_at_{p}"""
        for p in periods
    )
    return f"""
SELECT
{columns}
FROM (
  SELECT i.userid,
         SUM(i.status IN {_LIVE}) AS live_now,
         MAX(IF(i.status IN {_ENDED}, i.ended, NULL)) AS last_end{per_client}
  FROM ({RECURRING_ITEMS_SQL}) i
  GROUP BY i.userid
) x
"""


# The SQL as it runs for the standard day, week and month windows (documented in docs/analytics.md).
RECURRING_SQL = recurring_sql(PERIODS)
CLIENT_CHURN_SQL = client_churn_sql(PERIODS)

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


def _date_bounds(ctx: Context) -> dict[str, date]:
    """Each window as DATE bounds: registration and termination dates carry no time."""
    bounds: dict[str, date] = {}
    for period in ctx.periods:
        bounds[f"d0_{period}"], bounds[f"d1_{period}"] = date_bounds(*ctx.window(period))
    return bounds


def measure_recurring(conn: Connection, ctx: Context) -> list[Measure]:
    """MRR, ARR, new and churned MRR and churn rates for every window of ``ctx``: two passes.

    The result is kept in ``ctx.memo`` for the MRR detector of the same refresh.
    """
    if "recurring" not in ctx.memo:
        ctx.memo["recurring"] = _measure_recurring(conn, ctx)
    found: list[Measure] = ctx.memo["recurring"]
    return found


def _measure_recurring(conn: Connection, ctx: Context) -> list[Measure]:
    bounds = _date_bounds(ctx)
    rows = fetch(conn, recurring_sql(ctx.periods), bounds)
    clients = fetch(conn, client_churn_sql(ctx.periods), bounds)[0]
    out = [
        Measure("business_mrr", round(num(r["mrr"]), 2), {"currency": r["currency"]}) for r in rows
    ]
    base = sum(num(r["mrr_base"]) for r in rows)
    out += [
        Measure("business_mrr_base", round(base, 2)),
        Measure("business_arr_base", round(base * 12, 2)),
    ]
    for p in ctx.periods:
        total = {
            key: sum(num(r[f"{key}_{p}"]) for r in rows)
            for key in ("new_mrr", "churned_mrr", "churned", "live_at_start")
        }
        labels = {"period": p}
        out += [
            Measure("business_mrr_new", round(total["new_mrr"], 2), labels),
            Measure("business_mrr_churned", round(total["churned_mrr"], 2), labels),
            Measure("business_services_churned", total["churned"], labels),
            Measure("business_clients_churned", num(clients[f"churned_{p}"]), labels),
        ]
        out += ratio_measures(
            {
                "business_service_churn_rate": ratio(total["churned"], total["live_at_start"]),
                "business_client_churn_rate": ratio(
                    num(clients[f"churned_{p}"]), num(clients[f"live_at_start_{p}"])
                ),
            },
            labels,
        )
    return out


def mrr(conn: Connection, ctx: Context) -> list[Measure]:
    """Only the MRR and ARR values (of ``measure_recurring``)."""
    names = {"business_mrr", "business_mrr_base", "business_arr_base"}
    return [m for m in measure_recurring(conn, ctx) if m.name in names]


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
    out = measure_recurring(conn, ctx)
    for period in ctx.periods:
        start, end = ctx.window(period)
        out += cancellations(conn, start, end, period)
    return out
