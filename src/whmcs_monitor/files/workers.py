"""The files part's background work: scheduled scans, the live watcher, logs, backups, audit.

Every finding has a deterministic event id, so two instances sharing a database that both run a
scan store each event once; a scan is cheap when nothing changed (stat only).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import sqlalchemy as sa

from whmcs_monitor.files import backups, breach, fim, logs, permissions
from whmcs_monitor.files.compliance import apply_retention, check_audit_trail
from whmcs_monitor.files.emit import site_for
from whmcs_monitor.files.tables import file_baseline
from whmcs_monitor.files.watch import Watcher, scan_changed
from whmcs_monitor.lib.periodic import Worker, every, in_thread
from whmcs_monitor.services import Services

log = logging.getLogger(__name__)
WATCH_DEBOUNCE = timedelta(seconds=1)
AUDIT_CHECK_INTERVAL = timedelta(hours=1)
RETENTION_INTERVAL = timedelta(hours=6)


def fim_step(services: Services) -> None:
    """Baseline on first run (so a fresh install is not thousands of 'added'), then scan."""
    settings, db = services.settings, services.db
    with db.read() as conn:
        has_baseline = conn.scalar(
            sa.select(sa.func.count())
            .select_from(file_baseline)
            .where(file_baseline.c.site == site_for(settings))
        )
    if has_baseline:
        fim.scan(db, settings)
    else:
        fim.baseline(db, settings, actor="monitor")
    permissions.report(db, settings)


async def watch_loop(services: Services, *, debounce: timedelta = WATCH_DEBOUNCE) -> None:
    """Scan what inotify reports changed, at most once per ``debounce``, until cancelled."""
    with Watcher(services.settings) as watcher:
        while True:
            await asyncio.sleep(debounce.total_seconds())
            paths = watcher.drain()
            if not paths:
                continue
            try:
                await in_thread(scan_changed, services.db, services.settings, paths)
            except Exception:  # a failed scan must not stop watching; the schedule catches up
                log.exception("real-time scan of %d path(s) failed", len(paths))


def files_workers(services: Services) -> list[Worker]:
    """The workers for what ``files:`` configures, plus the audit and retention duties."""
    config = services.settings.files
    db, settings = services.db, services.settings
    out: list[Worker] = [
        (
            "audit-trail-check",
            lambda: every(
                AUDIT_CHECK_INTERVAL,
                lambda: check_audit_trail(db, settings),
                name="audit trail check",
            ),
        ),
        (
            "privacy-retention",
            lambda: every(
                RETENTION_INTERVAL, lambda: apply_retention(db, settings), name="privacy retention"
            ),
        ),
    ]
    if config.whmcs_root is not None:
        out.append(
            (
                "fim-scan",
                lambda: every(
                    config.fim.scan_interval, lambda: fim_step(services), name="FIM scan"
                ),
            )
        )
        if config.fim.realtime:
            out.append(("fim-watch", lambda: watch_loop(services)))
    if config.logs.sources:
        out.append(
            (
                "log-follower",
                lambda: every(
                    config.logs.poll_interval,
                    lambda: logs.poll_all(services.db, services.settings),
                    name="log follower",
                ),
            )
        )
    if config.breach.enabled and breach.sites_with_database(settings.sites):
        out.append(
            (
                "breach-indicators",
                lambda: every(
                    config.breach.interval,
                    lambda: breach.check_all(db, settings),
                    name="breach indicators",
                ),
            )
        )
    if config.backups.sources:
        out.append(
            (
                "backup-check",
                lambda: every(
                    config.backups.check_interval,
                    lambda: backups.check_all(services.db, services.settings),
                    name="backup check",
                ),
            )
        )
    return out
