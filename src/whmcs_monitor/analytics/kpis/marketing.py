"""Marketing: affiliate commissions, promotion-code use and the discount given.

*Promo uses* are orders in the window with a non-empty ``tblorders.promocode``, per code. The
*discount* is minus the sum of invoice lines of type PromoHosting or PromoDomain (WHMCS writes
discounts as negative lines) on invoices dated in the window and not Cancelled. *Commissions
earned* are tblaffiliatespending rows created in the window; *pending* are those whose clearing
date is still ahead; *withdrawn* are tblaffiliateswithdrawals dated in the window; the *balance*
is the sum of every affiliate's unpaid balance.
"""

from __future__ import annotations

from whmcs_monitor.analytics.kpis.common import (
    Connection,
    Context,
    Measure,
    date_bounds,
    fetch,
    num,
)

PROMO_SQL = """
SELECT o.promocode AS code, COUNT(*) AS uses FROM tblorders o
WHERE o.date >= %s AND o.date < %s AND o.promocode <> '' GROUP BY o.promocode
"""

DISCOUNT_SQL = """
SELECT -SUM(ii.amount) AS discount FROM tblinvoiceitems ii JOIN tblinvoices i ON i.id = ii.invoiceid
WHERE ii.type IN ('PromoHosting', 'PromoDomain') AND i.status <> 'Cancelled'
  AND i.date >= %s AND i.date < %s
"""

EARNED_SQL = """
SELECT SUM(p.amount) AS earned FROM tblaffiliatespending p
WHERE p.created_at >= %s AND p.created_at < %s
"""

PENDING_SQL = """
SELECT SUM(p.amount) AS pending FROM tblaffiliatespending p WHERE p.clearingdate > %s
"""

WITHDRAWN_SQL = """
SELECT SUM(w.amount) AS withdrawn FROM tblaffiliateswithdrawals w WHERE w.date >= %s AND w.date < %s
"""

BALANCE_SQL = "SELECT SUM(a.balance) AS balance FROM tblaffiliates a"


def measure(conn: Connection, ctx: Context) -> list[Measure]:
    out = [
        Measure("business_affiliate_balance", num(fetch(conn, BALANCE_SQL)[0]["balance"])),
        Measure(
            "business_affiliate_commissions_pending",
            num(fetch(conn, PENDING_SQL, (ctx.now.date(),))[0]["pending"]),
        ),
    ]
    for period in ctx.periods:
        start, end = ctx.window(period)
        labels = {"period": period}
        out += [
            Measure("business_promo_uses", num(r["uses"]), {**labels, "code": r["code"]})
            for r in fetch(conn, PROMO_SQL, (start, end))
        ]
        dates = date_bounds(start, end)  # invoice and withdrawal dates carry no time
        out.append(
            Measure(
                "business_promo_discount",
                num(fetch(conn, DISCOUNT_SQL, dates)[0]["discount"]),
                labels,
            )
        )
        earned = fetch(conn, EARNED_SQL, (start, end))[0]["earned"]
        out += [
            Measure("business_affiliate_commissions_earned", num(earned), labels),
            Measure(
                "business_affiliate_withdrawn",
                num(fetch(conn, WITHDRAWN_SQL, dates)[0]["withdrawn"]),
                labels,
            ),
        ]
    return out
