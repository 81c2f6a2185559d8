"""The poller's background worker: a read-only check at start, then one cycle per site per interval."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from whmcs_monitor.config import SiteConfig
from whmcs_monitor.lib.periodic import every
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services
from whmcs_monitor.sources.allowlist import grant_statements
from whmcs_monitor.sources.api_poller import poll_api_site
from whmcs_monitor.sources.claim import site_claim
from whmcs_monitor.sources.poller import CycleReport, poll_site
from whmcs_monitor.sources.state import get_state, set_state
from whmcs_monitor.sources.whmcs_db import (
    ReadOnlyReport,
    check_read_only,
    database_errors,
    session,
)

log = logging.getLogger(__name__)
CYCLE_KEY = "cycle"
# A timer firing a moment early, or instances whose clocks are a moment apart, still poll.
EARLY = timedelta(seconds=1)
BUSY = (
    "another instance of the monitor sharing this database is polling the site right now; "
    "its cycle covers it"
)


def polled_sites(services: Services) -> list[SiteConfig]:
    return [s for s in services.settings.sites if s.database or s.api]


def poll_all(services: Services) -> list[CycleReport]:
    """One cycle for every site."""
    return [poll_one(services, site) for site in polled_sites(services)]


def poll_one(services: Services, site: SiteConfig, *, force: bool = False) -> CycleReport:
    """One cycle by SQL where the database is configured, else by API, unless another instance
    is polling the site right now or polled it less than an interval ago (``force``, for the
    ``poller run`` command, ignores the interval and any outage back-off, not the claim).

    An unexpected error ends this site's cycle only: the other sites are still polled.
    """
    try:
        with site_claim(services.db, site.id) as claimed:
            if not claimed:
                return CycleReport(site=site.id, ok=False, skipped=True, error=BUSY)
            now = utcnow()
            if not start_cycle(services, site.id, now, force=force):
                return CycleReport(site=site.id, ok=True, skipped=True)
            if site.database:
                return poll_site(services, site, now=now, force=force)
            return poll_api_site(services, site, now=now, force=force)
    except Exception as exc:
        log.exception("site %s: poll cycle failed", site.id)
        error = f"the poll cycle failed ({type(exc).__name__}: {exc}); the service log has details"
        return CycleReport(site=site.id, ok=False, error=error)


def start_cycle(services: Services, site: str, now: datetime, *, force: bool = False) -> bool:
    """Record that a cycle of ``site`` starts ``now``, unless one (by any instance sharing the
    store) started less than an interval ago: then False, so that instances share the polling
    instead of multiplying the load on WHMCS."""
    interval = timedelta(seconds=services.settings.poller.interval_seconds) - EARLY
    with services.db.write() as conn:
        last = get_state(conn, site, CYCLE_KEY).get("started_at")
        due = force or last is None or now >= datetime.fromisoformat(last) + interval
        if due:
            set_state(conn, site, CYCLE_KEY, {"started_at": now.isoformat()}, now)
    return due


def read_only_report(services: Services, site: SiteConfig) -> ReadOnlyReport:
    assert site.database is not None
    with session(site.database, timeout=services.settings.poller.connect_timeout_seconds) as conn:
        return check_read_only(conn)


def warn_if_writable(services: Services) -> None:
    """Log loudly, with the GRANTs to use instead, when a site's database user can write."""
    for site in services.settings.sites:
        if not site.database:
            continue
        try:
            report = read_only_report(services, site)
        except database_errors() as exc:
            log.warning("site %s: cannot check the WHMCS database user yet: %s", site.id, exc)
            continue
        if not report.read_only:
            grants = ";\n".join(grant_statements(site.database.name, site.database.user))
            log.warning(
                "SECURITY: site %s polls WHMCS as %r, which can WRITE (%s). The monitor only "
                "needs to read; create a dedicated user with exactly these grants:\n%s;",
                site.id,
                site.database.user,
                "; ".join(report.offending),
                grants,
            )


async def run_poller(services: Services) -> None:
    settings = services.settings.poller
    if not settings.enabled or not polled_sites(services):
        return
    await asyncio.to_thread(warn_if_writable, services)
    await every(
        timedelta(seconds=settings.interval_seconds),
        lambda: poll_all(services),
        name="WHMCS poller",
    )
