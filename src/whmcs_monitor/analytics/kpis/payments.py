"""Payments: the failed-payment rate per gateway and the refund rate.

Every gateway callback or capture is logged in tblgatewaylog with a free-text ``result`` set by the
gateway module. A row is an *attempt*; it is *failed* when its result reads as a failure (starts
with "Fail", "Declin" or "Error", or contains "Failure"). Only ``date``, ``gateway`` and ``result``
are read: ``data`` holds the raw callback and is secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from whmcs_monitor.analytics.kpis.common import (
    Connection,
    Context,
    Measure,
    fetch,
    first_id_since,
    num,
    ratio,
    ratio_measures,
)

FAILED_SQL_EXPR = (
    "(g.result LIKE 'Fail%%' OR g.result LIKE 'Declin%%' OR g.result LIKE 'Error%%'"
    " OR g.result LIKE '%%Failure%%')"
)

# business_payment_attempts / business_payments_failed / business_failed_payment_rate
# {period,gateway}: tblgatewaylog rows dated in the window, per gateway.
FAILED_SQL = f"""
SELECT g.gateway AS gateway, COUNT(*) AS attempts, SUM({FAILED_SQL_EXPR}) AS failed
FROM tblgatewaylog g
WHERE g.id >= %s AND g.id < %s AND g.date >= %s AND g.date < %s
GROUP BY g.gateway
"""

# business_refund_rate{period}: tblaccounts rows with amountout > 0 (refunds) over rows with
# amountin > 0 (payments), dated in the window; business_refund_amount_rate: the same by amount.
REFUND_SQL = """
SELECT SUM(a.amountin > 0) AS payments, SUM(a.amountout > 0) AS refunds,
       SUM(a.amountin / IF(a.rate > 0, a.rate, 1)) AS paid_base,
       SUM(a.amountout / IF(a.rate > 0, a.rate, 1)) AS refunded_base
FROM tblaccounts a WHERE a.date >= %s AND a.date < %s
"""


@dataclass(frozen=True, slots=True)
class GatewayCounts:
    attempts: int  # at least 1: a gateway is listed only for the log rows it has
    failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.attempts


def by_gateway(conn: Connection, start: datetime, end: datetime) -> dict[str, GatewayCounts]:
    """Attempts and failures per gateway in [start, end); the id range comes from bisecting."""
    lo = first_id_since(conn, "tblgatewaylog", start)
    hi = first_id_since(conn, "tblgatewaylog", end, missing=2**31)
    return {
        row["gateway"] or "": GatewayCounts(int(num(row["attempts"])), int(num(row["failed"])))
        for row in fetch(conn, FAILED_SQL, (lo, hi, start, end))
    }


def measure(conn: Connection, ctx: Context) -> list[Measure]:
    out: list[Measure] = []
    for period in ctx.periods:
        start, end = ctx.window(period)
        for gateway, c in by_gateway(conn, start, end).items():
            labels = {"period": period, "gateway": gateway}
            out += [
                Measure("business_payment_attempts", c.attempts, labels),
                Measure("business_payments_failed", c.failed, labels),
                Measure("business_failed_payment_rate", c.rate, labels),
            ]
        row = fetch(conn, REFUND_SQL, (start, end))[0]
        out += ratio_measures(
            {
                "business_refund_rate": ratio(num(row["refunds"]), num(row["payments"])),
                "business_refund_amount_rate": ratio(
                    num(row["refunded_base"]), num(row["paid_base"])
                ),
            },
            {"period": period},
        )
    return out
