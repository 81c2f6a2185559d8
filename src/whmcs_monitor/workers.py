"""The background work of a running monitor, wired in one place.

Each part that needs a loop (the poller, the rule engine, the notifier, the check scheduler...)
adds one entry to :func:`background_workers`. Work that must happen once across several instances
sharing PostgreSQL claims it inside the worker (row or advisory locks), never by assuming that
this process is alone.
"""

from __future__ import annotations

from datetime import timedelta

from whmcs_monitor.alerting.digests import send_due as send_digests
from whmcs_monitor.alerting.engine import Engine
from whmcs_monitor.analytics.publish import send_weekly_reports
from whmcs_monitor.analytics.worker import interval as analytics_interval
from whmcs_monitor.analytics.worker import refresh_all as analytics_refresh
from whmcs_monitor.checks.worker import HEARTBEAT_SWEEP, run_checks, sweep_heartbeats
from whmcs_monitor.files.workers import files_workers
from whmcs_monitor.lib.periodic import Worker, every
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services
from whmcs_monitor.sources.worker import run_poller
from whmcs_monitor.store import metrics as metric_store
from whmcs_monitor.web import housekeeping

MAINTENANCE_INTERVAL = timedelta(minutes=5)
WEEKLY_REPORT_CHECK = timedelta(minutes=15)
DIGEST_CHECK = timedelta(minutes=1)


def _store_maintenance(services: Services) -> None:
    with services.db.write() as conn:
        metric_store.rollup(conn)
        metric_store.prune(conn)


def _alerting(services: Services) -> list[Worker]:
    """Rule evaluation runs as soon as ingest commits events, delivery as soon as a pass is done."""
    engine = Engine(services.settings, services.db)
    interval = services.settings.alerting.evaluation_interval

    def evaluate() -> None:
        engine.step()
        services.notifications_queued.set()

    return [
        (
            "alert-digests",
            lambda: every(
                DIGEST_CHECK,
                lambda: send_digests(services.settings, services.db, utcnow()),
                name="alert digests",
            ),
        ),
        (
            "alerting",
            lambda: every(interval, evaluate, name="alert evaluation", wake=services.events_stored),
        ),
        (
            "notify",
            lambda: every(
                interval,
                engine.deliver,
                name="notification delivery",
                wake=services.notifications_queued,
            ),
        ),
    ]


def background_workers(services: Services) -> list[Worker]:
    return [
        *_alerting(services),
        (
            "store-maintenance",
            lambda: every(
                MAINTENANCE_INTERVAL, lambda: _store_maintenance(services), name="store maintenance"
            ),
        ),
        ("whmcs-poller", lambda: run_poller(services)),
        *files_workers(services),
        (
            "weekly-report",
            lambda: every(
                WEEKLY_REPORT_CHECK,
                lambda: send_weekly_reports(services.settings, services.db),
                name="weekly business report",
            ),
        ),
        (
            "analytics",
            lambda: every(
                analytics_interval(services),
                lambda: analytics_refresh(services),
                name="analytics refresh",
            ),
        ),
        ("checks", lambda: run_checks(services)),
        (
            "heartbeat-sweep",
            lambda: every(
                HEARTBEAT_SWEEP, lambda: sweep_heartbeats(services), name="heartbeat sweep"
            ),
        ),
        (
            "web-housekeeping",
            lambda: every(
                MAINTENANCE_INTERVAL, lambda: housekeeping.purge(services), name="session purge"
            ),
        ),
        (
            "planner-statistics",
            lambda: every(
                housekeeping.ANALYZE_INTERVAL,
                lambda: housekeeping.refresh_statistics(services),
                name="planner statistics",
            ),
        ),
    ]
