"""The ``poller:`` section of the configuration: how often, how much, and what counts as a problem.

The activity-log text patterns live here, not in code, because WHMCS words its log lines
differently from one version to the next; an operator can add a pattern without a release.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ACTIVITY_KINDS = (
    "security.admin_login_failed",
    "security.client_login_failed",
    "security.password_reset_requested",
    "email.send_failed",
    "email.admin_notification_failed",
    "module.command_failed_logged",
)

DEFAULT_PATTERNS: dict[str, list[str]] = {
    "security.admin_login_failed": [
        r"^Failed Admin Login Attempt - Username: (?P<username>\S+)",
        r"^Failed Admin Login Attempt - IP: (?P<ip>\S+)",
    ],
    "security.client_login_failed": [
        r"^Failed Login Attempt - User ID: (?P<userid>\d+)",
    ],
    "security.password_reset_requested": [r"^Password Reset Requested"],
    "email.send_failed": [
        r"^Email Sending Failed - (?P<failure_reason>.*?) \(User ID: (?P<userid>\d+)"
        r" - Subject: (?P<subject>.*)\)$",
    ],
    "email.admin_notification_failed": [
        r"^Admin Email Notification Sending Failed - (?P<error>.*)$",
    ],
    "module.command_failed_logged": [
        r"^Module (?P<action>\w+) Failed - Service ID: (?P<service_id>\d+) - Error: (?P<error>.*)$",
    ],
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PollerThresholds(_Section):
    cron_stale_minutes: int = Field(default=120, ge=5, le=10_080)
    daily_stale_hours: int = Field(default=25, ge=1, le=720)
    task_overdue_minutes: int = Field(default=60, ge=1, le=10_080)
    task_stuck_minutes: int = Field(default=60, ge=1, le=10_080)
    email_queue_stuck_minutes: int = Field(default=30, ge=1, le=10_080)
    module_queue_retries: int = Field(default=3, ge=1, le=1000)
    order_pending_hours: int = Field(default=24, ge=1, le=8760)
    transfer_pending_days: int = Field(default=7, ge=1, le=365)
    domain_expiry_days: list[int] = Field(default_factory=lambda: [30, 14, 7, 1])
    invoice_age_buckets_days: list[int] = Field(default_factory=lambda: [1, 7, 14, 30, 60, 90])
    ticket_sla_hours: dict[str, int] = Field(
        default_factory=lambda: {"High": 2, "Medium": 8, "Low": 24}
    )
    forwarder_silent_minutes: int = Field(default=30, ge=5, le=10_080)
    forwarder_silent_min_rows: int = Field(default=3, ge=1, le=1000)
    heartbeat_silent_minutes: int = Field(default=30, ge=5, le=10_080)

    @field_validator("domain_expiry_days", "invoice_age_buckets_days")
    @classmethod
    def _positive_days(cls, value: list[int]) -> list[int]:
        if not value or any(v < 0 or v > 3650 for v in value):
            raise ValueError("must be a non-empty list of days between 0 and 3650")
        return sorted(set(value), reverse=True)


class PollerConfig(_Section):
    """Settings shared by every site the poller reads (sites[].database or sites[].api)."""

    enabled: bool = True
    interval_seconds: int = Field(default=60, ge=5, le=3600)
    batch_size: int = Field(default=500, ge=10, le=10_000)
    start_at: Literal["end", "beginning"] = "end"
    backoff_max_seconds: int = Field(default=600, ge=5, le=86_400)
    connect_timeout_seconds: int = Field(default=5, ge=1, le=120)
    whmcs_timezone: str = "UTC"
    thresholds: PollerThresholds = Field(default_factory=PollerThresholds)
    activity_patterns: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_PATTERNS))

    @field_validator("activity_patterns")
    @classmethod
    def _valid_patterns(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for kind, patterns in value.items():
            if kind not in ACTIVITY_KINDS:
                raise ValueError(
                    f"{kind!r} is not an activity-log kind ({', '.join(ACTIVITY_KINDS)})"
                )
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(
                        f"{kind}: pattern {pattern!r} is not a valid regex: {exc}"
                    ) from exc
        return value

    @field_validator("whmcs_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a known time zone (e.g. Europe/Amsterdam)") from exc
        return value
