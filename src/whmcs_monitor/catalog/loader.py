"""Load and validate ``events.yaml``, and answer "which kind is this name?".

A name can be a canonical kind (``invoice.paid``), a WHMCS hook (``InvoicePaid``) or an alias
from the operator's audit (``InvoicePaymentFailed``); :meth:`Catalog.resolve` accepts all three so
that every entry point (ingest, CLI filters, rules) speaks the same language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from whmcs_monitor.errors import CatalogError

Severity = Literal["debug", "info", "warning", "error", "critical"]
Source = Literal["hook", "poll", "check", "analytics", "files", "monitor"]
SUBJECTS = ("client", "user", "invoice", "order", "service", "domain", "ticket", "admin", "server")
SEVERITY_ORDER: dict[str, int] = {"debug": 0, "info": 1, "warning": 2, "error": 3, "critical": 4}
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    id: str
    title: str
    description: str


class EventKind(_Strict):
    """One kind of event. ``hooks`` is set for source ``hook``; ``table`` for polled kinds."""

    kind: str
    category: str
    severity: Severity
    source: Source
    summary: str
    description: str
    hooks: tuple[str, ...] = ()
    table: str | None = None
    aliases: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    subjects: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    keep: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    opt_in: bool = False

    @field_validator("kind")
    @classmethod
    def _kind_shape(cls, value: str) -> str:
        if not _KIND_RE.match(value):
            raise ValueError("must be dotted lower_snake words, like 'invoice.paid'")
        return value

    @field_validator("subjects")
    @classmethod
    def _known_subjects(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(SUBJECTS))
        if unknown:
            raise ValueError(f"unknown subject(s) {unknown}; use {list(SUBJECTS)}")
        return value


class Redaction(_Strict):
    """The generic redaction key list shared by the PHP module and the Python side."""

    keys: tuple[str, ...]
    key_prefixes: tuple[str, ...]
    key_fragments: tuple[str, ...]


class _CatalogFile(_Strict):
    version: int
    categories: tuple[Category, ...]
    redaction: Redaction
    alias_defaults: dict[str, str] = {}
    events: tuple[EventKind, ...]


@dataclass(frozen=True)
class Catalog:
    """The loaded catalog with its lookup indexes."""

    version: int
    categories: tuple[Category, ...]
    redaction: Redaction
    events: tuple[EventKind, ...]
    _by_kind: dict[str, EventKind] = field(repr=False)
    _by_hook: dict[str, EventKind] = field(repr=False)
    _by_alias: dict[str, tuple[EventKind, ...]] = field(repr=False)
    _alias_defaults: dict[str, EventKind] = field(repr=False)

    def get(self, kind: str) -> EventKind:
        """The entry for a canonical kind; ``KeyError`` if there is none."""
        return self._by_kind[kind]

    def for_hook(self, hook: str) -> EventKind | None:
        """The kind a WHMCS hook produces, or ``None`` if the catalog does not forward it."""
        return self._by_hook.get(hook)

    def resolve(self, name: str) -> tuple[EventKind, ...]:
        """Every kind a name stands for: a canonical kind, a hook name or an audit alias."""
        if name in self._by_kind:
            return (self._by_kind[name],)
        if name in self._by_hook:
            return (self._by_hook[name],)
        return self._by_alias.get(name, ())

    def resolve_one(self, name: str) -> EventKind | None:
        """The one kind a sender means by ``name``: for an audit alias that stands for several
        kinds, the one ``alias_defaults`` names. ``None`` if the name is unknown."""
        matches = self.resolve(name)
        if len(matches) == 1:
            return matches[0]
        return self._alias_defaults.get(name)

    def in_category(self, category: str) -> tuple[EventKind, ...]:
        return tuple(e for e in self.events if e.category == category)

    @property
    def hook_kinds(self) -> tuple[EventKind, ...]:
        return tuple(e for e in self.events if e.hooks)

    def export_hooks(self) -> dict[str, Any]:
        """The document the PHP module ships as ``hooks.json``."""
        return {
            "catalog_version": self.version,
            "redaction": {
                "keys": list(self.redaction.keys),
                "key_prefixes": list(self.redaction.key_prefixes),
                "key_fragments": list(self.redaction.key_fragments),
            },
            "hooks": [
                {
                    "hook": hook,
                    "kind": entry.kind,
                    "category": entry.category,
                    "sensitive": list(entry.sensitive),
                    "keep": {path: list(keys) for path, keys in entry.keep.items()},
                    "opt_in": entry.opt_in,
                }
                for entry in self.hook_kinds
                for hook in entry.hooks
            ],
        }


def _index(data: _CatalogFile) -> Catalog:
    problems: list[str] = []
    category_ids = {c.id for c in data.categories}
    by_kind: dict[str, EventKind] = {}
    by_hook: dict[str, EventKind] = {}
    by_alias: dict[str, list[EventKind]] = {}
    for entry in data.events:
        if entry.kind in by_kind:
            problems.append(f"{entry.kind}: listed twice")
        by_kind[entry.kind] = entry
        if entry.category not in category_ids:
            problems.append(f"{entry.kind}: unknown category {entry.category!r}")
        if entry.source == "hook" and not entry.hooks:
            problems.append(f"{entry.kind}: source is hook but no hooks are named")
        for hook in entry.hooks:
            if hook in by_hook:
                problems.append(f"{entry.kind}: hook {hook} already produces {by_hook[hook].kind}")
            by_hook[hook] = entry
        for alias in entry.aliases:
            by_alias.setdefault(alias, []).append(entry)
    clashes = sorted(set(by_alias) & (set(by_kind) | set(by_hook)))
    if clashes:
        problems.append(f"aliases that are also kinds or hooks: {clashes}")
    problems.extend(_alias_default_problems(data.alias_defaults, by_alias))
    if problems:
        raise CatalogError("event catalog is inconsistent:\n" + "\n".join(problems))
    return Catalog(
        version=data.version,
        categories=data.categories,
        redaction=data.redaction,
        events=data.events,
        _by_kind=by_kind,
        _by_hook=by_hook,
        _by_alias={k: tuple(v) for k, v in by_alias.items()},
        _alias_defaults={alias: by_kind[kind] for alias, kind in data.alias_defaults.items()},
    )


def _alias_default_problems(
    defaults: dict[str, str], by_alias: dict[str, list[EventKind]]
) -> list[str]:
    """Every alias that stands for several kinds names one of them as its default, and only
    those: a sender that uses the alias gets a kind chosen here, not a guess."""
    problems = []
    for alias, entries in sorted(by_alias.items()):
        kinds = [e.kind for e in entries]
        default = defaults.get(alias)
        if len(kinds) > 1 and default is None:
            problems.append(f"alias_defaults: {alias} stands for {kinds}; name one of them")
        elif default is not None and default not in kinds:
            problems.append(f"alias_defaults.{alias}: {default!r} is not one of {kinds}")
    for alias in sorted(set(defaults) - {a for a, e in by_alias.items() if len(e) > 1}):
        problems.append(f"alias_defaults.{alias}: not an alias of several kinds")
    return problems


def parse_catalog(text: str, *, source: str = "events.yaml") -> Catalog:
    try:
        data = _CatalogFile.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise CatalogError(f"{source} is invalid: {exc}") from exc
    return _index(data)


@cache
def load_catalog() -> Catalog:
    """The catalog shipped in the package (parsed once per process)."""
    text = resources.files("whmcs_monitor.catalog").joinpath("events.yaml").read_text("utf-8")
    return parse_catalog(text)
