"""The files part's background workers and its line on the coverage scorecard."""

from __future__ import annotations

import os
from pathlib import Path

from files_fixtures import WEB_SHELL, build_whmcs_tree, files_settings, open_db, write
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.coverage import compute
from whmcs_monitor.files.workers import fim_step
from whmcs_monitor.services import Services
from whmcs_monitor.store.events import EventFilter, query_events
from whmcs_monitor.workers import background_workers


def test_the_first_scheduled_run_baselines_and_the_next_reports_changes(
    database_url: str, tmp_path: Path
) -> None:
    root = build_whmcs_tree(tmp_path / "whmcs")
    settings = files_settings(database_url, root)
    write(root / os.fsdecode(b"modules/\xff.txt"), "not UTF-8 from the start\n")
    services = Services(settings=settings, db=open_db(settings))
    try:
        fim_step(services)
        with services.db.read() as conn:
            after_first = query_events(conn, EventFilter(categories=["files"]))
        write(root / "templates_c/evil.php", WEB_SHELL)
        write(root / os.fsdecode(b"includes/hooks/\xe9t\xe9.php"), "<?php // latin-1 name\n")
        fim_step(services)
        with services.db.read() as conn:
            after_second = query_events(conn, EventFilter(kinds=["file.web_shell_suspected"]))
    finally:
        services.db.dispose()
    # A fresh install: no "added" flood, only the standing advice on the writable directories.
    assert {e["kind"] for e in after_first} == {"file.permissions_unsafe"}
    assert sorted(e["labels"]["path"] for e in after_second) == [
        "includes/hooks/\\xe9t\\xe9.php",
        "templates_c/evil.php",
    ]


def test_workers_run_only_for_what_the_files_section_configures(tmp_path: Path) -> None:
    bare = files_settings(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    bare.files.whmcs_root = None
    configured = files_settings(
        f"sqlite:///{tmp_path / 'b.db'}",
        tmp_path,
        logs={"sources": [{"path": str(tmp_path / "php.log")}]},
        backups={"sources": [{"name": "db", "location": str(tmp_path)}]},
    )
    names_bare = [name for name, _ in background_workers(Services(settings=bare, db=open_db(bare)))]
    services = Services(settings=configured, db=open_db(configured))
    names = [name for name, _ in background_workers(services)]
    assert "fim-scan" not in names_bare and "audit-trail-check" in names_bare
    assert {"fim-scan", "fim-watch", "log-follower", "backup-check", "privacy-retention"} <= set(
        names
    )


def test_the_scorecard_counts_files_kinds_as_wired_once_a_root_is_set(
    database_url: str, tmp_path: Path
) -> None:
    settings = files_settings(database_url, tmp_path)
    database = open_db(settings)
    with database.read() as conn:
        card = compute(load_catalog(), settings, conn)
    database.dispose()
    [files] = [c for c in card.categories if c.category == "files"]
    assert files.wired == files.possible
