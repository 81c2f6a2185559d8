"""Helpers for the poller tests: a monitor polling the ``whmcs_db`` fixture's database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from support import SITE_ID, SITE_SECRET, make_settings
from whmcs_db import WhmcsDb
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services
from whmcs_monitor.sources.poller import CycleReport, poll_site
from whmcs_monitor.store.events import EventFilter, insert_events, query_events


def local(moment: datetime) -> str:
    """A WHMCS DATETIME value: the wall clock of ``moment`` (the fixture site runs in UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def ago(**delta: float) -> str:
    return local(utcnow() - timedelta(**delta))


@dataclass
class Harness:
    services: Services
    whmcs: WhmcsDb

    @property
    def site(self) -> Any:
        return self.services.settings.sites[0]

    def cycle(self, *, now: datetime | None = None, force: bool = False) -> CycleReport:
        return poll_site(self.services, self.site, now=now, force=force)

    def events(self, *kinds: str) -> list[dict[str, Any]]:
        with self.services.db.read() as conn:
            return query_events(conn, EventFilter(kinds=kinds, limit=10_000))

    def kinds(self) -> list[str]:
        return sorted(e["kind"] for e in self.events())

    def hook_event(self, kind: str, data: dict[str, Any], minutes_ago: int) -> None:
        """An event as the site's module would have sent it ``minutes_ago``."""
        event = build_event(
            load_catalog().get(kind),
            site=self.site.id,
            data=data,
            occurred_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        with self.services.db.write() as conn:
            insert_events(conn, [event])


def poller_settings(database_url: str, whmcs_db: WhmcsDb, **poller: Any) -> Any:
    database = {
        "host": whmcs_db.config.host,
        "port": whmcs_db.config.port,
        "name": whmcs_db.name,
        "user": whmcs_db.user,
        "password": whmcs_db.password,
    }
    return make_settings(
        database_url,
        sites=[{"id": SITE_ID, "secret": SITE_SECRET, "database": database}],
        poller={"start_at": "beginning", **poller},
    )


@contextmanager
def custom_harness(database_url: str, whmcs_db: WhmcsDb, **poller: Any) -> Iterator[Harness]:
    """A harness whose ``poller:`` settings differ from the ``harness`` fixture's."""
    services = Services.open(poller_settings(database_url, whmcs_db, **poller))
    try:
        yield Harness(services, whmcs_db)
    finally:
        services.db.dispose()
