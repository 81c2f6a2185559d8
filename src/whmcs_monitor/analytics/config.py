"""The ``analytics`` section of the configuration: refresh cadence, business hours, SLAs, guards."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from whmcs_monitor.lib.durations import parse_duration

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
WEEKDAY_INDEX: dict[str, int] = {
    d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _duration(value: str) -> str:
    parse_duration(value)  # raises ValueError with a plain message
    return value


class BusinessHoursConfig(_Section):
    """The hours support is staffed; response times and SLAs count only these."""

    days: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS))
    start: time = time(9, 0)
    end: time = time(17, 0)

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("must be later than start")
        return value

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(WEEKDAY_INDEX[d] for d in self.days)


class SlaConfig(_Section):
    """First-response targets in business time, per ticket priority (WHMCS "urgency")."""

    first_response: dict[str, str] = Field(
        default_factory=lambda: {"High": "1h", "Medium": "4h", "Low": "8h"}
    )
    default: str = "8h"
    awaiting_statuses: list[str] = Field(default_factory=lambda: ["Open", "Customer-Reply"])
    closed_statuses: list[str] = Field(default_factory=lambda: ["Closed"], min_length=1)

    @field_validator("first_response")
    @classmethod
    def _durations(cls, value: dict[str, str]) -> dict[str, str]:
        for priority, text in value.items():
            try:
                parse_duration(text)
            except ValueError as exc:
                raise ValueError(f"{priority}: {exc}") from exc
        return value

    _default = field_validator("default")(_duration)

    def target(self, priority: str) -> timedelta:
        return parse_duration(self.first_response.get(priority, self.default))


class WeeklyReportConfig(_Section):
    """The weekly business report, sent to one of ``alerting.receivers``."""

    receiver: str | None = None  # none: no weekly report is sent
    weekday: int = Field(default=0, ge=0, le=6)  # 0 = Monday, in analytics.timezone
    hour: int = Field(default=8, ge=0, le=23)


class AnalyticsConfig(_Section):
    """How often KPIs refresh and when a deviation is worth an event."""

    enabled: bool = True
    interval_seconds: int = Field(default=300, ge=30, le=86_400)
    full_refresh_seconds: int = Field(default=1800, ge=60, le=7 * 86_400)
    timezone: str = "UTC"  # the WHMCS server's zone: its DATETIME columns are local, naive times
    baseline_weeks: int = Field(default=8, ge=2, le=52)
    revenue_min_baseline: float = Field(default=50.0, ge=0)
    revenue_min_relative: float = Field(default=0.4, gt=0, le=10)
    failed_payment_min_attempts: int = Field(default=20, ge=1, le=1_000_000)
    failed_payment_min_ratio: float = Field(default=3.0, gt=1, le=1000)
    failed_payment_window_hours: int = Field(default=6, ge=1, le=168)
    churn_min_baseline: float = Field(default=3.0, ge=0)
    conversion_min_orders: int = Field(default=20, ge=1, le=1_000_000)
    abandoned_after: str = "3d"
    mrr_change_min_relative: float = Field(default=0.1, gt=0, le=10)
    capacity_warn_days: int = Field(default=30, ge=1, le=3650)
    capacity_growth_days: int = Field(default=30, ge=7, le=365)
    business_hours: BusinessHoursConfig = Field(default_factory=BusinessHoursConfig)
    sla: SlaConfig = Field(default_factory=SlaConfig)
    weekly_report: WeeklyReportConfig = Field(default_factory=WeeklyReportConfig)

    _abandoned = field_validator("abandoned_after")(_duration)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a known time zone (like Europe/Berlin)") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
