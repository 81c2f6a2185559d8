"""What a running service loads before anyone uses it: the heavy optional libraries stay out
until a WHMCS database, a TLS check or a DNS check needs them (bench/ingest.py's idle RSS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import whmcs_monitor

LAZY = ("pymysql", "cryptography", "dns")


def test_the_service_modules_do_not_load_the_libraries_of_unused_checks() -> None:
    code = (
        "import sys, whmcs_monitor.cli, whmcs_monitor.web.app, whmcs_monitor.workers; "
        f"print(sorted(name for name in {LAZY!r} if name in sys.modules))"
    )
    source = str(Path(whmcs_monitor.__file__).parents[1])  # this checkout, not an installed copy
    env = {**os.environ, "PYTHONPATH": source}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"
