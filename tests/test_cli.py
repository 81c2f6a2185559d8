"""The command line: init, catalog, events, coverage, users and audit, as a user runs them."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient

from support import batch_body, event, mark_migrated_by_a_newer_version, signed_headers
from whmcs_monitor.cli import main
from whmcs_monitor.config import Settings, load_settings


@pytest.fixture
def initialized(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "config.yaml"
    result = CliRunner().invoke(main, ["--config", str(path), "init"])
    assert result.exit_code == 0, result.output
    return path


def run(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(path), *args])
    return result.exit_code, result.output


def test_init_creates_a_private_config_a_database_and_an_admin(initialized: Path) -> None:
    assert stat.S_IMODE(os.stat(initialized).st_mode) == 0o600
    settings = load_settings(initialized)
    assert (initialized.parent / "monitor.db").exists()
    assert len(settings.sites[0].secret_bytes()) >= 32
    code, output = run(initialized, "users", "list", "--json")
    assert code == 0
    assert json.loads(output) == [
        {"username": "admin", "role": "admin", "disabled": False, "last_login_at": None}
    ]


def test_a_database_created_after_init_is_private_too(tmp_path: Path) -> None:
    from whmcs_monitor.store.db import Database

    path = tmp_path / "later" / "monitor.db"
    Database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_init_keeps_the_data_directory_and_the_database_files_private(initialized: Path) -> None:
    import sqlite3

    data = initialized.parent
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    conn = sqlite3.connect(data / "monitor.db")  # -wal and -shm exist while it is open
    try:
        conn.execute("INSERT INTO audit_head (id, record_id, hash) VALUES (2, 0, '')")
        names = ("monitor.db", "monitor.db-wal", "monitor.db-shm")
        assert {n: stat.S_IMODE(os.stat(data / n).st_mode) for n in names} == dict.fromkeys(
            names, 0o600
        )
    finally:
        conn.rollback()
        conn.close()


def test_init_refuses_to_overwrite_an_existing_config(initialized: Path) -> None:
    before = initialized.read_text()
    code, output = run(initialized, "init")
    assert code == 1 and "already exists" in output
    assert initialized.read_text() == before


def test_init_prints_the_admin_password_once_and_it_works(tmp_path: Path) -> None:
    from whmcs_monitor.accounts import verify_password
    from whmcs_monitor.store.db import Database

    path = tmp_path / "config.yaml"
    code, output = run(path, "init")
    assert code == 0
    password = output.split("one-time password:")[1].split()[0]
    db = Database(load_settings(path).database_url)
    try:
        user = verify_password(db, "admin", password)
        assert user is not None and user.must_change_password
        assert verify_password(db, "admin", password + "x") is None
    finally:
        db.dispose()


def test_catalog_filters_by_category_and_prints_json() -> None:
    result = CliRunner().invoke(main, ["catalog", "--category", "domains", "--json"])
    assert result.exit_code == 0
    kinds = json.loads(result.output)
    assert kinds and {k["category"] for k in kinds} == {"domains"}


def test_catalog_rejects_an_unknown_category_with_the_choices() -> None:
    result = CliRunner().invoke(main, ["catalog", "--category", "dommains"])
    assert result.exit_code == 2 and "choose from" in result.output


def ingest(path: Path, batch: list[dict[str, Any]]) -> None:
    """Send ``batch`` through the real ingest API of the service ``path`` configures."""
    from whmcs_monitor.web.app import create_app

    settings: Settings = load_settings(path)
    site = settings.sites[0]
    body = batch_body(batch)
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/v1/ingest",
            content=body,
            headers=signed_headers(body, site=site.id, secret=site.secret_bytes().decode()),
        )
        assert response.status_code == 202


def test_events_lists_what_was_ingested_filtered_by_alias(initialized: Path) -> None:
    ingest(
        initialized,
        [
            event(
                "AfterRegistrarRegistrationFailed",
                vars={
                    "params": {"domainid": 9, "sld": "example", "tld": "com"},
                    "error": "Insufficient funds",
                },
            ),
            event("InvoicePaid"),
        ],
    )
    code, output = run(
        initialized, "events", "--since", "10m", "--kind", "DomainRegisterFailed", "--json"
    )
    assert code == 0
    rows = json.loads(output)
    assert [r["kind"] for r in rows] == ["registrar.registration_failed"]
    assert rows[0]["subjects"]["domain"] == 9
    assert "Insufficient funds" in rows[0]["summary"]


def test_events_shows_stored_text_as_text_not_as_markup(
    initialized: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    link = "[link=file:///etc/passwd]x[/link]"
    ingest(
        initialized,
        [event("ClientAdd", vars={"client_id": 7, "firstname": "[/]", "lastname": link})],
    )
    code, output = run(initialized, "events", "--since", "10m")
    assert code == 0, output
    assert f"New client #7: [/] {link}" in output


def test_events_explains_a_bad_since(initialized: Path) -> None:
    code, output = run(initialized, "events", "--since", "10x")
    assert code == 2 and "'10x' is not a duration" in output


@pytest.mark.parametrize("since", ["99999999d", "5300w"])
def test_events_refuses_a_since_too_far_back_for_a_date(initialized: Path, since: str) -> None:
    code, output = run(initialized, "events", "--since", since)
    assert code == 2, output
    assert f"Invalid value for --since: '{since}' is too long" in output


def test_coverage_json_has_every_category_and_actionable_gaps(initialized: Path) -> None:
    code, output = run(initialized, "coverage", "--json")
    assert code == 0
    card = json.loads(output)
    assert len(card["categories"]) == 14
    assert card["total"]["possible"] == sum(c["possible"] for c in card["categories"])
    hook_gap = next(
        g for g in card["gaps"] if g["stage"] == "wired" and "install-module" in g["action"]
    )
    assert hook_gap["kinds"]


def _configure(path: Path, **sections: Any) -> None:
    """Merge ``sections`` into the config file ``init`` wrote; a ``site`` entry updates the
    first site."""
    data = yaml.safe_load(path.read_text())
    data["sites"][0].update(sections.pop("site", {}))
    data.update(sections)
    path.write_text(yaml.safe_dump(data))


def _coverage(path: Path) -> dict[str, Any]:
    code, output = run(path, "coverage", "--json")
    assert code == 0, output
    card: dict[str, Any] = json.loads(output)
    return card


def _wiring_gaps(card: dict[str, Any], category: str) -> list[dict[str, Any]]:
    return [g for g in card["gaps"] if g["category"] == category and g["stage"] == "wired"]


WHMCS_DATABASE = {"database": {"name": "whmcs", "user": "monitor_ro"}}


def test_coverage_counts_analytics_kinds_as_wired_once_a_site_has_a_database(
    initialized: Path,
) -> None:
    before = _coverage(initialized)
    assert not any("not in this version" in g["action"] for g in before["gaps"])
    [business_gap] = _wiring_gaps(before, "business")
    assert "sites[].database" in business_gap["action"]
    breach_gap = next(
        g for g in _wiring_gaps(before, "compliance") if "mass_data_export" in str(g["kinds"])
    )
    assert "files.breach.enabled" in breach_gap["action"]
    _configure(initialized, site=WHMCS_DATABASE)
    after = _coverage(initialized)
    [business] = [c for c in after["categories"] if c["category"] == "business"]
    assert business["wired"] == business["possible"] and not _wiring_gaps(after, "business")
    assert not any("mass_data_export" in g["kinds"] for g in _wiring_gaps(after, "compliance"))


def test_coverage_tells_apart_analytics_and_breach_indicators_when_one_is_off(
    initialized: Path,
) -> None:
    """Both read the site's database, but ``analytics.enabled: false`` stops only the
    business kinds; the compliance kinds come from the breach indicators."""
    _configure(initialized, site=WHMCS_DATABASE, analytics={"enabled": False})
    card = _coverage(initialized)
    [business_gap] = _wiring_gaps(card, "business")
    assert "analytics.enabled" in business_gap["action"]
    assert not any("mass_data_export" in g["kinds"] for g in _wiring_gaps(card, "compliance"))


def test_a_database_migrated_by_a_newer_version_is_a_clear_error(initialized: Path) -> None:
    mark_migrated_by_a_newer_version(load_settings(initialized).database_url)
    code, output = run(initialized, "events")
    assert code == 1
    assert output == (
        "Error: the database schema is newer than this whmcs-monitor (unknown revision "
        "9001_from_the_future); upgrade whmcs-monitor\n"
    )


def test_users_add_passwd_disable(initialized: Path) -> None:
    assert (
        run(
            initialized,
            "users",
            "add",
            "bob",
            "--role",
            "operator",
            "--password",
            "correct horse battery",
        )[0]
        == 0
    )
    code, output = run(initialized, "users", "add", "bob", "--password", "correct horse battery")
    assert code == 1 and "already exists" in output
    code, output = run(initialized, "users", "passwd", "bob", "--password", "short")
    assert code == 1 and "at least 12 characters" in output
    assert run(initialized, "users", "disable", "bob")[0] == 0
    code, output = run(initialized, "users", "list", "--json")
    bob = next(u for u in json.loads(output) if u["username"] == "bob")
    assert bob["disabled"] is True and bob["role"] == "operator"
    code, output = run(initialized, "audit", "verify")
    assert code == 0 and "3 audit record(s)" in output


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["events", "--config", "{path}", "--json"], id="after-the-command"),
        pytest.param(
            ["--config", "{missing}", "events", "--json", "--config", "{path}"],
            id="the-last-one-wins",
        ),
        pytest.param(["alerts", "--config", "{path}", "list", "--json"], id="after-a-group"),
        pytest.param(["alerts", "list", "--json", "--config", "{path}"], id="after-a-subcommand"),
        pytest.param(["config", "check", "--config", "{path}"], id="after-config-check"),
    ],
)
def test_config_is_accepted_before_and_after_the_command(
    initialized: Path, tmp_path: Path, args: list[str]
) -> None:
    argv = [a.format(path=initialized, missing=tmp_path / "missing.yaml") for a in args]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output


def test_every_command_has_the_config_option() -> None:
    def walk(command: click.Command) -> Iterator[click.Command]:
        yield command
        for sub in getattr(command, "commands", {}).values():
            yield from walk(sub)

    missing = [
        c.name for c in walk(main) if "--config" not in {o for p in c.params for o in p.opts}
    ]
    assert missing == []


def test_audit_verify_reports_deleted_newest_records(initialized: Path) -> None:
    import sqlite3

    assert run(initialized, "users", "add", "bob", "--password", "correct horse battery")[0] == 0
    with sqlite3.connect(initialized.parent / "monitor.db") as conn:
        conn.execute("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)")
    code, output = run(initialized, "audit", "verify")
    assert code == 1
    assert "BROKEN audit record 2: it is missing: the trail ends at record 1" in output


@pytest.mark.parametrize("command", ["init", "run"])
def test_a_data_directory_that_cannot_be_created_is_one_plain_error(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / "a-file").write_text("")
    for config, reason in [
        (tmp_path / "a-file" / "c.yaml", f"cannot create {tmp_path / 'a-file'}: it is a file"),
        (tmp_path / "a-file" / "d" / "c.yaml", "Not a directory"),
    ]:
        result = CliRunner().invoke(main, ["--config", str(config), command])
        assert result.exit_code == 1
        assert reason in result.output and "--config PATH" in result.output
        assert not isinstance(result.exception, OSError)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:99999", "is not a valid URL (check the host and the port)"),
        ("127.0.0.1:8080", "must be an http:// or https:// URL with a host"),
    ],
)
def test_demo_refuses_a_bad_url_before_sending(initialized: Path, url: str, reason: str) -> None:
    code, output = run(initialized, "demo", "--url", url, "--count", "1")
    assert code == 2
    assert f"Invalid value for '--url': {reason}" in output


def test_a_missing_config_says_how_to_create_one(tmp_path: Path) -> None:
    code, output = run(tmp_path / "nope.yaml", "events")
    assert code == 1 and "run `whmcs-monitor init`" in output
