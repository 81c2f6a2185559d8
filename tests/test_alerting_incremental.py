"""Incremental pipeline passes: they read only what changed or is due, and decide exactly as a
full pass over every open alert would."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from alerting_fixtures import T0, alert_rows, engine_with_rules, hook_receiver, outbox_rows
from alerting_fixtures import store_events as _store_events
from whmcs_monitor.alerting import scope, silence, state, tables
from whmcs_monitor.alerting.routing import build
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.store.db import Database

RULES = """
rules:
  - name: module-command-failed
    match: {kinds: [module.create_failed]}
    group_by: [server, subjects.service]
    severity: error
  - name: server-api-down
    match: {kinds: [dependency.server_api_down]}
    group_by: [server]
    severity: critical
"""
SERVERS = ("web1", "web2", "web3", "web4")


def _settings() -> dict[str, Any]:
    return {
        "receivers": [hook_receiver(), {**hook_receiver(), "name": "oncall"}],
        "route": {
            "receiver": "ops",
            "group_by": ["rule", "server"],
            "group_wait": "30s",
            "group_interval": "2m",
            "repeat_interval": "30m",
        },
        "resolve_timeout": "15m",
        "inhibit_rules": [
            {
                "name": "server-down",
                "source": ["rule=server-api-down"],
                "target": ["rule=module-command-failed"],
                "equal": ["server"],
            }
        ],
        "escalations": [
            {
                "name": "critical",
                "match": ["severity=critical"],
                "steps": [{"after": "5m", "receiver": "oncall"}],
            }
        ],
    }


def _failure(service: int, server: str, at: Any) -> tuple[str, dict[str, Any], Any]:
    data = {
        "serviceid": service,
        "params": {"serverhostname": server, "moduletype": "cpanel", "serviceid": service},
        "error": "quota exceeded",
    }
    return ("module.create_failed", data, at)


def _decisions(db: Database) -> tuple[list[Any], list[Any]]:
    """What was notified and what each alert's pipeline state is: must match pass for pass."""
    sent = [
        (
            n["receiver"],
            n["group_key"],
            n["reason"],
            as_utc(n["created_at"]),
            sorted((a["id"], a["status"]) for a in n["payload"]["alerts"]),
        )
        for n in outbox_rows(db)
    ]
    with db.read() as conn:
        alerts = [
            (
                a.id,
                a.state,
                a.suppressed,
                a.notified_at and as_utc(a.notified_at),
                a.escalation_step,
            )
            for a in conn.execute(sa.select(tables.alerts).order_by(tables.alerts.c.id))
        ]
    return sent, alerts


