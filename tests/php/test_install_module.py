"""`whmcs-monitor whmcs install-module`: copy the module, write config.php, register the site."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from php_support import HARNESS_DIR

from whmcs_monitor import whmcs_install
from whmcs_monitor.bootstrap import default_config_text
from whmcs_monitor.cli import main
from whmcs_monitor.config import load_settings
from whmcs_monitor.errors import InputError
from whmcs_monitor.whmcs_install import install_module, register_site

SECRET = "k" * 48


def fake_whmcs(root: Path) -> Path:
    (root / "modules" / "addons").mkdir(parents=True)
    (root / "init.php").write_text("<?php // WHMCS\n")
    (root / "configuration.php").write_text("<?php\n")
    return root


def monitor_config(path: Path) -> Path:
    path.write_text(default_config_text("main"))
    path.chmod(0o600)
    return path


def test_it_copies_the_module_and_writes_a_private_config_php(tmp_path: Path) -> None:
    root = fake_whmcs(tmp_path / "whmcs")
    report = install_module(
        root, site_id="shop", url="https://monitor.example", secret=SECRET, php=None
    )

    target = root / "modules" / "addons" / "whmcs_monitor"
    assert report.module_dir == target
    for name in ("whmcs_monitor.php", "hooks.php", "hooks.json", "lib/Forwarder.php"):
        assert (target / name).is_file(), name
    assert report.files_copied == len([p for p in target.rglob("*") if p.is_file()]) - 1
    assert stat.S_IMODE(report.config_php.stat().st_mode) == 0o600
    text = report.config_php.read_text()
    assert "'collector_url' => 'https://monitor.example'" in text
    assert "'site_id' => 'shop'" in text
    assert f"'secret' => '{SECRET}'" in text
    assert report.files_linted is None
    assert any("Activate" in step for step in report.steps)


def test_the_installed_module_reads_its_config_php_and_lints(php: str, tmp_path: Path) -> None:
    root = fake_whmcs(tmp_path / "whmcs")
    spool = tmp_path / "spool"
    report = install_module(
        root,
        site_id="shop",
        url="https://monitor.example/",
        secret="it's\\tricky" + SECRET,
        php=php,
        spool_dir=spool,
    )
    assert report.files_linted is not None and report.files_linted >= 10

    (tmp_path / "db.json").write_text("{}")
    proc = subprocess.run(
        [
            php,
            str(HARNESS_DIR / "config_probe.php"),
            str(report.module_dir),
            str(tmp_path / "db.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    out = json.loads(proc.stdout)
    assert out["values"]["secret"] == "it's\\tricky" + SECRET
    assert out["values"]["spool_dir"] == str(spool.resolve())
    assert out["sources"]["site_id"] == "config.php"
    assert out["ingest_url"] == "https://monitor.example/api/v1/ingest"
    assert out["db_queried"] is True  # categories, timeouts...: still the addon settings'


def test_it_refuses_a_folder_that_is_not_a_whmcs_root(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"is not a WHMCS root: init.php and modules/addons"):
        install_module(tmp_path, site_id="s", url="http://x", secret=SECRET, php=None)


def test_it_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"is not a directory"):
        install_module(tmp_path / "nope", site_id="s", url="http://x", secret=SECRET, php=None)


def test_it_refuses_an_unwritable_addons_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = fake_whmcs(tmp_path / "whmcs")
    # Tests run as root, for whom every mode bit is writable: ask the OS question the code asks.
    monkeypatch.setattr(whmcs_install.os, "access", lambda path, mode: False)
    with pytest.raises(InputError, match=r"modules/addons is not writable by this user"):
        install_module(root, site_id="s", url="http://x", secret=SECRET, php=None)


def test_it_refuses_a_collector_url_that_is_not_http_without_repeating_it(
    tmp_path: Path,
) -> None:
    root = fake_whmcs(tmp_path / "whmcs")
    with pytest.raises(InputError) as info:
        install_module(root, site_id="s", url="ftp://u:hunter2pw@x", secret=SECRET, php=None)
    assert str(info.value) == (
        "collector URL: must be an http:// or https:// URL with a host, like https://example.com"
    )


def test_it_refuses_a_spool_directory_inside_the_web_root(tmp_path: Path) -> None:
    root = fake_whmcs(tmp_path / "whmcs")
    with pytest.raises(InputError, match=r"must live outside the web root"):
        install_module(
            root, site_id="s", url="http://x", secret=SECRET, php=None, spool_dir=root / "spool"
        )


def test_register_site_adds_a_new_site_with_a_fresh_secret(tmp_path: Path) -> None:
    config = monitor_config(tmp_path / "config.yaml")
    registration = register_site(config, "shop")

    assert registration.created
    assert len(registration.secret) >= 32
    settings = load_settings(config)
    site = settings.site("shop")
    assert site is not None and site.secret_bytes().decode() == registration.secret
    assert settings.site("main") is not None
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert config.read_text().startswith("# whmcs-monitor configuration.")


def test_register_site_reuses_an_existing_site(tmp_path: Path) -> None:
    config = monitor_config(tmp_path / "config.yaml")
    before = config.read_text()
    registration = register_site(config, "main")
    assert not registration.created
    assert registration.secret == yaml.safe_load(before)["sites"][0]["secret"]
    assert config.read_text() == before


def test_the_cli_installs_the_module_and_prints_the_activation_steps(tmp_path: Path) -> None:
    config = monitor_config(tmp_path / "config.yaml")
    root = fake_whmcs(tmp_path / "whmcs")
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "whmcs", "install-module", str(root), "--site", "shop"],
    )
    assert result.exit_code == 0, result.output
    assert "Added site shop" in result.output
    assert "Next steps:" in result.output
    text = (root / "modules/addons/whmcs_monitor/config.php").read_text()
    assert "'collector_url' => 'http://127.0.0.1:8080'" in text
    assert load_settings(config).site("shop") is not None


def test_the_cli_does_not_print_a_password_in_the_collector_url(tmp_path: Path) -> None:
    config = monitor_config(tmp_path / "config.yaml")
    root = fake_whmcs(tmp_path / "whmcs")
    url = "https://proxyuser:hunter2pw@monitor.example/"
    result = CliRunner().invoke(
        main, ["--config", str(config), "whmcs", "install-module", str(root), "--url", url]
    )
    assert result.exit_code == 0, result.output
    assert "posts to https://monitor.example/… as site main" in result.output
    assert "hunter2pw" not in result.output


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        pytest.param(
            ["--url", "ftp://x"],
            2,
            "Invalid value for '--url': must be an http:// or https:// URL",
            id="a-bad-url",
        ),
        pytest.param(
            ["--spool-dir", "{root}/spool"], 1, "must live outside the web root", id="a-bad-spool"
        ),
    ],
)
def test_the_cli_adds_no_site_when_the_install_would_be_refused(
    tmp_path: Path, extra: list[str], code: int, message: str
) -> None:
    config = monitor_config(tmp_path / "config.yaml")
    before = config.read_text()
    root = fake_whmcs(tmp_path / "whmcs")
    args = ["whmcs", "install-module", str(root), "--site", "orphan"]
    args += [e.format(root=root) for e in extra]
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    assert result.exit_code == code
    assert message in result.output
    assert config.read_text() == before


def test_the_cli_says_what_is_wrong_with_a_bad_root_and_changes_nothing(tmp_path: Path) -> None:
    config = monitor_config(tmp_path / "config.yaml")
    before = config.read_text()
    result = CliRunner().invoke(
        main, ["--config", str(config), "whmcs", "install-module", str(tmp_path), "--site", "x"]
    )
    assert result.exit_code == 1
    assert "is not a WHMCS root" in result.output
    assert config.read_text() == before
