"""Rule evaluation through the pipeline cursor: event, count, absence and metric rules."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from alerting_fixtures import T0, alert_rows, alert_settings, engine_with_rules, store_events
from whmcs_monitor.alerting.engine import Engine
from whmcs_monitor.alerting.evaluation import absence_due, active_time, condition_holds
from whmcs_monitor.alerting.rules import Condition, parse_rules
from whmcs_monitor.alerting.tables import alert_history, rule_marks
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.store import metrics
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.pipeline import positions

GATEWAY_RULES = """
rules:
  - name: gateway-failures
    type: count
    match: {kinds: [gateway.failure]}
    count: {threshold: 5, window: 10m}
    group_by: [gateway]
    severity: critical
"""
NO_PAYMENT_RULES = """
rules:
  - name: no-payments
    type: absence
    match: {kinds: [invoice.paid]}
    absence: {for: 6h, days: [mon, tue, wed, thu, fri], from: "08:00", until: "22:00"}
    severity: error
"""


def _failure(gateway: str, minute: int) -> tuple[str, dict[str, object], object]:
    return (
        "gateway.failure",
        {"gateway": gateway, "result": "declined"},
        T0 + timedelta(minutes=minute),
    )


def test_an_event_rule_fires_once_per_fingerprint_and_moves_the_cursor_with_it(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = engine_with_rules(
        database_url,
        db,
        tmp_path / "r.yaml",
        "rules: [{name: refunds, match: {kinds: [invoice.refunded]}, severity: warning}]",
    )
    store_events(db, *[("invoice.refunded", {"invoiceid": i}, T0) for i in range(3)])
    engine.step(now=T0)
    alerts = alert_rows(db)
    assert [(a["rule"], a["state"], a["event_count"]) for a in alerts] == [("refunds", "firing", 3)]
    with db.read() as conn:
        assert positions(conn)["alerting"] == 3


def test_a_count_rule_fires_at_the_threshold_per_group_and_resolves_when_the_window_passes(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = engine_with_rules(database_url, db, tmp_path / "r.yaml", GATEWAY_RULES)
    store_events(db, *[_failure("stripe", m) for m in range(4)], _failure("paypal", 1))
    engine.step(now=T0 + timedelta(minutes=4))
    assert alert_rows(db) == []
    store_events(db, _failure("stripe", 5))
    engine.step(now=T0 + timedelta(minutes=5))
    (alert,) = alert_rows(db)
    assert alert["labels"]["gateway"] == "stripe" and alert["severity"] == "critical"
    assert alert["summary"] == "5 x gateway.failure in 10m (gateway=stripe) (threshold 5)"
    engine.step(now=T0 + timedelta(minutes=12))
    assert alert_rows(db)[0]["state"] == "resolved"


def test_an_absence_rule_counts_only_business_hours_and_resolves_when_the_event_returns(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = engine_with_rules(database_url, db, tmp_path / "r.yaml", NO_PAYMENT_RULES)
    engine.step(now=T0)  # Wednesday 10:00: the clock starts for site "main"
    engine.step(now=T0 + timedelta(hours=5, minutes=59))
    assert alert_rows(db) == []
    engine.step(now=T0 + timedelta(hours=6))
    (alert,) = alert_rows(db)
    assert alert["state"] == "firing" and alert["site"] == "main"
    store_events(db, ("invoice.paid", {"invoiceid": 9}, T0 + timedelta(hours=7)))
    engine.step(now=T0 + timedelta(hours=7))
    assert alert_rows(db)[0]["state"] == "resolved"
    # From Wednesday 17:00, 5h of business hours remain that day; Thursday 08:00 + 1h makes 6h.
    engine.step(now=T0 + timedelta(hours=22, minutes=59))
    assert len(alert_rows(db)) == 1
    engine.step(now=T0 + timedelta(hours=23))
    assert [a["state"] for a in alert_rows(db)] == ["resolved", "firing"]


def test_a_batch_of_arrivals_resolves_once_and_restarts_the_clock_from_the_latest(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = engine_with_rules(database_url, db, tmp_path / "r.yaml", NO_PAYMENT_RULES)
    engine.step(now=T0)
    engine.step(now=T0 + timedelta(hours=6))
    assert [a["state"] for a in alert_rows(db)] == ["firing"]
    arrivals = [timedelta(hours=7, minutes=m) for m in (10, 30, 0, 15)]  # out of order
    store_events(db, *[("invoice.paid", {"invoiceid": n}, T0 + d) for n, d in enumerate(arrivals)])
    engine.step(now=T0 + timedelta(hours=7, minutes=30))
    (resolved,) = alert_rows(db)
    assert resolved["state"] == "resolved"
    assert resolved["ends_at"] == (T0 + arrivals[0]).isoformat()  # the first to arrive
    with db.read() as conn:
        actions = [r.action for r in conn.execute(sa.select(alert_history.c.action))]
    assert actions.count("resolved") == 1
    # The clock restarts from 17:30, the latest payment, not 17:15, the last one in the batch:
    # 4h30 of business hours remain on Wednesday, then Thursday 08:00 + 1h30.
    engine.step(now=T0 + timedelta(hours=23, minutes=29))
    assert len(alert_rows(db)) == 1
    engine.step(now=T0 + timedelta(hours=23, minutes=30))
    assert [a["state"] for a in alert_rows(db)] == ["resolved", "firing"]


def test_a_metric_rule_waits_for_its_hold_time_and_clears_only_past_the_hysteresis(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = engine_with_rules(
        database_url,
        db,
        tmp_path / "r.yaml",
        """
