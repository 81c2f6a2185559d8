"""Audit trail tampering, audit export, privacy export/erase and retention of the store."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from alerting_fixtures import engine_with_rules, hook_receiver, store_events, stored_text
from files_fixtures import files_settings, open_db
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.config import Settings
from whmcs_monitor.errors import ConfigError
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.files import compliance
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, insert_events, query_events

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
SEEDED_EMAIL = "erase-me-4471@example.test"


@pytest.fixture
def csettings(database_url: str, tmp_path: Path) -> Settings:
    return files_settings(
        database_url, tmp_path, privacy={"pseudonymize_after": "30d", "purge_after": "90d"}
    )


@pytest.fixture
def cdb(csettings: Settings) -> Iterator[Database]:
    database = open_db(csettings)
    yield database
    database.dispose()


def add_client_event(db: Database, client_id: int, *, days_ago: int = 0, email: str = "") -> None:
    entry = load_catalog().get("client.edited")
    event = build_event(
        entry,
        site="main",
        data={"userid": client_id, "email": email or f"c{client_id}@example.test"},
        occurred_at=NOW - timedelta(days=days_ago),
    )
    with db.write() as conn:
        insert_events(conn, [event])


def seed_audit(db: Database, count: int) -> None:
    with db.write() as conn:
        for index in range(count):
            audit.append(conn, actor="alice", action="test.action", target=f"t{index}")


def test_direct_sql_tampering_with_the_audit_table_is_detected_and_reported(
    cdb: Database, csettings: Settings
) -> None:
    seed_audit(cdb, 4)
    with cdb.write() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    result = compliance.check_audit_trail(cdb, csettings)
    compliance.check_audit_trail(cdb, csettings)
    with cdb.read() as conn:
        events = query_events(conn, EventFilter(kinds=["compliance.audit_trail_broken"]))
    assert (result.ok, result.first_broken_id) == (False, 2)
    assert len(events) == 1
    assert "entry 2" in events[0]["summary"]


def test_a_deleted_audit_record_is_detected(cdb: Database, csettings: Settings) -> None:
    seed_audit(cdb, 3)
    with cdb.write() as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE id = 2")
    assert compliance.check_audit_trail(cdb, csettings).first_broken_id == 3


def test_audit_export_writes_one_json_line_per_record_in_order(cdb: Database) -> None:
    seed_audit(cdb, 3)
    sink = io.StringIO()
    assert compliance.export_audit(cdb, sink) == 3
    records = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert [r["target"] for r in records] == ["t0", "t1", "t2"]
    assert records[1]["prev_hash"] == records[0]["hash"]


def test_after_privacy_erase_export_finds_nothing_and_the_audit_chain_still_verifies(
    cdb: Database,
) -> None:
    seed_audit(cdb, 2)
    add_client_event(cdb, 42, email=SEEDED_EMAIL)
    add_client_event(cdb, 42, days_ago=1)
    add_client_event(cdb, 7)
    assert len(compliance.export_client(cdb, 42)["events"]) == 2
    assert compliance.erase_client(cdb, 42, actor="alice").events == 2
    assert compliance.export_client(cdb, 42)["events"] == []
    assert len(compliance.export_client(cdb, 7)["events"]) == 1
    with cdb.read() as conn:
        assert audit.verify(conn).ok
        stored = str(conn.exec_driver_sql("SELECT * FROM events").all())
        tombstone = conn.exec_driver_sql(
            "SELECT action, target FROM audit_log ORDER BY id DESC LIMIT 1"
        ).one()
    assert SEEDED_EMAIL not in stored
    assert tuple(tombstone) == ("privacy.erase", "client:42")


def test_retention_pseudonymizes_old_events_and_purges_older_ones(
    cdb: Database, csettings: Settings
) -> None:
    add_client_event(cdb, 1, days_ago=1)
    add_client_event(cdb, 2, days_ago=45, email=SEEDED_EMAIL)
    add_client_event(cdb, 3, days_ago=120)
    assert compliance.apply_retention(cdb, csettings, now=NOW) == (1, 1)
    assert compliance.apply_retention(cdb, csettings, now=NOW) == (0, 0)
    with cdb.read() as conn:
        rows = query_events(conn, EventFilter(limit=10))
        stored = str(conn.exec_driver_sql("SELECT * FROM events").all())
        assert audit.verify(conn).ok
    assert sorted(r["subjects"].get("client", 0) for r in rows) == [0, 1]
    assert SEEDED_EMAIL not in stored


def test_retention_purges_in_transactions_of_a_bounded_size(
    cdb: Database, csettings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One DELETE over a million rows held SQLite's write lock, and ingest, for seconds."""
    monkeypatch.setattr(compliance, "PURGE_BATCH", 2)
    for client in range(5):
        add_client_event(cdb, client, days_ago=120)
    add_client_event(cdb, 9, days_ago=1)
    steps: list[str] = []

    def on_execute(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("DELETE FROM events"):
            steps.append("D")

    def on_commit(_conn: object) -> None:
        steps.append("C")

    sa.event.listen(cdb.write_engine, "after_cursor_execute", on_execute)
    sa.event.listen(cdb.write_engine, "commit", on_commit)
    try:
        assert compliance.apply_retention(cdb, csettings, now=NOW) == (0, 5)
    finally:
        sa.event.remove(cdb.write_engine, "after_cursor_execute", on_execute)
        sa.event.remove(cdb.write_engine, "commit", on_commit)
    purge = "".join(steps).rstrip("C")
    assert purge.count("D") == 3 and "DD" not in purge  # 2 + 2 + 1 rows, one commit each
    with cdb.read() as conn:
        assert [r["subjects"]["client"] for r in query_events(conn, EventFilter())] == [9]


def test_purge_shorter_than_pseudonymize_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"files\.privacy\.purge_after: must not be shorter"):
        files_settings(
            "sqlite://", tmp_path, privacy={"pseudonymize_after": "90d", "purge_after": "30d"}
        )


