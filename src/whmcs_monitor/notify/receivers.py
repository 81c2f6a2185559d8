"""Receivers: a named channel plus its delivery policy (quiet hours, retries, coalescing).

Each channel kind is listed once in ``CHANNELS``; its settings live beside its code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from whmcs_monitor.alerting.types import ClockTime, Duration, TimeZoneName
from whmcs_monitor.notify.apprise_channel import AppriseChannel, AppriseConfig
from whmcs_monitor.notify.email import EmailChannel, EmailConfig
from whmcs_monitor.notify.message import Message
from whmcs_monitor.notify.webhook import WebhookChannel, WebhookConfig

RECEIVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SEVERITY_ORDER = ("debug", "info", "warning", "error", "critical")


class Channel(Protocol):
    def describe(self) -> str: ...

    def send(self, message: Message, *, delivery_id: str) -> None: ...


class QuietHours(BaseModel):
    """Hold notifications between ``start`` and ``end`` (local time), except at ``bypass`` severity."""

    model_config = ConfigDict(extra="forbid")

    start: ClockTime
    end: ClockTime
    timezone: TimeZoneName = "UTC"
    bypass: str = "critical"

    @field_validator("bypass")
    @classmethod
    def _known_severity(cls, value: str) -> str:
        if value not in SEVERITY_ORDER:
            raise ValueError(f"must be one of {', '.join(SEVERITY_ORDER)}")
        return value

    def bypassed_by(self, severity: str) -> bool:
        rank = SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else 0
        return rank >= SEVERITY_ORDER.index(self.bypass)

    def release_time(self, now: datetime) -> datetime | None:
        """When the quiet period holding ``now`` ends, or ``None`` if ``now`` is not quiet."""
        local = now.astimezone(ZoneInfo(self.timezone))
        clock = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            quiet = self.start <= clock < self.end
        else:  # spans midnight, like 22:00-07:00
            quiet = clock >= self.start or clock < self.end
        if not quiet:
            return None
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end


class ReceiverConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    webhook: WebhookConfig | None = None
    email: EmailConfig | None = None
    apprise: AppriseConfig | None = None
    quiet_hours: QuietHours | None = None
    max_attempts: int = Field(default=8, ge=1, le=50)
    backoff_base: Duration = timedelta(seconds=5)
    backoff_max: Duration = timedelta(minutes=30)
    coalesce_after: int = Field(default=5, ge=2, le=1000)
    max_per_minute: int = Field(default=20, ge=1, le=10_000)
    parallel_sends: int = Field(default=4, ge=1, le=32)  # groups sent to at once

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not RECEIVER_NAME.match(value):
            raise ValueError("must be 1-64 letters, digits, '.', '_' or '-'")
        return value

    @model_validator(mode="after")
    def _one_channel(self) -> ReceiverConfig:
        given = [k for k in CHANNELS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one channel: {', '.join(CHANNELS)}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in CHANNELS if getattr(self, k) is not None)

    def channel(self) -> Channel:
        return CHANNELS[self.kind](getattr(self, self.kind))


CHANNELS: dict[str, Callable[..., Channel]] = {
    "webhook": WebhookChannel,
    "email": EmailChannel,
    "apprise": AppriseChannel,
}
