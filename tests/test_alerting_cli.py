"""The alerting commands as an operator runs them: alerts, silences, rules test, notify test, coverage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from alerting_fixtures import T0, WebhookReceiver, engine_with_rules, store_events
from support import SITE_ID, SITE_SECRET
from whmcs_monitor.cli import main
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.tables import audit_log

RULES = "rules: [{name: refunds, match: {kinds: [invoice.refunded]}, group_by: [subjects.invoice], severity: warning}]"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def config(tmp_path: Path, database_url: str, receiver: WebhookReceiver) -> Path:
    (tmp_path / "rules.yaml").write_text(RULES)
    data: dict[str, Any] = {
        "database": {"url": database_url},
        "demo": {"enabled": "off"},
        "sites": [{"id": SITE_ID, "secret": SITE_SECRET}],
        "alerting": {
            "default_rules": False,
            "rule_files": ["rules.yaml"],
            "receivers": [{"name": "ops", "webhook": {"url": receiver.url + "/hook/SeCrEt"}}],
            "route": {"receiver": "ops"},
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(path), *args])
    return result.exit_code, result.output


def _firing_alert(database_url: str, db: Database, tmp_path: Path) -> int:
    engine = engine_with_rules(database_url, db, tmp_path / "engine-rules.yaml", RULES)
    store_events(db, ("invoice.refunded", {"invoiceid": 3}, T0))
    engine.step(now=T0)
    code, output = run(tmp_path / "config.yaml", "alerts", "list", "--json")
    assert code == 0, output
    (alert,) = json.loads(output)
    return int(alert["id"])


def _audit(db: Database) -> list[tuple[str, str, str]]:
    import sqlalchemy as sa

    with db.read() as conn:
        assert audit.verify(conn).ok
        return [
            (r.actor, r.action, r.target)
            for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.id))
        ]


def test_alerts_can_be_listed_acknowledged_and_resolved_with_an_audit_record_each(
    config: Path, database_url: str, db: Database, tmp_path: Path
) -> None:
    alert_id = _firing_alert(database_url, db, tmp_path)
    assert run(config, "alerts", "ack", str(alert_id), "--as", "alice", "--note", "on it") == (
        0,
        f"Acknowledged alert {alert_id}\n",
    )
    code, output = run(config, "alerts", "ack", str(alert_id))
    assert (
        code == 1
        and f"alert {alert_id} is acknowledged; only a firing alert can be acknowledged" in output
    )
    assert run(config, "alerts", "resolve", str(alert_id), "--as", "alice")[0] == 0
    code, output = run(config, "alerts", "list", "--all", "--json")
    (alert,) = json.loads(output)
    assert (alert["state"], alert["acked_by"]) == ("resolved", "alice")
    assert _audit(db) == [
        ("alice", "alert.acknowledge", f"alert:{alert_id}"),
        ("alice", "alert.resolve", f"alert:{alert_id}"),
    ]
    code, output = run(config, "alerts", "ack", "999")
    assert code == 1 and "there is no alert 999" in output


def test_silences_are_added_listed_and_expired_with_an_audit_record_each(
    config: Path, db: Database
) -> None:
    code, output = run(
        config,
        "silences",
        "add",
        "server=web1",
        'rule=~"module-.*"',
        "--for",
        "2h",
        "--comment",
        "migration",
        "--as",
        "bob",
    )
    assert (code, output) == (0, "Created silence 1 for 2h\n")
    code, output = run(config, "silences", "list", "--json")
    (silence,) = json.loads(output)
    assert (silence["state"], silence["matchers"], silence["created_by"]) == (
        "active",
        ['server="web1"', 'rule=~"module-.*"'],
        "bob",
    )
    assert run(config, "silences", "expire", "1", "--as", "bob")[0] == 0
    assert json.loads(run(config, "silences", "list", "--json")[1]) == []
    code, output = run(config, "silences", "expire", "1")
    assert code == 1 and "silence 1 has already expired" in output
    assert [a[1] for a in _audit(db)] == ["silence.create", "silence.expire"]


def test_silences_list_shows_a_comment_as_text_not_as_markup(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    comment = "[/] [link=file:///etc/passwd]x[/link]"
    assert run(config, "silences", "add", "site=main", "--comment", comment)[0] == 0
    code, output = run(config, "silences", "list")
    assert code == 0, output
    assert comment in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["server"], "'server' is not a matcher; write label=value, label!=value, label=~regex"),
        (["server=web1", "--for", "soon"], "Invalid value for --for: 'soon' is not a duration"),
        (
            ["server=web1", "--for", "99999999d"],
            "Invalid value for --for: '99999999d' is too long; the longest is 36500d",
        ),
        (["server=web1", "--for", "400d"], "duration: a silence lasts at most 366 days"),
    ],
)
def test_a_bad_silence_is_refused_with_a_plain_message(
    config: Path, args: list[str], message: str
) -> None:
    code, output = run(config, "silences", "add", *args, "--comment", "x")
    assert code != 0 and message in output and "Traceback" not in output


def test_rules_test_replays_recorded_events_and_says_what_would_have_fired_and_when(
    config: Path, db: Database, tmp_path: Path
) -> None:
    from whmcs_monitor.lib.timeutil import utcnow

    start = utcnow() - timedelta(hours=2)
    store_events(
        db,
        *[
            ("gateway.failure", {"gateway": "stripe"}, start + timedelta(minutes=m))
            for m in range(6)
        ],
    )
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(
        "rules: [{name: gw, type: count, match: {kinds: [gateway.failure]}, count: {threshold: 5, window: 10m}, group_by: [gateway], severity: critical}]"
    )
    code, output = run(config, "rules", "test", str(candidate), "--since", "1d", "--json")
    assert code == 0, output
    doc = json.loads(output)
    assert (doc["rules"], doc["events"]) == (1, 6)
    fired, resolved = doc["outcomes"]
    assert (fired["action"], fired["rule"], fired["at"]) == (
        "fired",
        "gw",
        (start + timedelta(minutes=4)).isoformat(),
    )
    # When the second failure leaves the 10-minute window (4 remain), not when the replay ends.
    assert (resolved["action"], resolved["at"]) == (
        "resolved",
        (start + timedelta(minutes=11)).isoformat(),
    )
    code, output = run(config, "rules", "test", str(candidate))
    assert code == 0 and "1 alert(s) would have fired." in output


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["alerts", "ack", "99999999999999999999"], id="ack"),
        pytest.param(["alerts", "resolve", "99999999999999999999"], id="resolve"),
        pytest.param(["silences", "expire", "99999999999999999999"], id="expire"),
    ],
)
def test_an_id_too_large_for_the_store_is_a_usage_error(config: Path, args: list[str]) -> None:
    code, output = run(config, *args)
    assert code == 2, output
    assert "99999999999999999999 is not in the range 1<=x<=9223372036854775807" in output


def test_rules_test_prints_absences_and_timeouts_when_they_fall_due_between_events(
    config: Path, db: Database, tmp_path: Path
) -> None:
    from whmcs_monitor.lib.timeutil import utcnow

    base = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    store_events(
        db,
        ("invoice.paid", {"invoiceid": 1}, base),
        ("invoice.paid", {"invoiceid": 2}, base + timedelta(hours=10)),
    )
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(
        """
