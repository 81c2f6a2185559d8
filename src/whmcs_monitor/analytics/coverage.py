"""Tell the coverage scorecard when the business analytics are wired."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from whmcs_monitor import coverage
from whmcs_monitor.config import Settings


@coverage.wires(
    "analytics",
    "give a site read-only WHMCS database access (sites[].database) and leave "
    "analytics.enabled on: the KPIs and their anomalies are computed from that database",
)
def analytics_wired(settings: Settings, _conn: Connection) -> bool:
    return settings.analytics.enabled and any(site.database for site in settings.sites)
