"""The notification pipeline: grouping, inhibition, silences, maintenance, acknowledgement, escalation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from alerting_fixtures import (
    T0,
    alert_rows,
    engine_with_rules,
    hook_receiver,
    outbox_rows,
    store_events,
)
from whmcs_monitor.alerting import actions, state
from whmcs_monitor.alerting.config import RouteConfig
from whmcs_monitor.alerting.grouping import GroupState, dedup_reason
from whmcs_monitor.alerting.routing import build
from whmcs_monitor.store.db import Database

MODULE_RULES = """
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
ROUTE = {
    "receiver": "ops",
    "group_by": ["rule", "server"],
    "group_wait": "30s",
    "group_interval": "5m",
    "repeat_interval": "4h",
}


def _module_failure(
    service: int, server: str = "web1", minute: float = 0
) -> tuple[str, dict[str, Any], Any]:
    data = {
        "serviceid": service,
        "params": {"serverhostname": server, "moduletype": "cpanel", "serviceid": service},
        "error": "quota exceeded",
    }
    return ("module.create_failed", data, T0 + timedelta(minutes=minute))


def _engine(database_url: str, db: Database, tmp_path: Path, **alerting: Any) -> Any:
    settings: dict[str, Any] = {
        "receivers": [hook_receiver()],
        "route": ROUTE,
        "resolve_timeout": "1d",
        **alerting,
    }
    return engine_with_rules(database_url, db, tmp_path / "rules.yaml", MODULE_RULES, **settings)