rules:
  - name: disk-full
    type: metric
    metric: {name: host.disk_used_percent, op: gt, threshold: 90, clear: 80, for: 5m}
    severity: critical
""",
    )

    def sample(value: float, minute: int) -> None:
        with db.write() as conn:
            metrics.record(
                conn,
                [
                    metrics.Sample(
                        "host.disk_used_percent",
                        value,
                        {"mount": "/"},
                        "main",
                        T0 + timedelta(minutes=minute),
                    )
                ],
            )
        engine.step(now=T0 + timedelta(minutes=minute))

    sample(95, 0)
    sample(96, 4)
    assert alert_rows(db) == []
    sample(97, 5)
    (alert,) = alert_rows(db)
    assert alert["labels"]["mount"] == "/" and alert["state"] == "firing"
    sample(85, 6)  # below the threshold, above the clear level: still firing
    assert alert_rows(db)[0]["state"] == "firing"
    sample(79, 7)
    assert alert_rows(db)[0]["state"] == "resolved"


def test_a_clearing_event_resolves_the_alert_of_the_same_group(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = engine_with_rules(
        database_url,
        db,
        tmp_path / "r.yaml",
        """
rules:
  - name: check-down
    match: {kinds: [check.down]}
    resolve_on: {kinds: [check.up]}
    group_by: [target]
