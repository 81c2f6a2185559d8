"""``whmcs-monitor poller``: the read-only check with its GRANT advice, a cycle, the status."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from poller_helpers import ago
from support import SITE_SECRET, free_port, make_settings
from whmcs_db import WhmcsDb
from whmcs_monitor.cli import main
from whmcs_monitor.services import Services
from whmcs_monitor.sources.worker import warn_if_writable


def _site(site_id: str, whmcs_db: WhmcsDb, **database: Any) -> dict[str, Any]:
    db = {
        "host": "127.0.0.1",
        "port": 3306,
        "name": whmcs_db.name,
        "user": whmcs_db.user,
        "password": whmcs_db.password,
        **database,
    }
    return {"id": site_id, "secret": SITE_SECRET, "database": db}


def _config(tmp_path: Path, sites: list[dict[str, Any]]) -> Path:
    path = tmp_path / "config.yaml"
    data = {"sites": sites, "demo": {"enabled": "off"}, "poller": {"start_at": "beginning"}}
    path.write_text(yaml.safe_dump(data))
    return path


def run(path: Path, *args: str) -> tuple[int, str]:
    """Exit status and stdout for ``--json`` (one document), stdout and stderr otherwise."""
    result = CliRunner().invoke(main, ["--config", str(path), *args])
    return result.exit_code, result.stdout if "--json" in args else result.output


def test_check_passes_a_read_only_user_and_flags_a_writer_with_the_grants_to_use(
    tmp_path: Path, whmcs_db: WhmcsDb
) -> None:
    writer = _site("writer", whmcs_db, user="root", password="")
    path = _config(tmp_path, [_site("reader", whmcs_db), writer])
    code, output = run(path, "poller", "check", "--json")
    assert code == 1
    results = {r["site"]: r for r in json.loads(output)}
    assert results["reader"]["read_only"] is True and results["reader"]["problem"] is None
    assert (
        results["writer"]["read_only"] is False and "ALL PRIVILEGES" in results["writer"]["problem"]
    )
    code, output = run(path, "poller", "check", "--site", "writer")
    assert code == 1
    assert "WARNING" in output and f"ON `{whmcs_db.name}`.`tblactivitylog` TO 'root'@'%'" in output


def test_the_worker_warns_loudly_at_start_when_the_user_can_write(
    database_url: str, whmcs_db: WhmcsDb, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        database_url, sites=[_site("writer", whmcs_db, user="root", password="")]
    )
    services = Services.open(settings)
    with caplog.at_level(logging.WARNING):
        warn_if_writable(services)
    services.db.dispose()
    assert "SECURITY: site writer" in caplog.text and "GRANT SELECT (" in caplog.text


def test_run_polls_once_and_status_shows_the_cursors(tmp_path: Path, whmcs_db: WhmcsDb) -> None:
    whmcs_db.insert(
        "tblbannedips",
        ip="192.0.2.1",
        reason="3 Invalid Login Attempts",
        expires="2030-01-01 00:00:00",
    )
    for setting in (
        "lastCronInvocationTime",
        "lastDailyCronInvocationTime",
        "lastDailyCronEndTime",
    ):
        whmcs_db.insert("tblconfiguration", setting=setting, value=ago(minutes=1))
    path = _config(tmp_path, [_site("reader", whmcs_db)])
    code, output = run(path, "poller", "run", "--json")
    assert code == 0, output
    (report,) = json.loads(output)
    assert report["ok"] and report["events"] == 1
    code, output = run(path, "poller", "status", "--json")
    (status,) = json.loads(output)
    assert status["outage"] is None and status["cursors"]["banned_ips"]["position"] == "1"
    code, output = run(path, "poller", "run")
    assert code == 0 and "Poll cycle for site reader" in output


def test_run_against_an_unreachable_database_is_one_clear_line(
    tmp_path: Path, whmcs_db: WhmcsDb
) -> None:
    path = _config(tmp_path, [_site("down", whmcs_db, port=free_port())])
    code, output = run(path, "poller", "run")
    assert code == 1 and "Can't connect" in output and "Traceback" not in output
    assert whmcs_db.password not in output
    code, output = run(path, "poller", "run", "--site", "nope")
    assert code == 1 and "--site nope" in output


def test_grant_prints_column_level_grants_and_rejects_odd_names(tmp_path: Path) -> None:
    path = _config(tmp_path, [])
    code, output = run(path, "poller", "grant", "whmcs", "monitor")
    assert code == 0 and "GRANT SELECT (`setting`, `value`) ON `whmcs`.`tblconfiguration`" in output
    assert "password" not in output.lower().replace("<choose a password>", "")
    code, output = run(path, "poller", "grant", "whmcs`;drop", "monitor")
    assert code == 1 and "database name" in output
