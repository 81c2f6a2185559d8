"""Follow the configured logs like ``tail -F``: fatal errors, growth anomalies, size limits.

Each log's follower state (inode, offset, growth baseline, recent fingerprints) lives in
``files_state``, so a restart neither re-reads old lines nor misses new ones. Rotation is noticed
by an inode change (the rest of the old file is drained from its rotated name when it can be
found) and truncation by a size below the offset or by a change in the log's first bytes (a
copytruncate followed by a longer write); both restart at the top of the new file. A line longer
than ``max_read_bytes`` is skipped, with one warning.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from whmcs_monitor.config import Settings
from whmcs_monitor.events.model import Event
from whmcs_monitor.files import state as state_store
from whmcs_monitor.files.config import LogsConfig, LogSource
from whmcs_monitor.files.emit import Emitter, site_for, store
from whmcs_monitor.files.logparse import LogError, parse_line
from whmcs_monitor.lib.durations import format_duration
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store import metrics as metric_store
from whmcs_monitor.store.db import Database

log = logging.getLogger(__name__)
EWMA_WEIGHT = 0.2
MIN_SAMPLES = 5  # polls before a growth rate is compared with the baseline
MAX_FINGERPRINTS = 500
HEAD_BYTES = 1024  # the start of a log, remembered to notice a copytruncate
_QUERY_TIME = re.compile(r"^# Query_time: ([0-9.]+)")


class LogUnreadable(Exception):
    """The log exists but cannot be read (permissions, not a regular file)."""


@dataclass
class PollResult:
    events: list[Event]
    state: dict[str, Any]
    gauges: dict[str, float]  # metric name -> value for this poll


@dataclass
class ReadResult:
    lines: list[str] = field(default_factory=list)
    appended: int = 0  # bytes written to the log since the last poll
    rotation: str = ""  # "", "rotated" or "truncated"


def _head(handle: BinaryIO, offset: int) -> str:
    """A fingerprint of the bytes before ``offset`` (its first :data:`HEAD_BYTES`)."""
    handle.seek(0)
    return hashlib.sha256(handle.read(min(offset, HEAD_BYTES))).hexdigest()


def _skip_line(handle: BinaryIO, offset: int, limit: int) -> tuple[int, bool]:
    """Past the end of the line ``offset`` is in: the new offset, and whether the line's end is
    not written yet (the next poll goes on skipping)."""
    handle.seek(offset)
    while chunk := handle.read(limit):
        end = chunk.find(b"\n")
        if end != -1:
            return offset + end + 1, False
        offset += len(chunk)
    return offset, True


def _read_lines(
    handle: BinaryIO, offset: int, limit: int, where: Path
) -> tuple[list[str], int, bool]:
    """Complete lines from ``offset`` (at most ``limit`` bytes): the lines, the new offset, and
    whether it stopped inside a line longer than ``limit``, which is skipped, not waited for:
    waiting would stall the follower forever."""
    handle.seek(offset)
    chunk = handle.read(limit)
    end = chunk.rfind(b"\n")
    if end != -1:
        text = chunk[: end + 1].decode("utf-8", errors="replace")
        return text.splitlines(), offset + end + 1, False
    if len(chunk) < limit:
        return [], offset, False  # the last line is still being written
    log.warning(
        "log %s: skipped a line longer than files.logs.max_read_bytes (%d bytes) at byte %d",
        where,
        limit,
        offset,
    )
    after, inside = _skip_line(handle, offset + len(chunk), limit)
    return [], after, inside


def _drain(
    handle: BinaryIO, offset: int, overlong: bool, limit: int, where: Path
) -> tuple[list[str], int, bool]:
    """:func:`_read_lines`, after the rest of an over-long line the last poll stopped in."""
    if overlong:
        offset, overlong = _skip_line(handle, offset, limit)
        if overlong:
            return [], offset, True
    return _read_lines(handle, offset, limit, where)


def _rotated_copy(path: Path, inode: int) -> Path | None:
    """The file that used to be ``path`` (``error_log.1``, ``php.log-20261127``), by inode."""
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return None
    for candidate in siblings:
        if candidate.name.startswith(path.name) and candidate != path:
            try:
                if candidate.stat().st_ino == inode:
                    return candidate
            except OSError:
                continue
    return None


def _truncated(handle: BinaryIO, size: int, offset: int, saved: dict[str, Any]) -> bool:
    """Shorter than the offset, or (copytruncate, then a longer write before this poll) its
    first bytes are not the ones read before."""
    if size < offset:
        return True
    return "head" in saved and saved["head"] != _head(handle, offset)


def read_new(path: Path, saved: dict[str, Any], limit: int) -> tuple[ReadResult, dict[str, Any]]:
    """The lines appended since ``saved`` (the follower state); returns them and the new state."""
    if not stat.S_ISREG(os.stat(path).st_mode):  # a directory, or a FIFO open() would block on
        raise OSError(errno.EINVAL, "it is not a regular file")
    result = ReadResult()
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        if "ino" not in saved:  # first sight: follow from the end, never alert on history
            return result, _position(handle, st.st_ino, st.st_size, False)
        offset, overlong = int(saved["offset"]), bool(saved.get("overlong"))
        if st.st_ino != saved["ino"]:
            result.rotation = "rotated"
            old = _rotated_copy(path, int(saved["ino"]))
            if old is not None:
                with open(old, "rb") as previous:
                    lines, end, _ = _drain(previous, offset, overlong, limit, old)
                result.lines.extend(lines)
                result.appended += max(0, end - offset)
            offset, overlong = 0, False
        elif _truncated(handle, st.st_size, offset, saved):
            result.rotation = "truncated"
            offset, overlong = 0, False
        start = offset
        lines, offset, overlong = _drain(handle, offset, overlong, limit, path)
        result.lines.extend(lines)
        result.appended += st.st_size - start
        return result, _position(handle, st.st_ino, offset, overlong)


def _position(handle: BinaryIO, ino: int, offset: int, overlong: bool) -> dict[str, Any]:
    return {"ino": ino, "offset": offset, "head": _head(handle, offset), "overlong": overlong}


def _human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


class LogFollower:
    """One poll of one log: read, parse, decide what to report, and update the state."""

    def __init__(self, source: LogSource, config: LogsConfig, emitter: Emitter) -> None:
        self.source = source
        self.config = config
        self.emitter = emitter

    def poll(self, saved: dict[str, Any], now: datetime) -> PollResult:
        path = self.source.path
        try:
            result, position = read_new(path, saved, self.config.max_read_bytes)
            size = path.stat().st_size
        except FileNotFoundError:
            return PollResult([], saved, {})  # between a rotation's rename and the new file
        except OSError as exc:
            raise LogUnreadable(f"cannot read log {path}: {exc.strerror or exc}") from exc
        new_state = {**saved, **position, "size": size}
        if new_state.pop("unreadable", None):
            log.info("log %s is readable again; following it from where it was", path)
        events: list[Event] = []
        gauges = {"files.log_size_bytes": float(size)}
        if self.source.kind == "mysql_slow":
            times = [float(m[1]) for line in result.lines if (m := _QUERY_TIME.match(line))]
            gauges["files.mysql_slow_queries"] = float(len(times))
            gauges["files.mysql_slow_query_max_seconds"] = max(times, default=0.0)
        else:
            events.extend(self._fatal_errors(result.lines, new_state, now))
        events.extend(self._growth(result.appended, size, saved, new_state, now))
        new_state["polled_at"] = now.isoformat()
        return PollResult(events, new_state, gauges)

    def _fatal_errors(self, lines: list[str], state: dict[str, Any], now: datetime) -> list[Event]:
        seen: dict[str, dict[str, Any]] = dict(state.get("fingerprints", {}))
        errors: dict[str, tuple[LogError, int]] = {}
        for line in lines:
            error = parse_line(line)
            if error is not None:
                first, count = errors.get(error.fingerprint, (error, 0))
                errors[error.fingerprint] = (first, count + 1)
        events = []
        for fp, (error, count) in errors.items():
            entry = seen.get(fp, {"last": "", "pending": 0})
            pending = int(entry["pending"]) + count
            last = datetime.fromisoformat(entry["last"]) if entry["last"] else None
            if last is not None and now - last < self.config.repeat_interval:
                seen[fp] = {**entry, "pending": pending}
                continue
            events.append(self._error_event(error, pending, now))
            seen[fp] = {"last": now.isoformat(), "pending": 0}
        newest = sorted(seen.items(), key=lambda kv: kv[1]["last"], reverse=True)
        state["fingerprints"] = dict(newest[:MAX_FINGERPRINTS])
        return events

    def _error_event(self, error: LogError, count: int, now: datetime) -> Event:
        data = {
            "log": self.source.label,
            "path": str(self.source.path),
            "error_type": error.error_type,
            "message": error.message,
            "file": error.file,
            "line": error.line,
            "count": count,
            "fingerprint": error.fingerprint,
            "fingerprint_basis": {
                "type": error.error_type,
                "normalized_message": error.normalized,
                "where": error.where,
            },
        }
        return self.emitter.event(
            "log.fatal_error",
            f"{self.source.path}\0{error.fingerprint}\0{now.isoformat()}",
            data,
            labels={"fingerprint": error.fingerprint},
            occurred_at=now,
        )

    def _growth(
        self,
        appended: int,
        size: int,
        saved: dict[str, Any],
        state: dict[str, Any],
        now: datetime,
    ) -> list[Event]:
        events = []
        hour = now.strftime("%Y-%m-%dT%H")
        limit = self.source.max_size_mb * 1024 * 1024
        if size > limit:
            events.append(
                self._growth_event(
                    "size", f"past its {_human_bytes(limit)} limit", size, appended, hour, now
                )
            )
        polled = saved.get("polled_at")
        if not polled:
            return events
        elapsed = max((now - datetime.fromisoformat(polled)).total_seconds(), 1.0)
        rate = appended / elapsed
        baseline = float(saved.get("rate_ewma", 0.0))
        samples = int(saved.get("samples", 0))
        anomalous = (
            samples >= MIN_SAMPLES
            and appended > self.source.min_growth_kb * 1024
            and rate > self.source.growth_factor * max(baseline, 1.0)
        )
        if anomalous:
            window = format_duration(timedelta(seconds=round(elapsed)))
            events.append(
                self._growth_event(
                    "rate",
                    f"{rate / max(baseline, 1.0):.0f}x its usual {_human_bytes(baseline)}/s",
                    size,
                    appended,
                    hour,
                    now,
                    window=window,
                )
            )
        else:  # an anomaly must not raise the baseline it is judged against
            state["rate_ewma"] = baseline + EWMA_WEIGHT * (rate - baseline) if samples else rate
        state["samples"] = samples + 1
        return events

    def _growth_event(
        self,
        reason: str,
        detail: str,
        size: int,
        appended: int,
        hour: str,
        now: datetime,
        *,
        window: str = "the last poll",
    ) -> Event:
        data = {
            "log": self.source.label,
            "path": str(self.source.path),
            "reason": reason,
            "detail": detail,
            "growth": _human_bytes(appended),
            "window": window,
            "size_bytes": size,
        }
        return self.emitter.event(
            "log.growth_anomaly",
            f"{self.source.path}\0{reason}\0{hour}",
            data,
            labels={"reason": reason},
            occurred_at=now,
        )


def poll_all(db: Database, settings: Settings, now: datetime | None = None) -> list[Event]:
    """Poll every configured log once; store events, follower state and size samples."""
    config = settings.files.logs
    site = site_for(settings)
    emitter = Emitter(site)
    moment = now or utcnow()
    produced: list[Event] = []
    for source in config.sources:
        key = f"log:{source.path}"
        with db.read() as conn:
            saved = state_store.load(conn, site, key)
        try:
            polled = LogFollower(source, config, emitter).poll(saved, moment)
        except LogUnreadable as exc:
            produced.extend(_note_unreadable(db, emitter, source, key, saved, str(exc), moment))
            continue  # one unreadable log must not stop the others
        samples = [
            metric_store.Sample(name, value, {"log": source.label}, site, moment)
            for name, value in polled.gauges.items()
        ]
        with db.write() as conn:
            store(conn, polled.events)
            state_store.save(conn, site, key, polled.state)
            metric_store.record(conn, samples)
        produced.extend(polled.events)
    return produced


def _note_unreadable(
    db: Database,
    emitter: Emitter,
    source: LogSource,
    key: str,
    saved: dict[str, Any],
    reason: str,
    now: datetime,
) -> list[Event]:
    """Report once per reason, not every poll: the errors in that log go unseen meanwhile."""
    if saved.get("unreadable") == reason:
        return []
    fix = (
        "give the monitor's user read access (e.g. add it to the group that owns the log, such "
        "as adm) or fix files.logs.sources"
    )
    log.warning("%s; the other logs are still followed. To fix: %s", reason, fix)
    data = {"log": source.label, "path": str(source.path), "reason": reason, "fix": fix}
    event = emitter.event("log.unreadable", f"{source.path}\0{reason}\0{now.isoformat()}", data)
    with db.write() as conn:
        store(conn, [event])
        state_store.save(conn, emitter.site, key, {**saved, "unreadable": reason})
    return [event]
