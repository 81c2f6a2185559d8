"""Check the newest backup of each configured location: there, recent, not shrunk, readable.

An archive is read in full only once per (file, size, mtime): the verdict is remembered in
``files_state``, so checking every half hour does not re-read a 20 GB dump each time.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from whmcs_monitor.config import Settings
from whmcs_monitor.errors import InputError
from whmcs_monitor.events.model import Event
from whmcs_monitor.files import state as state_store
from whmcs_monitor.files.archives import ArchiveCheck, check_archive
from whmcs_monitor.files.config import BackupSource
from whmcs_monitor.files.emit import Emitter, site_for, store
from whmcs_monitor.files.livedb import count_tables
from whmcs_monitor.lib.durations import format_duration
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    key: str
    data: dict[str, Any]


def backups_in(source: BackupSource) -> list[Path]:
    """Files matching the pattern in the location, newest first (by mtime)."""
    try:
        entries = [p for p in source.location.iterdir() if p.is_file()]
    except OSError:
        return []
    matching = [p for p in entries if fnmatch.fnmatchcase(p.name, source.pattern)]
    return sorted(matching, key=lambda p: p.stat().st_mtime, reverse=True)


def _verdict(path: Path, cache: dict[str, Any]) -> tuple[ArchiveCheck, dict[str, Any]]:
    st = path.stat()
    identity = f"{path.name}:{st.st_size}:{st.st_mtime_ns}"
    if cache.get("identity") == identity:
        return ArchiveCheck(cache["ok"], cache["reason"], cache.get("tables")), cache
    result = check_archive(path)
    remembered = {
        "identity": identity,
        "ok": result.ok,
        "reason": result.reason,
        "tables": result.tables,
    }
    return result, remembered


def expected_tables(settings: Settings, source: BackupSource) -> int | None:
    """``expect_tables``, or the live table count of ``tables_of_site``'s WHMCS database."""
    if source.tables_of_site is None:
        return source.expect_tables
    site = settings.site(source.tables_of_site)
    if site is None or site.database is None:
        raise InputError(
            f"files.backups.sources ({source.name}): tables_of_site names "
            f"{source.tables_of_site!r}, which is not a site with a database configured"
        )
    return count_tables(site.database)


def check_source(
    source: BackupSource,
    cache: dict[str, Any],
    now: datetime,
    *,
    expected: int | None = None,
) -> tuple[list[Finding], dict[str, Any]]:
    """The findings for one location, and the verdict cache to keep."""
    base = {"name": source.name, "location": str(source.location), "pattern": source.pattern}
    files = backups_in(source)
    if not files:
        key = f"{source.name}\0missing\0{now.date().isoformat()}"
        return [Finding("backup.missing", key, base)], cache
    newest = files[0]
    st = newest.stat()
    data = {**base, "file": newest.name, "size_bytes": st.st_size}
    findings = []
    age = now - datetime.fromtimestamp(st.st_mtime, tz=now.tzinfo)
    if age > source.max_age:
        findings.append(
            Finding(
                "backup.stale",
                f"{source.name}\0stale\0{newest.name}\0{st.st_mtime_ns}",
                {**data, "age": format_duration(age), "max_age": format_duration(source.max_age)},
            )
        )
    result, cache = _verdict(newest, cache)
    reasons = [] if result.ok else [result.reason]
    if len(files) > 1:
        previous = files[1].stat().st_size
        if previous and st.st_size < previous * (1 - source.max_shrink_percent / 100):
            shrink = 100 * (1 - st.st_size / previous)
            reasons.append(
                f"it is {shrink:.0f}% smaller than the previous backup {files[1].name} "
                f"({st.st_size} vs {previous} bytes)"
            )
    if expected is not None and result.tables is not None and result.tables < expected:
        reasons.append(f"the dump creates {result.tables} table(s), {expected} expected")
    for reason in reasons:
        findings.append(
            Finding(
                "backup.corrupt",
                f"{source.name}\0corrupt\0{newest.name}\0{st.st_mtime_ns}\0{reason}",
                {**data, "reason": reason},
            )
        )
    return findings, cache


def check_all(db: Database, settings: Settings, now: datetime | None = None) -> list[Event]:
    """Check every configured backup location; store and return the new findings' events."""
    site = site_for(settings)
    emitter = Emitter(site)
    moment = now or utcnow()
    produced = []
    for source in settings.files.backups.sources:
        key = f"backup:{source.name}"
        with db.read() as conn:
            cache = state_store.load(conn, site, key)
        try:
            expected = expected_tables(settings, source)
        except InputError as exc:  # the live count is a bonus; the other checks still run
            log.warning("backup %s: table count not compared: %s", source.name, exc)
            expected = None
        findings, cache = check_source(source, cache, moment, expected=expected)
        events = [emitter.event(f.kind, f.key, f.data, occurred_at=moment) for f in findings]
        with db.write() as conn:
            store(conn, events)
            state_store.save(conn, site, key, cache)
        produced.extend(events)
    return produced
