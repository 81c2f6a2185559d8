"""File integrity monitoring: baseline the WHMCS tree, scan it for changes, accept changes.

A scan hashes only the files whose stat signature moved since the last scan, compares what it sees
with what the previous scan saw, and reports each transition once (added, modified, deleted,
permissions changed) as a classified event. The accepted baseline stays put until an operator runs
``accept`` (after a WHMCS upgrade, say), which is recorded in the audit trail.

Usage::

    report = scan(db, settings, progress=bar.advance)
    for change in report.changes: ...
"""

from __future__ import annotations

import pwd
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.config import Settings
from whmcs_monitor.errors import InputError
from whmcs_monitor.events.model import Event
from whmcs_monitor.files.classify import (
    PHP_LIKE,
    SMARTY_COMPILED,
    Change,
    classify,
    signature_hit,
    smarty_output,
)
from whmcs_monitor.files.emit import Emitter, site_for, store
from whmcs_monitor.files.tables import file_baseline
from whmcs_monitor.files.tree import (
    FileStat,
    Scope,
    fs_path,
    hash_many,
    path_key,
    relative,
    walk,
)
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database, dialect_insert

WRITE_BATCH = 1000
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str
    change: Change
    kind: str
    severity: str
    rule: str
    reason: str
    data: dict[str, Any]
    report: bool = True


@dataclass
class ScanReport:
    files: int = 0
    hashed: int = 0
    hashed_bytes: int = 0
    changes: list[FileChange] = field(default_factory=list)
    new_events: int = 0


class Seen(NamedTuple):
    """A file's state as one scan saw it; all None means the file was gone."""

    sha256: str | None
    size: int | None
    mode: int | None
    uid: int | None
    gid: int | None
    mtime_ns: int | None
    ctime_ns: int | None
    ino: int | None

    @classmethod
    def of(cls, item: FileStat, sha: str | None) -> Seen:
        return cls(
            sha, item.size, item.mode, item.uid, item.gid, item.mtime_ns, item.ctime_ns, item.ino
        )

    def columns(self) -> dict[str, Any]:
        return {f"seen_{name}": value for name, value in zip(self._fields, self, strict=True)}

    def as_base(self) -> dict[str, Any]:
        return {
            "base_sha256": self.sha256,
            "base_size": self.size,
            "base_mode": self.mode,
            "base_uid": self.uid,
            "base_gid": self.gid,
            "base_mtime_ns": self.mtime_ns,
        }

    @property
    def gone(self) -> bool:
        return self.size is None


GONE = Seen(None, None, None, None, None, None, None, None)
_SEEN_COLUMNS = [file_baseline.c[f"seen_{name}"] for name in Seen._fields]


@dataclass
class Plan:
    """The files in scope, the ones that need hashing, and the byte total for a progress bar."""

    root: Path
    current: dict[str, FileStat]
    to_hash: list[FileStat]
    rows: dict[str, Seen]
    prefixes: list[str]

    @property
    def hash_bytes(self) -> int:
        return sum(f.size for f in self.to_hash)


def whmcs_root(settings: Settings) -> Path:
    root = settings.files.whmcs_root
    if root is None:
        raise InputError(
            "files.whmcs_root is not set; point it at the directory of configuration.php"
        )
    if not root.is_dir():
        raise InputError(f"files.whmcs_root {root} is not a directory")
    return root


def scope_of(settings: Settings) -> Scope:
    return Scope(settings.files.fim.scope_include, settings.files.fim.exclude)


def _prefixes(root: Path, paths: Sequence[str | Path]) -> list[str]:
    """The root-relative :func:`path_key` of each path, or ``[""]`` for the whole tree."""
    out = []
    for path in paths:
        rel = relative(root, path)
        if rel.startswith(".."):
            raise InputError(
                f"{path_key(str(path))} is outside files.whmcs_root ({root})", field="PATH"
            )
        out.append(path_key(rel))
    return out or [""]


def _under(path: str, prefixes: list[str]) -> bool:
    return any(not p or path == p or path.startswith(p + "/") for p in prefixes)


def plan(
    db: Database, settings: Settings, paths: Sequence[str | Path] = (), *, rehash_all: bool = False
) -> Plan:
    """Walk the tree (or ``paths`` in it) and decide what needs hashing."""
    root = whmcs_root(settings)
    scope = scope_of(settings)
    prefixes = _prefixes(root, paths)
    current: dict[str, FileStat] = {}
    for prefix in prefixes:
        for item in walk(root, scope, prefix):
            current[item.path] = item
    site = site_for(settings)
    with db.read() as conn:
        query = sa.select(file_baseline.c.path, *_SEEN_COLUMNS).where(file_baseline.c.site == site)
        everything = prefixes == [""]
        rows = {
            row[0]: Seen(*row[1:])
            for row in conn.execute(query)
            if everything or _under(row[0], prefixes)
        }
    to_hash = [
        item for path, item in current.items() if rehash_all or _needs_hash(rows.get(path), item)
    ]
    return Plan(root, current, to_hash, rows, prefixes)


