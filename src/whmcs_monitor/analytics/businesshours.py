"""Elapsed business time between two moments, for response times and SLAs.

A ticket opened on Friday at 16:30 and answered on Monday at 09:30 waited one business hour, not
65 hours; support teams are measured on the time they are staffed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from whmcs_monitor.analytics.config import BusinessHoursConfig


def business_seconds(start: datetime, end: datetime, hours: BusinessHoursConfig) -> float:
    """Seconds of business time in [start, end) (naive local times); 0 if end <= start."""
    if end <= start:
        return 0.0
    total = 0.0
    day = start.date()
    while day <= end.date():
        if day.weekday() in hours.weekdays:
            open_at = datetime.combine(day, hours.start)
            close_at = datetime.combine(day, hours.end)
            lo, hi = max(start, open_at), min(end, close_at)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total
