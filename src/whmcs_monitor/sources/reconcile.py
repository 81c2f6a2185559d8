"""Catching a silent forwarder: the database shows payments but no matching hook event arrived.

Every incoming payment (not a refund) recorded in tblaccounts for an invoice between
``lookback`` and ``forwarder_silent_minutes`` ago should have produced an ``invoice.paid`` or
``invoice.payment_added`` hook event for that invoice by now. If some did not, the hook module is
disabled, broken, or its events are rejected: one critical ``forwarder.silent`` per episode says
which site and since when. Likewise a module that used to send ``forwarder.heartbeat`` and
stopped gives ``forwarder.heartbeat_missing``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from whmcs_monitor.events.model import Event
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.sources import queries
from whmcs_monitor.sources.derive import Context, iso
from whmcs_monitor.sources.whmcs_db import as_datetime, as_int
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events
from whmcs_monitor.store.tables import events

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


def _last_heartbeat(db: Database, site: str) -> tuple[str, datetime] | None:
    """The newest heartbeat's id and time, by when it was sent rather than when it arrived.

    The module replays its spool late, so the last heartbeat to arrive can be hours old.
    """
    stmt = (
        sa.select(events.c.event_id, events.c.occurred_at)
        .where(events.c.kind == "forwarder.heartbeat", events.c.site == site)
        .order_by(events.c.occurred_at.desc())
        .limit(1)
    )
    with db.read() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else (str(row.event_id), as_utc(row.occurred_at))


def missing_heartbeat(db: Database, ctx: Context) -> list[Event]:
    last = _last_heartbeat(db, ctx.site)
    if last is None:
        return []
    event_id, at = last
    quiet = ctx.now - at
    if quiet < timedelta(minutes=ctx.config.thresholds.heartbeat_silent_minutes):
        return []
    data = {"since": iso(at), "minutes_silent": int(quiet / timedelta(minutes=1))}
    key = f"heartbeat_missing:{event_id}"
    return [ctx.event("forwarder.heartbeat_missing", key, data, severity="critical")]


Check = Callable[[Database, Context], list[Event]]

# Each check is a separate step of the cycle, so a missing grant on one table skips only that one.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("reconcile_payments", silent_forwarder),
    ("reconcile_heartbeat", missing_heartbeat),
)
