"""The checks: config section: defaults, validation messages as `path: reason`, and API checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support import make_settings
from whmcs_monitor.checks.definitions import add_check, all_checks, remove_check
from whmcs_monitor.config import load_settings
from whmcs_monitor.errors import ConfigError, InputError
from whmcs_monitor.store.db import Database

TOKEN = "heartbeat-token-abcdef123456"


def problems(checks: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        make_settings("sqlite://", checks=checks)
    return caught.value.problems


def test_defaults_apply_to_every_probe_that_does_not_set_its_own() -> None:
    settings = make_settings(
        "sqlite://",
        checks={
            "defaults": {"interval": "30s", "down_after": 3},
            "probes": [
                {"name": "a", "type": "tcp", "host": "x", "port": 1},
                {"name": "b", "type": "tcp", "host": "x", "port": 1, "interval": "5m"},
            ],
        },
    )
    a, b = settings.checks.probes
    assert (a.interval.total_seconds(), a.down_after) == (30, 3)
    assert (b.interval.total_seconds(), b.down_after) == (300, 3)


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ({"probes": [{"name": "a"}]}, "checks.probes[0].type: is required (one of: http, tcp"),
        (
            {"probes": [{"name": "a", "type": "ping"}]},
            "checks.probes[0].type: 'ping' is not a check type (one of: http, tcp",
        ),
        ({"probes": [{"name": "a", "type": "http"}]}, "checks.probes[0].http.url: is required"),
        (
            {"probes": [{"name": "a b", "type": "tcp", "host": "x", "port": 1}]},
            "checks.probes[0].tcp.name: must be 1-96 letters",
        ),
        (
            {"probes": [{"name": "a", "type": "tcp", "host": "x", "port": 70000}]},
            "checks.probes[0].tcp.port: must be at most 65535",
        ),
        (
            {"probes": [{"name": "a", "type": "tcp", "host": "x", "port": 1, "colour": "red"}]},
            "checks.probes[0].tcp.colour: is not a known setting (check the spelling)",
        ),
        (
            {
                "probes": [{"name": "a", "type": "tcp", "host": "x", "port": 1}],
                "heartbeats": [{"name": "a", "token": TOKEN, "period": "1h"}],
            },
            "checks: the check name 'a' is used twice",
        ),
        (
            {
                "heartbeats": [
                    {"name": "a", "token": TOKEN, "period": "1h"},
                    {"name": "b", "token": TOKEN, "period": "1h"},
                ]
            },
            "checks: two heartbeats share a token; each needs its own",
        ),
        ({"concurrency": 0}, "checks.concurrency: must be at least 1"),
        (
            {"probes": [{"name": "a", "type": "http", "url": "http://billing.example:abc/"}]},
            "checks.probes[0].http.url: 'http://billing.example:abc/' is not an http:// or"
            " https:// URL: Invalid port: 'abc'",
        ),
        (
            {"probes": [{"name": "a", "type": "whmcs", "url": "https://[::1/"}]},
            "checks.probes[0].whmcs.url: 'https://[::1/' is not the http(s):// address of a"
            " WHMCS installation: Invalid port: ':1'",
        ),
    ],
    ids=[
        "no-type",
        "unknown-type",
        "missing-field",
        "bad-name",
        "port",
        "typo",
        "dup-name",
        "dup-token",
        "concurrency",
        "unparseable-http-url",
        "unparseable-whmcs-url",
    ],
)
def test_bad_check_config_names_the_path_and_the_reason(
    checks: dict[str, Any], expected: str
) -> None:
    found = problems(checks)
    assert any(p.startswith(expected) for p in found), found


def test_a_config_file_with_checks_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "checks:\n"
        "  probes:\n"
        "    - {name: site, type: http, url: 'https://billing.example.com/', keyword: Order}\n"
        "  heartbeats:\n"
        f"    - {{name: whmcs-cron, token: {TOKEN}, cron: '*/5 * * * *', grace: 10m}}\n"
    )
    settings = load_settings(path, environ={})
    assert settings.checks.probes[0].target == "https://billing.example.com/"
    assert settings.checks.heartbeats[0].grace.total_seconds() == 600


def test_checks_added_through_the_api_are_validated_stored_and_scheduled(
    database_url: str, db: Database
) -> None:
    settings = make_settings(database_url)
    spec = {
        "name": "api-smtp",
        "type": "smtp",
        "host": "mail.example.com",
        "username": "u",
        "password": "smtp-pw-123",
    }
    with db.write() as conn:
        add_check(conn, settings, spec, actor="alice")
    with db.read() as conn:
        found = all_checks(settings, conn)
    check, origin = found["api-smtp"]
    assert origin == "api"
    assert check.target == "mail.example.com:587"
    with db.write() as conn, pytest.raises(InputError, match="already exists"):
        add_check(conn, settings, spec, actor="alice")
    with db.write() as conn:
        remove_check(conn, "api-smtp")
    with db.read() as conn:
        assert "api-smtp" not in all_checks(settings, conn)


def test_checks_added_through_the_api_take_the_config_defaults_too(
    database_url: str, db: Database
) -> None:
    defaults = {"interval": "30s", "timeout": "4s", "down_after": 3}
    settings = make_settings(database_url, checks={"defaults": defaults})
    with db.write() as conn:
        added = add_check(
            conn, settings, {"name": "api-tcp", "type": "tcp", "host": "h", "port": 1}, actor="a"
        )
        add_check(
            conn,
            settings,
            {"name": "own", "type": "tcp", "host": "h", "port": 1, "interval": "5m"},
            actor="a",
        )
    with db.read() as conn:
        found = all_checks(settings, conn)
    stored, _origin = found["api-tcp"]
    for check in (added, stored):
        assert (check.interval.total_seconds(), check.timeout.total_seconds()) == (30, 4)
        assert check.down_after == 3
    assert found["own"][0].interval.total_seconds() == 300  # its own setting wins


def test_a_bad_api_check_is_refused_with_the_field() -> None:
    from sqlalchemy import create_engine

    with create_engine("sqlite://").connect() as conn, pytest.raises(InputError) as caught:
        add_check(
            conn, make_settings("sqlite://"), {"name": "x", "type": "tcp", "host": "h"}, actor="bob"
        )
    assert str(caught.value) == "tcp.port: is required"


def test_an_api_check_with_an_unparseable_url_is_refused_not_a_crash() -> None:
    from sqlalchemy import create_engine

    spec = {"name": "x", "type": "http", "url": "http://billing.example:abc/"}
    with create_engine("sqlite://").connect() as conn, pytest.raises(InputError) as caught:
        add_check(conn, make_settings("sqlite://"), spec, actor="bob")
    assert caught.value.status == 422
    assert str(caught.value) == (
        "http.url: 'http://billing.example:abc/' is not an http:// or https:// URL:"
        " Invalid port: 'abc'"
    )


def test_removing_a_check_that_was_not_added_through_the_api_is_a_404(db: Database) -> None:
    with db.write() as conn, pytest.raises(InputError) as caught:
        remove_check(conn, "from-config")
    assert caught.value.status == 404
