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
    generation: int = 0  # > 0 once a feed's table was emptied or restored (see feeds._restart)

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
        prefix = f"poll:g{self.generation}:" if self.generation else "poll:"
        return build_event(
            self.catalog.get(kind),
            site=self.site,
            data=data,
            occurred_at=occurred_at or self.now,
            event_id=f"{prefix}{key}"[:128],
            severity=severity,
            context={"origin": self.origin},
        )


@dataclass
class Derived:
    events: list[Event] = field(default_factory=list)
    open_ids: set[int] = field(default_factory=set)  # rows to read again (by id) next cycle

    def keep_open(self, row_id: int) -> None:
        self.open_ids.add(row_id)


def new_condition(ctx: Context, row_id: int, condition: str | None) -> bool:
    """Whether a row's ``condition`` (None: it has none now) arose while the monitor watched.

    With ``start_at: end`` the first full pass (until the feed state says ``learned``) only
    records each row's condition in the state's ``baseline``, so installing the monitor does not
    report, say, domains that expired years ago as news. Later, a row still in its recorded
    condition stays quiet; once it changes, the row leaves the baseline and is reported.
    """
    if ctx.config.start_at == "beginning":
        return condition is not None
    baseline: dict[str, str] = ctx.state.setdefault("baseline", {})
    key = str(row_id)
    if not ctx.state.get("learned"):
        if condition is not None:
            baseline[key] = condition
        return False
    if condition is not None and baseline.get(key) == condition:
        return False
    baseline.pop(key, None)
    return condition is not None


def iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat(timespec="seconds")
    return moment.isoformat()
