"""The service objects one running monitor shares between its HTTP routes, CLI and workers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from whmcs_monitor.catalog import Catalog, load_catalog
from whmcs_monitor.config import Settings
from whmcs_monitor.events.model import Event
from whmcs_monitor.ingest.auth import FailureThrottle
from whmcs_monitor.lib.periodic import Wakeup
from whmcs_monitor.metrics import Metrics
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import max_seq
from whmcs_monitor.store.pipeline import positions


@dataclass
class Services:
    settings: Settings
    db: Database
    catalog: Catalog = field(default_factory=load_catalog)
    metrics: Metrics = field(default_factory=Metrics)
    throttle: FailureThrottle = field(init=False)
    # Cut the rule engine's and the dispatcher's waits short when work arrives in this process.
    events_stored: Wakeup = field(default_factory=Wakeup)
    notifications_queued: Wakeup = field(default_factory=Wakeup)

    def __post_init__(self) -> None:
        self.throttle = FailureThrottle(self.settings.ingest.auth_failure_event_interval_seconds)
        self.metrics.watch_pipeline(self.pipeline_lag)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Services:
        db = Database(settings.database_url, pool_size=settings.database.pool_size)
        if migrate:
            db.migrate()
        return cls(settings=settings, db=db)

    def on_events_committed(self, events: Sequence[Event]) -> None:
        self.metrics.count_stored(events)
        self.events_stored.set()

    def site_secrets(self) -> dict[str, bytes]:
        """Every site allowed to send events, plus the demo site while the simulator runs."""
        secrets = {site.id: site.secret_bytes() for site in self.settings.sites}
        demo = self.settings.demo
        if demo.secret is not None and demo.enabled == "on":
            secrets.setdefault(demo.site_id, demo.secret.get_secret_value().encode())
        return secrets

    def pipeline_lag(self) -> dict[str, int]:
        with self.db.read() as conn:
            head = max_seq(conn)
            return {consumer: head - pos for consumer, pos in positions(conn).items()}
