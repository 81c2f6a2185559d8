"""Orders, overdue invoices, upgrades, cancellation requests, quotes and affiliates."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from whmcs_monitor.sources.derive import Context, Derived, iso
from whmcs_monitor.sources.whmcs_db import Row, as_date, as_datetime, as_int, as_money, as_text


def orders(ctx: Context, rows: list[Row]) -> Derived:
    """Promo codes used, status changes (fraud included) and orders left pending too long.

    Pending orders stay on the watch list and their status is remembered in the feed state, so
    the change to Active, Cancelled or Fraud is seen with its previous status.
    """
    out = Derived()
    known: dict[str, str] = ctx.state.setdefault("status", {})
    limit = timedelta(hours=ctx.config.thresholds.order_pending_hours)
    for row in rows:
        row_id = int(row["id"])
        status = as_text(row.get("status")) or "Pending"
        placed = as_datetime(row.get("date"), ctx.zone)
        data = {
            "id": row_id,
            "userid": as_int(row.get("userid")),
            "ordernum": as_text(row.get("ordernum")),
            "amount": as_money(row.get("amount")),
            "paymentmethod": as_text(row.get("paymentmethod")),
            "invoiceid": as_int(row.get("invoiceid")),
            "status": status,
            "promocode": as_text(row.get("promocode")),
            "promotype": as_text(row.get("promotype")),
            "promovalue": as_text(row.get("promovalue")),
            "fraudmodule": as_text(row.get("fraudmodule")),
        }
        first_sight = str(row_id) not in known
        if first_sight and data["promocode"]:
            out.events.append(
                ctx.event(
                    "promotion.code_used", f"tblorders:{row_id}:promo", data, occurred_at=placed
                )
            )
        previous = known.get(str(row_id), "(new)")
        if status != previous and (status == "Fraud" or not first_sight):
            changed = {**data, "previous_status": previous}
            out.events.append(
                ctx.event(
                    "order.status_changed",
                    f"tblorders:{row_id}:status:{status}",
                    changed,
                    severity="warning" if status == "Fraud" else None,
                )
            )
        if status != "Pending":
            known.pop(str(row_id), None)
            continue
        if placed is not None and ctx.now - placed >= limit:
            data["hours_pending"] = int((ctx.now - placed) / timedelta(hours=1))
            out.events.append(
                ctx.event("order.pending_too_long", f"tblorders:{row_id}:pending_too_long", data)
            )
            known.pop(str(row_id), None)
            continue
        known[str(row_id)] = status
        out.keep_open(row_id)
    return out


def _decimal(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def upgrades(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    for row in rows:
        amount, change = _decimal(row.get("amount")), _decimal(row.get("recurringchange"))
        down = amount < 0 or change < 0 or _decimal(row.get("credit_amount")) > 0
        data = {
            "id": as_int(row["id"]),
            "userid": as_int(row.get("userid")),
            "orderid": as_int(row.get("orderid")),
            "type": as_text(row.get("type")),
            "relid": as_int(row.get("relid")),
            "originalvalue": as_text(row.get("originalvalue"), 200),
            "newvalue": as_text(row.get("newvalue"), 200),
            "amount": as_money(amount),
            "credit_amount": as_money(row.get("credit_amount")),
            "recurringchange": as_money(change),
            "status": as_text(row.get("status")),
        }
        kind = "service.downgrade_recorded" if down else "service.upgrade_recorded"
        out.events.append(ctx.event(kind, f"tblupgrades:{row['id']}", data))
    return out


def cancel_requests(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    for row in rows:
        data = {
            "id": as_int(row["id"]),
            "relid": as_int(row.get("relid")),
            "type": as_text(row.get("type")) or "unknown",
        }
        out.events.append(
            ctx.event(
                "service.cancellation_request_recorded",
                f"tblcancelrequests:{row['id']}",
                data,
                occurred_at=as_datetime(row.get("date"), ctx.zone),
            )
        )
    return out


def quotes(ctx: Context, rows: list[Row]) -> Derived:
    """Quotes accepted since the feed started watching (``watch_since`` in the feed state)."""
    out = Derived()
    since = date.fromisoformat(ctx.state.setdefault("watch_since", ctx.today.isoformat()))
    for row in rows:
        accepted = as_date(row.get("dateaccepted"))
        if as_text(row.get("stage")) != "Accepted" or accepted is None or accepted < since:
            continue
        data = {
            "id": as_int(row["id"]),
            "userid": as_int(row.get("userid")),
            "subject": as_text(row.get("subject"), 200),
            "total": as_money(row.get("total")),
            "dateaccepted": accepted.isoformat(),
        }
        out.events.append(
            ctx.event("quote.accepted_recorded", f"tblquotes:{row['id']}:accepted", data)
        )
    return out


def affiliates(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    for row in rows:
        data = {"id": as_int(row["id"]), "clientid": as_int(row.get("clientid"))}
        out.events.append(
            ctx.event("affiliate.signup_recorded", f"tblaffiliates:{row['id']}", data)
        )
    return out


def withdrawals(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    for row in rows:
        data = {
            "id": as_int(row["id"]),
            "affiliateid": as_int(row.get("affiliateid")),
            "amount": as_money(row.get("amount")),
            "date": iso(as_date(row.get("date"))),
        }
        out.events.append(
            ctx.event(
                "affiliate.withdrawal_recorded", f"tblaffiliateswithdrawals:{row['id']}", data
            )
        )
    return out


def overdue_invoice(ctx: Context, row: Row, days: int) -> Derived:
    """One invoice that has just crossed ``days`` days overdue (an aging bucket)."""
    data = {
        "id": as_int(row["id"]),
        "userid": as_int(row.get("userid")),
        "invoicenum": as_text(row.get("invoicenum")),
        "total": as_money(row.get("total")),
        "duedate": iso(as_date(row.get("duedate"))),
        "paymentmethod": as_text(row.get("paymentmethod")),
        "days_overdue": days,
        "age_bucket": f"{days}d+",
    }
    return Derived(
        events=[ctx.event("invoice.overdue", f"tblinvoices:{row['id']}:overdue:{days}", data)]
    )
