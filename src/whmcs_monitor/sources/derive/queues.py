"""tblemails and tblmodulequeue: failed sends, a stuck email queue, provisioning stuck in retries.

Both tables hold items that are still open when first read (an email pending, a module command
waiting for its next retry). An open item is put on the feed's watch list and read again by id
every cycle, until it settles or has been open so long that it is reported as stuck.
"""

from __future__ import annotations

from whmcs_monitor.sources.derive import Context, Derived
from whmcs_monitor.sources.whmcs_db import Row, age_minutes, as_datetime, as_int, as_text


def emails(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    limit = ctx.config.thresholds.email_queue_stuck_minutes
    stuck: list[tuple[int, int]] = []  # (id, age in minutes)
    for row in rows:
        row_id = int(row["id"])
        if as_int(row.get("failed")):
            data = {
                "id": row_id,
                "userid": as_int(row.get("userid")) or None,
                "to": as_text(row.get("to")) or "?",
                "subject": as_text(row.get("subject"), 250),
                "failure_reason": as_text(row.get("failure_reason")) or "no reason recorded",
                "retry_count": as_int(row.get("retry_count")),
            }
            out.events.append(
                ctx.event(
                    "email.send_failed",
                    f"tblemails:{row_id}:failed",
                    data,
                    occurred_at=as_datetime(row.get("date"), ctx.zone),
                )
            )
        elif as_int(row.get("pending")):
            age = age_minutes(as_datetime(row.get("date"), ctx.zone), ctx.now)
            if age is not None and age >= limit:
                stuck.append((row_id, age))
            else:
                out.keep_open(row_id)
    if stuck:
        oldest_id, oldest_age = min(stuck)
        data = {
            "pending_count": len(stuck),
            "oldest_age_minutes": oldest_age,
            "oldest_id": oldest_id,
        }
        out.events.append(
            ctx.event("email.queue_stuck", f"tblemails:{oldest_id}:queue_stuck", data)
        )
    return out


def module_queue(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    retries = ctx.config.thresholds.module_queue_retries
    for row in rows:
        row_id = int(row["id"])
        if as_int(row.get("completed")):
            continue
        num_retries = as_int(row.get("num_retries")) or 0
        if num_retries < retries:
            out.keep_open(row_id)
            continue
        data = {
            "id": row_id,
            "service_type": as_text(row.get("service_type")) or "service",
            "service_id": as_int(row.get("service_id")),
            "module_name": as_text(row.get("module_name")),
            "module_action": as_text(row.get("module_action")),
            "num_retries": num_retries,
            "last_attempt_error": as_text(row.get("last_attempt_error"), 500),
        }
        out.events.append(
            ctx.event(
                "module.queue_item_stuck",
                f"tblmodulequeue:{row_id}:stuck",
                data,
                occurred_at=as_datetime(row.get("last_attempt"), ctx.zone),
            )
        )
    return out
