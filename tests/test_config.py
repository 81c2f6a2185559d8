"""Config validation: every problem reported with its path and a plain reason."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from whmcs_monitor.cli import main
from whmcs_monitor.config import load_settings, parse_settings
from whmcs_monitor.errors import ConfigError

GOOD_SECRET = "k" * 40


def problems(data: object, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(data, environ=environ or {})
    return info.value.problems


def test_a_short_site_secret_is_reported_at_its_path() -> None:
    assert problems({"sites": [{"id": "main", "secret": "short"}]}) == [
        "sites[0].secret: must be at least 32 characters"
    ]


def test_every_problem_is_reported_not_just_the_first() -> None:
    found = problems({"server": {"port": 0, "colour": "blue"}, "sites": [{"id": "Bad Id!"}]})
    assert "server.port: must be at least 1" in found
    assert "server.colour: is not a known setting (check the spelling)" in found
    assert any(p.startswith("sites[0].id: must be 1-64 lower-case letters") for p in found)


def test_duplicate_site_ids_are_refused_at_the_second_one() -> None:
    site = {"id": "main", "secret": GOOD_SECRET}
    assert problems({"sites": [site, site]}) == ["sites[1].id: 'main' is used twice"]


def test_secret_and_duplicate_problems_are_reported_beside_every_other_one() -> None:
    found = problems(
        {
            "sites": [
                {"id": "Main", "secret": "short"},
                {"id": "ok", "secret": GOOD_SECRET},
                {"id": "ok", "secret": GOOD_SECRET},
                {"id": "Bad Id"},
            ],
            "server": {"port": 70000},
        }
    )
    assert sorted(found) == [
        "server.port: must be at most 65535",
        "sites[0].id: must be 1-64 lower-case letters, digits, '-' or '_'",
        "sites[0].secret: must be at least 32 characters",
        "sites[2].id: 'ok' is used twice",
        "sites[3].id: must be 1-64 lower-case letters, digits, '-' or '_'",
        "sites[3].secret: is required (give secret, secret_env or secret_file)",
    ]


def test_a_short_secret_from_the_environment_names_the_variable() -> None:
    found = problems(
        {"sites": [{"id": "main", "secret_env": "MAIN_SECRET"}]}, {"MAIN_SECRET": "short"}
    )
    assert found == [
        "sites[0].secret: must be at least 32 characters (from secret_env MAIN_SECRET)"
    ]


def test_environment_overrides_the_file() -> None:
    settings = parse_settings(
        {"server": {"port": 8080}}, environ={"WHMCS_MONITOR_SERVER__PORT": "9100"}
    )
    assert settings.server.port == 9100


def test_a_bad_environment_override_names_the_setting_and_the_variable() -> None:
    assert problems({}, {"WHMCS_MONITOR_SERVER__PORT": "eighty"}) == [
        "server.port: must be a whole number (set by WHMCS_MONITOR_SERVER__PORT)"
    ]
    assert problems({}, {"WHMCS_MONITOR_SERVER__COLOUR": "blue"}) == [
        "server.colour: is not a known setting (check the spelling) "
        "(set by WHMCS_MONITOR_SERVER__COLOUR)"
    ]


def test_variables_that_only_share_the_prefix_are_not_settings() -> None:
    settings = parse_settings(
        {"sites": [{"id": "main", "secret_env": "WHMCS_MONITOR_MAIN_SECRET"}]},
        environ={
            "WHMCS_MONITOR_MAIN_SECRET": GOOD_SECRET,
            "WHMCS_MONITOR_SECRET": "the PHP module's",
            "WHMCS_MONITOR_COLLECTOR_URL": "https://monitor.example",
            "WHMCS_MONITOR_CHROMIUM": "/usr/bin/chromium",
            "WHMCS_MONITOR_CONFIG": "/etc/whmcs-monitor/config.yaml",
        },
    )
    assert settings.sites[0].secret_bytes() == GOOD_SECRET.encode()


def test_list_settings_come_from_the_environment_as_json() -> None:
    settings = parse_settings(
        {},
        environ={
            "WHMCS_MONITOR_SERVER__TRUSTED_PROXIES": '["10.0.0.1", "10.0.0.2"]',
            "WHMCS_MONITOR_SERVER__HOST": "[::1]",  # text stays text, brackets and all
        },
    )
    assert settings.server.trusted_proxies == ["10.0.0.1", "10.0.0.2"]
    assert settings.server.host == "[::1]"


def test_a_list_setting_that_is_not_json_names_the_variable() -> None:
    found = problems({}, {"WHMCS_MONITOR_SERVER__TRUSTED_PROXIES": "[10.0.0.1]"})
    assert found == [
        "WHMCS_MONITOR_SERVER__TRUSTED_PROXIES: server.trusted_proxies is a list or mapping, "
        "so give it as JSON (like [\"10.0.0.1\"]); Expecting ',' delimiter at column 6"
    ]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("nonsense", "is not a database URL"),
        ("postgresql://monitor:hunter2pw@db:port/monitor", "is not a database URL"),
        ("postgresql://monitor:hunter2pw@db:99999/monitor", "the port must be between 1 and 65535"),
        ("mysql://monitor:hunter2pw@db/monitor", "'mysql' databases are not supported"),
    ],
)
def test_a_bad_database_url_is_reported_without_its_password(url: str, reason: str) -> None:
    (problem,) = problems({"database": {"url": url}})
    assert problem.startswith(f"database.url: {reason}")
    assert "hunter2pw" not in problem


def test_config_check_reports_a_bad_database_url_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("database:\n  url: nonsense\n")
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 1
    assert "database.url: is not a database URL" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_malformed_urls_are_reported_at_their_paths_without_their_credentials() -> None:
    found = problems(
        {
            "server": {"public_url": "not a url"},
            "sites": [
                {
                    "id": "main",
                    "secret": GOOD_SECRET,
                    "whmcs_url": "ftp://admin:hunter2pw@billing.example.com/",
                    "api": {
                        "url": "https://billing.example.com:99999/",
                        "identifier": "i",
                        "secret": "s",
                    },
                }
            ],
            "alerting": {
                "receivers": [{"name": "ops", "webhook": {"url": "hooks.example/hunter2pw"}}]
            },
        }
    )
    shape = "must be an http:// or https:// URL with a host, like https://example.com"
    assert sorted(found) == [
        f"alerting.receivers[0].webhook.url: {shape}",
        f"server.public_url: {shape}",
        "sites[0].api.url: is not a valid URL (check the host and the port)",
        f"sites[0].whmcs_url: {shape}",
    ]
    assert "hunter2pw" not in "\n".join(found)


def test_config_check_shows_the_database_url_without_its_passwords(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    url = (
        "postgresql://monitor:hunter2pw@db.example:5432/monitor?password=hunter3pw&sslmode=require"
    )
    path.write_text(f"database:\n  url: '{url}'\n")
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 0, result.output
    assert (
        "database postgresql://monitor:***@db.example:5432/monitor?password=REDACTED&sslmode=require"
        in result.output
    )
    assert "hunter2pw" not in result.output and "hunter3pw" not in result.output


def test_a_secret_can_come_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "main.secret"
    secret_file.write_text(GOOD_SECRET + "\n")
    settings = parse_settings(
        {"sites": [{"id": "main", "secret_file": str(secret_file)}]}, environ={}
    )
    assert settings.sites[0].secret_bytes() == GOOD_SECRET.encode()


def test_a_secret_env_that_is_unset_is_reported() -> None:
    found = problems({"sites": [{"id": "main", "secret_env": "NOPE_NOT_SET"}]})
    assert found == ["sites[0].secret: secret_env names NOPE_NOT_SET, which is not set"]


def test_secrets_are_never_printed() -> None:
    settings = parse_settings({"sites": [{"id": "main", "secret": GOOD_SECRET}]}, environ={})
    assert GOOD_SECRET not in repr(settings) and GOOD_SECRET not in str(settings.model_dump())


@pytest.mark.parametrize(("written", "read"), [("off", "off"), ("on", "on"), ("no", "off")])
def test_demo_enabled_takes_a_bare_on_or_off(tmp_path: Path, written: str, read: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"demo:\n  enabled: {written}\n")
    assert load_settings(path, environ={}).demo.enabled == read


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("server:\n  port: [8080\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert info.value.problems[0].startswith("line 3, column 1: not valid YAML")


def test_a_key_given_twice_names_the_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "alerting:\n  receivers:\n    - name: ops\n      webhook: {url: 'https://h.example/x'}\n"
        "alerting:\n  default_rules: true\n"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert info.value.source == str(path)
    assert info.value.problems == [
        "line 5, column 1: not valid YAML: the key 'alerting' is given twice (first on line 1); "
        "the second would replace the first"
    ]


def test_config_check_prints_each_problem_and_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("sites:\n  - id: main\n    secret: tooshort\nserver:\n  port: 70000\n")
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 1
    assert "sites[0].secret: must be at least 32 characters" in result.output
    assert "server.port: must be at most 65535" in result.output
    assert "Traceback" not in result.output


def test_config_check_passes_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"sites:\n  - id: main\n    secret: {GOOD_SECRET}\n")
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and GOOD_SECRET not in result.output


def _config_with_rule_files(tmp_path: Path) -> Path:
    (tmp_path / "bad.yaml").write_text("rules:\n  - name: x\n    bogus: 1\n")
    (tmp_path / "a-directory").mkdir()
    path = tmp_path / "config.yaml"
    path.write_text(
        f"sites:\n  - id: main\n    secret: {GOOD_SECRET}\n"
        "alerting:\n  rule_files: [missing.yaml, bad.yaml, a-directory]\n"
    )
    return path


def test_config_check_loads_every_rule_file_and_names_each_problem(tmp_path: Path) -> None:
    path = _config_with_rule_files(tmp_path)
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        f"alerting.rule_files[0] ({tmp_path / 'missing.yaml'}): cannot read the rule file: "
        "No such file or directory",
        f'alerting.rule_files[1] ({tmp_path / "bad.yaml"}): rule "x": bogus: '
        "is not a known setting (check the spelling)",
        f"alerting.rule_files[2] ({tmp_path / 'a-directory'}): cannot read the rule file: "
        "Is a directory",
    ]


def test_run_refuses_to_start_with_a_broken_rule_file(tmp_path: Path) -> None:
    path = _config_with_rule_files(tmp_path)
    with socket.socket() as busy:  # were run to get past the check, it would fail to listen
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = CliRunner().invoke(main, ["--config", str(path), "run", "--port", port])
    assert result.exit_code == 1
    assert "alerting.rule_files[1]" in result.output and "serving on" not in result.output
