"""One refresh of a site: read every KPI family, record the values, raise anomaly events.

Reading happens first, outside any monitor transaction; the samples and events are then written in
one transaction, so a refresh that fails half-way leaves nothing behind. Event ids are
deterministic (see :mod:`detect`), so two instances refreshing the same site at once, or a retry,
store each anomaly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from whmcs_monitor.analytics.config import AnalyticsConfig
from whmcs_monitor.analytics.detect import Signal, detect
from whmcs_monitor.analytics.kpis import (
    capacity,
    marketing,
    orders,
    payments,
    recurring,
    revenue,
    support,
)
from whmcs_monitor.analytics.kpis.common import Connection, Context, Measure
from whmcs_monitor.catalog import Catalog
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store import metrics as metric_store
from whmcs_monitor.store.db import Database
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
class RefreshResult:
    measures: list[Measure]
    signals: list[Signal]
    new_events: int
    seconds: float


def local_now(config: AnalyticsConfig, now: datetime | None = None) -> datetime:
    """Now as the WHMCS server's naive local time (its DATETIME columns carry no zone)."""
    return (now or utcnow()).astimezone(config.zone).replace(tzinfo=None)


def collect(
    conn: Connection, ctx: Context, families: Sequence[str] = tuple(FAMILIES)
) -> list[Measure]:
    return [m for name in families for m in FAMILIES[name](conn, ctx)]


def refresh_site(
    db: Database,
    catalog: Catalog,
    *,
    site: str,
    whmcs: Connection,
    config: AnalyticsConfig,
    now: datetime | None = None,
) -> RefreshResult:
    """Compute, record and detect for one site; ``now`` (UTC) defaults to the clock."""
    started = time.perf_counter()
    at = now or utcnow()
    ctx = Context(local_now(config, at), config)
    measures = collect(whmcs, ctx)
    signals = detect(whmcs, ctx)
    samples = [metric_store.Sample(m.name, m.value, dict(m.labels), site, at) for m in measures]
    events = [
        build_event(
            catalog.get(s.kind),
            site=site,
            data=s.data,
            labels=s.labels,
            event_id=s.event_id,
            occurred_at=at,
        )
        for s in signals
    ]
    with db.write() as conn:
        metric_store.record(conn, samples)
        inserted = insert_events(conn, events) if events else set()
    return RefreshResult(measures, signals, len(inserted), time.perf_counter() - started)
