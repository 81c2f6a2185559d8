"""Time until a disk or its inodes are full, from a linear fit of the host check's recent
samples (least squares over ``forecast_window``); under ``forecast_days`` is a finding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from whmcs_monitor.checks.base import Finding
from whmcs_monitor.checks.host import HostCheck
from whmcs_monitor.store import metrics

MIN_POINTS = 4
RESOURCES = {"disk_pct": "disk space", "inodes_pct": "inodes"}


@dataclass(frozen=True, slots=True)
class Trend:
    slope_per_day: float
    last: float

    def days_to_full(self) -> float | None:
        """Days until 100 % at this rate; ``None`` when use is flat or falling."""
        if self.slope_per_day <= 0:
            return None
        return max(0.0, (100 - self.last) / self.slope_per_day)


def fit(points: list[tuple[datetime, float]]) -> Trend | None:
    """Least-squares line through (time, percent); ``None`` with too few points or no spread."""
    if len(points) < MIN_POINTS:
        return None
    origin = points[0][0]
    xs = [(ts - origin).total_seconds() / 86400 for ts, _ in points]
    ys = [value for _, value in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return Trend(slope, ys[-1])


def forecast_findings(conn: Connection, check: HostCheck, now: datetime) -> list[Finding]:
    """One finding per mount and resource predicted full within ``forecast_days``."""
    found = []
    labels = {"check": check.name, "type": check.type_name}
    for metric, resource in RESOURCES.items():
        for series in metrics.query(
            conn,
            f"check_{metric}",
            since=now - check.forecast_window,
            site=check.site,
            labels=labels,
        ):
            trend = fit(series.points)
            days = trend.days_to_full() if trend else None
            if days is None or days >= check.forecast_days:
                continue
            mount = series.labels.get("item", "?")
            data = {
                "host": check.host_label,
                "mount": mount,
                "resource": resource,
                "days_left": round(days, 1),
                "percent": round(series.points[-1][1]),
            }
            found.append(Finding("host.disk_full_forecast", f"{mount}:{metric}:{now:%Y%m%d}", data))
    return found
