"""What the dashboard, the API and the CLI show about checks, as plain dicts: each check with its
state, a latency series, and uptime over 24 h, 7 d and 30 d computed from the stored samples."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.checks.config import HeartbeatConfig
from whmcs_monitor.checks.heartbeats import whmcs_cron_snippet
from whmcs_monitor.checks.tables import check_state, heartbeats
from whmcs_monitor.config import Settings
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import as_utc, utcnow
from whmcs_monitor.store import metrics
from whmcs_monitor.store.tables import metric_rollups, metric_samples

UPTIME_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
HOUR = timedelta(hours=1)


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _check_dict(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "site": row.site,
        "type": row.type,
        "target": row.target,
        "origin": row.origin,
        "state": row.state,
        "last_status": row.last_status,
        "message": row.last_message,
        "latency_ms": row.last_latency_ms,
        "metrics": dict(row.last_metrics or {}),
        "last_run_at": _iso(row.last_run_at),
        "next_run_at": _iso(row.next_run_at),
        "last_change_at": _iso(row.last_change_at),
        "down_since": _iso(row.down_since),
    }


def _up_series(row: Any) -> str:
    return metrics.series_id(row.site, "check_up", {"check": row.name, "type": row.type})


def _floor_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def uptime(
    conn: Connection, rows: Sequence[Any], now: datetime
) -> dict[str, dict[str, float | None]]:
    """Percent of runs that answered, per check and window (``None`` without any run).

    Raw samples are kept 8 days, so 24 h and 7 d read them directly; 30 d adds hourly rollups
    for the part older than a day to the raw samples of the last day.
    """
    ids = {_up_series(row): row.name for row in rows}
    totals: dict[str, dict[str, tuple[float, int]]] = {row.name: {} for row in rows}
    if not ids:
        return {}
    cut = _floor_hour(now - UPTIME_WINDOWS["24h"])
    for window, length in UPTIME_WINDOWS.items():
        since = now - length
        raw_from = since if window != "30d" else cut
        for series, total, count in conn.execute(
            sa.select(
                metric_samples.c.series,
                sa.func.sum(metric_samples.c.value),
                sa.func.count(),
            )
            .where(metric_samples.c.series.in_(list(ids)), metric_samples.c.ts >= raw_from)
            .group_by(metric_samples.c.series)
        ):
            totals[ids[series]][window] = (float(total or 0), int(count))
    for series, total, count in conn.execute(
        sa.select(
            metric_rollups.c.series,
            sa.func.sum(metric_rollups.c.sum),
            sa.func.sum(metric_rollups.c.count),
        )
        .where(
            metric_rollups.c.series.in_(list(ids)),
            metric_rollups.c.resolution == int(HOUR.total_seconds()),
            metric_rollups.c.bucket >= now - UPTIME_WINDOWS["30d"],
            metric_rollups.c.bucket < cut,
        )
        .group_by(metric_rollups.c.series)
    ):
        raw_total, raw_count = totals[ids[series]].get("30d", (0.0, 0))
        totals[ids[series]]["30d"] = (raw_total + float(total or 0), raw_count + int(count or 0))
    return {
        name: {
            window: round(100 * by_window[window][0] / by_window[window][1], 3)
            if by_window.get(window) and by_window[window][1]
            else None
            for window in UPTIME_WINDOWS
        }
        for name, by_window in totals.items()
    }


def list_checks(conn: Connection, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every scheduled check with its state and uptime, down ones first, then by name."""
    now = now or utcnow()
    rows = conn.execute(sa.select(check_state).order_by(check_state.c.name)).all()
    up = uptime(conn, rows, now)
    order = {"down": 0, "degraded": 1, "unknown": 2, "up": 3}
    out = [{**_check_dict(row), "uptime": up.get(row.name, {})} for row in rows]
    return sorted(out, key=lambda c: (order.get(c["state"], 9), c["name"]))


def check_detail(
    conn: Connection,
    name: str,
    *,
    since: timedelta = timedelta(hours=24),
    now: datetime | None = None,
) -> dict[str, Any]:
    """One check with its latency series (raw points up to 7 d, hourly averages beyond)."""
    now = now or utcnow()
    row = conn.execute(sa.select(check_state).where(check_state.c.name == name)).first()
    if row is None:
        raise InputError(f"no check named {name!r}", status=404)
    resolution = None if since <= timedelta(days=7) else HOUR
    series = metrics.query(
        conn,
        "check_latency_ms",
        since=now - since,
        site=row.site,
        labels={"check": row.name, "type": row.type},
        resolution=resolution,
    )
    points = [[ts.isoformat(), value] for s in series for ts, value in s.points]
    return {
        **_check_dict(row),
        "uptime": uptime(conn, [row], now).get(row.name, {}),
        "latency": points,
    }


def list_heartbeats(conn: Connection, settings: Settings) -> list[dict[str, Any]]:
    """Configured heartbeats with their state; tokens are not included (they are credentials)."""
    rows = {row.name: row for row in conn.execute(sa.select(heartbeats))}
    out = []
    for hb in settings.checks.heartbeats:
        row = rows.get(hb.name)
        out.append(
            {
                "name": hb.name,
                "site": hb.site,
                "schedule": hb.cron or f"every {hb.period}",
                "tz": hb.tz,
                "grace_seconds": hb.grace.total_seconds(),
                "state": row.state if row else "new",
                "pings": row.pings if row else 0,
                "last_ping_at": _iso(row.last_ping_at) if row else None,
                "next_due_at": _iso(row.next_due_at) if row else None,
                "last_duration_s": row.last_duration_s if row else None,
                "last_exit_code": row.last_exit_code if row else None,
            }
        )
    return out


def heartbeat_snippet(settings: Settings, name: str, whmcs_root: str) -> str:
    """The crontab line for the WHMCS cron with pings (shown to admins only: it holds the token)."""
    hb: HeartbeatConfig | None = next(
        (h for h in settings.checks.heartbeats if h.name == name), None
    )
    if hb is None:
        raise InputError(f"no heartbeat named {name!r} in checks.heartbeats", status=404)
    base = settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}"
    return whmcs_cron_snippet(hb, base, whmcs_root)