CLIENT_RULES = """
rules:
  - name: client-changes
    match: {kinds: [client.edited]}
    group_by: [subjects.client, payload.email]
    severity: warning
"""


def test_privacy_erase_also_erases_what_alerts_and_notifications_copied_from_the_events(
    database_url: str, cdb: Database, tmp_path: Path
) -> None:
    route = {"receiver": "ops", "group_by": ["rule", "email"], "group_wait": "0s"}
    engine = engine_with_rules(
        database_url,
        cdb,
        tmp_path / "rules.yaml",
        CLIENT_RULES,
        receivers=[hook_receiver()],
        route=route,
    )
    now = datetime.now(UTC)
    store_events(
        cdb,
        ("client.edited", {"userid": 42, "email": SEEDED_EMAIL, "firstname": "Jane"}, now),
        ("client.edited", {"userid": 7, "email": "keep-7@example.test"}, now),
    )
    engine.step(now=now)
    engine.step(now=now + timedelta(seconds=30))
    before = compliance.export_client(cdb, 42)
    assert [a["summary"] for a in before["alerts"]] == [
        f"Client #42 profile edited ({SEEDED_EMAIL})"
    ]
    assert before["alerts"][0]["history"][0]["detail"] == before["alerts"][0]["summary"]
    assert len(before["notifications"]) == 1
    assert SEEDED_EMAIL in json.dumps(before["notifications"][0]["payload"])

    erased = compliance.erase_client(cdb, 42, actor="alice")

    assert (erased.events, erased.alerts, erased.notifications) == (1, 1, 1)
    after = compliance.export_client(cdb, 42)
    assert (after["events"], after["alerts"], after["notifications"]) == ([], [], [])
    stored = stored_text(cdb)
    assert SEEDED_EMAIL not in stored and "Jane" not in stored
    assert "keep-7@example.test" in stored  # another client's alert is untouched
    assert len(compliance.export_client(cdb, 7)["alerts"]) == 1
    with cdb.read() as conn:
        assert audit.verify(conn).ok


def test_retention_clears_personal_labels_and_the_fingerprint_made_from_them(
    cdb: Database, csettings: Settings
) -> None:
    old = NOW - timedelta(days=45)
    store_events(
        cdb,
        ("security.client_login_failed", {"userid": 42, "ip": "203.0.113.9"}, old),
        ("activity.logged", {"userid": 42, "description": "x", "ipaddress": "198.51.100.7"}, old),
    )
    with cdb.read() as conn:
        fingerprints = {r[0] for r in conn.exec_driver_sql("SELECT fingerprint FROM events")}
    assert compliance.apply_retention(cdb, csettings, now=NOW) == (2, 0)
    with cdb.read() as conn:
        rows = query_events(conn, EventFilter(limit=10))
        stored = str(conn.exec_driver_sql("SELECT * FROM events").all())
        assert audit.verify(conn).ok
    assert [r["labels"] for r in rows] == [{}, {}]
    assert "203.0.113.9" not in stored and "198.51.100.7" not in stored
    assert not fingerprints & {r["fingerprint"] for r in rows}