""",
    )
    store_events(
        db,
        ("check.down", {"check": "http", "target": "https://a.example"}, T0),
        ("check.down", {"check": "http", "target": "https://b.example"}, T0),
        ("check.up", {"check": "http", "target": "https://a.example"}, T0 + timedelta(minutes=3)),
    )
    engine.step(now=T0 + timedelta(minutes=3))
    states = {a["labels"]["target"]: a["state"] for a in alert_rows(db)}
    assert states == {"https://a.example": "resolved", "https://b.example": "firing"}


def test_an_event_alert_resolves_after_its_resolve_timeout_and_keeps_its_history(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = engine_with_rules(
        database_url,
        db,
        tmp_path / "r.yaml",
        "rules: [{name: refunds, match: {kinds: [invoice.refunded]}, resolve_after: 30m}]",
    )
    store_events(db, ("invoice.refunded", {"invoiceid": 1}, T0))
    engine.step(now=T0 + timedelta(minutes=29))
    assert alert_rows(db)[0]["state"] == "firing"
    engine.step(now=T0 + timedelta(minutes=30))
    from whmcs_monitor.alerting import queries

    with db.read() as conn:
        doc = queries.get_alert(conn, alert_rows(db)[0]["id"])
    assert doc["state"] == "resolved"
    assert [(h["action"], h["detail"]) for h in doc["history"]][-1] == (
        "resolved",
        "no new event for 30m",
    )


def _default_pack_engine(database_url: str, db: Database) -> Engine:
    return Engine(
        alert_settings(
            database_url,
            receivers=[{"name": "ops", "webhook": {"url": "http://127.0.0.1:9/hook"}}],
            route={"receiver": "ops", "group_wait": "0s"},
        ),
        db,
    )


def _check_event(check: str, target: str, **data: str) -> dict[str, str]:
    """The payload a check stores (checks/recording.py): its name, target and the down labels."""
    return {"check": check, "target": target, "message": "connect timeout", **data}


def test_default_check_rules_stay_open_while_down_and_resolve_on_the_checks_up_event(
    database_url: str, db: Database
) -> None:
    engine = _default_pack_engine(database_url, db)
    web1 = ("web1-api", "https://web1.example.com:2087")
    stripe = ("stripe", "https://api.stripe.com")
    store_events(
        db,
        ("dependency.server_api_down", _check_event(*web1, server="web1.example.com"), T0),
        ("check.down", _check_event(*stripe), T0),
        ("dependency.gateway_down", _check_event(*stripe, gateway="stripe"), T0),
    )
    engine.step(now=T0)
    engine.step(now=T0 + timedelta(hours=3))  # past every timeout: checks say "down" only once
    failure = {
        "serviceid": 7,
        "params": {"serverhostname": "web1.example.com", "moduletype": "cpanel", "serviceid": 7},
    }
    store_events(db, ("module.create_failed", failure, T0 + timedelta(hours=3, minutes=1)))
    engine.step(now=T0 + timedelta(hours=3, minutes=1))
    by_rule = {a["rule"]: a for a in alert_rows(db) if a["rule"] != "cron-not-running"}
    assert {r: a["state"] for r, a in by_rule.items()} == {
        "server-api-down": "firing",
        "check-down": "firing",
        "gateway-api-down": "firing",
        "module-command-failed": "firing",
    }
    assert by_rule["module-command-failed"]["suppressed"].startswith(
        "inhibited by alert 1 (server-api-down)"
    )
    up = T0 + timedelta(hours=4)
    store_events(
        db,
        ("check.up", {"check": web1[0], "target": web1[1], "down_for": "4h"}, up),
        ("check.up", {"check": stripe[0], "target": stripe[1], "down_for": "4h"}, up),
    )
    engine.step(now=up)
    states = {a["rule"]: a["state"] for a in alert_rows(db)}
    assert states["server-api-down"] == states["check-down"] == "resolved"
    assert states["gateway-api-down"] == "resolved"


def test_a_clearing_event_resolves_only_alerts_that_agree_on_the_labels_it_carries(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = engine_with_rules(
        database_url,
        db,
        tmp_path / "r.yaml",
        """
rules:
  - name: server-down
    match: {kinds: [dependency.server_api_down]}
    resolve_on: {kinds: [check.up]}
    group_by: [server, payload.check]
""",
    )
    store_events(
        db,
        ("dependency.server_api_down", _check_event("web1", "https://w1", server="web1"), T0),
        ("dependency.server_api_down", _check_event("web2", "https://w2", server="web2"), T0),
        ("check.up", {"check": "web1", "target": "https://w1"}, T0 + timedelta(minutes=5)),
    )
    engine.step(now=T0 + timedelta(minutes=5))
    states = {a["labels"]["server"]: a["state"] for a in alert_rows(db)}
    assert states == {"web1": "resolved", "web2": "firing"}


def test_an_absence_window_over_midnight_counts_the_night_and_belongs_to_the_day_it_opens(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    rules = """
rules:
  - name: night-cron
    type: absence
    match: {kinds: [cron.run_completed]}
    absence: {for: 3h, days: [wed], from: "22:00", until: "06:00"}
    severity: critical
