"""Scheduled maintenance windows (one-off, weekly or cron) that mute matching alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from whmcs_monitor.alerting.candidates import Candidate
from whmcs_monitor.alerting.config import MaintenanceWindow
from whmcs_monitor.alerting.matchers import matches_all
from whmcs_monitor.alerting.types import WEEKDAYS


def window_end(window: MaintenanceWindow, now: datetime) -> datetime | None:
    """When the occurrence of ``window`` that contains ``now`` ends, or ``None`` if none does."""
    zone = ZoneInfo(window.timezone)
    local = now.astimezone(zone)
    if window.start is not None and window.end is not None:
        start = window.start if window.start.tzinfo else window.start.replace(tzinfo=zone)
        end = window.end if window.end.tzinfo else window.end.replace(tzinfo=zone)
        return end if start <= now < end else None
    if window.cron is not None and window.duration is not None:
        began = croniter(window.cron, local + timedelta(seconds=1)).get_prev(datetime)
        end = began + window.duration
        return end if began <= local < end else None
    assert window.from_time is not None and window.until_time is not None
    for back in (0, 1):  # an overnight window may have started yesterday
        day = (local - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)
        if WEEKDAYS[day.weekday()] not in window.days:
            continue
        start = day.replace(hour=window.from_time.hour, minute=window.from_time.minute)
        end = day.replace(hour=window.until_time.hour, minute=window.until_time.minute)
        if end <= start:
            end += timedelta(days=1)
        if start <= local < end:
            return end
    return None


class Maintenance:
    def __init__(self, windows: Sequence[MaintenanceWindow], now: datetime) -> None:
        self.active = [(w, end) for w in windows if (end := window_end(w, now)) is not None]

    def mutes(self, candidate: Candidate) -> str | None:
        for window, end in self.active:
            if matches_all(window.match, candidate.labels):
                return f"maintenance window {window.name} until {end:%Y-%m-%d %H:%M %Z}"
        return None
