"""First run: create the data directory, the config, the database, a site and an admin."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from whmcs_monitor.accounts import create_user, generate_password
from whmcs_monitor.config import Settings, load_settings
from whmcs_monitor.errors import ConfigError
from whmcs_monitor.store.db import Database


@dataclass(frozen=True)
class InitReport:
    config_path: Path
    data_dir: Path
    database: str
    site_id: str
    admin_username: str
    admin_password: str


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only: the config holds the site secrets."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def default_config_text(site_id: str = "main") -> str:
    document = {
        "server": {"host": "127.0.0.1", "port": 8080},
        "database": {"url": ""},
        "sites": [{"id": site_id, "name": "My WHMCS", "secret": secrets.token_urlsafe(48)}],
        "demo": {"enabled": "auto", "secret": secrets.token_urlsafe(48)},
    }
    header = (
        "# whmcs-monitor configuration. `whmcs-monitor config check` validates it.\n"
        "# database.url empty = the embedded SQLite file next to this config.\n"
        "# Environment overrides: WHMCS_MONITOR_SERVER__PORT=9000, WHMCS_MONITOR_DATABASE__URL=...\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False)


def initialize(config_path: Path, *, admin_username: str = "admin") -> InitReport:
    """Create everything a first run needs; refuses to overwrite an existing config."""
    if config_path.exists():
        raise ConfigError([f"{config_path} already exists; nothing was changed"], str(config_path))
    try:
        config_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(config_path, default_config_text())
    except OSError as exc:
        # mkdir(exist_ok=True) over a file says "File exists", which reads as no problem at all
        reason = "it is a file" if isinstance(exc, FileExistsError) else exc.strerror or exc
        raise ConfigError(
            [
                f"cannot create {exc.filename or config_path}: {reason}; "
                "choose another place with --config PATH"
            ],
            str(config_path),
        ) from exc
    settings = load_settings(config_path)
    db = Database(settings.database_url)
    try:
        db.migrate()
        password = generate_password()
        create_user(db, admin_username, password, "admin", actor="init", must_change_password=True)
    finally:
        db.dispose()
    return InitReport(
        config_path=config_path.resolve(),
        data_dir=settings.data_dir,
        database=Database.describe(settings.database_url),
        site_id=settings.sites[0].id,
        admin_username=admin_username,
        admin_password=password,
    )


def settle_demo(settings: Settings, *, allowed: bool, has_real_events: bool) -> bool:
    """Decide whether this process runs the simulator, and write the answer to ``demo.enabled``.

    Ingest accepts the demo site only while ``demo.enabled`` is ``on``, so once a real WHMCS is
    connected (or ``--no-demo`` is given) the demo secret opens nothing.
    """
    running = allowed and demo_wanted(settings, has_real_events=has_real_events)
    settings.demo.enabled = "on" if running else "off"
    return running


def demo_wanted(settings: Settings, *, has_real_events: bool) -> bool:
    """Demo runs when asked, or by default while no WHMCS has been connected."""
    if settings.demo.enabled != "auto":
        return settings.demo.enabled == "on"
    connected = has_real_events or any(s.database or s.api for s in settings.sites)
    return not connected and settings.demo.secret is not None
