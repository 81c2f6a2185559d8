"""Turn a raw signal (hook vars, a polled row, a check result) into a normalized :class:`Event`.

Every producer goes through :func:`build_event`, so redaction, subjects, labels, the summary and
the fingerprint are computed one way. Redaction runs here even for hook events that the PHP module
already redacted: defence in depth against an old or modified module.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from whmcs_monitor.catalog.loader import EventKind
from whmcs_monitor.events.model import Event
from whmcs_monitor.events.redact import redact

MAX_SUMMARY = 500
MAX_LABEL = 128
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.\-]+)\}")
_MISSING = object()
# json.dumps() with its defaults, minus the per-call argument handling: the fingerprint's text
# must never change, or alerts would stop deduplicating across an upgrade.
_ENCODER = json.JSONEncoder()


def get_path(data: Any, path: str) -> Any:
    """``get_path({"params": {"serviceid": 7}}, "params.serviceid") == 7``; missing gives _MISSING."""
    node = data
    for part in _split(path):
        if isinstance(node, (dict, Mapping)) and part in node:  # dict first: the ABC is slow
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


@lru_cache(maxsize=4096)
def _split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


@lru_cache(maxsize=1024)
def _template(template: str) -> tuple[tuple[str, str | None], ...]:
    """A summary template as (literal text, placeholder path or None) pairs, parsed once."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append((template[position : match.start()], match.group(1)))
        position = match.end()
    parts.append((template[position:], None))
    return tuple(parts)


def render_summary(template: str, data: Mapping[str, Any]) -> str:
    """Fill ``{path}`` placeholders; a missing value shows as ``?`` rather than failing."""
    pieces: list[str] = []
    for literal, path in _template(template):
        pieces.append(literal)
        if path is not None:
            value = get_path(data, path)
            missing = value is _MISSING or value is None or isinstance(value, (dict, list))
            pieces.append("?" if missing else str(value))
    text = "".join(pieces)
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 2**63 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def extract_subjects(entry: EventKind, data: Mapping[str, Any]) -> dict[str, int]:
    subjects: dict[str, int] = {}
    for subject, path in entry.subjects.items():
        ident = _as_id(get_path(data, path))
        if ident is not None:
            subjects[subject] = ident
    return subjects


def extract_labels(entry: EventKind, data: Mapping[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for label, path in entry.labels.items():
        value = get_path(data, path)
        if value is not _MISSING and value is not None and not isinstance(value, (dict, list)):
            labels[label] = str(value)[:MAX_LABEL]
    return labels


def fingerprint(
    site: str, kind: str, labels: Mapping[str, str], subjects: Mapping[str, int]
) -> str:
    """Stable identity of "the same thing happening again": site, kind, labels and subjects."""
    material = _ENCODER.encode([site, kind, sorted(labels.items()), sorted(subjects.items())])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def build_event(
    entry: EventKind,
    *,
    site: str,
    data: Mapping[str, Any],
    occurred_at: datetime | None = None,
    event_id: str | None = None,
    hook: str | None = None,
    context: Mapping[str, Any] | None = None,
    severity: str | None = None,
    labels: Mapping[str, str] | None = None,
    received_at: datetime | None = None,
) -> Event:
    """The normalized event for one signal of kind ``entry``; ``data`` is redacted here."""
    # redact() returns a new dict and never mutates its input, so no copy is needed first.
    payload = redact(data, sensitive_paths=entry.sensitive, keep=entry.keep)
    all_labels = extract_labels(entry, payload)
    if labels:
        all_labels.update({k: str(v)[:MAX_LABEL] for k, v in labels.items()})
    subjects = extract_subjects(entry, payload)
    now = datetime.now(UTC)
    return Event(
        event_id=event_id or str(uuid.uuid4()),
        site=site,
        kind=entry.kind,
        category=entry.category,
        severity=severity or entry.severity,
        source=entry.source,
        hook=hook,
        occurred_at=occurred_at or now,
        received_at=received_at or now,
        summary=render_summary(entry.summary, payload),
        subjects=subjects,
        labels=all_labels,
        payload=payload,
        context=redact(context or {}),
        fingerprint=fingerprint(site, entry.kind, all_labels, subjects),
    )
