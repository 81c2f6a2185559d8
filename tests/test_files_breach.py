"""Breach indicators from a WHMCS database on the local MariaDB: logins and API client reads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pymysql
import pytest

from files_fixtures import open_db
from support import SITE_ID, SITE_SECRET, make_settings, require
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.config import Settings
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.files.breach import check_all, judge_api_reads
from whmcs_monitor.files.config import BreachConfig
from whmcs_monitor.files.emit import Emitter
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import insert_events

SEEDED_SESSION = "seeded-session-id-9f3e2a"
SCHEMA = [
    "CREATE TABLE tbladminlog (id INT AUTO_INCREMENT PRIMARY KEY, adminusername TEXT NOT NULL,"
    " logintime DATETIME NOT NULL, logouttime DATETIME NOT NULL, ipaddress TEXT NOT NULL,"
    " sessionid TEXT NOT NULL, lastvisit DATETIME NOT NULL)",
    "CREATE TABLE tblapilog (id INT AUTO_INCREMENT PRIMARY KEY, action VARCHAR(255) NOT NULL,"
    " request TEXT NOT NULL, response TEXT NOT NULL, headers TEXT NOT NULL, status INT NOT NULL,"
    " level INT NOT NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)",
]


class Whmcs:
    """A scratch WHMCS schema holding the two tables the indicators read."""

    def __init__(self, conn: pymysql.connections.Connection, name: str) -> None:
        self.conn = conn
        self.name = name

    def login(self, username: str, ip: str, at: datetime | str) -> None:
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO `{self.name}`.tbladminlog (adminusername, logintime, logouttime,"
                " ipaddress, sessionid, lastvisit) VALUES (%s, %s, %s, %s, %s, %s)",
                (username, at, at, ip, SEEDED_SESSION, at),
            )

    def api_calls(self, action: str, count: int, *, hours_ago: int = 0) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO `{self.name}`.tblapilog (action, request, response, headers, status,"
                " level, created_at, updated_at) VALUES"
                " (%s, 'secret-request', '', '', 200, 0, NOW() - INTERVAL %s HOUR, NOW())",
                [(action, hours_ago)] * count,
            )


@pytest.fixture
def whmcs() -> Iterator[Whmcs]:
    try:
        conn = pymysql.connect(
            host="127.0.0.1", port=3306, user="root", connect_timeout=3, autocommit=True
        )
    except pymysql.MySQLError:
        conn = None
    require(conn is not None, "MariaDB is not reachable at 127.0.0.1:3306")
    assert conn is not None
    name = f"whmcs_breach_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = ''")  # WHMCS writes zero dates
        cursor.execute(f"CREATE DATABASE `{name}`")
        for statement in SCHEMA:
            cursor.execute(statement.replace("CREATE TABLE ", f"CREATE TABLE `{name}`."))
    try:
        yield Whmcs(conn, name)
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE `{name}`")
        conn.close()


def breach_settings(database_url: str, schema: str, **breach: Any) -> Settings:
    return make_settings(
        database_url,
        sites=[
            {
                "id": SITE_ID,
                "secret": SITE_SECRET,
                "database": {"name": schema, "user": "root"},
            }
        ],
        files={"breach": breach},
    )


@pytest.fixture
def bdb(database_url: str, whmcs: Whmcs) -> Iterator[tuple[Database, Settings]]:
    settings = breach_settings(database_url, whmcs.name, unusual_hour_min_logins=3)
    database = open_db(settings)
    yield database, settings
    database.dispose()


def history(whmcs: Whmcs) -> None:
    for day in range(4):
        whmcs.login("alice", f"198.51.100.{10 + day}", datetime(2026, 11, 20 + day, 9, 30))


def test_the_first_run_learns_the_history_without_alerting(
    bdb: tuple[Database, Settings], whmcs: Whmcs
) -> None:
    history(whmcs)
    whmcs.login("alice", "203.0.113.5", datetime(2026, 11, 24, 3, 0))
    assert check_all(*bdb) == []


def test_a_login_from_a_network_never_seen_for_the_admin_is_reported(
    bdb: tuple[Database, Settings], whmcs: Whmcs
) -> None:
    history(whmcs)
    check_all(*bdb)
    whmcs.login("alice", "198.51.100.200", datetime(2026, 11, 25, 9, 0))  # same /24
    whmcs.login("alice", "203.0.113.5", datetime(2026, 11, 25, 9, 50))
    [event] = check_all(*bdb)
    assert event.kind == "compliance.admin_login_new_location"
    assert (
        event.summary == "Admin alice logged in from new network 203.0.113.0/24 address 203.0.113.5"
    )


def test_a_login_at_an_hour_the_admin_never_used_is_reported(
    bdb: tuple[Database, Settings], whmcs: Whmcs
) -> None:
    history(whmcs)
    check_all(*bdb)
    whmcs.login("alice", "198.51.100.10", datetime(2026, 11, 25, 3, 15))
    [event] = check_all(*bdb)
    assert event.kind == "compliance.admin_login_unusual_hour"
    assert event.payload["hour"] == "03"
    assert event.payload["usual"] == "09"


def test_a_success_after_many_failures_from_the_same_ip_is_critical(
    bdb: tuple[Database, Settings], whmcs: Whmcs
) -> None:
    db, settings = bdb
    history(whmcs)
    check_all(db, settings)
    entry = load_catalog().get("security.admin_login_failed")
    failed = [
        build_event(entry, site=SITE_ID, data={"username": "alice", "ip": "198.51.100.66"})
        for _ in range(5)
    ]
    with db.write() as conn:
        insert_events(conn, failed)
    whmcs.login("alice", "198.51.100.66", datetime(2026, 11, 25, 9, 45))
    [event] = check_all(db, settings)
    assert (event.kind, event.severity) == ("compliance.login_after_failures", "critical")
    assert event.payload["failures"] == 5


def test_session_ids_and_api_requests_are_never_read_into_the_store(
    bdb: tuple[Database, Settings], whmcs: Whmcs
) -> None:
    db, settings = bdb
    history(whmcs)
    whmcs.api_calls("GetClientsDetails", 3)
    check_all(db, settings)
    whmcs.login("mallory", "203.0.113.9", "0000-00-00 00:00:00")
    check_all(db, settings)
    with db.read() as conn:
        stored = str(conn.exec_driver_sql("SELECT * FROM files_state").all())
        stored += str(conn.exec_driver_sql("SELECT * FROM events").all())
    assert "alice" in stored
    assert SEEDED_SESSION not in stored
    assert "secret-request" not in stored


def test_only_client_reads_of_the_last_hour_count_toward_a_burst(
    database_url: str, whmcs: Whmcs
) -> None:
    whmcs.api_calls("GetClientsDetails", 30)
    whmcs.api_calls("GetClients", 5)
    whmcs.api_calls("GetInvoices", 500)
    whmcs.api_calls("GetClientsDetails", 500, hours_ago=3)
    settings = breach_settings(database_url, whmcs.name, api_learning_hours=1, api_read_min=10)
    database = open_db(settings)
    try:
        check_all(database, settings)
        with database.read() as conn:
            state = conn.exec_driver_sql("SELECT value FROM files_state").scalar()
    finally:
        database.dispose()
    api = (state if isinstance(state, dict) else json.loads(state))["api"]
    assert (api["ewma"], api["samples"]) == (35.0, 1)


def test_an_hour_far_above_the_learned_client_reads_is_a_mass_export() -> None:
    config = BreachConfig(api_learning_hours=3, api_read_min=100, api_read_factor=5)
    emitter = Emitter(SITE_ID)
    saved: dict[str, Any] = {}
    for hour, count in enumerate([20, 30, 25]):
        found, saved = judge_api_reads(config, emitter, saved, f"h{hour}", count)
        assert found == []
    [event], after = judge_api_reads(config, emitter, saved, "h3", 900)
    assert event.kind == "compliance.mass_data_export"
    assert event.payload["count"] == 900
    assert after["ewma"] == saved["ewma"]  # the burst does not become the new normal
    quiet, _ = judge_api_reads(config, emitter, saved, "h3", 90)
    assert quiet == []


def test_an_unreachable_site_database_is_skipped(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'm.db'}",
        sites=[
            {
                "id": SITE_ID,
                "secret": SITE_SECRET,
                "database": {"name": "whmcs", "user": "x", "host": "127.0.0.1", "port": 1},
            }
        ],
    )
    database = open_db(settings)
    try:
        assert check_all(database, settings) == []
    finally:
        database.dispose()
