"""The ``alerting:`` settings: rule files, receivers, the routing tree, inhibition, windows, escalation."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Literal

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from whmcs_monitor.alerting.types import (
    ClockTime,
    Duration,
    LabelMatcher,
    TimeZoneName,
    Weekday,
)
from whmcs_monitor.notify.receivers import ReceiverConfig


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RouteConfig(_Section):
    """A node of the routing tree; children inherit what they do not set (Alertmanager's shape)."""

    match: list[LabelMatcher] = Field(default_factory=list)
    receiver: str | None = None
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    continue_: bool = Field(default=False, alias="continue")
    routes: list[RouteConfig] = Field(default_factory=list, max_length=100)


class InhibitRule(_Section):
    """While an alert matching ``source`` fires, mute alerts matching ``target`` with equal labels."""

    name: str
    source: list[LabelMatcher] = Field(min_length=1)
    target: list[LabelMatcher] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)


class MaintenanceWindow(_Section):
    """A scheduled mute: one-off (``start``/``end``), weekly (``days`` + times) or ``cron`` + ``duration``."""

    name: str
    match: list[LabelMatcher] = Field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    days: list[Weekday] = Field(default_factory=list)
    from_time: ClockTime | None = Field(default=None, alias="from")
    until_time: ClockTime | None = Field(default=None, alias="until")
    cron: str | None = None
    duration: Duration | None = None
    timezone: TimeZoneName = "UTC"

    @model_validator(mode="after")
    def _one_schedule(self) -> MaintenanceWindow:
        kinds = [
            self.start is not None or self.end is not None,
            bool(self.days) or self.from_time is not None or self.until_time is not None,
            self.cron is not None or self.duration is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError("give one schedule: start+end, days+from+until, or cron+duration")
        if kinds[0] and (self.start is None or self.end is None or self.end <= self.start):
            raise ValueError("end: a one-off window needs a start and a later end")
        if kinds[1] and (not self.days or self.from_time is None or self.until_time is None):
            raise ValueError("days: a weekly window needs days, from and until")
        if kinds[2] and (self.cron is None or self.duration is None):
            raise ValueError("cron: a cron window needs cron and duration")
        if self.cron is not None:
            try:
                CronSim(self.cron, datetime.now(UTC))
            except CronSimError as exc:
                raise ValueError(f"cron: {self.cron!r} is not a cron expression: {exc}") from exc
        return self


def default_inhibit_rules() -> list[InhibitRule]:
    """A provisioning server that is down mutes module failures on it; the WHMCS database or API
    being unreachable mutes the alerts polled from it (these rules are in the default pack)."""
    polled_blind = [
        InhibitRule.model_validate(
            {
                "name": name,
                "source": [f"rule={rule}"],
                "target": ["source=poll"],
                "equal": ["site"],
            }
        )
        for name, rule in (
            ("whmcs-database-down", "whmcs-database-unreachable"),
            ("whmcs-api-down", "whmcs-api-unreachable"),
        )
    ]
    return [
        InhibitRule.model_validate(
            {
                "name": "server-down",
                "source": ["rule=server-api-down"],
                "target": ["rule=module-command-failed"],
                "equal": ["site", "server"],
            }
        ),
        *polled_blind,
    ]


class EscalationStep(_Section):
    after: Duration
    receiver: str


class EscalationPolicy(_Section):
    """Notify further receivers while a matching alert stays firing and unacknowledged."""

    name: str
    match: list[LabelMatcher] = Field(default_factory=list)
    steps: list[EscalationStep] = Field(min_length=1, max_length=20)


class DigestConfig(_Section):
    """A summary of the alerts of the last day or week, sent to a receiver at a fixed time."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    receiver: str
    every: Literal["daily", "weekly"] = "daily"
    at: ClockTime = time(8, 0)
    day: Weekday = "mon"  # weekly digests only
    timezone: TimeZoneName = "UTC"
    match: list[LabelMatcher] = Field(default_factory=list)  # which alerts it covers


class AlertingConfig(_Section):
    default_rules: bool = True
    rule_files: list[Path] = Field(default_factory=list)
    evaluation_interval: Duration = timedelta(seconds=1)
    resolve_timeout: Duration = timedelta(hours=1)
    link_secret: SecretStr | None = None
    receivers: list[ReceiverConfig] = Field(default_factory=list)
    route: RouteConfig = Field(default_factory=RouteConfig)
    inhibit_rules: list[InhibitRule] = Field(default_factory=default_inhibit_rules)
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list)
    escalations: list[EscalationPolicy] = Field(default_factory=list)
    digests: list[DigestConfig] = Field(default_factory=list)

    @field_validator("evaluation_interval")
    @classmethod
    def _sane_interval(cls, value: timedelta) -> timedelta:
        if not timedelta(milliseconds=100) <= value <= timedelta(minutes=5):
            raise ValueError("must be between 0.1 (seconds) and 5m")
        return value

    @model_validator(mode="after")
    def _receivers_defined(self) -> AlertingConfig:
        names = [r.name for r in self.receivers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"receivers: {dupes[0]!r} is defined twice")
        digests = [d.name for d in self.digests]
        if len(set(digests)) != len(digests):
            raise ValueError("digests: two digests have the same name")
        known = set(names)
        for where, name in self._receiver_uses():
            if name not in known:
                raise ValueError(f"{where}: undefined receiver {name!r}")
        return self

    def _receiver_uses(self) -> list[tuple[str, str]]:
        uses: list[tuple[str, str]] = []

        def walk(node: RouteConfig, path: str) -> None:
            if node.receiver is not None:
                uses.append((f"{path}.receiver", node.receiver))
            for i, child in enumerate(node.routes):
                walk(child, f"{path}.routes[{i}]")

        walk(self.route, "route")
        for policy in self.escalations:
            uses.extend((f"escalations.{policy.name}", s.receiver) for s in policy.steps)
        uses.extend((f"digests.{digest.name}.receiver", digest.receiver) for digest in self.digests)
        return uses

    def receiver(self, name: str) -> ReceiverConfig | None:
        return next((r for r in self.receivers if r.name == name), None)
