"""The periodic refresh of every site that has WHMCS database access."""

from __future__ import annotations

import logging
from datetime import timedelta

from whmcs_monitor.analytics.refresh import FULL, INCREMENTAL, Scope, last_refresh, refresh_site
from whmcs_monitor.analytics.whmcs import connect
from whmcs_monitor.errors import MonitorError
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services

log = logging.getLogger(__name__)


def interval(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.analytics.interval_seconds)


def scope_due(services: Services, site: str) -> Scope:
    """A full refresh when the last one is older than ``analytics.full_refresh_seconds``."""
    with services.db.read() as conn:
        last_full = last_refresh(conn, site, FULL.name)
    due = timedelta(seconds=services.settings.analytics.full_refresh_seconds)
    return FULL if last_full is None or last_full < utcnow() - due else INCREMENTAL


def refresh_all(services: Services) -> int:
    """Refresh each site in turn; one failing site is logged and the others still run.

    Returns the number of sites refreshed (a site refreshed by another instance within half an
    interval is skipped).
    """
    config = services.settings.analytics
    if not config.enabled:
        return 0
    done = 0
    for site in services.settings.sites:
        if site.database is None:
            continue
        try:
            with connect(site.database) as whmcs:
                result = refresh_site(
                    services.db,
                    services.catalog,
                    site=site.id,
                    whmcs=whmcs,
                    config=config,
                    min_interval=interval(services) / 2,
                    scope=scope_due(services, site.id),
                )
        except MonitorError as exc:
            log.warning("analytics refresh of site %s failed: %s", site.id, exc)
            continue
        except Exception:  # a bad row or query must not stop the other sites
            log.exception("analytics refresh of site %s failed", site.id)
            continue
        if result is not None:
            done += 1
            log.info(
                "analytics %s refresh of site %s: %d KPIs, %d new events in %.2fs",
                result.scope,
                site.id,
                len(result.measures),
                result.new_events,
                result.seconds,
            )
    return done
