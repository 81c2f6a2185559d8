"""The background work of a running monitor, wired in one place.

Each part that needs a loop (the poller, the rule engine, the notifier, the check scheduler...)
adds one entry to :func:`background_workers`. Work that must happen once across several instances
sharing PostgreSQL claims it inside the worker (row or advisory locks), never by assuming that
this process is alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from whmcs_monitor.alerting.engine import Engine
from whmcs_monitor.checks.worker import HEARTBEAT_SWEEP, run_checks, sweep_heartbeats
from whmcs_monitor.services import Services
from whmcs_monitor.store import metrics as metric_store
from whmcs_monitor.web import housekeeping

log = logging.getLogger(__name__)
Worker = tuple[str, Callable[[], Coroutine[Any, Any, None]]]
MAINTENANCE_INTERVAL = timedelta(minutes=5)


async def every(interval: timedelta, step: Callable[[], object], *, name: str) -> None:
    """Run ``step`` in a thread every ``interval``; a failing run is logged and retried later.

    On cancellation a step already running is allowed to finish, so that it never leaves a
    database connection behind when the service shuts down.
    """
    while True:
        await asyncio.sleep(interval.total_seconds())
        running = asyncio.ensure_future(asyncio.to_thread(step))
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            await asyncio.wait([running])
            raise
        except Exception:  # one bad run must not stop the loop for good
            log.exception("%s failed; retrying in %s", name, interval)


def _store_maintenance(services: Services) -> None:
    with services.db.write() as conn:
        metric_store.rollup(conn)
        metric_store.prune(conn)


def background_workers(services: Services) -> list[Worker]:
    engine = Engine(services.settings, services.db)
    interval = services.settings.alerting.evaluation_interval
    return [
        ("alerting", lambda: every(interval, engine.step, name="alert evaluation")),
        ("notify", lambda: every(interval, engine.deliver, name="notification delivery")),
        (
            "store-maintenance",
            lambda: every(
                MAINTENANCE_INTERVAL, lambda: _store_maintenance(services), name="store maintenance"
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
