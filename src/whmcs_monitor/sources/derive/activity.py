"""tblactivitylog and tblbannedips: failed logins, password resets, email and module failures, bans.

Which log line means what is configuration (``poller.activity_patterns``): the first pattern that
matches a description decides the kind, and its named groups become event fields.
"""

from __future__ import annotations

import re
from functools import lru_cache

from whmcs_monitor.sources.derive import Context, Derived
from whmcs_monitor.sources.whmcs_db import Row, as_datetime, as_int, as_text


@lru_cache(maxsize=16)
def _compiled(
    patterns: tuple[tuple[str, tuple[str, ...]], ...],
) -> list[tuple[str, re.Pattern[str]]]:
    return [(kind, re.compile(p)) for kind, group in patterns for p in group]


def classify(ctx: Context, description: str) -> tuple[str, dict[str, str]] | None:
    frozen = tuple((k, tuple(v)) for k, v in ctx.config.activity_patterns.items())
    for kind, pattern in _compiled(frozen):
        match = pattern.search(description)
        if match:
            return kind, {k: v for k, v in match.groupdict().items() if v is not None}
    return None


def activity(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    for row in rows:
        description = as_text(row.get("description"))
        found = classify(ctx, description)
        if found is None:
            continue
        kind, fields = found
        userid = as_int(fields.pop("userid", None)) or as_int(row.get("userid")) or None
        data = {
            "id": as_int(row["id"]),
            "description": description,
            "ip": fields.pop("ip", None) or as_text(row.get("ipaddr")) or None,
            "username": fields.pop("username", None) or as_text(row.get("user")) or None,
            "userid": userid,
            "to": f"client #{userid}" if userid else None,
            **fields,
        }
        out.events.append(
            ctx.event(
                kind,
                f"tblactivitylog:{row['id']}",
                data,
                occurred_at=as_datetime(row.get("date"), ctx.zone),
            )
        )
    return out


def banned_ips(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    for row in rows:
        expires = as_datetime(row.get("expires"), ctx.zone)
        data = {
            "id": as_int(row["id"]),
            "ip": as_text(row.get("ip")),
            "reason": as_text(row.get("reason")),
            "expires": expires.isoformat(timespec="minutes") if expires else "never",
        }
        out.events.append(ctx.event("security.ip_banned", f"tblbannedips:{row['id']}", data))
    return out