def test_a_hundred_module_failures_on_one_server_give_at_most_two_notifications(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = _engine(database_url, db, tmp_path)
    store_events(db, *[_module_failure(i, minute=i * 0.3) for i in range(100)])
    for second in range(0, 31 * 60, 30):  # half an hour of engine passes, every 30 s
        engine.step(now=T0 + timedelta(seconds=second))
    sent = outbox_rows(db)
    assert len(alert_rows(db)) == 100
    assert 1 <= len(sent) <= 2
    assert sum(len(n["payload"]["alerts"]) for n in sent[-1:]) == 50  # capped, rest counted
    assert sent[-1]["payload"]["truncated"] == 50
    assert [n["reason"] for n in sent][0] == "first notification"


def test_the_group_decision_names_its_reason() -> None:
    route = build(RouteConfig.model_validate(ROUTE))
    fresh = GroupState(T0, None, frozenset())
    sent = GroupState(T0, T0, frozenset({1}))
    cases = {
        "waiting for group_wait": (fresh, {1}, False, T0 + timedelta(seconds=29), None),
        "first": (fresh, {1}, False, T0 + timedelta(seconds=30), "first notification"),
        "new alert, interval not yet over": (sent, {1, 2}, False, T0 + timedelta(minutes=4), None),
        "new alert": (sent, {1, 2}, False, T0 + timedelta(minutes=5), "alerts changed"),
        "resolved": (sent, set(), True, T0 + timedelta(minutes=5), "alerts resolved"),
        "nothing new": (sent, {1}, False, T0 + timedelta(hours=3), None),
        "repeat": (sent, {1}, False, T0 + timedelta(hours=4), "repeat interval elapsed"),
        "acknowledged one dropped out": (sent, set(), False, T0 + timedelta(hours=1), None),
    }
    for name, (group, firing, resolved, now, expected) in cases.items():
        assert dedup_reason(group, route, frozenset(firing), resolved, now) == expected, name


def test_a_down_server_inhibits_module_failures_on_that_server_only(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    inhibit = [
        {
            "name": "server-down",
            "source": ["rule=server-api-down"],
            "target": ["rule=module-command-failed"],
            "equal": ["server"],
        }
    ]
    engine = _engine(database_url, db, tmp_path, inhibit_rules=inhibit)
    store_events(
        db,
        ("dependency.server_api_down", {"server": "web1", "module": "cpanel"}, T0),
        _module_failure(1, "web1"),
        _module_failure(2, "web2"),
    )
    engine.step(now=T0)
    engine.step(now=T0 + timedelta(seconds=30))
    by_server = {(a["rule"], a["labels"]["server"]): a for a in alert_rows(db)}
    muted = by_server[("module-command-failed", "web1")]
    assert (
        muted["suppressed"].startswith("inhibited by alert ")
        and "server-down" in muted["suppressed"]
    )
    assert by_server[("module-command-failed", "web2")]["suppressed"] is None
    notified = {
        a["labels"]["server"]
        for n in outbox_rows(db)
        for a in n["payload"]["alerts"]
        if a["rule"] == "module-command-failed"
    }
    assert notified == {"web2"}


def test_a_silenced_alert_still_gets_its_resolved_notice(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = _engine(database_url, db, tmp_path)
    store_events(db, _module_failure(7))
    engine.step(now=T0 + timedelta(seconds=30))
    assert [n["payload"]["status"] for n in outbox_rows(db)] == ["firing"]
    (alert,) = alert_rows(db)
    with db.write() as conn:
        from whmcs_monitor.alerting import silence

        silence.create(
            conn,
            ["server=web1"],
            starts_at=T0,
            ends_at=T0 + timedelta(days=1),
            created_by="alice",
            comment="migrating web1",
            now=T0,
        )
    engine.step(now=T0 + timedelta(minutes=1))
    assert alert_rows(db)[0]["suppressed"].startswith(
        "silenced by silence 1 (alice: migrating web1)"
    )
    with db.write() as conn:
        state.resolve(conn, alert["id"], at=T0 + timedelta(minutes=2), actor="test", reason="fixed")
    engine.step(now=T0 + timedelta(minutes=10))
    sent = outbox_rows(db)
    assert [n["payload"]["status"] for n in sent] == ["firing", "resolved"]
    assert sent[-1]["payload"]["alerts"][0]["id"] == alert["id"]


def test_a_maintenance_window_mutes_matching_alerts_while_it_is_open(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    window = {
        "name": "web1-upgrade",
        "match": ["server=web1"],
        "start": "2026-11-25T09:00:00Z",
        "end": "2026-11-25T11:00:00Z",
    }
    engine = _engine(database_url, db, tmp_path, maintenance_windows=[window])
    store_events(db, _module_failure(1, "web1"))
    engine.step(now=T0 + timedelta(minutes=5))
    assert outbox_rows(db) == []
    assert (
        alert_rows(db)[0]["suppressed"]
        == "maintenance window web1-upgrade until 2026-11-25 11:00 UTC"
    )
    engine.step(now=T0 + timedelta(hours=1, minutes=1))
    engine.step(now=T0 + timedelta(hours=1, minutes=2))
    assert [n["reason"] for n in outbox_rows(db)] == ["first notification"]


def test_escalation_steps_run_on_time_and_stop_when_acknowledged(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    receivers = [
        hook_receiver(),
        {"name": "lead", "webhook": {"url": "http://127.0.0.1:9/lead"}},
        {"name": "cto", "webhook": {"url": "http://127.0.0.1:9/cto"}},
    ]
    policy = {
        "name": "billing",
        "match": ["severity=error"],
        "steps": [{"after": "15m", "receiver": "lead"}, {"after": "1h", "receiver": "cto"}],
    }
    engine = _engine(database_url, db, tmp_path, receivers=receivers, escalations=[policy])
    store_events(db, _module_failure(1))
    engine.step(now=T0 + timedelta(minutes=14))
    assert [n["receiver"] for n in outbox_rows(db)] == ["ops"]
    engine.step(now=T0 + timedelta(minutes=15))
    assert [(n["receiver"], n["reason"]) for n in outbox_rows(db)][1:] == [
        ("lead", "escalation billing step 1")
    ]
    (alert,) = alert_rows(db)
    actions.acknowledge(db, alert["id"], actor="alice", note="on it")
    engine.step(now=T0 + timedelta(hours=2))
    assert [n["receiver"] for n in outbox_rows(db)] == ["ops", "lead"]
    assert alert_rows(db)[0]["suppressed"] == "acknowledged by alice"
    actions.resolve(db, alert["id"], actor="alice", note="quota raised")
    engine.step(now=T0 + timedelta(hours=3))
    resolved = [(n["receiver"], n["payload"]["status"]) for n in outbox_rows(db)][2:]
    assert sorted(resolved) == [("lead", "resolved"), ("ops", "resolved")]


def test_quiet_hours_hold_a_warning_but_let_a_critical_alert_through(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    quiet = {"start": "09:00", "end": "17:00", "timezone": "UTC", "bypass": "critical"}
    engine = _engine(
        database_url,
        db,
        tmp_path,
        receivers=[hook_receiver(quiet_hours=quiet)],
        route={**ROUTE, "group_by": ["rule"]},
    )
    store_events(db, _module_failure(1), ("dependency.server_api_down", {"server": "web9"}, T0))
    engine.step(now=T0 + timedelta(seconds=30))
    due = {
        n["payload"]["severity"]: n["next_attempt_at"].replace(tzinfo=None) for n in outbox_rows(db)
    }
    assert due["critical"] == (T0 + timedelta(seconds=30)).replace(tzinfo=None)
    assert due["error"] == T0.replace(hour=17, tzinfo=None)
