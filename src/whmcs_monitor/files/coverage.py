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
