"""Real-time FIM for the hot directories, through inotify (watchdog).

Scheduled scans catch everything eventually; the watcher makes the dangerous cases immediate: a PHP
file landing in an upload directory, a new hook file, an edited configuration.php. It only collects
the paths that changed; :func:`scan_changed` runs the ordinary (incremental) scan on them, so the
classification and the event ids are the same as a scheduled scan's.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from whmcs_monitor.config import Settings
from whmcs_monitor.files import fim
from whmcs_monitor.files.tree import relative
from whmcs_monitor.store.db import Database

HOT_DIRS = ("includes/hooks",)


def hot_dirs(settings: Settings) -> list[str]:
    """The recursively watched directories: the writable ones and includes/hooks."""
    return sorted({*settings.files.fim.writable_dirs, *HOT_DIRS})


class _Collector(FileSystemEventHandler):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()
        self.paths: set[str] = set()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return  # its entries get their own events
        found = [event.src_path, getattr(event, "dest_path", "")]
        with self.lock:
            for raw in found:
                if raw:
                    path = os.fsdecode(raw)
                    rel = relative(self.root, path)
                    if rel and not rel.startswith(".."):
                        self.paths.add(rel)


class Watcher:
    """Watch the WHMCS root (not recursively) and its hot directories (recursively).

    Usage::

        with Watcher(settings) as watcher:
            paths = watcher.drain()   # changed paths since the last drain, root-relative
    """

    def __init__(self, settings: Settings) -> None:
        self.root = fim.whmcs_root(settings)
        self.collector = _Collector(self.root)
        self.observer = Observer()
        self.observer.schedule(self.collector, str(self.root), recursive=False)
        for directory in hot_dirs(settings):
            path = self.root / directory
            if path.is_dir():
                self.observer.schedule(self.collector, str(path), recursive=True)

    def __enter__(self) -> Watcher:
        self.observer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)

    def drain(self) -> list[str]:
        with self.collector.lock:
            paths, self.collector.paths = self.collector.paths, set()
        return sorted(paths)


def scan_changed(db: Database, settings: Settings, paths: list[str]) -> fim.ScanReport | None:
    """Scan just the paths the watcher saw change (nothing when there are none)."""
    if not paths:
        return None
    return fim.scan(db, settings, paths)
