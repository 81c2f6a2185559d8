"""Tell the coverage scorecard when the files part is wired."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from whmcs_monitor import coverage
from whmcs_monitor.config import Settings


@coverage.wires(
    "files",
    "set files.whmcs_root (FIM), files.logs.sources and files.backups.sources in the config",
)
def files_wired(settings: Settings, _conn: Connection) -> bool:
    files = settings.files
    return files.whmcs_root is not None or bool(files.logs.sources or files.backups.sources)


@coverage.wires(
    "analytics",
    "give a site read-only WHMCS database access (sites[].database) and leave "
    "files.breach.enabled on: the breach indicators read its admin log and API log",
    category="compliance",
)
def breach_indicators_wired(settings: Settings, _conn: Connection) -> bool:
    """The compliance kinds of source ``analytics`` come from this part's breach indicators
    (files/breach.py), not from the business analytics."""
    return settings.files.breach.enabled and any(site.database for site in settings.sites)
