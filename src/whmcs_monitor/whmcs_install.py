"""Install the PHP addon module into a WHMCS installation and register its site.

Two steps, each usable alone::

    registration = register_site(config_path, "main")      # the monitor side (config.yaml)
    report = install_module(                                 # the WHMCS side (files)
        Path("/var/www/whmcs"), site_id="main", url="https://monitor.example.com",
        secret=registration.secret, php=shutil.which("php"),
    )
    print("\\n".join(report.steps))

``install_module`` copies ``whmcs/modules/addons/whmcs_monitor`` into
``WHMCS_ROOT/modules/addons/``, writes ``config.php`` (mode 0600, owned like the addons folder when
run as root, so the PHP user can read it and nobody else), and runs ``php -l`` on every copied file
when php is available. Problems the user can fix are :class:`InputError` with a plain message.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from whmcs_monitor.config import SITE_ID_RE, check_http_url, load_settings
from whmcs_monitor.errors import ConfigError, InputError, MonitorError

MODULE_NAME = "whmcs_monitor"
_PACKAGED = Path(__file__).resolve().parent / "php_module"
_IN_REPO = Path(__file__).resolve().parents[2] / "whmcs" / "modules" / "addons" / MODULE_NAME

ACTIVATION_STEPS = (
    "In the WHMCS admin area open System Settings > Addon Modules, find whmcs-monitor and click "
    "Activate.",
    "Under Configure, give your admin role access to the module (the settings may stay empty: "
    "config.php beside the module already holds the URL, site and secret).",
    "Open Addons > whmcs-monitor and click 'Send test event'; the collector's answer is shown.",
    "Make sure the WHMCS cron runs (php -q crons/cron.php every 5 minutes): each run sends a "
    "heartbeat and replays events spooled while the collector was unreachable.",
)


@dataclass(frozen=True)
class InstallReport:
    """What :func:`install_module` did."""

    module_dir: Path
    config_php: Path
    site_id: str
    url: str
    spool_dir: Path | None
    files_copied: int
    files_linted: int | None  # None: php was not available, nothing was linted
    steps: tuple[str, ...] = ACTIVATION_STEPS


@dataclass(frozen=True)
class SiteRegistration:
    site_id: str
    secret: str
    created: bool  # False: the site was already in the config and its secret is reused


def module_source() -> Path:
    """The module shipped with this package (a wheel) or beside it (a source checkout)."""
    for candidate in (_PACKAGED, _IN_REPO):
        if (candidate / "hooks.php").is_file():
            return candidate
    raise MonitorError(
        "the PHP module files are missing from this installation of whmcs-monitor "
        f"(looked in {_PACKAGED} and {_IN_REPO})"
    )


def check_whmcs_root(whmcs_root: Path) -> Path:
    """The addons folder of a WHMCS root, or an :class:`InputError` saying what is wrong."""
    if not whmcs_root.is_dir():
        raise InputError(f"{whmcs_root} is not a directory", field="WHMCS_ROOT")
    missing = [name for name in ("init.php", "modules/addons") if not (whmcs_root / name).exists()]
    if missing:
        raise InputError(
            f"{whmcs_root} is not a WHMCS root: {' and '.join(missing)} not found (give the "
            "folder that holds configuration.php, init.php and modules/)",
            field="WHMCS_ROOT",
        )
    addons = whmcs_root / "modules" / "addons"
    target = addons / MODULE_NAME
    for path in (addons, target):
        if path.exists() and not (path.is_dir() and os.access(path, os.W_OK | os.X_OK)):
            raise InputError(
                f"{path} is not writable by this user; run the command as the owner of the "
                "WHMCS files (or with sudo)",
                field="WHMCS_ROOT",
            )
    return addons


def check_install(whmcs_root: Path, *, url: str, spool_dir: Path | None) -> Path:
    """What :func:`install_module` refuses, checked before anything changes (the CLI checks
    before it adds the site to the monitor's config); returns the addons folder."""
    whmcs_root = whmcs_root.resolve()
    try:
        check_http_url(url)
    except ValueError as exc:
        raise InputError(f"collector URL: {exc}", field="url") from exc
    if spool_dir is not None and spool_dir.resolve().is_relative_to(whmcs_root):
        raise InputError(
            f"spool directory {spool_dir.resolve()} is inside the WHMCS root; spooled events "
            "are personal data and must live outside the web root"
        )
    return check_whmcs_root(whmcs_root)


def install_module(
    whmcs_root: Path,
    *,
    site_id: str,
    url: str,
    secret: str,
    php: str | None,
    spool_dir: Path | None = None,
) -> InstallReport:
    """Copy the module into ``whmcs_root``, write its config.php and lint it."""
    if not SITE_ID_RE.match(site_id):
        raise InputError(f"site id {site_id!r}: must be 1-64 lower-case letters, digits, - or _")
    if not secret:
        raise InputError("the site secret is empty")
    addons = check_install(whmcs_root, url=url, spool_dir=spool_dir)
    spool_dir = spool_dir.resolve() if spool_dir is not None else None
    source = module_source()
    target = addons / MODULE_NAME
    try:
        copied = _copy_module(source, target)
        config_php = target / "config.php"
        _write_private(
            config_php, _config_php(site_id=site_id, url=url, secret=secret, spool_dir=spool_dir)
        )
        _match_owner(addons, [target, *target.rglob("*")])
    except PermissionError as exc:
        raise InputError(
            f"cannot write {exc.filename or target}: permission denied; run the command as "
            "the owner of the WHMCS files (or with sudo)"
        ) from exc
    except OSError as exc:
        raise InputError(f"cannot install into {target}: {exc.strerror or exc}") from exc
    linted = _lint(php, target) if php else None
    return InstallReport(
        module_dir=target,
        config_php=config_php,
        site_id=site_id,
        url=url,
        spool_dir=spool_dir,
        files_copied=copied,
        files_linted=linted,
    )


def register_site(config_path: Path, site_id: str, *, name: str = "") -> SiteRegistration:
    """Make sure the monitor's config lists ``site_id``; a new site gets a fresh secret.

    The file is rewritten only when a site is added (its header comments are kept; other
    comments are not). It stays mode 0600 because it holds the site secrets.
    """
    if not SITE_ID_RE.match(site_id):
        raise InputError(f"site id {site_id!r}: must be 1-64 lower-case letters, digits, - or _")
    settings = load_settings(config_path)
    existing = settings.site(site_id)
    if existing is not None:
        return SiteRegistration(site_id, existing.secret_bytes().decode("utf-8"), created=False)

    text = config_path.read_text("utf-8")
    document = yaml.safe_load(text) or {}
    if not isinstance(document, dict):
        raise ConfigError(["the file must hold a mapping of settings"], str(config_path))
    secret = secrets.token_urlsafe(48)
    document.setdefault("sites", [])
    document["sites"].append({"id": site_id, "name": name or site_id, "secret": secret})
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    tmp = config_path.with_name(config_path.name + ".tmp")
    _write_private(tmp, header + yaml.safe_dump(document, sort_keys=False))
    load_settings(tmp)  # never leave a config the service would refuse
    tmp.replace(config_path)
    return SiteRegistration(site_id, secret, created=True)


def default_collector_url(public_url: str | None, host: str, port: int) -> str:
    """Where the module should post: the public URL if set, else the listening address."""
    if public_url:
        return public_url.rstrip("/")
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _copy_module(source: Path, target: Path) -> int:
    copied = 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if relative.name == "config.php" or "__pycache__" in relative.parts:
            continue
        destination = target / relative
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        destination.chmod(0o644)
        copied += 1
    return copied


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _config_php(*, site_id: str, url: str, secret: str, spool_dir: Path | None) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [
        "<?php",
        f"// Written by `whmcs-monitor whmcs install-module` on {stamp}.",
        "// Environment variables (WHMCS_MONITOR_*) override these; these override the addon",
        "// settings saved in the WHMCS admin area. Keep this file mode 0600: it holds the secret.",
        "if (!defined('WHMCS')) {",
        "    die('This file cannot be accessed directly');",
        "}",
        "",
        "return array(",
        f"    'collector_url' => {_php_string(url)},",
        f"    'site_id' => {_php_string(site_id)},",
        f"    'secret' => {_php_string(secret)},",
    ]
    if spool_dir is not None:
        lines.append(f"    'spool_dir' => {_php_string(str(spool_dir))},")
    lines += [");", ""]
    return "\n".join(lines)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT


def _match_owner(reference: Path, paths: list[Path]) -> None:
    """Run as root, give the files to the owner of the addons folder (the PHP user)."""
    if os.geteuid() != 0:
        return
    owner = reference.stat()
    for path in paths:
        os.chown(path, owner.st_uid, owner.st_gid)


def _lint(php: str, target: Path) -> int:
    files = sorted(target.rglob("*.php"))
    failures = []
    for path in files:
        proc = subprocess.run(
            [php, "-l", str(path)], capture_output=True, text=True, timeout=60, check=False
        )
        if proc.returncode != 0:
            failures.append(f"{path}: {(proc.stdout + proc.stderr).strip()}")
    if failures:
        raise MonitorError("php -l failed on the installed module:\n" + "\n".join(failures))
    return len(files)
