"""The feeds the poller reads from each WHMCS database, and how one feed advances its cursor.

A *tail* feed reads new rows after its cursor (the last id read). Rows that are still open (a
pending email, order or queued module command) go on the feed's watch list and are read again by
primary key every cycle until they settle, so they never hold the cursor back. A *sweep* feed
walks a table of current state (domains, tickets, tasks, admins) one batch per cycle and wraps to
the start. A *snapshot* feed reads a fixed set of rows every cycle. In
every case the events and the new cursor are written in one transaction, after the rows were
read: a failure in between leaves the cursor where it was, so nothing is skipped, and the
deterministic event ids make the re-read harmless.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from whmcs_monitor.sources import queries
from whmcs_monitor.sources.derive import (
    Context,
    Derived,
    activity,
    automation,
    billing,
    logs,
    queues,
    tickets,
)
from whmcs_monitor.sources.derive import domains as domain_derive
from whmcs_monitor.sources.queries import Query
from whmcs_monitor.sources.state import get_position, get_state, set_position, set_state
from whmcs_monitor.sources.whmcs_db import Row
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import insert_events

log = logging.getLogger(__name__)
Mode = Literal["tail", "sweep", "snapshot"]
MAX_PAGES = 20  # per feed and cycle: a backlog is caught up over several cycles
MAX_WATCHED = 2000  # open rows re-read per feed and cycle; the oldest beyond it are dropped


@dataclass(frozen=True)
class Feed:
    name: str
    query: Query
    derive: Callable[[Context, list[Row]], Derived]
    mode: Mode = "tail"
    params: Mapping[str, Any] = field(default_factory=dict)
    stateful: bool = False


FEEDS: tuple[Feed, ...] = (
    Feed("activity", queries.ACTIVITY, activity.activity),
    Feed("banned_ips", queries.BANNED_IPS, activity.banned_ips),
    Feed("gateway_log", queries.GATEWAY_LOG, logs.gateway_log),
    Feed("error_log", queries.ERROR_LOG, logs.error_log),
    Feed("emails", queries.EMAILS, queues.emails),
    Feed("module_queue", queries.MODULE_QUEUE, queues.module_queue),
    Feed("orders", queries.ORDERS, billing.orders, stateful=True),
    Feed("cancel_requests", queries.CANCEL_REQUESTS, billing.cancel_requests),
    Feed("upgrades", queries.UPGRADES, billing.upgrades),
    Feed("affiliates", queries.AFFILIATES, billing.affiliates),
    Feed("withdrawals", queries.WITHDRAWALS, billing.withdrawals),
    Feed("quotes", queries.QUOTES, billing.quotes, mode="sweep", stateful=True),
    Feed("admins", queries.ADMINS, automation.admins, mode="sweep", stateful=True),
    Feed("task_status", queries.TASK_STATUS, automation.tasks, mode="sweep"),
    Feed(
        "domains",
        queries.DOMAINS,
        domain_derive.domains,
        mode="sweep",
        params={"statuses": queries.WATCHED_DOMAIN_STATUSES},
        stateful=True,
    ),
    Feed(
        "tickets",
        queries.TICKETS_AWAITING,
        tickets.tickets,
        mode="sweep",
        params={"statuses": tickets.AWAITING_STATUSES},
    ),
    Feed(
        "configuration",
        queries.CONFIGURATION,
        automation.configuration,
        mode="snapshot",
        params=queries.CONFIG_PARAMS,
        stateful=True,
    ),
)


@dataclass
class FeedResult:
    feed: str
    rows: int = 0
    events: int = 0
    position: str = ""


def _commit(
    db: Database,
    ctx: Context,
    feed: str,
    derived: Derived,
    position: str | None,
    unchanged: tuple[str | None, dict[str, Any]] | None = None,
) -> int:
    """Events, cursor and state in one transaction; nothing at all when nothing changed."""
    if not derived.events and unchanged == (position, ctx.state):
        return 0
    with db.write() as conn:
        inserted = insert_events(conn, derived.events)
        if position is not None:
            set_position(conn, ctx.site, feed, position, ctx.now)
        if ctx.state:
            set_state(conn, ctx.site, f"feed:{feed}", ctx.state, ctx.now)
    return len(inserted)


def _start(db: Database, ctx: Context, feed: Feed) -> tuple[int, int]:
    """Where a tail or sweep feed reads from this cycle, and the events written to get there."""
    with db.read() as conn:
        stored = get_position(conn, ctx.site, feed.name)
    if stored is None:
        position = _initial(ctx, feed)
        with db.write() as conn:
            set_position(conn, ctx.site, feed.name, str(position), ctx.now)
        return position, 0
    if feed.mode == "tail":
        newest = _newest(ctx, feed)
        if newest < int(stored):
            return _restart(db, ctx, feed, int(stored), newest)
    return int(stored), 0


def _initial(ctx: Context, feed: Feed, newest: int | None = None) -> int:
    """Where a new feed starts: the newest row (``start_at: end``) or the beginning."""
    if feed.mode == "sweep" or ctx.config.start_at == "beginning":
        return 0
    return _newest(ctx, feed) if newest is None else newest


def _newest(ctx: Context, feed: Feed) -> int:
    rows = ctx.fetch(queries.head(feed.query.table), {"after": 0})
    return int(rows[0]["id"] or 0) if rows else 0


def _restart(db: Database, ctx: Context, feed: Feed, cursor: int, newest: int) -> tuple[int, int]:
    """Start a feed over whose table now ends before its cursor, and say so.

    The table was emptied or restored from an older backup: its new rows reuse ids already
    read, so the feed would skip them all until the ids pass the cursor again. It starts over
    as a new feed would, in a new generation that gives its events other ids than the old rows'
    (which would otherwise be dropped as duplicates). The ``system.table_reset`` event is written
    with the new cursor, so a failure in between neither loses it nor repeats it.
    """
    table = feed.query.table
    ctx.generation += 1
    ctx.state.clear()
    ctx.state["generation"] = ctx.generation
    position = _initial(ctx, feed, newest)
    log.warning(
        "site %s: %s now ends before id %d, where the poller stopped: it was emptied or "
        "restored from an older backup. The poller starts it over after id %d.",
        ctx.site,
        table,
        cursor,
        position,
    )
    data = {"table": table, "max_id": newest, "previous_max_id": cursor, "restart_after": position}
    reset = ctx.event("system.table_reset", f"table_reset:{table}:{cursor}", data)
    return position, _commit(db, ctx, feed.name, Derived(events=[reset]), str(position))


def run_feed(db: Database, ctx: Context, feed: Feed) -> FeedResult:
    with db.read() as conn:
        ctx.state = get_state(conn, ctx.site, f"feed:{feed.name}")
    ctx.generation = int(ctx.state.get("generation", 0))
    before = copy.deepcopy(ctx.state)
    result = FeedResult(feed.name)
    if feed.mode == "snapshot":
        rows = ctx.fetch(feed.query, dict(feed.params))
        result.rows = len(rows)
        result.events = _commit(db, ctx, feed.name, feed.derive(ctx, rows), None, (None, before))
        return result
    position, result.events = _start(db, ctx, feed)
    limit = ctx.config.batch_size
    watched = _watched(ctx, feed)
    still_open: set[int] = set()  # from every page; the watched rows are re-read on the first
    for _ in range(MAX_PAGES):
        rows = ctx.fetch(feed.query, {**feed.params, "after": position, "limit": limit})
        derived = feed.derive(ctx, [*watched, *rows])
        full = len(rows) == limit
        if feed.mode == "sweep":
            new = int(rows[-1]["id"]) if full else 0
            if not full:
                ctx.state["learned"] = True
        else:
            new = int(rows[-1]["id"]) if rows else position
            still_open |= derived.open_ids
            ctx.state["open"] = sorted(still_open)[-MAX_WATCHED:]
        result.rows += len(rows) + len(watched)
        unchanged = (str(position), before)
        result.events += _commit(db, ctx, feed.name, derived, str(new), unchanged)
        before = copy.deepcopy(ctx.state)
        result.position = str(new)
        if feed.mode == "sweep" or not full:
            break
        position, watched = new, []
    return result


def _watched(ctx: Context, feed: Feed) -> list[Row]:
    """The feed's open rows from earlier cycles, read again by primary key."""
    ids = tuple(ctx.state.get("open") or ())
    if not ids:
        return []
    return ctx.fetch(queries.by_ids(feed.query.table), {"ids": ids, "limit": len(ids)})


