"""`whmcs-monitor check [NAME]` against real local listeners."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from whmcs_monitor.cli import main

TOKEN = "cli-heartbeat-token-0123456789"


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "demo": {"enabled": "off"},
                "checks": {
                    "probes": [
                        {
                            "name": "open-port",
                            "type": "tcp",
                            "host": "127.0.0.1",
                            "port": server.getsockname()[1],
                        },
                        {"name": "closed-port", "type": "tcp", "host": "127.0.0.1", "port": 1},
                    ],
                    "heartbeats": [{"name": "whmcs-cron", "token": TOKEN, "period": "5m"}],
                },
            }
        )
    )
    yield path
    server.close()


def test_check_prints_a_table_and_exits_1_when_one_is_down(config: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(config), "check"])
    assert result.exit_code == 1
    assert "open-port" in result.output and "closed-port" in result.output
    assert "UP" in result.output and "DOWN" in result.output


def test_check_name_runs_only_that_check_and_exits_0_when_up(config: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(config), "check", "open-port", "--json"])
    assert result.exit_code == 0
    [row] = json.loads(result.output)
    assert (row["name"], row["status"]) == ("open-port", "up")


def test_an_unknown_check_name_lists_the_known_ones(config: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(config), "check", "nope"])
    assert result.exit_code == 1
    assert "no check named 'nope'; known checks: closed-port, open-port" in result.output


def test_the_snippet_option_prints_the_crontab_line(config: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "check", "--snippet", "whmcs-cron", "--whmcs-root", "/srv/whmcs"],
    )
    assert result.exit_code == 0
    assert result.output.startswith("*/5 * * * * curl")
    assert "php -q /srv/whmcs/crons/cron.php" in result.output


def test_a_snippet_for_an_unknown_heartbeat_is_a_plain_error(config: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(config), "check", "--snippet", "nope"])
    assert result.exit_code == 1
    assert "no heartbeat named 'nope' in checks.heartbeats" in result.output
    assert "Traceback" not in result.output
