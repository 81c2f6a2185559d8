"""tbldomains: expiry warnings at 30/14/7/1 days, Grace/Redemption/Expired, slow transfers."""

from __future__ import annotations

from whmcs_monitor.sources.derive import Context, Derived, new_condition
from whmcs_monitor.sources.whmcs_db import Row, as_date, as_int, as_text

_STATUS_KINDS = {
    "Grace": "domain.entered_grace",
    "Redemption": "domain.entered_redemption",
    "Expired": "domain.expired",
}


def domains(ctx: Context, rows: list[Row]) -> Derived:
    """Expiry warnings, status changes and slow transfers.

    A status (Grace, Redemption, Expired) is reported only when it is new (``new_condition``);
    expiry warnings and slow transfers are reported as found, since they still call for action.
    """
    out = Derived()
    thresholds = sorted(ctx.config.thresholds.domain_expiry_days)
    for row in rows:
        row_id = int(row["id"])
        status = as_text(row.get("status"))
        expiry = as_date(row.get("expirydate"))
        data = {
            "id": row_id,
            "userid": as_int(row.get("userid")),
            "domain": as_text(row.get("domain"), 255),
            "registrar": as_text(row.get("registrar")) or "none",
            "status": status,
            "expirydate": expiry.isoformat() if expiry else None,
        }
        if new_condition(ctx, row_id, status if status in _STATUS_KINDS else None):
            key = f"tbldomains:{row_id}:{status.lower()}:{data['expirydate']}"
            out.events.append(ctx.event(_STATUS_KINDS[status], key, data))
        elif status == "Active" and expiry is not None:
            days_left = (expiry - ctx.today).days
            crossed = next((t for t in thresholds if 0 <= days_left <= t), None)
            if crossed is not None:
                event = {**data, "days_left": days_left, "days_threshold": str(crossed)}
                key = f"tbldomains:{row_id}:expiring:{crossed}:{data['expirydate']}"
                out.events.append(ctx.event("domain.expiring", key, event))
        elif status == "Pending Transfer":
            started = as_date(row.get("registrationdate"))
            if started is None:
                continue
            days = (ctx.today - started).days
            if days >= ctx.config.thresholds.transfer_pending_days:
                event = {**data, "days_pending": days}
                key = f"tbldomains:{row_id}:transfer_pending:{started.isoformat()}"
                out.events.append(ctx.event("domain.transfer_pending_too_long", key, event))
    return out