"""
    engine = engine_with_rules(database_url, db, tmp_path / "r.yaml", rules)
    engine.step(now=T0)  # Wednesday 10:00: the clock starts
    engine.step(now=T0 + timedelta(hours=14, minutes=59))  # Thursday 00:59: 2h59 of the night
    assert alert_rows(db) == []
    engine.step(now=T0 + timedelta(hours=15))  # Thursday 01:00, still in Wednesday's window
    (alert,) = alert_rows(db)
    assert alert["state"] == "firing"
    (rule,) = parse_rules(rules, source="r.yaml")
    thursday_night = (T0 + timedelta(days=1, hours=11), T0 + timedelta(days=1, hours=21))
    assert active_time(rule, *thursday_night) == timedelta(0)  # only Wednesday's night counts


def test_an_absence_window_with_only_an_until_time_opens_at_midnight() -> None:
    (rule,) = parse_rules(
        """
rules:
  - name: early
    type: absence
    match: {kinds: [cron.run_completed]}
    absence: {for: 1h, until: "06:00"}
""",
        source="r.yaml",
    )
    assert active_time(rule, T0, T0 + timedelta(hours=12)) == timedelta(0)  # 10:00 to 22:00
    assert active_time(rule, T0, T0 + timedelta(hours=24)) == timedelta(hours=6)


def test_a_late_event_neither_resolves_an_absence_nor_moves_its_clock_back(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = engine_with_rules(database_url, db, tmp_path / "r.yaml", NO_PAYMENT_RULES)
    store_events(db, ("invoice.paid", {"invoiceid": 1}, T0))
    engine.step(now=T0)
    engine.step(now=T0 + timedelta(hours=7))
    assert [a["state"] for a in alert_rows(db)] == ["firing"]
    # A payment from the day before, replayed late from the forwarder's spool.
    store_events(db, ("invoice.paid", {"invoiceid": 0}, T0 - timedelta(days=1)))
    engine.step(now=T0 + timedelta(hours=7, minutes=1))
    (alert,) = alert_rows(db)
    assert alert["state"] == "firing"
    assert alert["summary"] == "no invoice.paid for 6h (last at 2026-11-25 10:00 UTC)"
    with db.read() as conn:
        assert [as_utc(m.at) for m in conn.execute(sa.select(rule_marks.c.at))] == [T0]
    store_events(db, ("invoice.paid", {"invoiceid": 2}, T0 + timedelta(hours=7, minutes=2)))
    engine.step(now=T0 + timedelta(hours=7, minutes=2))
    assert [a["state"] for a in alert_rows(db)] == ["resolved"]


def test_the_alerts_of_a_removed_rule_resolve_and_say_why(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    rules_file = tmp_path / "r.yaml"
    engine = engine_with_rules(
        database_url,
        db,
        rules_file,
        "rules: [{name: gw, match: {kinds: [gateway.failure]}, resolve_after: 1d}]",
    )
    store_events(db, _failure("stripe", 0))
    engine.step(now=T0)
    rules_file.write_text("rules: []\n")
    later = rules_file.stat().st_mtime + 5
    os.utime(rules_file, (later, later))  # a reload, as an operator's edit makes it
    engine.step(now=T0 + timedelta(hours=1))
    (alert,) = alert_rows(db)
    assert (alert["state"], alert["ends_at"]) == ("resolved", (T0 + timedelta(hours=1)).isoformat())
    with db.read() as conn:
        details = [r.detail for r in conn.execute(sa.select(alert_history.c.detail))]
    assert details[-1] == "rule gw was removed or disabled"


@pytest.mark.parametrize(
    ("op", "rule_value", "event_value", "holds"),
    [
        ("eq", 10, "10.00", True),  # WHMCS sends amounts as text
        ("eq", 10, 10.0, True),
        ("eq", 10.5, "10.50", True),
        ("ne", 10, "10.00", False),
        ("in", [10, 20], "20.0", True),
        ("in", [10, 20], 10.0, True),
        ("not_in", [10, 20], "10.00", False),
        ("eq", 10, "ten", False),
        ("eq", "01", "1", False),  # two texts stay texts: an id "01" is not "1"
        ("eq", "stripe", "stripe", True),
        ("eq", 1, True, False),  # a flag is not a number
    ],
)
def test_eq_and_in_compare_numbers_as_numbers(
    op: str, rule_value: object, event_value: object, holds: bool
) -> None:
    cond = Condition.model_validate({"field": "payload.amount", "op": op, "value": rule_value})
    event = {"kind": "invoice.paid", "labels": {}, "payload": {"amount": event_value}}
    assert condition_holds(cond, event) is holds


def test_an_absence_falls_due_when_its_active_time_adds_up() -> None:
    (rule,) = parse_rules(NO_PAYMENT_RULES, source="r.yaml")
    assert rule.absence is not None
    wednesday_17h = T0 + timedelta(hours=7)
    # 5h of business hours remain on Wednesday; Thursday 08:00 + 1h makes 6h.
    due = absence_due(rule.absence, wednesday_17h, T0 + timedelta(days=7))
    assert due == T0 + timedelta(hours=23)
    assert active_time(rule, wednesday_17h, due) == timedelta(hours=6)
    assert absence_due(rule.absence, wednesday_17h, T0 + timedelta(hours=22)) is None


@pytest.mark.parametrize(
    ("down", "back", "rule"),
    [
        ("system.database_unreachable", "system.database_reachable", "whmcs-database-unreachable"),
        ("system.api_unreachable", "system.api_reachable", "whmcs-api-unreachable"),
    ],
)
def test_a_whmcs_outage_alert_stays_open_until_the_poller_gets_through_again(
    database_url: str, db: Database, down: str, back: str, rule: str
) -> None:
    engine = _default_pack_engine(database_url, db)
    store_events(db, (down, {"error": "refused", "since": T0.isoformat(), "attempts": 1}, T0))
    engine.step(now=T0)
    engine.step(now=T0 + timedelta(hours=2))  # the poller reports an outage once
    assert [(a["rule"], a["state"]) for a in alert_rows(db) if a["rule"] == rule] == [
        (rule, "firing")
    ]
    store_events(db, (back, {"since": T0.isoformat(), "error": "refused"}, T0 + timedelta(hours=3)))
    engine.step(now=T0 + timedelta(hours=3))
    assert [a["state"] for a in alert_rows(db) if a["rule"] == rule] == ["resolved"]


def test_domains_from_rdap_checks_get_an_alert_each(database_url: str, db: Database) -> None:
    engine = _default_pack_engine(database_url, db)
    expiring = {"days_left": 5, "expirydate": "2026-12-02", "days_threshold": 7}
    store_events(
        db,
        ("domain.expiring", {"domain": "example.com", **expiring}, T0),
        ("domain.expiring", {"domain": "example.net", **expiring}, T0),
    )
    engine.step(now=T0)
    assert len([a for a in alert_rows(db) if a["rule"] == "domain-expiring"]) == 2


def test_an_automation_task_that_did_not_complete_alerts_until_it_completes(
    database_url: str, db: Database
) -> None:
    engine = _default_pack_engine(database_url, db)
    task = {"task": {"name": "CurrencyUpdateExchangeRates"}}
    store_events(
        db,
        ("cron.task_completed", {**task, "completed": True}, T0),
        ("cron.task_completed", {**task, "completed": False}, T0 + timedelta(minutes=5)),
    )
    engine.step(now=T0 + timedelta(minutes=5))
    rows = [a for a in alert_rows(db) if a["rule"] == "cron-task-incomplete"]
    assert [(a["state"], a["labels"]["task"]) for a in rows] == [
        ("firing", "CurrencyUpdateExchangeRates")
    ]
    store_events(db, ("cron.task_completed", {**task, "completed": True}, T0 + timedelta(hours=1)))
    engine.step(now=T0 + timedelta(hours=1))
    assert [a["state"] for a in alert_rows(db) if a["rule"] == "cron-task-incomplete"] == [
        "resolved"
    ]
