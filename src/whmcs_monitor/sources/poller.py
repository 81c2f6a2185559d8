"""One poll cycle per site, the outage handling around it, and the loop that schedules cycles.

A cycle opens one read-only connection, runs every feed, the overdue-invoice pass and the
reconciliation, then closes it. If the WHMCS database cannot be reached (or goes away in the
middle), the cycle stops where it is: cursors only move with the events they cover, so the next
successful cycle resumes exactly there. The first failure of an outage emits one
``system.database_unreachable`` event; retries back off exponentially up to
``poller.backoff_max_seconds``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from whmcs_monitor.config import SiteConfig
from whmcs_monitor.events.model import Event
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services
from whmcs_monitor.sources import reconcile
from whmcs_monitor.sources.derive import Context, iso
from whmcs_monitor.sources.feeds import FEEDS, OVERDUE_FEED, FeedResult, run_feed, run_overdue
from whmcs_monitor.sources.queries import Query
from whmcs_monitor.sources.state import clear_state, get_state, set_state
from whmcs_monitor.sources.whmcs_db import (
    Connection,
    Row,
    WhmcsDatabaseError,
    describe_error,
    fetch,
    session,
    unreachable_errors,
)
from whmcs_monitor.store.events import insert_events

log = logging.getLogger(__name__)
OUTAGE_KEY = "outage"
RECONCILE_KEY = "reconcile"
# MySQL errors that concern one query (a missing table or column, a missing grant), not the
# server: the step is skipped and reported, the rest of the cycle goes on.
QUERY_ERROR_CODES = {1054, 1142, 1143, 1146}


@dataclass
class CycleReport:
    site: str
    ok: bool
    skipped: bool = False
    error: str | None = None
    feeds: list[FeedResult] = field(default_factory=list)
    feed_errors: dict[str, str] = field(default_factory=dict)
    events: int = 0


def poll_site(
    services: Services, site: SiteConfig, *, now: datetime | None = None, force: bool = False
) -> CycleReport:
    """Run one cycle for ``site`` unless it is backing off after an outage (``force`` ignores it)."""
    assert site.database is not None
    now = now or utcnow()
    report = CycleReport(site=site.id, ok=False)
    with services.db.read() as conn:
        outage = get_state(conn, site.id, OUTAGE_KEY)
    if backing_off(outage, now, force):
        report.skipped, report.error = True, outage.get("error")
        return report
    cfg = site.database
    try:
        with session(cfg, timeout=services.settings.poller.connect_timeout_seconds) as whmcs:
            _run_cycle(services, site.id, whmcs, now, report)
    except WhmcsDatabaseError as exc:
        record_outage(services, site.id, str(exc), outage, now, report)
        return report
    except unreachable_errors() as exc:
        record_outage(services, site.id, describe_error(exc, cfg), outage, now, report)
        return report
    if outage:
        record_recovery(services, site.id, outage, now)
    report.ok = True
    report.events = sum(f.events for f in report.feeds)
    return report


def _context(services: Services, site: str, whmcs: Connection, now: datetime) -> Context:
    def run(query: Query, params: dict[str, Any]) -> list[Row]:
        return fetch(whmcs, query.sql, params)

    return Context(
        site=site,
        catalog=services.catalog,
        config=services.settings.poller,
        now=now,
        fetch=run,
    )


def _run_cycle(
    services: Services, site: str, whmcs: Connection, now: datetime, report: CycleReport
) -> None:
    db = services.db
    steps: list[tuple[str, Callable[[], FeedResult]]] = [
        *((f.name, partial(run_feed, db, _context(services, site, whmcs, now), f)) for f in FEEDS),
        (OVERDUE_FEED, partial(run_overdue, db, _context(services, site, whmcs, now))),
        *(
            (name, partial(_reconcile, services, site, whmcs, now, name, check))
            for name, check in reconcile.CHECKS
        ),
    ]
    for name, step in steps:
        _run_step(report, site, name, step)


def _run_step(report: CycleReport, site: str, name: str, step: Callable[[], FeedResult]) -> None:
    """Run one step; a query error (missing table, column or grant) skips that step alone.

    MySQL reports a missing grant as an OperationalError, the class of a lost server: caught
    higher up, it would pass for an outage and stop the whole cycle.
    """
    import pymysql  # loaded by the open connection already

    try:
        report.feeds.append(step())
    except pymysql.err.MySQLError as exc:
        if not (exc.args and exc.args[0] in QUERY_ERROR_CODES):
            raise
        report.feed_errors[name] = str(exc.args[1] if len(exc.args) > 1 else exc)
        log.warning("site %s: %s skipped: %s", site, name, exc)


def _reconcile(
    services: Services,
    site: str,
    whmcs: Connection,
    now: datetime,
    name: str,
    check: reconcile.Check,
) -> FeedResult:
    """One reconciliation check; they share one state row, each under its own keys."""
    ctx = _context(services, site, whmcs, now)
    with services.db.read() as conn:
        ctx.state = get_state(conn, site, RECONCILE_KEY)
    events = check(services.db, ctx)
    with services.db.write() as conn:
        inserted = insert_events(conn, events)
        set_state(conn, site, RECONCILE_KEY, ctx.state, now)
    return FeedResult(name, events=len(inserted))


def record_outage(
    services: Services,
    site: str,
    error: str,
    outage: dict[str, Any],
    now: datetime,
    report: CycleReport,
    *,
    kind: str = "system.database_unreachable",
    key: str = OUTAGE_KEY,
) -> None:
    """Remember the outage, back off, and emit the unreachable event once per outage."""
    settings = services.settings.poller
    attempts = int(outage.get("attempts", 0)) + 1
    delay = min(settings.backoff_max_seconds, settings.interval_seconds * 2 ** (attempts - 1))
    since = outage.get("since") or iso(now)
    state = {
        "since": since,
        "error": error,
        "attempts": attempts,
        "retry_at": (now + timedelta(seconds=delay)).isoformat(),
    }
    data = {"error": error, "since": since, "attempts": attempts}
    event = _outage_event(services, site, kind, key, data, now, f"poll:{key}:{since}")
    with services.db.write() as conn:
        insert_events(conn, [event])
        set_state(conn, site, key, state, now)
    log.warning("WHMCS %s of site %s unreachable (attempt %d): %s", key, site, attempts, error)
    report.error = error


def _outage_event(
    services: Services,
    site: str,
    kind: str,
    key: str,
    data: dict[str, Any],
    now: datetime,
    event_id: str,
) -> Event:
    return build_event(
        services.catalog.get(kind),
        site=site,
        data=data,
        occurred_at=now,
        event_id=event_id,
        context={"origin": "whmcs-db" if key == OUTAGE_KEY else "whmcs-api"},
    )


def record_recovery(
    services: Services,
    site: str,
    outage: dict[str, Any],
    now: datetime,
    *,
    kind: str = "system.database_reachable",
    key: str = OUTAGE_KEY,
) -> None:
    """End the outage with an event: it is what resolves the outage's alert, since the
    unreachable event came once and a timeout would say "resolved" while it is still down."""
    since = outage.get("since") or iso(now)
    data = {"since": since, "error": outage.get("error", "")}
    event = _outage_event(services, site, kind, key, data, now, f"poll:{key}:{since}:recovered")
    with services.db.write() as conn:
        insert_events(conn, [event])
        clear_state(conn, site, key)
    log.info("WHMCS %s of site %s is reachable again", key, site)


def backing_off(outage: dict[str, Any], now: datetime, force: bool) -> bool:
    return bool(outage) and not force and now < datetime.fromisoformat(outage["retry_at"])