def test_incremental_passes_notify_exactly_what_full_passes_notify(
    database_url: str, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One scripted hour of failures, outages, acknowledgements and silences, twice: once with
    incremental passes, once with every pass a full one. Every decision must be the same."""
    other_url = f"sqlite:///{tmp_path}/full.db"
    other = Database(other_url)
    other.migrate()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    incremental = engine_with_rules(database_url, db, tmp_path / "a/r.yaml", RULES, **_settings())
    full = engine_with_rules(other_url, other, tmp_path / "b/r.yaml", RULES, **_settings())
    script = random.Random(20261127)
    now = T0
    passes = {"incremental": 0}
    real = scope.incremental

    def counted(*args: Any) -> scope.Scope:
        passes["incremental"] += 1
        return real(*args)

    monkeypatch.setattr(scope, "incremental", counted)
    try:
        for step in range(90):
            now += timedelta(seconds=script.choice((10, 30, 45, 90, 150, 240)))
            # Servers take turns at failing, so groups resolve, go quiet, then fail again.
            failing = SERVERS[(step // 20) % 2 :: 2]
            events = [
                _failure(script.randint(1, 6), script.choice(failing), now)
                for _ in range(script.choice((0, 0, 1, 2, 4)))
            ]
            # Outages and silences call for full passes: rare enough that most passes are not.
            if script.random() < 0.04:
                server = script.choice(SERVERS)
                events.append(("dependency.server_api_down", {"server": server}, now))
            ack = script.random() < 0.15
            mute = script.choice(SERVERS) if script.random() < 0.04 else None
            unmute = script.random() < 0.03
            for database in (db, other):
                _store_events(database, *events)
                _act(database, now, ack=ack, mute=mute, unmute=unmute)
            incremental.step(now=now)
            full.seen_mutes = None  # the first pass of a process is a full one
            full.step(now=now)
            assert _decisions(db) == _decisions(other), f"passes disagree at {now}"
    finally:
        other.dispose()
    assert passes["incremental"] >= 60  # of 90: the incremental path is what was tested
    sent, alerts = _decisions(db)
    reasons = {reason for _, _, reason, _, _ in sent}
    assert {"first notification", "alerts changed", "alerts resolved"} <= reasons
    assert any(receiver == "oncall" for receiver, *_ in sent)  # an escalation step ran
    assert any(s and s.startswith("inhibited") for _, _, s, _, _ in alerts)
    assert any(s and s.startswith("silenced") for _, _, s, _, _ in alerts)


def _act(db: Database, now: Any, *, ack: bool, mute: str | None, unmute: bool) -> None:
    """The operator's side of the script, the same on both databases."""
    with db.write() as conn:
        firing = [a for a in alert_rows(db) if a["state"] == "firing"]
        if ack and firing:
            state.acknowledge(conn, firing[len(firing) // 2]["id"], actor="alice", at=now)
        if mute is not None:
            silence.create(
                conn,
                [f"server={mute}"],
                starts_at=now,
                ends_at=now + timedelta(minutes=20),
                created_by="alice",
                comment="maintenance",
                now=now,
            )
        active = [s for s in silence.Silencer(conn, now).active]
        if unmute and active:
            silence.expire(conn, active[0][0].id, now=now)


def test_a_pass_reads_only_the_groups_that_changed(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = engine_with_rules(database_url, db, tmp_path / "r.yaml", RULES, **_settings())
    _store_events(db, *[_failure(i, f"host{i}", T0) for i in range(40)])
    engine.step(now=T0)
    engine.step(now=T0 + timedelta(seconds=30))
    assert len(outbox_rows(db)) == 40  # one group per server, each notified once
    _store_events(db, _failure(99, "host7", T0 + timedelta(minutes=1)))
    engine.step(now=T0 + timedelta(minutes=1))
    with db.write() as conn:
        changed = {a["id"] for a in alert_rows(db) if a["labels"]["server"] == "host7"}
        root = build(engine.settings.alerting.route)
        work = scope.incremental(conn, root, set(), T0 + timedelta(minutes=1, seconds=1))
        assert work.candidates == []  # nothing changed, nothing due: nothing read
        work = scope.incremental(conn, root, changed, T0 + timedelta(minutes=1, seconds=1))
        assert {c.id for c in work.candidates} == changed and work.groups is not None
        assert len(work.groups) == 1
    engine.step(now=T0 + timedelta(minutes=3))  # group_interval over: only host7 is told
    assert [n["reason"] for n in outbox_rows(db)[40:]] == ["alerts changed"]


def test_two_instances_sharing_the_database_notify_each_group_once(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engines = [
        engine_with_rules(database_url, db, tmp_path / f"r{i}.yaml", RULES, **_settings())
        for i in range(2)
    ]
    second = Database(database_url)
    engines[1].db = second
    _store_events(db, *[_failure(i, SERVERS[i % 4], T0) for i in range(20)])
    engines[0].step(now=T0)
    try:
        for second_offset in (30, 31, 32):
            at = T0 + timedelta(seconds=second_offset)
            threads = [threading.Thread(target=e.step, kwargs={"now": at}) for e in engines]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
    finally:
        second.dispose()
    keys = [n["group_key"] for n in outbox_rows(db)]
    assert len(keys) == 4 and len(set(keys)) == 4


def test_a_backlog_of_changes_larger_than_one_statement_can_name_is_taken_whole(
    db: Database,
) -> None:
    with db.write() as conn:
        state.mark_changed(conn, range(70_000))
    with db.write() as conn:
        assert scope.take_changes(conn) == set(range(70_000))
        assert scope.take_changes(conn) == set()
