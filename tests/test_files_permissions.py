"""Permission checks: configuration.php, and writable directories open to the web."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from files_fixtures import build_whmcs_tree, files_settings, open_db
from whmcs_monitor.files import permissions


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return build_whmcs_tree(tmp_path / "whmcs")


def checks(root: Path) -> set[tuple[str, str]]:
    settings = files_settings("sqlite://", root)
    return {(f.check, f.path) for f in permissions.check_all(settings)}


def test_a_stock_tree_only_gets_the_advice_to_move_writable_directories(root: Path) -> None:
    assert checks(root) == {
        ("inside_web_root", "attachments/"),
        ("inside_web_root", "downloads/"),
        ("inside_web_root", "templates_c/"),
    }


def test_world_readable_configuration_php_is_critical(root: Path) -> None:
    os.chmod(root / "configuration.php", 0o644)
    settings = files_settings("sqlite://", root)
    [finding] = [f for f in permissions.check_all(settings) if f.path == "configuration.php"]
    assert finding.severity == "critical"
    assert "0644" in finding.problem


def test_a_writable_directory_without_a_deny_rule_is_web_executable(root: Path) -> None:
    (root / "downloads/.htaccess").write_text("# emptied by someone\n")
    assert ("web_executable", "downloads/") in checks(root)


def test_a_directory_moved_outside_the_web_root_raises_nothing(root: Path, tmp_path: Path) -> None:
    for name in ("attachments", "downloads", "templates_c"):
        (root / name).rename(tmp_path / name)
    assert checks(root) == set()


def test_a_world_writable_directory_is_reported(root: Path) -> None:
    os.chmod(root / "templates_c", 0o777)
    assert ("world_writable", "templates_c/") in checks(root)


def test_findings_are_stored_once_however_often_checked(database_url: str, root: Path) -> None:
    os.chmod(root / "configuration.php", 0o666)
    settings = files_settings(database_url, root)
    database = open_db(settings)
    _, first = permissions.report(database, settings)
    _, second = permissions.report(database, settings)
    database.dispose()
    assert (first, second) == (4, 0)
