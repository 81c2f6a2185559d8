"""Follow the configured logs like ``tail -F``: fatal errors, growth anomalies, size limits.

Each log's follower state (inode, offset, growth baseline, recent fingerprints) lives in
``files_state``, so a restart neither re-reads old lines nor misses new ones. Rotation is noticed
by an inode change (the rest of the old file is drained from its rotated name when it can be
found) and truncation by a size below the offset; both restart at the top of the new file.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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


def _read_lines(path: Path, offset: int, limit: int) -> tuple[list[str], int]:
    """Complete lines from ``offset`` (at most ``limit`` bytes); returns them and the new offset."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        chunk = handle.read(limit)
    end = chunk.rfind(b"\n")
    if end == -1:
        return [], offset
    text = chunk[: end + 1].decode("utf-8", errors="replace")
    return text.splitlines(), offset + end + 1


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


def read_new(path: Path, saved: dict[str, Any], limit: int) -> tuple[ReadResult, dict[str, Any]]:
    """The lines appended since ``saved`` (the follower state); returns them and the new state."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):  # a directory, or a FIFO that open() would block on
        raise OSError(errno.EINVAL, "it is not a regular file")
    result = ReadResult()
    if "ino" not in saved:  # first sight: follow from the end, never alert on history
        _, end = _read_lines(path, st.st_size, limit)  # opens it: unreadable shows at once
        return result, {"ino": st.st_ino, "offset": end}
    offset = int(saved["offset"])
    if st.st_ino != saved["ino"]:
        result.rotation = "rotated"
        old = _rotated_copy(path, int(saved["ino"]))
        if old is not None:
            lines, end = _read_lines(old, offset, limit)
            result.lines.extend(lines)
            result.appended += max(0, end - offset)
        offset = 0
    elif st.st_size < offset:
        result.rotation = "truncated"
        offset = 0
    start = offset
    lines, offset = _read_lines(path, offset, limit)
    result.lines.extend(lines)
    result.appended += st.st_size - start
    return result, {"ino": st.st_ino, "offset": offset}


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
            _note_unreadable(db, site, key, saved, str(exc))
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


def _note_unreadable(db: Database, site: str, key: str, saved: dict[str, Any], reason: str) -> None:
    """Warn once per reason, not every poll; the catalog has no event kind for this."""
    if saved.get("unreadable") == reason:
        return
    log.warning(
        "%s; the other logs are still followed. Give the monitor's user read access "
        "(e.g. add it to the group that owns the log, such as adm) or fix files.logs.sources",
        reason,
    )
    with db.write() as conn:
        state_store.save(conn, site, key, {**saved, "unreadable": reason})
