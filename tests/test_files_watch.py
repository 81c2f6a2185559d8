"""Real-time FIM: a web shell dropped into a watched directory is caught through inotify."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from files_fixtures import WEB_SHELL, build_whmcs_tree, files_settings, open_db, write
from whmcs_monitor.files import fim
from whmcs_monitor.files.watch import Watcher, hot_dirs
from whmcs_monitor.files.workers import watch_loop
from whmcs_monitor.services import Services
from whmcs_monitor.store.events import EventFilter, query_events

DEADLINE = 10.0


def test_the_hot_directories_are_the_writable_ones_and_the_hooks(tmp_path: Path) -> None:
    settings = files_settings("sqlite://", tmp_path)
    assert hot_dirs(settings) == [
        "attachments",
        "downloads",
        "includes/hooks",
        "templates_c",
        "uploads",
    ]


def test_the_watcher_reports_files_created_in_watched_directories_only(tmp_path: Path) -> None:
    root = build_whmcs_tree(tmp_path / "whmcs")
    settings = files_settings("sqlite://", root)
    with Watcher(settings) as watcher:
        write(root / "templates_c/sub/x.php", WEB_SHELL)
        write(root / "vendor/deep/lib.php", "<?php\n")  # vendor is left to scheduled scans
        write(root / "configuration.php", "<?php // edited\n", 0o600)
        seen: set[str] = set()
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and not {"templates_c/sub/x.php", "configuration.php"} <= seen:
            time.sleep(0.05)
            seen.update(watcher.drain())
    assert {"templates_c/sub/x.php", "configuration.php"} <= seen
    assert not any(path.startswith("vendor/deep") for path in seen)


async def test_a_web_shell_dropped_in_attachments_is_an_event_within_seconds(
    database_url: str, tmp_path: Path
) -> None:
    root = build_whmcs_tree(tmp_path / "whmcs")
    settings = files_settings(database_url, root)
    services = Services(settings=settings, db=open_db(settings))
    fim.baseline(services.db, settings, actor="test")
    task = asyncio.create_task(watch_loop(services, debounce=timedelta(seconds=0.2)))
    try:
        await asyncio.sleep(0.3)  # the observer is running
        write(root / "attachments/ticket_5/shell.php", WEB_SHELL)
        found: list[dict[str, object]] = []
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and not found:
            await asyncio.sleep(0.1)
            with services.db.read() as conn:
                found = query_events(conn, EventFilter(kinds=["file.web_shell_suspected"]))
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        services.db.dispose()
    [event] = found
    assert event["labels"]["path"] == "attachments/ticket_5/shell.php"
    assert event["severity"] == "critical"


async def test_a_web_shell_with_a_name_that_is_not_utf8_is_caught_in_real_time(
    database_url: str, tmp_path: Path
) -> None:
    root = build_whmcs_tree(tmp_path / "whmcs")
    settings = files_settings(database_url, root)
    services = Services(settings=settings, db=open_db(settings))
    fim.baseline(services.db, settings, actor="test")
    task = asyncio.create_task(watch_loop(services, debounce=timedelta(seconds=0.2)))
    try:
        await asyncio.sleep(0.3)
        write(root / os.fsdecode(b"attachments/\xfe\xff.php"), WEB_SHELL)
        found: list[dict[str, object]] = []
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and not found:
            await asyncio.sleep(0.1)
            with services.db.read() as conn:
                found = query_events(conn, EventFilter(kinds=["file.web_shell_suspected"]))
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        services.db.dispose()
    [event] = found
    assert event["labels"]["path"] == "attachments/\\xfe\\xff.php"
