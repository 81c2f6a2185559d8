"""One normalized event, the unit the store, the rules and the dashboard all share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from whmcs_monitor.catalog.loader import SUBJECTS

_SUBJECT_COLUMNS = tuple((subject, f"{subject}_id") for subject in SUBJECTS)


@dataclass(slots=True)
class Event:
    """Read-only by convention, not frozen: a frozen dataclass sets each of these fields through
    ``object.__setattr__``, which made building one cost four times as much, and ingest builds one
    per event (about a tenth of its time at 100 events a request)."""

    event_id: str
    site: str
    kind: str
    category: str
    severity: str
    source: str
    occurred_at: datetime
    received_at: datetime
    summary: str
    fingerprint: str
    hook: str | None = None
    subjects: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        """The ``events`` table row (without ``seq``, which the database assigns)."""
        row: dict[str, Any] = {
            "event_id": self.event_id,
            "site": self.site,
            "kind": self.kind,
            "category": self.category,
            "severity": self.severity,
            "source": self.source,
            "hook": self.hook,
            "occurred_at": self.occurred_at,
            "received_at": self.received_at,
            "summary": self.summary,
            "labels": self.labels,
            "payload": self.payload,
            "context": self.context,
            "fingerprint": self.fingerprint,
        }
        for subject, column in _SUBJECT_COLUMNS:
            row[column] = self.subjects.get(subject)
        return row
