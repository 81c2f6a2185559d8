"""Catching a silent forwarder: the database shows payments but no matching hook event arrived.

Every incoming payment (not a refund) recorded in tblaccounts for an invoice between
``lookback`` and ``forwarder_silent_minutes`` ago should have produced an ``invoice.paid`` or
``invoice.payment_added`` hook event for that invoice by now. If some did not, the hook module is
disabled, broken, or its events are rejected: one critical ``forwarder.silent`` per episode says
which site and since when. Likewise a module that used to send ``forwarder.heartbeat`` and
stopped gives ``forwarder.heartbeat_missing``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from whmcs_monitor.events.model import Event
from whmcs_monitor.sources import queries
from whmcs_monitor.sources.derive import Context, iso
from whmcs_monitor.sources.whmcs_db import as_datetime, as_int
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events

PAYMENT_KINDS = ("invoice.paid", "invoice.payment_added")
LOOKBACK_FACTOR = 4
MAX_HOOK_EVENTS = 5000


def _local_naive(ctx: Context, moment: datetime) -> datetime:
    """tblaccounts.date is WHMCS wall-clock time without a zone."""
    return moment.astimezone(ctx.zone).replace(tzinfo=None)


def silent_forwarder(db: Database, ctx: Context) -> list[Event]:
    silent = timedelta(minutes=ctx.config.thresholds.forwarder_silent_minutes)
    since, until = ctx.now - silent * LOOKBACK_FACTOR, ctx.now - silent
    params = {
        "since": _local_naive(ctx, since),
        "until": _local_naive(ctx, until),
        "after": 0,
        "limit": ctx.config.batch_size,
    }
    payments = ctx.fetch(queries.PAYMENTS_BETWEEN, params)
    with db.read() as conn:
        seen = query_events(
            conn,
            EventFilter(
                sites=[ctx.site], kinds=PAYMENT_KINDS, since=since - silent, limit=MAX_HOOK_EVENTS
            ),
        )
    reported = {e["subjects"].get("invoice") for e in seen}
    missing = [p for p in payments if as_int(p.get("invoiceid")) not in reported]
    if not missing:
        ctx.state.pop("silent_since", None)
        return []
    first = min(as_datetime(p.get("date"), ctx.zone) or until for p in missing)
    episode = ctx.state.setdefault("silent_since", iso(first))
    data: dict[str, Any] = {
        "paid_count": len(missing),
        "since": episode,
        "invoice_ids": sorted({as_int(p.get("invoiceid")) or 0 for p in missing})[:50],
    }
    return [
        ctx.event(
            "forwarder.silent", f"forwarder_silent:invoices:{episode}", data, severity="critical"
        )
    ]


def missing_heartbeat(db: Database, ctx: Context) -> list[Event]:
    with db.read() as conn:
        last = query_events(
            conn, EventFilter(sites=[ctx.site], kinds=["forwarder.heartbeat"], limit=1)
        )
    if not last:
        return []
    at = datetime.fromisoformat(last[0]["occurred_at"].replace("Z", "+00:00"))
    quiet = ctx.now - at
    if quiet < timedelta(minutes=ctx.config.thresholds.heartbeat_silent_minutes):
        return []
    data = {"since": iso(at), "minutes_silent": int(quiet / timedelta(minutes=1))}
    key = f"heartbeat_missing:{last[0]['id']}"
    return [ctx.event("forwarder.heartbeat_missing", key, data, severity="critical")]
