"""Forecasts: month-end revenue, the MRR trend and the time until a server is full.

All three are deliberately simple and explainable: a least-squares line through recent points,
and for revenue the days still to come filled with the median of their own weekday.
"""

from __future__ import annotations

import calendar
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class Trend:
    """A least-squares line: ``slope`` per unit of x, ``intercept`` at x = 0."""

    slope: float
    intercept: float
    points: int


def linear_trend(points: Sequence[tuple[float, float]]) -> Trend | None:
    """The least-squares line through (x, y) points; ``None`` with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    return Trend(slope, mean_y - slope * mean_x, n)


# Two of each weekday (the median of a single day is just that day): two weeks of history.
MIN_SAMPLES_PER_WEEKDAY = 2
MIN_HISTORY_DAYS = 7 * MIN_SAMPLES_PER_WEEKDAY


@dataclass(frozen=True, slots=True)
class MonthProjection:
    month_to_date: float
    projected_rest: float | None  # None: too little history to project
    days_left: int
    history_days: int

    @property
    def projected_total(self) -> float | None:
        if self.projected_rest is None:
            return None
        return self.month_to_date + self.projected_rest


def month_end_revenue(
    daily: Mapping[date, float], today: date, *, fraction_of_today_elapsed: float
) -> MonthProjection:
    """Revenue so far this month plus, for each day left, the median of that weekday's past days.

    ``daily`` holds net revenue per day (today's partial value included) from the first day with
    history: days before a shop's first transaction are unknown, not days without revenue, and
    zeros for them would drag every median down. The rest of today is projected as its weekday
    median times the fraction of the day still to come. Nothing is projected while a weekday has
    fewer than ``MIN_SAMPLES_PER_WEEKDAY`` past days.
    """
    month_start = today.replace(day=1)
    so_far = sum(v for d, v in daily.items() if month_start <= d <= today)
    history = [(d, v) for d, v in daily.items() if d < today]
    last_day = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    days_left = (last_day - today).days
    samples = {wd: [v for d, v in history if d.weekday() == wd] for wd in range(7)}
    if min(len(values) for values in samples.values()) < MIN_SAMPLES_PER_WEEKDAY:
        return MonthProjection(so_far, None, days_left, len(history))
    by_weekday = {wd: statistics.median(values) for wd, values in samples.items()}
    rest = by_weekday[today.weekday()] * max(0.0, 1.0 - fraction_of_today_elapsed)
    day = today + timedelta(days=1)
    while day <= last_day:
        rest += by_weekday[day.weekday()]
        day += timedelta(days=1)
    return MonthProjection(so_far, rest, days_left, len(history))


def days_until_full(accounts: int, capacity: int, net_growth_per_day: float) -> float | None:
    """Days until ``accounts`` reaches ``capacity`` at the current growth; ``None`` if never."""
    if accounts >= capacity:
        return 0.0
    if net_growth_per_day <= 0:
        return None
    return (capacity - accounts) / net_growth_per_day