def _needs_hash(row: Seen | None, item: FileStat) -> bool:
    if row is None or row.sha256 is None:
        return True
    return (row.size, row.mtime_ns, row.ctime_ns, row.ino) != item.content_signature()


def _owner(uid: int | None, gid: int | None) -> str:
    if uid is None:
        return "?"
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return f"{name}:{gid}"


def _mode(mode: int | None) -> str:
    return "?" if mode is None else f"{mode:04o}"


def _write(
    conn: Connection, site: str, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]
) -> None:
    # The live watcher and the scheduled scan may both find a new file: the second insert is a
    # no-op rather than a key violation that would fail its whole scan.
    insert = dialect_insert(conn, file_baseline).on_conflict_do_nothing(
        index_elements=["site", "path"]
    )
    for start in range(0, len(inserts), WRITE_BATCH):
        conn.execute(insert, inserts[start : start + WRITE_BATCH])
    if updates:
        stmt = (
            file_baseline.update()
            .where(file_baseline.c.site == site, file_baseline.c.path == sa.bindparam("_path"))
            .values({k: sa.bindparam(k) for k in updates[0] if k != "_path"})
        )
        for start in range(0, len(updates), WRITE_BATCH):
            conn.execute(stmt, updates[start : start + WRITE_BATCH])


def baseline(
    db: Database,
    settings: Settings,
    *,
    actor: str,
    progress: Progress | None = None,
    prepared: Plan | None = None,
) -> ScanReport:
    """Record the tree as it is now as the accepted state, replacing any earlier baseline."""
    work = prepared or plan(db, settings, rehash_all=True)
    fim = settings.files.fim
    digests = hash_many(
        work.root,
        work.to_hash,
        workers=fim.hash_workers,
        max_bytes=fim.max_file_bytes,
        progress=progress,
    )
    site = site_for(settings)
    now = utcnow()
    rows = []
    for path, item in work.current.items():
        seen = Seen.of(item, digests.get(path))
        rows.append(
            {"site": site, "path": path, **seen.columns(), **seen.as_base(), "updated_at": now}
        )
    with db.write() as conn:
        conn.execute(file_baseline.delete().where(file_baseline.c.site == site))
        _write(conn, site, rows, [])
        audit.append(
            conn,
            actor=actor,
            action="fim.baseline",
            target=str(work.root),
            details={"files": len(rows), "site": site},
        )
    return ScanReport(files=len(rows), hashed=len(digests), hashed_bytes=work.hash_bytes)


def scan(
    db: Database,
    settings: Settings,
    paths: Sequence[str | Path] = (),
    *,
    progress: Progress | None = None,
    prepared: Plan | None = None,
) -> ScanReport:
    """Compare the tree with the last scan, store each change once as an event, and report."""
    work = prepared or plan(db, settings, paths)
    if not work.rows and work.prefixes == [""]:
        raise InputError(
            f"there is no baseline of {work.root} yet; run `whmcs-monitor fim baseline` first"
        )
    fim = settings.files.fim
    digests = hash_many(
        work.root,
        work.to_hash,
        workers=fim.hash_workers,
        max_bytes=fim.max_file_bytes,
        progress=progress,
    )
    site = site_for(settings)
    report = ScanReport(files=len(work.current), hashed=len(digests), hashed_bytes=work.hash_bytes)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    accepted: list[dict[str, Any]] = []
    now = utcnow()
    for path, previous, seen, link in _moved(work, digests, scope_of(settings)):
        found = [
            _change(work.root, settings, change, path, previous, seen, link)
            for change in _transitions(previous, seen)
        ]
        # An expected change (Smarty recompiling a template) becomes the baseline at once, so
        # it is neither an event nor pending in `fim status`.
        quiet = bool(found) and not any(change.report for change in found)
        row = {**seen.columns(), **(seen.as_base() if quiet else {}), "updated_at": now}
        if previous is None:
            inserts.append({"site": site, "path": path, **GONE.as_base(), **row})
        else:
            (accepted if quiet else updates).append({"_path": path, **row})
        if not quiet:
            report.changes.extend(found)
    emitter = Emitter(site)
    events = [_event(emitter, c) for c in report.changes]
    with db.write() as conn:
        _write(conn, site, inserts, updates)
        _write(conn, site, [], accepted)
        report.new_events = store(conn, events)
    return report


