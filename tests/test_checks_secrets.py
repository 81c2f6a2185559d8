"""Credentials of checks never reach stored results, events or messages."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from checks_fixtures import MAIL_USER, FrozenClock, Pki, Reply, serve_http, smtp_server
from support import make_settings
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.checks.scheduler import Scheduler
from whmcs_monitor.checks.tables import check_state
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events

SMTP_SECRET = "seeded-smtp-password-Zx81"
MYSQL_SECRET = "seeded-mysql-password-Qw72"
URL_PASSWORD = "seeded-basic-auth-Pw55"
URL_TOKEN = "seeded-api-token-Tk31"


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


async def test_credentials_in_check_urls_reach_no_target_message_event_or_label(
    tmp_path: Path,
) -> None:
    clock = FrozenClock()
    with serve_http({"/500": Reply(500, "broken")}) as server:
        host = server.url.removeprefix("http://")
        probes = [
            {"name": "basic", "type": "http", "url": f"http://admin:{URL_PASSWORD}@{host}/500"},
            {"name": "token", "type": "http", "url": f"{server.url}/500?api_key={URL_TOKEN}"},
            {
                "name": "gw",
                "type": "external",
                "role": "gateway",
                "url": f"{server.url}/500?key={URL_TOKEN}",
                "reachable_only": True,
            },
        ]
        probes = [{**p, "down_after": 1, "timeout": 3} for p in probes]
        settings = make_settings(f"sqlite:///{tmp_path / 'u.db'}", checks={"probes": probes})
        db = Database(settings.database_url)
        db.migrate()
        scheduler = Scheduler(db, settings, load_catalog(), clock=clock)
        scheduler.sync()
        with db.write() as conn:
            conn.execute(check_state.update().values(next_run_at=clock.now))
        assert await scheduler.run_due_now() == 3
        with db.read() as conn:
            rows = {r.name: r for r in conn.execute(sa.select(check_state))}
            [gateway] = query_events(conn, EventFilter(kinds=["dependency.gateway_down"]))
        db.dispose()
    assert rows["basic"].target == f"http://[redacted]@{host}/500"
    assert rows["token"].last_message.startswith(
        f"HTTP 500 from {server.url}/500?api_key=[redacted] "
    )
    assert gateway["labels"]["gateway"] == f"{server.url}/500?key=[redacted]"
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("u.db*"))
    assert b"check.down" in stored
    assert URL_PASSWORD.encode() not in stored
    assert URL_TOKEN.encode() not in stored
