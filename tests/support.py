"""Helpers shared by the tests: service availability, signing, and a real HTTP collector."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from whmcs_monitor.config import Settings, parse_settings
from whmcs_monitor.lib.signing import sign
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events
from whmcs_monitor.web.app import create_app

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SITE_ID = "main"
SITE_SECRET = "s3cr3t-for-tests-" + "x" * 32
PG_ADMIN_URL = os.environ.get(
    "WHMCS_MONITOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def require(available: bool, reason: str) -> None:
    """Skip when a real component is missing on a developer machine; fail under CI=true."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed")
    assert path is not None
    return path


def postgres_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


def create_pg_database() -> tuple[str, str]:
    """A fresh, empty PostgreSQL database; returns (url, name)."""
    name = f"wm_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return str(sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(False)), name


def drop_pg_database(name: str) -> None:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def mark_migrated_by_a_newer_version(database_url: str) -> None:
    """Record a migration this version does not ship, as a newer whmcs-monitor would."""
    db = Database(database_url)
    with db.write() as conn:
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('9001_from_the_future')"))
    db.dispose()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    data: dict[str, Any] = {
        "database": {"url": database_url},
        "sites": [{"id": SITE_ID, "secret": SITE_SECRET}],
        "demo": {"enabled": "off"},
    }
    data.update(overrides)
    return parse_settings(data, environ={})


def event(hook: str | None = "InvoicePaid", **fields: Any) -> dict[str, Any]:
    """One protocol event with sensible defaults; it happened now, so "the last 10 minutes"
    finds it whatever day the suite runs."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "vars": {"invoiceid": 42},
    }
    if hook is not None:
        body["hook"] = hook
    body.update(fields)
    return body


def signed_headers(
    body: bytes, *, site: str = SITE_ID, secret: str = SITE_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-WHMCS-Monitor-Site": site,
        "X-WHMCS-Monitor-Timestamp": stamp,
        "X-WHMCS-Monitor-Signature": sign(secret.encode(), stamp, body),
    }


def batch_body(events: Iterable[dict[str, Any]]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Collector:
    """The real service on a loopback port, in a thread; ``stop()``/``start()`` simulate outages."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.site_id = SITE_ID
        self.secret = SITE_SECRET
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            create_app(self.settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the collector did not start")

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
        self._server = None

    def events(self, **filters: Any) -> list[dict[str, Any]]:
        """Stored events, oldest first."""
        db = Database(self.settings.database_url)
        try:
            with db.read() as conn:
                rows = query_events(conn, EventFilter(limit=100_000, **filters))
        finally:
            db.dispose()
        return list(reversed(rows))

    def post(self, events: Iterable[dict[str, Any]]) -> httpx.Response:
        body = batch_body(events)
        return httpx.post(f"{self.url}/api/v1/ingest", content=body, headers=signed_headers(body))
