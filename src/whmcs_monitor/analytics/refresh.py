"""One refresh of a site: read every KPI family, record the values, raise anomaly events.

The samples and events are written in one transaction after WHMCS has been read, so a refresh
that fails half-way leaves nothing behind. A detector that fails is logged and noted in the result
instead: the KPIs do not depend on it. Event ids are
deterministic (see :mod:`detect`), so two instances refreshing the same site at once, or a retry,
store each anomaly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from whmcs_monitor.analytics.config import AnalyticsConfig
from whmcs_monitor.analytics.detect import DETECTORS, FAST_DETECTORS, Detector, Signal, detect
from whmcs_monitor.analytics.kpis import (
    capacity,
    marketing,
    orders,
    payments,
    recurring,
    revenue,
    support,
)
from whmcs_monitor.analytics.kpis.common import PERIODS, Connection, Context, Measure
from whmcs_monitor.catalog import Catalog
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store import metrics as metric_store
from whmcs_monitor.store.db import Database, advisory_lock, lock_key
from whmcs_monitor.store.events import insert_events

Family = Callable[[Connection, Context], list[Measure]]
FAMILIES: dict[str, Family] = {
    "revenue": revenue.measure,
    "recurring": recurring.measure,
    "orders": orders.measure,
    "payments": payments.measure,
    "support": support.measure,
    "capacity": capacity.measure,
    "marketing": marketing.measure,
}


@dataclass(frozen=True, slots=True)
class Scope:
    """What one refresh computes: which KPI families, over which periods, with which detectors."""

    name: str
    families: tuple[str, ...]
    periods: tuple[str, ...]
    detectors: tuple[Detector, ...]


# Everything: each family over day, week and month, every detector.
FULL = Scope("full", tuple(FAMILIES), PERIODS, DETECTORS)
# Between full refreshes: what moves within minutes, over today only. Recurring revenue and
# capacity hang on DATE columns and whole-table scans; they follow on the next full refresh.
INCREMENTAL = Scope(
    "incremental",
    ("revenue", "orders", "payments", "support", "marketing"),
    ("day",),
    FAST_DETECTORS,
)


@dataclass(frozen=True, slots=True)
class RefreshResult:
    scope: str
    measures: list[Measure]
    signals: list[Signal]
    notes: list[str]  # detectors that could not judge, and why
    new_events: int
    seconds: float


def local_now(config: AnalyticsConfig, now: datetime | None = None) -> datetime:
    """Now as the WHMCS server's naive local time (its DATETIME columns carry no zone)."""
    return (now or utcnow()).astimezone(config.zone).replace(tzinfo=None)


def collect(
    conn: Connection, ctx: Context, families: Sequence[str] = tuple(FAMILIES)
) -> list[Measure]:
    return [m for name in families for m in FAMILIES[name](conn, ctx)]


# Each refresh records how long it took: the monitor's own health, and the freshness marker.
REFRESH_METRIC = "analytics_refresh_seconds"


def last_refresh(conn: sa.Connection, site: str, scope: str | None = None) -> datetime | None:
    """When this site was last refreshed (with ``scope``, by a refresh of that scope)."""
    labels = {"scope": scope} if scope else None
    found = [ts for _, ts, _ in metric_store.latest(conn, REFRESH_METRIC, site=site, labels=labels)]
    return max(found, default=None)


def _fresh(conn: sa.Connection, site: str, at: datetime, min_interval: timedelta) -> bool:
    last = last_refresh(conn, site)
    return last is not None and last > at - min_interval


def refresh_site(
    db: Database,
    catalog: Catalog,
    *,
    site: str,
    whmcs: Connection,
    config: AnalyticsConfig,
    now: datetime | None = None,
    min_interval: timedelta | None = None,
    scope: Scope = FULL,
) -> RefreshResult | None:
    """Compute, record and detect for one site; ``now`` (UTC) defaults to the clock.

    With ``min_interval``, a site refreshed more recently than that (by this or another instance
    sharing the database) is skipped and ``None`` returned. WHMCS is read outside the monitor's
    write transaction (on SQLite that transaction blocks ingest); the freshness check is repeated
    under a per-site lock just before writing, so two instances racing write only once.
    """
    started = time.perf_counter()
    at = now or utcnow()
    if min_interval is not None:
        with db.read() as conn:
            if _fresh(conn, site, at, min_interval):
                return None
    ctx = Context(local_now(config, at), config, periods=scope.periods)
    measures = collect(whmcs, ctx, scope.families)
    detection = detect(whmcs, ctx, scope.detectors)
    samples = [metric_store.Sample(m.name, m.value, dict(m.labels), site, at) for m in measures]
    elapsed = time.perf_counter() - started
    samples.append(metric_store.Sample(REFRESH_METRIC, elapsed, {"scope": scope.name}, site, at))
    events = [
        build_event(
            catalog.get(s.kind),
            site=site,
            data=s.data,
            labels=s.labels,
            event_id=s.event_id,
            occurred_at=at,
        )
        for s in detection.signals
    ]
    with db.write() as conn:
        advisory_lock(conn, lock_key("analytics", site))  # one instance refreshes a site
        if min_interval is not None and _fresh(conn, site, at, min_interval):
            return None
        metric_store.record(conn, samples)
        inserted = insert_events(conn, events) if events else set()
    return RefreshResult(
        scope.name, measures, detection.signals, detection.notes, len(inserted), elapsed
    )