OVERDUE_FEED = "overdue_invoices"
MAX_CATCH_UP_DAYS = 7


def run_overdue(db: Database, ctx: Context) -> FeedResult:
    """Invoices that crossed an aging bucket (1, 7, 14... days overdue) since the last run.

    The cursor is the last day handled. For each new day and bucket, the invoices due exactly
    ``bucket`` days earlier and still Unpaid are read through the ``duedate`` index.
    """
    result = FeedResult(OVERDUE_FEED)
    with db.read() as conn:
        stored = get_position(conn, ctx.site, OVERDUE_FEED)
    today = ctx.today
    last = date.fromisoformat(stored) if stored else today - timedelta(days=1)
    first = max(last + timedelta(days=1), today - timedelta(days=MAX_CATCH_UP_DAYS - 1))
    derived = Derived()
    day = first
    while day <= today:
        for bucket in ctx.config.thresholds.invoice_age_buckets_days:
            derived.events += _overdue_on(ctx, day - timedelta(days=bucket), bucket, result)
        day += timedelta(days=1)
    result.events = _commit(db, ctx, OVERDUE_FEED, derived, today.isoformat())
    result.position = today.isoformat()
    return result


def _overdue_on(ctx: Context, due: date, bucket: int, result: FeedResult) -> list[Any]:
    events: list[Any] = []
    after, limit = 0, ctx.config.batch_size
    for _ in range(MAX_PAGES):
        params = {"day": due, "status": "Unpaid", "after": after, "limit": limit}
        rows = ctx.fetch(queries.INVOICES_DUE_ON, params)
        result.rows += len(rows)
        for row in rows:
            events += billing.overdue_invoice(ctx, row, bucket).events
        if len(rows) < limit:
            break
        after = int(rows[-1]["id"])
    return events
