"""Standing permission checks from WHMCS's hardening advice, reported once per problem.

FIM reports permission *changes*; these checks report *states* that are unsafe however they came
about: configuration.php readable or writable by everyone, the writable directories (attachments,
downloads, templates_c) inside the web root and open to the web, or world-writable.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from whmcs_monitor.config import Settings
from whmcs_monitor.files.emit import Emitter, site_for, store
from whmcs_monitor.files.fim import whmcs_root
from whmcs_monitor.store.db import Database

# Directives that keep Apache from serving (and so running) anything in a directory.
_DENIES = re.compile(
    r"^\s*(?:deny\s+from\s+all|require\s+all\s+denied|php_flag\s+engine\s+off"
    r"|removehandler\s+.*\.php|sethandler\s+none)\b",
    re.I | re.M,
)
PROTECTED_DIRS = ("attachments", "downloads", "templates_c")


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    path: str
    problem: str
    fix: str
    severity: str


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def check_configuration(root: Path) -> list[Finding]:
    mode = _mode(root / "configuration.php")
    if mode is None or not mode & 0o006:
        return []
    return [
        Finding(
            "config_world_access",
            "configuration.php",
            f"mode {mode:04o} lets every local user read or write it",
            "chmod 400 configuration.php (owned by the PHP user)",
            "critical",
        )
    ]


def _denied(directory: Path) -> bool:
    try:
        text = (directory / ".htaccess").read_text("utf-8", errors="replace")
    except OSError:
        return False
    return bool(_DENIES.search(text))


def check_writable_dir(root: Path, name: str) -> list[Finding]:
    directory = root / name
    mode = _mode(directory)
    if mode is None:
        return []  # moved out of the web root, as WHMCS recommends
    findings = []
    if _denied(directory):
        findings.append(
            Finding(
                "inside_web_root",
                f"{name}/",
                "is inside the web root (denied by .htaccess, which nginx ignores)",
                f"move {name} outside the web root and set its path in configuration.php",
                "warning",
            )
        )
    else:
        findings.append(
            Finding(
                "web_executable",
                f"{name}/",
                "is inside the web root with no .htaccess denying access, so an uploaded PHP "
                "file could be run from the browser",
                f"move {name} outside the web root and set its path in configuration.php, or add "
                "'Require all denied' (Apache; nginx needs a deny location)",
                "error",
            )
        )
    if mode & 0o002:
        findings.append(
            Finding(
                "world_writable",
                f"{name}/",
                f"mode {mode:04o} is world-writable",
                f"chmod 770 {name} and give the web server's group write access instead",
                "error",
            )
        )
    return findings


def check_all(settings: Settings) -> list[Finding]:
    root = whmcs_root(settings)
    findings = check_configuration(root)
    for name in PROTECTED_DIRS:
        findings.extend(check_writable_dir(root, name))
    return findings


def report(db: Database, settings: Settings) -> tuple[list[Finding], int]:
    """Run the checks and store one event per distinct finding; returns (findings, new events)."""
    findings = check_all(settings)
    emitter = Emitter(site_for(settings))
    events = [
        emitter.event(
            "file.permissions_unsafe",
            f"{f.check}\0{f.path}\0{f.problem}",
            {"path": f.path, "check": f.check, "problem": f.problem, "fix": f.fix},
            severity=f.severity,
        )
        for f in findings
    ]
    with db.write() as conn:
        new = store(conn, events)
    return findings, new
