"""tblgatewaylog and tblerrorlog: payment gateway failures and logged PHP/database errors."""

from __future__ import annotations

import re

from whmcs_monitor.sources.derive import Context, Derived
from whmcs_monitor.sources.whmcs_db import Row, as_datetime, as_int, as_text

# Gateway modules write free text; these openings mean the callback succeeded.
_SUCCESS = re.compile(r"^\s*(success|successful|ok|completed|approved|paid)\b", re.IGNORECASE)
_SEVERITY = {
    "warning": "warning",
    "notice": "info",
    "info": "info",
    "debug": "debug",
    "deprecated": "info",
}


def gateway_log(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    for row in rows:
        result = as_text(row.get("result"))
        if _SUCCESS.match(result):
            continue
        data = {
            "id": as_int(row["id"]),
            "gateway": as_text(row.get("gateway")) or "unknown",
            "result": result or "(empty result)",
            "transaction_history_id": as_int(row.get("transaction_history_id")),
        }
        out.events.append(
            ctx.event(
                "gateway.failure",
                f"tblgatewaylog:{row['id']}",
                data,
                occurred_at=as_datetime(row.get("date"), ctx.zone),
            )
        )
    return out


def error_log(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    for row in rows:
        severity = as_text(row.get("severity")).lower()
        data = {
            "id": as_int(row["id"]),
            "severity": severity or "error",
            "exception_class": as_text(row.get("exception_class")) or "PHP",
            "message": as_text(row.get("message"), 255),
            "filename": as_text(row.get("filename"), 255),
            "line": as_int(row.get("line")),
        }
        out.events.append(
            ctx.event(
                "system.error_logged",
                f"tblerrorlog:{row['id']}",
                data,
                occurred_at=as_datetime(row.get("created_at"), ctx.zone),
                severity=_SEVERITY.get(severity, "error"),
            )
        )
    return out
