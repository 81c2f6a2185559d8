"""Decide whether a value is anomalous against its baseline, and say so in plain words.

Two shapes of test cover the KPIs: :func:`level_anomaly` for amounts and counts ("revenue so far
today is 62% below a typical Tuesday at this hour") and :func:`rate_anomaly` for ratios ("the failed
payment rate at Stripe is 5x its usual"). Both refuse to judge below a minimum volume, so a quiet
site with three orders a day does not page anyone when one is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from whmcs_monitor.analytics.baseline import Baseline

Direction = Literal["above", "below"]


@dataclass(frozen=True, slots=True)
class LevelRule:
    """When a level is anomalous: far from the median in robust units AND in relative terms."""

    min_baseline: float  # the minimum-volume guard: a smaller median is too quiet to judge
    min_relative: float = 0.4  # at least this far from the median, as a fraction of it
    min_spreads: float = 3.0  # and at least this many scaled MADs away
    directions: tuple[Direction, ...] = ("below", "above")


@dataclass(frozen=True, slots=True)
class RateRule:
    """When a rate is anomalous: enough attempts, and a multiple of its usual value."""

    min_attempts: int  # the minimum-volume guard
    min_ratio: float = 3.0
    min_rate: float = 0.05  # ignore tiny absolute rates even at a high multiple
    floor: float = 0.01  # a usual rate of 0 is treated as this, so the ratio stays finite


@dataclass(frozen=True, slots=True)
class Finding:
    """One anomaly: what was seen, what was expected, and a sentence saying it."""

    direction: Direction
    actual: float
    expected: float
    message: str
    baseline: Baseline

    def explain(self) -> dict[str, object]:
        return {
            "direction": self.direction,
            "actual": round(self.actual, 4),
            "expected": round(self.expected, 4),
            "baseline": self.baseline.explain(),
        }


def level_anomaly(
    actual: float, baseline: Baseline, rule: LevelRule, *, what: str, typical: str
) -> Finding | None:
    """``what`` is the subject ("revenue so far today"), ``typical`` the comparison ("a typical
    Tuesday at this hour")."""
    expected = baseline.median
    # A usual level of zero or less gives no percentage to state: it is not judged, even when the
    # minimum-volume guard is configured as 0.
    if expected <= 0 or expected < rule.min_baseline:
        return None
    gap = actual - expected
    direction: Direction = "above" if gap > 0 else "below"
    if direction not in rule.directions:
        return None
    if abs(gap) < rule.min_relative * expected or abs(gap) < rule.min_spreads * baseline.spread:
        return None
    percent = round(abs(gap) / expected * 100)
    message = f"{what} is {percent}% {direction} {typical}"
    return Finding(direction, actual, expected, message, baseline)


def rate_anomaly(
    rate: float, attempts: int, baseline: Baseline, rule: RateRule, *, what: str
) -> Finding | None:
    """An upward spike of a rate ("the failed payment rate at Stripe is 5x its usual")."""
    if attempts < rule.min_attempts or rate < rule.min_rate:
        return None
    usual = max(baseline.median, rule.floor)
    ratio = rate / usual
    if ratio < rule.min_ratio:
        return None
    shown = f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x".replace(".0x", "x")
    message = f"{what} is {shown} its usual ({rate:.1%} vs {baseline.median:.1%})"
    return Finding("above", rate, baseline.median, message, baseline)
