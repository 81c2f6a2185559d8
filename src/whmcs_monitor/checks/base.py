"""What every check type shares: its settings, the context a probe runs in, and its result.

A check type is a pydantic model (its config) with an async :meth:`CheckBase.probe`. The probe
only measures and reports; it never stores or notifies. The scheduler applies flap control to
the result's status and turns state changes into events, as Healthchecks turns flips into
notifications in a separate step.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from whmcs_monitor.lib.durations import parse_duration

Status = Literal["up", "degraded", "down"]
# The share of ``timeout`` a probe gives its own I/O, so its specific message ("connection
# refused", "no complete answer") is what gets reported, not the scheduler's generic one.
OWN_TIMEOUT_SHARE = 0.9
CHECK_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,95}$")


def duration(value: Any) -> Any:
    """Accept ``"90s"``/``"10m"`` as well as a number of seconds."""
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


@dataclass(frozen=True, slots=True)
class Finding:
    """An event a probe wants stored besides the up/down state (an expiring certificate...).

    ``key`` makes it idempotent: the event id is built from the check, the kind and the key, so a
    probe that reports the same finding on every run stores it once per key.
    """

    kind: str
    key: str
    data: Mapping[str, Any]
    labels: Mapping[str, str] = field(default_factory=dict)
    severity: str | None = None


@dataclass(slots=True)
class Result:
    status: Status
    message: str
    latency_ms: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ProbeContext:
    """What a probe may use besides its settings.

    ``previous`` holds the metrics of the check's last run (from any instance), so counters such
    as MySQL's ``Questions`` become rates. ``transport`` is the seam through which tests stand in
    for public internet services (``httpx.MockTransport``); it is ``None`` in production.
    """

    now: datetime
    previous: Mapping[str, float] = field(default_factory=dict)
    previous_at: datetime | None = None
    transport: httpx.AsyncBaseTransport | None = None

    def rate(self, name: str, value: float) -> float | None:
        """Per-second rate of a counter since the last run; ``None`` without a usable baseline."""
        before = self.previous.get(name)
        if before is None or self.previous_at is None or value < before:
            return None  # first run, or the counter reset (a restart)
        elapsed = (self.now - self.previous_at).total_seconds()
        return (value - before) / elapsed if elapsed > 0 else None


class CheckBase(BaseModel):
    """Settings every check has. Subclasses add ``type: Literal[...]`` and their own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The catalog kind stored beside check.down when this check goes down (None: check.down only).
    down_kind: ClassVar[str | None] = None

    type: str  # each subclass narrows this to its literal name, the union's discriminator
    name: str
    site: str = "monitor"
    interval: timedelta = timedelta(seconds=60)
    timeout: timedelta = timedelta(seconds=10)
    jitter: timedelta = timedelta(seconds=5)
    down_after: int = Field(default=2, ge=1, le=100)
    up_after: int = Field(default=1, ge=1, le=100)
    enabled: bool = True
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("interval", "timeout", "jitter", mode="before")
    @classmethod
    def _parse_durations(cls, value: Any) -> Any:
        return duration(value)

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not CHECK_NAME_RE.match(value):
            raise ValueError(
                "must be 1-96 letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
            )
        return value

    @field_validator("interval")
    @classmethod
    def _interval_bounds(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(days=1):
            raise ValueError("must be between 1s and 1d")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout_bounds(cls, value: timedelta) -> timedelta:
        if not timedelta(milliseconds=100) <= value <= timedelta(minutes=5):
            raise ValueError("must be between 0.1s and 5m")
        return value

    @field_validator("jitter")
    @classmethod
    def _jitter_bounds(cls, value: timedelta) -> timedelta:
        if not timedelta(0) <= value <= timedelta(hours=1):
            raise ValueError("must be between 0s and 1h")
        return value

    @property
    def type_name(self) -> str:
        return self.type

    @property
    def own_timeout(self) -> float:
        """Seconds the probe's own timeouts get: a little under the scheduler's bound."""
        return self.timeout.total_seconds() * OWN_TIMEOUT_SHARE

    @property
    @abstractmethod
    def target(self) -> str:
        """What is probed, for labels and tables (a URL, host:port, a unit...)."""

    def down_labels(self) -> dict[str, str]:
        """Labels of the ``down_kind`` event (the catalog entry says which it groups by)."""
        return {}

    def down_event(self) -> tuple[str, dict[str, str]] | None:
        """The catalog kind and labels stored beside check.down, if this type has one."""
        return (self.down_kind, self.down_labels()) if self.down_kind else None

    @abstractmethod
    async def probe(self, ctx: ProbeContext) -> Result:
        """Measure once; the scheduler bounds the call with ``timeout``."""


def expiry_phrase(days_left: float) -> str:
    """``expires in 12 days``, ``expires within a day``, ``expired today`` or ``expired 3 days
    ago``: a date in the past is never "expires in 0 days"."""
    days = int(abs(days_left))
    count = f"{days} day{'' if days == 1 else 's'}"
    if days_left >= 1:
        return f"expires in {count}"
    if days_left > 0:
        return "expires within a day"
    return "expired today" if days == 0 else f"expired {count} ago"


def ms_since(start: float, now: float) -> float:
    return round((now - start) * 1000, 3)
