"""What every KPI family shares: the measurement type, the time windows and a row reader."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from whmcs_monitor.analytics.config import AnalyticsConfig

PERIODS = ("day", "week", "month")
# Months per WHMCS billing cycle; "Free Account" and "One Time" are deliberately absent.
CYCLE_MONTHS: dict[str, int] = {
    "Monthly": 1,
    "Quarterly": 3,
    "Semi-Annually": 6,
    "Annually": 12,
    "Biennially": 24,
    "Triennially": 36,
}
# SQL fragment: the number of months in ``{col}``'s billing cycle (NULL for free and one-time).
MONTHS_SQL = (
    "CASE {col} "
    + " ".join(f"WHEN '{name}' THEN {months}" for name, months in CYCLE_MONTHS.items())
    + " END"
)
LIVE = ("Active", "Suspended")
ENDED = ("Cancelled", "Terminated")


class Cursor(Protocol):
    description: Any

    def execute(self, query: str, args: Any = ...) -> int: ...
    def fetchall(self) -> Sequence[Any]: ...
    def close(self) -> None: ...


class Connection(Protocol):
    """The part of a DB-API connection (PyMySQL) the KPIs use."""

    def cursor(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Measure:
    """One KPI value; ``name`` is a metric name documented in docs/analytics.md."""

    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Context:
    """When "now" is, in the WHMCS server's local time (its DATETIME columns are naive local)."""

    now: datetime
    config: AnalyticsConfig
    periods: tuple[str, ...] = PERIODS
    fixed: Mapping[str, tuple[datetime, datetime]] = field(default_factory=dict)
    # Results shared by a KPI family and a detector within one refresh (read once, used twice).
    memo: dict[str, Any] = field(default_factory=dict, compare=False)

    def window(self, period: str) -> tuple[datetime, datetime]:
        """The period-to-date window ``[start, now)`` for ``day``, ``week`` (from Monday), ``month``.

        A report over a closed period passes its window in ``fixed`` under its own period name.
        """
        if period in self.fixed:
            return self.fixed[period]
        midnight = datetime.combine(self.now.date(), datetime.min.time())
        if period == "day":
            return midnight, self.now
        if period == "week":
            return midnight - timedelta(days=self.now.weekday()), self.now
        if period == "month":
            return midnight.replace(day=1), self.now
        raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")


def fetch(
    conn: Connection, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()
) -> list[dict[str, Any]]:
    """Run one SELECT and return its rows as dicts keyed by column name."""
    cur = conn.cursor()
    try:
        cur.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [
            dict(zip(names, row, strict=True)) if not isinstance(row, dict) else row
            for row in cur.fetchall()
        ]
    finally:
        cur.close()


def num(value: Any) -> float:
    """A numeric column as float: NULL is 0, Decimal is converted."""
    if value is None:
        return 0.0
    if isinstance(value, Decimal):
        return float(value)
    return float(value)


def moment(value: Any) -> datetime | None:
    """A DATETIME or DATE column, or ``None`` for NULL and MySQL zero dates (read as strings)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    return None


def date_bounds(start: datetime, end: datetime) -> tuple[date, date]:
    """The window [start, end) as half-open bounds ``first <= column < after`` for a DATE column:
    a window ending part-way through a day includes that day, one ending at midnight does not
    (the next window starts there)."""
    after = end.date() if end.time() == time() else end.date() + timedelta(days=1)
    return start.date(), after


def ratio(part: float, whole: float) -> float | None:
    """``part / whole``, or ``None`` over an empty whole: no orders is not a 0% conversion rate."""
    return part / whole if whole else None


def ratio_measures(ratios: Mapping[str, float | None], labels: Mapping[str, str]) -> list[Measure]:
    """The defined ratios as measures. One over an empty period is left out, not stored as 0: a
    threshold on it would fire every quiet night, and a report would show a collapse."""
    return [Measure(name, value, labels) for name, value in ratios.items() if value is not None]


def first_id_since(conn: Connection, table: str, since: datetime, *, missing: int = 0) -> int:
    """The first ``id`` of ``table`` dated at or after ``since``, by bisecting the primary key.

    Log tables such as tblgatewaylog have no index on ``date`` but append in time order, so a
    binary search over ``id`` (about 20 point reads for a million rows) replaces a full scan.
    When no row is that recent the result is one past the last id (``missing`` if the table is
    empty), so ``id < first_id_since(end)`` bounds a window from above.
    """
    bounds = fetch(conn, f"SELECT MIN(id) AS lo, MAX(id) AS hi FROM {table}")[0]
    if bounds["lo"] is None:
        return missing
    lo, hi = int(bounds["lo"]), int(bounds["hi"]) + 1
    while lo < hi:
        mid = (lo + hi) // 2
        row = fetch(
            conn, f"SELECT id, date FROM {table} WHERE id >= %s ORDER BY id LIMIT 1", (mid,)
        )
        found = moment(row[0]["date"]) if row else None
        if not row or (found is not None and found >= since):
            hi = mid
        else:
            lo = int(row[0]["id"]) + 1
    return lo
