"""tbltickets: tickets waiting for a staff reply longer than the SLA for their priority."""

from __future__ import annotations

from datetime import timedelta

from whmcs_monitor.sources import queries
from whmcs_monitor.sources.derive import Context, Derived, iso
from whmcs_monitor.sources.whmcs_db import Row, as_datetime, as_int, as_text

AWAITING_STATUSES = ("Open", "Customer-Reply")


def _departments(ctx: Context, rows: list[Row]) -> dict[int, str]:
    ids = tuple(
        sorted({int(r["did"]) for r in rows if as_int(r.get("did")) and "department" not in r})
    )
    if not ids:
        return {}
    found = ctx.fetch(queries.TICKET_DEPARTMENTS, {"ids": ids, "limit": len(ids)})
    return {int(r["id"]): as_text(r.get("name")) for r in found}


def tickets(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    sla = ctx.config.thresholds.ticket_sla_hours
    names = _departments(ctx, rows) if rows else {}
    for row in rows:
        urgency = as_text(row.get("urgency")) or "Medium"
        hours = sla.get(urgency) or sla.get("Medium") or 8
        last = as_datetime(row.get("lastreply"), ctx.zone) or as_datetime(row.get("date"), ctx.zone)
        if last is None or ctx.now - last < timedelta(hours=hours):
            continue
        data = {
            "id": int(row["id"]),
            "tid": as_text(row.get("tid")) or str(row["id"]),
            "userid": as_int(row.get("userid")),
            "title": as_text(row.get("title"), 200),
            "status": as_text(row.get("status")),
            "urgency": urgency,
            "department": row.get("department")
            or names.get(as_int(row.get("did")) or 0, "unknown"),
            "hours_waiting": int((ctx.now - last) / timedelta(hours=1)),
            "sla_hours": hours,
            "waiting_since": iso(last),
        }
        key = f"tbltickets:{row['id']}:sla:{iso(last)}"
        out.events.append(ctx.event("ticket.awaiting_reply_too_long", key, data))
    return out
