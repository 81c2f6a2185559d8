"""The files commands end to end: fim baseline/scan/accept/status, privacy, audit export."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from files_fixtures import WEB_SHELL, build_whmcs_tree, write
from support import SITE_ID, SITE_SECRET
from whmcs_monitor.cli import main


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return build_whmcs_tree(tmp_path / "whmcs")


def config_file(tmp_path: Path, database_url: str, files: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    document = {
        "database": {"url": database_url},
        "sites": [{"id": SITE_ID, "secret": SITE_SECRET}],
        "demo": {"enabled": "off"},
        "files": files,
    }
    path.write_text(yaml.safe_dump(document))
    return path


def cli(config: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], input=input)


def test_baseline_scan_accept_and_status_work_together(
    database_url: str, tmp_path: Path, root: Path
) -> None:
    config = config_file(tmp_path, database_url, {"whmcs_root": str(root)})
    baseline = cli(config, "fim", "baseline")
    assert baseline.exit_code == 0, baseline.output
    assert "Baseline recorded" in baseline.stdout
    write(root / "attachments/x.php", WEB_SHELL)
    scan = cli(config, "fim", "scan", "--json")
    assert scan.exit_code == 0, scan.output
    document = json.loads(scan.stdout)
    assert [(c["path"], c["kind"]) for c in document["changes"]] == [
        ("attachments/x.php", "file.web_shell_suspected")
    ]
    status = json.loads(cli(config, "fim", "status", "--json").stdout)
    assert status == [{"path": "attachments/x.php", "state": "added"}]
    accept = cli(config, "fim", "accept", str(root / "attachments"))
    assert "Accepted 1 changed file(s)" in accept.stdout
    assert json.loads(cli(config, "fim", "status", "--json").stdout) == []
    assert cli(config, "audit", "verify").exit_code == 0
    exported = cli(config, "audit", "export").stdout.splitlines()
    assert [json.loads(line)["action"] for line in exported] == ["fim.baseline", "fim.accept"]


def test_a_human_scan_prints_a_table_of_changes(
    database_url: str, tmp_path: Path, root: Path
) -> None:
    config = config_file(tmp_path, database_url, {"whmcs_root": str(root)})
    cli(config, "fim", "baseline")
    os.chmod(root / "configuration.php", 0o644)
    result = cli(config, "fim", "scan")
    assert result.exit_code == 0
    assert "critical" in result.stdout
    assert "1 change(s), 1 new event(s)" in result.stdout


def test_fim_without_a_whmcs_root_says_what_to_set(tmp_path: Path) -> None:
    config = config_file(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", {})
    result = cli(config, "fim", "scan")
    assert result.exit_code == 1
    assert "files.whmcs_root is not set" in result.output
    assert "Traceback" not in result.output


def test_a_relative_whmcs_root_is_a_config_error_naming_the_setting(tmp_path: Path) -> None:
    config = config_file(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", {"whmcs_root": "www"})
    result = cli(config, "config", "check")
    assert result.exit_code == 1
    assert "files.whmcs_root: must be an absolute path" in result.output


def test_a_glob_escaping_the_root_is_a_config_error(tmp_path: Path) -> None:
    files = {"whmcs_root": "/var/www", "fim": {"include": ["../etc/*"]}}
    config = config_file(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", files)
    result = cli(config, "config", "check")
    assert "files.fim.include" in result.output
    assert "must be a path relative to the WHMCS root" in result.output


def test_privacy_erase_asks_first_and_export_is_one_json_document(tmp_path: Path) -> None:
    config = config_file(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", {})
    declined = cli(config, "privacy", "erase", "42", input="n\n")
    assert declined.exit_code == 1
    erased = cli(config, "privacy", "erase", "42", "--yes")
    assert "Erased 0 event(s), 0 alert(s) and 0 notification(s) about client #42" in erased.stdout
    exported = json.loads(cli(config, "privacy", "export", "42").stdout)
    assert (exported["client_id"], exported["events"]) == (42, [])


def test_a_client_id_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    config = config_file(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", {})
    result = cli(config, "privacy", "export", "abc")
    assert result.exit_code == 2
    assert "'abc' is not a valid integer" in result.output


@pytest.mark.parametrize("command", [["export"], ["erase", "--yes"]])
def test_a_client_id_too_large_for_the_store_is_a_usage_error(
    tmp_path: Path, command: list[str]
) -> None:
    config = config_file(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", {})
    result = cli(config, "privacy", command[0], "99999999999999999999", *command[1:])
    assert result.exit_code == 2, result.output
    assert "is not in the range" in result.output


def test_backups_check_reports_a_missing_backup(tmp_path: Path) -> None:
    files = {"backups": {"sources": [{"name": "db", "location": str(tmp_path / "none")}]}}
    config = config_file(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", files)
    result = cli(config, "backups", "check", "--json")
    assert result.exit_code == 0, result.output
    [finding] = json.loads(result.stdout)
    assert finding["kind"] == "backup.missing"
