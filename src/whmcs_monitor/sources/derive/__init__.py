"""Turning WHMCS rows into catalog events: one module per signal family.

Every derive function takes a ``Context`` and a batch of rows and returns a ``Derived``: the
events (each with a deterministic ``event_id`` built from the table, the row and the condition,
so re-reading a row can never duplicate an event) and, for feeds with open items, the ids that
must be read again next cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from whmcs_monitor.catalog import Catalog
from whmcs_monitor.events.model import Event
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.sources.config import PollerConfig
from whmcs_monitor.sources.queries import Query
from whmcs_monitor.sources.whmcs_db import Row

Fetch = Callable[[Query, dict[str, Any]], list[Row]]


@dataclass
class Context:
    site: str
    catalog: Catalog
    config: PollerConfig
    now: datetime
    fetch: Fetch
    state: dict[str, Any] = field(default_factory=dict)
    origin: str = "whmcs-db"

    @property
    def zone(self) -> ZoneInfo:
        """The WHMCS server's wall-clock zone, for its DATETIME and TIMESTAMP values alike.

        MySQL returns a TIMESTAMP in the reading session's zone; the poller's session keeps the
        server default, as WHMCS's usually does, so it reads back WHMCS's own wall-clock time.
        """
        return ZoneInfo(self.config.whmcs_timezone)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def event(
        self,
        kind: str,
        key: str,
        data: dict[str, Any],
        *,
        occurred_at: datetime | None = None,
        severity: str | None = None,
    ) -> Event:
        return build_event(
            self.catalog.get(kind),
            site=self.site,
            data=data,
            occurred_at=occurred_at or self.now,
            event_id=f"poll:{key}"[:128],
            severity=severity,
            context={"origin": self.origin},
        )


@dataclass
class Derived:
    events: list[Event] = field(default_factory=list)
    open_ids: set[int] = field(default_factory=set)  # rows to read again (by id) next cycle

    def keep_open(self, row_id: int) -> None:
        self.open_ids.add(row_id)


def iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat(timespec="seconds")
    return moment.isoformat()
