"""The ``checks:`` config section: probes, heartbeats and the defaults they share.

Example::

    checks:
      defaults: {interval: 60s, timeout: 10s, down_after: 2}
      probes:
        - {name: billing-site, type: http, url: "https://billing.example.com/", keyword: "Order"}
        - {name: whmcs-db, type: mysql, user: monitor, password_env: ...}
      heartbeats:
        - {name: whmcs-cron, token: "...", cron: "*/5 * * * *", grace: 10m}
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from whmcs_monitor.checks.base import CHECK_NAME_RE, CheckBase, duration
from whmcs_monitor.checks.registry import CHECK_TYPES, AnyCheck
from whmcs_monitor.lib.timeutil import utcnow

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def _known_type(value: Any) -> Any:
    """Name the problem plainly before pydantic's union does it in its own words."""
    if isinstance(value, dict):
        kind = value.get("type")
        if kind is None:
            raise ValueError(f"type: is required (one of: {', '.join(CHECK_TYPES)})")
        if kind not in CHECK_TYPES:
            raise ValueError(
                f"type: {kind!r} is not a check type (one of: {', '.join(CHECK_TYPES)})"
            )
    return value


ProbeEntry = Annotated[AnyCheck, BeforeValidator(_known_type)]


class CheckDefaults(BaseModel):
    """Applied to every probe that does not set its own value."""

    model_config = ConfigDict(extra="forbid")

    interval: str | int | None = None
    timeout: str | int | None = None
    jitter: str | int | None = None
    down_after: int | None = None
    up_after: int | None = None

    def apply(self, spec: dict[str, Any]) -> dict[str, Any]:
        """``spec`` with the defaults it does not set itself (API checks: config probes get
        theirs before validation, in :meth:`ChecksConfig._apply_defaults`)."""
        return {**self.model_dump(exclude_none=True), **spec}


class HeartbeatConfig(BaseModel):
    """A cron job (or backup script...) that pings ``/ping/<token>`` on a schedule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    site: str = "monitor"
    token: SecretStr
    period: timedelta | None = None
    cron: str | None = None
    tz: str = "UTC"
    grace: timedelta = timedelta(minutes=5)

    @field_validator("period", "grace", mode="before")
    @classmethod
    def durations(cls, value: Any) -> Any:
        return duration(value)

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not CHECK_NAME_RE.match(value):
            raise ValueError("must be 1-96 letters, digits, '.', '_', ':' or '-'")
        return value

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_RE.match(value.get_secret_value()):
            raise ValueError("must be 16-128 letters, digits, '-' or '_' (it goes in a URL)")
        return value

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a time zone name such as Europe/London") from exc
        return value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                CronSim(value, utcnow())
            except CronSimError as exc:
                raise ValueError(f"{value!r} is not a cron expression: {exc}") from exc
        return value

    @field_validator("grace")
    @classmethod
    def _grace_bounds(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(days=30):
            raise ValueError("must be between 1s and 30d")
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> HeartbeatConfig:
        if (self.period is None) == (self.cron is None):
            raise ValueError("give either period (like 1h) or cron (like '*/5 * * * *'), not both")
        if self.period is not None and not timedelta(seconds=1) <= self.period <= timedelta(
            days=365
        ):
            raise ValueError("period: must be between 1s and 365d")
        return self


class ChecksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    concurrency: int = Field(default=200, ge=1, le=10_000)
    site_presets: bool = True
    defaults: CheckDefaults = Field(default_factory=CheckDefaults)
    probes: list[ProbeEntry] = Field(default_factory=list)
    heartbeats: list[HeartbeatConfig] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("defaults"), dict):
            return data
        defaults = {k: v for k, v in data["defaults"].items() if v is not None}
        probes = data.get("probes")
        if isinstance(probes, list):
            data = {
                **data,
                "probes": [{**defaults, **p} if isinstance(p, dict) else p for p in probes],
            }
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> ChecksConfig:
        seen: set[str] = set()
        for name in [p.name for p in self.probes] + [h.name for h in self.heartbeats]:
            if name in seen:
                raise ValueError(f"the check name {name!r} is used twice")
            seen.add(name)
        tokens = [hb.token.get_secret_value() for hb in self.heartbeats]
        if len(tokens) != len(set(tokens)):
            raise ValueError("two heartbeats share a token; each needs its own")
        return self

    def probe(self, name: str) -> CheckBase | None:
        return next((p for p in self.probes if p.name == name), None)
