"""The checks' background work: the scheduler loop and the heartbeat sweep."""

from __future__ import annotations

from datetime import timedelta

from whmcs_monitor.checks import heartbeats
from whmcs_monitor.checks.exporter import CheckCollector
from whmcs_monitor.checks.scheduler import Scheduler
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services

HEARTBEAT_SWEEP = timedelta(seconds=5)


async def run_checks(services: Services) -> None:
    """Export check metrics on /metrics and run the scheduler until cancelled."""
    services.metrics.watch_database(
        CheckCollector(services.db)
    )  # a DB outage must not fail /metrics
    if not services.settings.checks.enabled:
        return
    await Scheduler(services.db, services.settings, services.catalog).run()


def sweep_heartbeats(services: Services) -> None:
    configured = services.settings.checks.heartbeats
    if not configured:
        return
    now = utcnow()
    with services.db.write() as conn:
        heartbeats.sync(conn, configured, now)
        heartbeats.sweep(conn, services.catalog, configured, now)