rules:
  - {name: no-payments, type: absence, match: {kinds: [invoice.paid]}, absence: {for: 6h}}
  - {name: paid, match: {kinds: [invoice.paid]}, resolve_after: 1h, severity: info}
"""
    )
    code, output = run(config, "rules", "test", str(candidate), "--since", "3d", "--json")
    assert code == 0, output
    outcomes = [(o["at"], o["action"], o["rule"]) for o in json.loads(output)["outcomes"]]
    assert outcomes == [
        ((base + timedelta(hours=h)).isoformat(), action, rule)
        for h, action, rule in [
            (0, "fired", "paid"),
            (1, "resolved", "paid"),
            (6, "fired", "no-payments"),
            (10, "fired", "paid"),
            (10, "resolved", "no-payments"),
            (11, "resolved", "paid"),
            (16, "fired", "no-payments"),
        ]
    ]


def test_rules_test_refuses_a_since_too_far_back_for_a_date(config: Path) -> None:
    code, output = run(config, "rules", "test", "--since", "99999999d")
    assert code == 2 and "Invalid value for --since: '99999999d' is too long" in output


def test_rules_test_names_the_rule_and_field_of_a_broken_file(config: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [{name: gw, type: count, match: {kinds: [gateway.failure]}}]")
    code, output = run(config, "rules", "test", str(broken))
    assert code == 1 and 'rule "gw": count: a count rule needs a count section' in output


def test_notify_test_reaches_the_receiver_and_reports_failures_without_the_url(
    config: Path, receiver: WebhookReceiver
) -> None:
    assert run(config, "notify", "test", "ops") == (
        0,
        f"OK sent a test notification through webhook {receiver.url}/…\n",
    )
    assert receiver.received[0].json()["type"] == "test"
    receiver.statuses.append(401)
    code, output = run(config, "notify", "test", "ops")
    assert (
        code == 1 and "answered HTTP 401 (permanent failure)" in output and "SeCrEt" not in output
    )
    code, output = run(config, "notify", "test", "nobody")
    assert code == 2 and "'nobody' is not a receiver (ops)" in output


def test_coverage_counts_the_kinds_rules_route_to_a_receiver(config: Path) -> None:
    code, output = run(config, "coverage", "--json")
    assert code == 0
    routed = {c["category"]: c["routed"] for c in json.loads(output)["categories"]}
    assert routed["orders_payments"] == 1 and routed["domains"] == 0


def test_coverage_counts_the_kinds_of_a_rule_that_matches_a_category(
    config: Path, tmp_path: Path
) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - name: any-domain-trouble\n    match: {categories: [domains]}\n"
    )
    code, output = run(config, "coverage", "--json")
    assert code == 0, output
    scores = {c["category"]: c for c in json.loads(output)["categories"]}
    assert scores["domains"]["routed"] == scores["domains"]["possible"] > 0
    assert scores["orders_payments"]["routed"] == 0


@pytest.mark.parametrize(
    ("route_site", "expected"), [(SITE_ID, 1), ("elsewhere", 0), ("monitor", 0)]
)
def test_coverage_counts_a_kind_routed_only_for_one_site(
    config: Path, route_site: str, expected: int
) -> None:
    """Alerts carry their site, so a route that matches on it routes the site's kinds."""
    data = yaml.safe_load(config.read_text())
    data["alerting"]["route"] = {"routes": [{"match": [f'site="{route_site}"'], "receiver": "ops"}]}
    config.write_text(yaml.safe_dump(data))
    code, output = run(config, "coverage", "--json")
    assert code == 0, output
    routed = {c["category"]: c["routed"] for c in json.loads(output)["categories"]}
    assert routed["orders_payments"] == expected
