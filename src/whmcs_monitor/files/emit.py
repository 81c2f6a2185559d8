"""Turn a files finding into a catalog event with a deterministic id, and store it.

Every checker of this part (FIM, permissions, logs, backups) reports through :class:`Emitter`, so
event ids are derived one way: the same finding seen twice (a re-run scan, two instances sharing a
database) is stored once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from whmcs_monitor.catalog import Catalog, load_catalog
from whmcs_monitor.config import Settings
from whmcs_monitor.events.model import Event
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.store.events import insert_events

DEFAULT_SITE = "local"


def site_for(settings: Settings) -> str:
    """``files.site``, else the first configured site, else ``local``."""
    if settings.files.site:
        return settings.files.site
    return settings.sites[0].id if settings.sites else DEFAULT_SITE


class Emitter:
    """Builds the events of one site; ``key`` identifies the finding for idempotency."""

    def __init__(self, site: str, catalog: Catalog | None = None) -> None:
        self.site = site
        self.catalog = catalog or load_catalog()

    def event(
        self,
        kind: str,
        key: str,
        data: Mapping[str, Any],
        *,
        severity: str | None = None,
        labels: Mapping[str, str] | None = None,
        occurred_at: datetime | None = None,
    ) -> Event:
        entry = self.catalog.get(kind)
        digest = hashlib.sha256(f"{kind}\0{key}".encode()).hexdigest()[:40]
        return build_event(
            entry,
            site=self.site,
            data=data,
            event_id=f"files:{digest}",
            severity=severity,
            labels=labels,
            occurred_at=occurred_at,
        )


def store(conn: Connection, events: Sequence[Event]) -> int:
    """Insert the events; returns how many were new."""
    return len(insert_events(conn, events))
