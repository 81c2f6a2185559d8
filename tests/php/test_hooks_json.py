"""The shipped hooks.json is exactly the event catalog's export, and every PHP file lints."""

from __future__ import annotations

import json
import subprocess

from php_support import HARNESS_DIR, MODULE_DIR, REPO

from whmcs_monitor.catalog import load_catalog


def test_shipped_hooks_json_equals_the_catalog_export() -> None:
    shipped = json.loads((MODULE_DIR / "hooks.json").read_text())
    assert shipped == load_catalog().export_hooks(), (
        "hooks.json is stale: regenerate it with `whmcs-monitor catalog --export-hooks "
        "> whmcs/modules/addons/whmcs_monitor/hooks.json`"
    )


def test_every_php_file_passes_php_lint(php: str) -> None:
    files = sorted(
        [*MODULE_DIR.rglob("*.php"), *HARNESS_DIR.rglob("*.php"), *(REPO / "bench").glob("*.php")]
    )
    assert len(files) >= 10
    for path in files:
        proc = subprocess.run([php, "-l", str(path)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{path}: {proc.stdout}{proc.stderr}"
