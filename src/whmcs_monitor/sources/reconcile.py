"""Catching a silent forwarder: the database shows activity but its hook events did not arrive.

Each check reads what WHMCS recorded between ``LOOKBACK_FACTOR`` times and once
``forwarder_silent_minutes`` ago, so every hook had at least that long to arrive (the module
replays its spool on each cron run).

- Payments: every incoming payment (not a refund) in tblaccounts must have produced an
  ``invoice.paid`` or ``invoice.payment_added`` event for its invoice, once the site's module
  has shown itself (a heartbeat or a payment hook event).
- Tickets and orders are not matched one by one, because some may legitimately fire no hook (an
  order added by staff or through the API does not go through the cart's
  AfterShoppingCartCheckout). The forwarder counts as silent when ``forwarder_silent_min_rows``
  or more were created in the window and no hook event of their family arrived since the first
  of them. A site that never sent those hooks (no module, or one that does not forward them) is
  not checked, or it would be flagged forever.

Each family gives one critical ``forwarder.silent`` per episode, saying which site, since when
and what is missing. A module that used to send ``forwarder.heartbeat`` and stopped gives
``forwarder.heartbeat_missing``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa

from whmcs_monitor.events.model import Event
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.sources import queries
from whmcs_monitor.sources.derive import Context, iso
from whmcs_monitor.sources.queries import Query
from whmcs_monitor.sources.whmcs_db import Row, as_datetime, as_int
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events
from whmcs_monitor.store.tables import events

LOOKBACK_FACTOR = 4
MAX_HOOK_EVENTS = 5000
MAX_IDS = 50  # ids listed in one forwarder.silent event


@dataclass(frozen=True)
class Family:
    """Activity that WHMCS records in a table and that the hook module reports."""

    name: str  # plural noun, as in "3 tickets opened"
    subject: str  # singular noun; the subject the hook events name
    verb: str
    query: Query
    id_column: str
    kinds: tuple[str, ...]
    lacking: str = "and no {hooks} event since the first of them"  # ends the summary's detail


PAYMENTS = Family(
    "invoices",
    "invoice",
    "paid",
    queries.PAYMENTS_BETWEEN,
    "invoiceid",
    ("invoice.paid", "invoice.payment_added"),
    lacking="without an {hooks} event",
)
TICKETS = Family(
    "tickets",
    "ticket",
    "opened",
    queries.TICKETS_OPENED_BETWEEN,
    "id",
    ("ticket.opened", "ticket.opened_by_admin", "ticket.piped"),
)
ORDERS = Family("orders", "order", "placed", queries.ORDERS_PLACED_BETWEEN, "id", ("order.placed",))


@dataclass(frozen=True)
class Window:
    silent: timedelta
    since: datetime
    until: datetime


def _window(ctx: Context) -> Window:
    silent = timedelta(minutes=ctx.config.thresholds.forwarder_silent_minutes)
    return Window(silent, ctx.now - silent * LOOKBACK_FACTOR, ctx.now - silent)


def _local_naive(ctx: Context, moment: datetime) -> datetime:
    """WHMCS ``date`` columns hold its wall-clock time without a zone."""
    return moment.astimezone(ctx.zone).replace(tzinfo=None)


def _recorded(ctx: Context, family: Family, window: Window) -> list[Row]:
    """The family's rows dated within the window, oldest first."""
    params = {
        "since": _local_naive(ctx, window.since),
        "until": _local_naive(ctx, window.until),
        "after": 0,
        "limit": ctx.config.batch_size,
    }
    return ctx.fetch(family.query, params)


def _first(ctx: Context, rows: list[Row]) -> datetime:
    dates = (as_datetime(r.get("date"), ctx.zone) for r in rows)
    return min((d for d in dates if d is not None), default=ctx.now)


def _either(names: Sequence[str]) -> str:
    """``A``, ``A or B``, ``A, B or C``."""
    return " or ".join(filter(None, (", ".join(names[:-1]), names[-1])))


def _silent(ctx: Context, family: Family, missing: list[Row]) -> list[Event]:
    """One critical ``forwarder.silent`` per episode of ``missing`` rows; none ends the episode."""
    key = f"silent_since:{family.name}"
    if not missing:
        ctx.state.pop(key, None)
        return []
    episode = ctx.state.setdefault(key, iso(_first(ctx, missing)))
    hooks = _either([h for kind in family.kinds for h in ctx.catalog.get(kind).hooks])
    ids = sorted({as_int(r.get(family.id_column)) or 0 for r in missing})
    noun = family.subject if len(ids) == 1 else family.name
    data: dict[str, Any] = {
        "since": episode,
        "detail": f"{len(ids)} {noun} {family.verb} in WHMCS " + family.lacking.format(hooks=hooks),
        "missing": family.name,
        "count": len(ids),
        f"{family.subject}_ids": ids[:MAX_IDS],
    }
    event_key = f"forwarder_silent:{family.name}:{episode}"
    return [ctx.event("forwarder.silent", event_key, data, severity="critical")]


def silent_payments(db: Database, ctx: Context) -> list[Event]:
    """Payments whose invoice has no payment hook event, matched one by one.

    Only on a site where the module has shown itself (a heartbeat or a payment hook): a site
    watched through the poller alone would otherwise be flagged for every payment.
    """
    if _newest_event(db, ctx.site, (*PAYMENTS.kinds, "forwarder.heartbeat")) is None:
        return _silent(ctx, PAYMENTS, [])
    window = _window(ctx)
    payments = _recorded(ctx, PAYMENTS, window)
    with db.read() as conn:
        seen = query_events(
            conn,
            EventFilter(
                sites=[ctx.site],
                kinds=PAYMENTS.kinds,
                since=window.since - window.silent,
                limit=MAX_HOOK_EVENTS,
            ),
        )
    reported = {e["subjects"].get(PAYMENTS.subject) for e in seen}
    missing = [p for p in payments if as_int(p.get(PAYMENTS.id_column)) not in reported]
    return _silent(ctx, PAYMENTS, missing)


def silent_family(family: Family, db: Database, ctx: Context) -> list[Event]:
    """Enough new rows of a family and not one of its hook events since the first of them."""
    last = _newest_event(db, ctx.site, family.kinds)
    if last is None:  # this site never sent these hooks
        return _silent(ctx, family, [])
    rows = _recorded(ctx, family, _window(ctx))
    enough = len(rows) >= ctx.config.thresholds.forwarder_silent_min_rows
    return _silent(ctx, family, rows if enough and last[1] < _first(ctx, rows) else [])


def _newest_event(db: Database, site: str, kinds: Sequence[str]) -> tuple[str, datetime] | None:
    """The newest event of these kinds (id and time), by when it was sent, not when it arrived.

    The module replays its spool late, so the last event to arrive can be hours old.
    """
    stmt = (
        sa.select(events.c.event_id, events.c.occurred_at)
        .where(events.c.kind.in_(kinds), events.c.site == site)
        .order_by(events.c.occurred_at.desc())
        .limit(1)
    )
    with db.read() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else (str(row.event_id), as_utc(row.occurred_at))


def missing_heartbeat(db: Database, ctx: Context) -> list[Event]:
    last = _newest_event(db, ctx.site, ("forwarder.heartbeat",))
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
    ("reconcile_payments", silent_payments),
    ("reconcile_tickets", partial(silent_family, TICKETS)),
    ("reconcile_orders", partial(silent_family, ORDERS)),
    ("reconcile_heartbeat", missing_heartbeat),
)