def _moved(
    work: Plan, digests: dict[str, str | None], scope: Scope
) -> Iterator[tuple[str, Seen | None, Seen, str | None]]:
    """Each path whose state differs from the last scan's: path, previous, now, link target."""
    for path, item in work.current.items():
        previous = work.rows.get(path)
        seen = Seen.of(item, digests.get(path, previous.sha256 if previous else None))
        if previous != seen:
            yield path, previous, seen, item.link
    for path, previous in work.rows.items():
        if path in work.current or previous.gone:
            continue
        if scope.wants(path):  # else the globs changed; an out-of-scope file is not a deletion
            yield path, previous, GONE, None


def _transitions(previous: Seen | None, seen: Seen) -> list[Change]:
    if previous is None or previous.gone:
        return ["added"]
    if seen.gone:
        return ["deleted"]
    changes: list[Change] = []
    if previous.sha256 != seen.sha256:
        changes.append("modified")
    if (previous.mode, previous.uid, previous.gid) != (seen.mode, seen.uid, seen.gid):
        changes.append("permissions_changed")
    return changes


def _change(
    root: Path,
    settings: Settings,
    change: Change,
    path: str,
    previous: Seen | None,
    seen: Seen,
    link: str | None = None,
) -> FileChange:
    signature = None
    if change in ("added", "modified") and PHP_LIKE.match(path):
        signature = signature_hit(fs_path(root, path))
    verdict = classify(
        change,
        path,
        writable_dirs=settings.files.fim.writable_dirs,
        signature=signature,
        smarty_output=bool(SMARTY_COMPILED.match(path)) and smarty_output(fs_path(root, path)),
    )
    before = previous or GONE
    data = {
        "path": path,
        "change": change,
        "rule": verdict.rule,
        "reason": verdict.reason,
        "old_sha256": before.sha256,
        "new_sha256": seen.sha256,
        "old_mode": _mode(before.mode),
        "new_mode": _mode(seen.mode),
        "old_owner": _owner(before.uid, before.gid),
        "new_owner": _owner(seen.uid, seen.gid),
        "size": seen.size,
        "ctime_ns": seen.ctime_ns,
        "link_target": link,
    }
    return FileChange(
        path,
        change,
        verdict.kind,
        verdict.severity,
        verdict.rule,
        verdict.reason,
        data,
        verdict.report,
    )


def _event(emitter: Emitter, change: FileChange) -> Event:
    key = f"{change.path}\0{change.change}\0{change.data['ctime_ns']}\0{change.data['new_sha256']}"
    return emitter.event(
        change.kind,
        key,
        change.data,
        severity=change.severity,
        labels={"change": change.change},
    )


def accept(
    db: Database, settings: Settings, paths: Sequence[str | Path] = (), *, actor: str
) -> int:
    """Make what the last scan saw the accepted state (of ``paths``, or of everything)."""
    root = whmcs_root(settings)
    prefixes = _prefixes(root, paths)
    site = site_for(settings)
    accepted: list[str] = []
    with db.write() as conn:
        rows = conn.execute(sa.select(file_baseline).where(file_baseline.c.site == site)).all()
        for row in rows:
            if not _under(row.path, prefixes) or _is_accepted(row):
                continue
            accepted.append(row.path)
            where = (file_baseline.c.site == site) & (file_baseline.c.path == row.path)
            if row.seen_size is None:
                conn.execute(file_baseline.delete().where(where))
            else:
                seen = Seen(*(row._mapping[c.name] for c in _SEEN_COLUMNS))
                conn.execute(file_baseline.update().where(where).values(**seen.as_base()))
        audit.append(
            conn,
            actor=actor,
            action="fim.accept",
            target=str(root),
            details={
                "paths": [p or "." for p in prefixes],
                "files": len(accepted),
                "sample": sorted(accepted)[:50],
                "site": site,
            },
        )
    return len(accepted)


def _is_accepted(row: Any) -> bool:
    return bool(
        row.base_sha256 == row.seen_sha256
        and row.base_size == row.seen_size
        and row.base_mode == row.seen_mode
        and row.base_uid == row.seen_uid
        and row.base_gid == row.seen_gid
    )


def pending(db: Database, settings: Settings) -> list[dict[str, Any]]:
    """Every file whose last-seen state differs from the accepted baseline."""
    site = site_for(settings)
    with db.read() as conn:
        rows = conn.execute(
            sa.select(file_baseline)
            .where(file_baseline.c.site == site)
            .order_by(file_baseline.c.path)
        ).all()
    out = []
    for row in rows:
        if _is_accepted(row):
            continue
        if row.base_size is None:
            state = "added"
        elif row.seen_size is None:
            state = "deleted"
        elif row.base_sha256 != row.seen_sha256:
            state = "modified"
        else:
            state = "permissions_changed"
        out.append({"path": row.path, "state": state})
    return out
