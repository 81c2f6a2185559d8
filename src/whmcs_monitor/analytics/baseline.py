"""Robust seasonal baselines: the median and MAD of the same weekday and hour in past weeks.

A business has a weekly rhythm (weekend dips, a Monday rush), so "usual" for a Tuesday at 15:00 is
the Tuesdays at 15:00 of the last few weeks, not yesterday. The median and the median absolute
deviation resist the odd outlier week (a sale, an outage) that would drag a mean and a standard
deviation.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# MAD * 1.4826 estimates the standard deviation of normally distributed data.
MAD_SCALE = 1.4826
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Baseline:
    """What is usual: the median of ``samples`` with its robust spread."""

    samples: tuple[float, ...]
    median: float
    mad: float
    description: str

    @property
    def spread(self) -> float:
        """The MAD scaled to be comparable with a standard deviation."""
        return self.mad * MAD_SCALE

    def explain(self) -> dict[str, object]:
        """The baseline as an anomaly event carries it, so a reader can check the claim."""
        return {
            "method": "median and MAD of past values at the same weekday and hour",
            "description": self.description,
            "samples": [round(s, 4) for s in self.samples],
            "median": round(self.median, 4),
            "mad": round(self.mad, 4),
        }


def robust(samples: Sequence[float], description: str) -> Baseline:
    """The median and MAD of ``samples`` (at least one value)."""
    if not samples:
        raise ValueError("a baseline needs at least one sample")
    median = statistics.median(samples)
    mad = statistics.median(abs(s - median) for s in samples)
    return Baseline(tuple(samples), median, mad, description)


def same_slot_past_weeks(now: datetime, weeks: int) -> list[datetime]:
    """The same weekday and time of day in each of the ``weeks`` previous weeks, newest first."""
    return [now - timedelta(weeks=n) for n in range(1, weeks + 1)]


def slot_name(now: datetime) -> str:
    """``"Tuesday at this hour"``-style wording for messages."""
    return f"{WEEKDAYS[now.weekday()]} at this hour"
