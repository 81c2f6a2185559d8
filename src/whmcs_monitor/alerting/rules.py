"""Rule files: the YAML model, its validation against the catalog, and loading with reload on change.

Every problem is reported as ``rule "NAME": FIELD: reason`` so an operator can find it, e.g.::

    rules.yaml has 1 problem(s):
    rule "gateway-failures": count.window: '10 minutes' is not a duration (use 90s, 10m, 6h or 7d)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from whmcs_monitor.alerting.types import (
    ClockTime,
    Duration,
    PositiveDuration,
    TimeZoneName,
    Weekday,
)
from whmcs_monitor.catalog import Catalog, load_catalog
from whmcs_monitor.config import format_error
from whmcs_monitor.errors import ConfigError
from whmcs_monitor.lib.yamltext import parse_yaml

RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
SEVERITIES = ("debug", "info", "warning", "error", "critical")
Severity = Literal["debug", "info", "warning", "error", "critical"]
DEFAULT_PACK = "default_rules.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    """``field`` is a dotted path into the event: ``labels.gateway``, ``payload.amount``, ``kind``."""

    field: str
    op: Literal["eq", "ne", "in", "not_in", "regex", "gt", "ge", "lt", "le", "exists"]
    value: Any = None

    @model_validator(mode="after")
    def _value_fits(self) -> Condition:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError("value: must be a list for in and not_in")
        if self.op in ("gt", "ge", "lt", "le") and (
            isinstance(self.value, bool) or not isinstance(self.value, int | float)
        ):
            raise ValueError(f"value: must be a number for {self.op}")
        if self.op == "regex":
            try:
                re.compile(str(self.value))
            except re.error as exc:
                raise ValueError(f"value: the regular expression is invalid ({exc})") from exc
        return self


class EventMatch(_Strict):
    kinds: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    severities: list[Severity] = Field(default_factory=list)
    sites: list[str] = Field(default_factory=list)
    where: list[Condition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _narrow(self) -> EventMatch:
        if not self.kinds and not self.categories:
            raise ValueError("kinds: give kinds or categories, so the rule cannot match everything")
        return self


class CountSpec(_Strict):
    threshold: int = Field(ge=1, le=1_000_000)
    window: PositiveDuration


class AbsenceSpec(_Strict):
    """Fire when no matching event arrived for ``for``, counting only the active hours, if given."""

    for_: PositiveDuration = Field(alias="for")
    days: list[Weekday] = Field(default_factory=list)
    from_time: ClockTime | None = Field(default=None, alias="from")
    until_time: ClockTime | None = Field(default=None, alias="until")
    timezone: TimeZoneName = "UTC"
    sites: list[str] = Field(default_factory=list)


class MetricSpec(_Strict):
    """Compare a metric (or its rate of change per hour over ``rate_over``) with a threshold."""

    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    op: Literal["gt", "ge", "lt", "le"]
    threshold: float
    clear: float | None = None
    for_: Duration = Field(default=timedelta(0), alias="for")
    rate_over: PositiveDuration | None = None


class Rule(_Strict):
    name: str
    description: str = ""
    covers: list[str] = Field(default_factory=list)
    type: Literal["event", "count", "absence", "metric"] = "event"
    match: EventMatch | None = None
    resolve_on: EventMatch | None = None
    count: CountSpec | None = None
    absence: AbsenceSpec | None = None
    metric: MetricSpec | None = None
    group_by: list[str] = Field(default_factory=list, max_length=10)
    severity: Severity | None = None
    summary: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    resolve_after: PositiveDuration | None = None
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not RULE_NAME.match(value):
            raise ValueError("must be lower-case letters, digits, '.', '_' or '-' (1-128)")
        return value

    @model_validator(mode="after")
    def _sections_fit_type(self) -> Rule:
        needs_match = self.type != "metric"
        if needs_match and self.match is None:
            raise ValueError(f"match: a {self.type} rule needs a match section")
        for section in ("count", "absence", "metric"):
            given = getattr(self, section) is not None
            if section == self.type and not given:
                raise ValueError(f"{section}: a {self.type} rule needs a {section} section")
            if section != self.type and given:
                raise ValueError(f"{section}: only a {section} rule has this section")
        if self.type == "metric" and self.severity is None:
            raise ValueError("severity: a metric rule must set its severity")
        if self.type == "absence" and self.group_by:
            raise ValueError(
                "group_by: an absence rule watches each site as a whole and cannot group;"
                " write one rule per value instead, narrowed with match.where"
            )
        return self

    def all_kinds(self) -> set[str]:
        kinds: set[str] = set()
        for match in (self.match, self.resolve_on):
            if match is not None:
                kinds.update(match.kinds)
        return kinds


class _RuleFile(_Strict):
    rules: list[dict[str, Any]] = Field(default_factory=list)


def _rule_error(name: str, error: ErrorDetails) -> str:
    inner = dict(error)
    inner["loc"] = tuple(error["loc"])
    return f'rule "{name}": {format_error(inner)}'  # type: ignore[arg-type]


def _check_catalog(rule: Rule, catalog: Catalog) -> list[str]:
    problems: list[str] = []
    known_categories = {c.id for c in catalog.categories}
    for section in ("match", "resolve_on"):
        match: EventMatch | None = getattr(rule, section)
        if match is None:
            continue
        for kind in match.kinds:
            if catalog.resolve(kind) and catalog.resolve(kind)[0].kind == kind:
                continue
            hint = ", ".join(k.kind for k in catalog.resolve(kind))
            advice = f"; did you mean {hint}?" if hint else " (see `whmcs-monitor catalog`)"
            problems.append(f'rule "{rule.name}": {section}.kinds: unknown kind {kind!r}{advice}')
        for category in match.categories:
            if category not in known_categories:
                problems.append(
                    f'rule "{rule.name}": {section}.categories: unknown category {category!r}'
                )
    return problems


def parse_rules(text: str, *, source: str, catalog: Catalog | None = None) -> list[Rule]:
    """Validate one rule file; raise :class:`ConfigError` listing every problem."""
    catalog = catalog or load_catalog()
    data = parse_yaml(text, source)
    try:
        document = _RuleFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError([format_error(e) for e in exc.errors()], source) from exc
    problems: list[str] = []
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(document.rules):
        name = str(raw.get("name") or f"#{index + 1}")
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_rule_error(name, e) for e in exc.errors())
            continue
        if rule.name in seen:
            problems.append(f'rule "{rule.name}": name: is used twice in this file')
        seen.add(rule.name)
        problems.extend(_check_catalog(rule, catalog))
        rules.append(rule)
    if problems:
        raise ConfigError(problems, source)
    return rules


def default_pack_text() -> str:
    return resources.files("whmcs_monitor.alerting").joinpath(DEFAULT_PACK).read_text("utf-8")


@dataclass(frozen=True)
class RuleSet:
    """The enabled rules, by name; a user rule with a default rule's name replaces it."""

    rules: tuple[Rule, ...]

    def get(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


def combine(layers: Sequence[Sequence[Rule]]) -> RuleSet:
    by_name: dict[str, Rule] = {}
    for layer in layers:
        for rule in layer:
            by_name[rule.name] = rule
    return RuleSet(tuple(r for r in by_name.values() if r.enabled))


class RuleLoader:
    """Loads the default pack plus rule files, re-reading a file only when its mtime changes."""

    def __init__(self, files: Sequence[Path], *, defaults: bool = True) -> None:
        self.files = list(files)
        self.defaults = defaults
        self._cache: dict[Path, tuple[float, list[Rule]]] = {}
        self._default_rules: list[Rule] | None = None

    def _file_rules(self, path: Path) -> list[Rule]:
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            raise ConfigError([f"cannot read the rule file: {exc.strerror}"], str(path)) from exc
        cached = self._cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        rules = parse_rules(path.read_text("utf-8"), source=str(path))
        self._cache[path] = (mtime, rules)
        return rules

    def load(self) -> RuleSet:
        layers: list[list[Rule]] = []
        if self.defaults:
            if self._default_rules is None:
                self._default_rules = parse_rules(default_pack_text(), source=DEFAULT_PACK)
            layers.append(self._default_rules)
        layers.extend(self._file_rules(path) for path in self.files)
        return combine(layers)
