"""Credentials of checks never reach stored results, events or messages."""

from __future__ import annotations

from pathlib import Path

from checks_fixtures import MAIL_USER, FrozenClock, Pki, smtp_server
from support import make_settings
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.checks.scheduler import Scheduler
from whmcs_monitor.checks.tables import check_state
from whmcs_monitor.store.db import Database

SMTP_SECRET = "seeded-smtp-password-Zx81"
MYSQL_SECRET = "seeded-mysql-password-Qw72"


async def test_failed_logins_store_no_password(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    clock = FrozenClock()
    with smtp_server(pki.issue("smtp", hosts=("127.0.0.1",))) as port:
        probes = [
            {
                "name": "mx",
                "type": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "username": MAIL_USER,
                "password": SMTP_SECRET,
                "ca_file": str(pki.ca_file),
                "down_after": 1,
                "timeout": 3,
            },
            {
                "name": "db",
                "type": "mysql",
                "user": "nobody_here",
                "password": MYSQL_SECRET,
                "down_after": 1,
                "timeout": 3,
            },
        ]
        settings = make_settings(f"sqlite:///{tmp_path / 'm.db'}", checks={"probes": probes})
        db = Database(settings.database_url)
        db.migrate()
        scheduler = Scheduler(db, settings, load_catalog(), clock=clock)
        scheduler.sync()
        with db.write() as conn:
            conn.execute(check_state.update().values(next_run_at=clock.now))
        assert await scheduler.run_due_now() == 2
        db.dispose()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("m.db*"))
    assert b"dependency.smtp_down" in stored  # the failures were stored...
    assert SMTP_SECRET.encode() not in stored  # ...without the credentials
    assert MYSQL_SECRET.encode() not in stored
