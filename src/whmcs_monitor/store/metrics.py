"""Metric samples: raw points plus rollups, with retention.

A series is one (site, name, labels) combination, identified by a stable hash. Checks, the poller
and analytics write points with :func:`record`; the dashboard, rules and ``/metrics`` read them
with :func:`query` and :func:`latest`. :func:`rollup` folds raw points into 5-minute and hourly
buckets (recomputing a bucket is idempotent, so two instances doing it at once agree) and
:func:`prune` applies retention.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from whmcs_monitor.lib.timeutil import as_utc, utcnow
from whmcs_monitor.store.tables import metric_rollups, metric_samples, metric_series

RESOLUTIONS = (timedelta(minutes=5), timedelta(hours=1))
RAW_RETENTION = timedelta(days=8)
ROLLUP_RETENTION = {
    timedelta(minutes=5): timedelta(days=90),
    timedelta(hours=1): timedelta(days=800),
}


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)
    site: str = "monitor"
    ts: datetime | None = None


@dataclass(frozen=True, slots=True)
class Series:
    site: str
    name: str
    labels: dict[str, str]
    points: list[tuple[datetime, float]]


def series_id(site: str, name: str, labels: Mapping[str, str]) -> str:
    material = json.dumps([site, name, sorted(labels.items())], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def _insert(conn: Connection) -> type[postgresql.Insert] | type[sqlite.Insert]:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert  # type: ignore[return-value]


def record(conn: Connection, samples: Sequence[Sample]) -> None:
    """Store points (inside the caller's write transaction)."""
    if not samples:
        return
    now = utcnow()
    series_rows = {}
    point_rows = []
    for sample in samples:
        sid = series_id(sample.site, sample.name, sample.labels)
        series_rows[sid] = {
            "id": sid,
            "site": sample.site,
            "name": sample.name,
            "labels": dict(sample.labels),
        }
        point_rows.append({"series": sid, "ts": sample.ts or now, "value": float(sample.value)})
    insert = _insert(conn)
    conn.execute(
        insert(metric_series).on_conflict_do_nothing(index_elements=["id"]),
        list(series_rows.values()),
    )
    conn.execute(metric_samples.insert(), point_rows)


def _matching_series(
    conn: Connection, name: str, site: str | None, labels: Mapping[str, str] | None
) -> list[sa.Row[tuple[str, str, str, dict[str, str]]]]:
    stmt = sa.select(
        metric_series.c.id, metric_series.c.site, metric_series.c.name, metric_series.c.labels
    ).where(metric_series.c.name == name)
    if site is not None:
        stmt = stmt.where(metric_series.c.site == site)
    rows = conn.execute(stmt).all()
    wanted = dict(labels or {})
    return [r for r in rows if all(r.labels.get(k) == v for k, v in wanted.items())]


def query(
    conn: Connection,
    name: str,
    *,
    since: datetime,
    until: datetime | None = None,
    site: str | None = None,
    labels: Mapping[str, str] | None = None,
    resolution: timedelta | None = None,
) -> list[Series]:
    """Points of every matching series (a label subset matches); rollup averages at a resolution."""
    out = []
    for row in _matching_series(conn, name, site, labels):
        if resolution is None:
            stmt = sa.select(metric_samples.c.ts, metric_samples.c.value).where(
                metric_samples.c.series == row.id, metric_samples.c.ts >= since
            )
            if until is not None:
                stmt = stmt.where(metric_samples.c.ts < until)
            points = [(as_utc(ts), v) for ts, v in conn.execute(stmt.order_by(metric_samples.c.ts))]
        else:
            stmt = sa.select(
                metric_rollups.c.bucket, metric_rollups.c.sum, metric_rollups.c.count
            ).where(
                metric_rollups.c.series == row.id,
                metric_rollups.c.resolution == int(resolution.total_seconds()),
                metric_rollups.c.bucket >= since,
            )
            if until is not None:
                stmt = stmt.where(metric_rollups.c.bucket < until)
            points = [
                (as_utc(b), s / c)
                for b, s, c in conn.execute(stmt.order_by(metric_rollups.c.bucket))
                if c
            ]
        out.append(Series(row.site, row.name, dict(row.labels), points))
    return out


def latest(
    conn: Connection,
    name: str,
    *,
    site: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[tuple[Series, datetime, float]]:
    """The newest point of every matching series."""
    found = []
    for row in _matching_series(conn, name, site, labels):
        point = conn.execute(
            sa.select(metric_samples.c.ts, metric_samples.c.value)
            .where(metric_samples.c.series == row.id)
            .order_by(metric_samples.c.ts.desc())
            .limit(1)
        ).first()
        if point is not None:
            found.append(
                (Series(row.site, row.name, dict(row.labels), []), as_utc(point.ts), point.value)
            )
    return found


def _bucket(ts: datetime, resolution: timedelta) -> datetime:
    step = int(resolution.total_seconds())
    epoch = int(as_utc(ts).timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, tz=as_utc(ts).tzinfo)


def rollup(
    conn: Connection, *, now: datetime | None = None, lookback: timedelta | None = None
) -> int:
    """Recompute the rollup buckets touched in the last ``lookback``; returns buckets written."""
    now = now or utcnow()
    written = 0
    for resolution in RESOLUTIONS:
        start = _bucket(now - (lookback or 2 * resolution), resolution)
        rows = conn.execute(
            sa.select(metric_samples.c.series, metric_samples.c.ts, metric_samples.c.value).where(
                metric_samples.c.ts >= start
            )
        )
        buckets: dict[tuple[str, datetime], list[float]] = defaultdict(list)
        for series, ts, value in rows:
            buckets[(series, _bucket(ts, resolution))].append(value)
        if not buckets:
            continue
        insert = _insert(conn)
        values = [
            {
                "series": s,
                "resolution": int(resolution.total_seconds()),
                "bucket": b,
                "count": len(v),
                "sum": sum(v),
                "min": min(v),
                "max": max(v),
            }
            for (s, b), v in buckets.items()
        ]
        stmt = insert(metric_rollups)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["series", "resolution", "bucket"],
                set_={c: stmt.excluded[c] for c in ("count", "sum", "min", "max")},
            ),
            values,
        )
        written += len(values)
    return written


def prune(conn: Connection, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    conn.execute(metric_samples.delete().where(metric_samples.c.ts < now - RAW_RETENTION))
    for resolution, keep in ROLLUP_RETENTION.items():
        conn.execute(
            metric_rollups.delete().where(
                metric_rollups.c.resolution == int(resolution.total_seconds()),
                metric_rollups.c.bucket < now - keep,
            )
        )
