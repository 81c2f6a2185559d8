"""Daily and weekly digests: the right period, the right counts, sent once, readable everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerting_fixtures import (
    T0,
    SmtpServer,
    WebhookReceiver,
    engine_with_rules,
    outbox_rows,
    store_events,
    webhook_receiver,
)
from whmcs_monitor.alerting import digests, state
from whmcs_monitor.alerting.config import DigestConfig
from whmcs_monitor.config import parse_settings
from whmcs_monitor.errors import ConfigError
from whmcs_monitor.store.db import Database

RULES = """
rules:
  - name: module-command-failed
    match: {kinds: [module.create_failed]}
    group_by: [server, subjects.service]
    severity: error
  - name: invoice-refunded
    match: {kinds: [invoice.refunded]}
    group_by: [subjects.invoice]
    severity: warning
"""


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    yield from webhook_receiver()


def _digest(**fields: Any) -> DigestConfig:
    return DigestConfig.model_validate({"name": "ops", "receiver": "ops", **fields})


@pytest.mark.parametrize(
    ("fields", "now", "start", "end"),
    [
        (
            {"at": "08:00"},
            datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
            datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        ),
        (  # before today's time: yesterday's period
            {"at": "08:00"},
            datetime(2026, 11, 25, 7, 59, tzinfo=UTC),
            datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        ),
        (  # 08:00 in Berlin on the day summer time ends: a 25-hour day
            {"at": "08:00", "timezone": "Europe/Berlin"},
            datetime(2026, 10, 25, 12, 0, tzinfo=UTC),
            datetime(2026, 10, 24, 6, 0, tzinfo=UTC),
            datetime(2026, 10, 25, 7, 0, tzinfo=UTC),
        ),
        (  # weekly on Monday, asked on a Wednesday
            {"every": "weekly", "day": "monday", "at": "07:30"},
            datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
            datetime(2026, 11, 16, 7, 30, tzinfo=UTC),
            datetime(2026, 11, 23, 7, 30, tzinfo=UTC),
        ),
    ],
)
def test_a_digest_covers_the_last_complete_period(
    fields: dict[str, Any], now: datetime, start: datetime, end: datetime
) -> None:
    assert digests.period(_digest(**fields), now) == (start, end)


def _failure(service: int, server: str, at: datetime) -> tuple[str, dict[str, Any], datetime]:
    data = {
        "serviceid": service,
        "params": {"serverhostname": server, "moduletype": "cpanel", "serviceid": service},
        "error": "quota exceeded",
    }
    return ("module.create_failed", data, at)


def _day_of_alerts(database_url: str, db: Database, tmp_path: Path, url: str, **extra: Any) -> Any:
    """Three module failures and a refund on Wednesday; one failure acknowledged, the refund
    resolved by hand six hours later; the digest is due Thursday 08:00."""
    engine = engine_with_rules(
        database_url,
        db,
        tmp_path / "rules.yaml",
        RULES,
        receivers=[{"name": "ops", "webhook": {"url": url}}],
        route={"receiver": "ops", "group_wait": "0s"},
        resolve_timeout="1d",
        digests=[{"name": "ops-daily", "receiver": "ops", "at": "08:00", **extra}],
    )
    store_events(
        db,
        _failure(1, "web1", T0),
        _failure(2, "web1", T0 + timedelta(minutes=5)),
        _failure(3, "web2", T0 + timedelta(hours=1)),
        ("invoice.refunded", {"invoiceid": 7, "amount": "9.00"}, T0 + timedelta(hours=2)),
    )
    engine.step(now=T0 + timedelta(hours=2))
    with db.write() as conn:
        ids = sorted(r.id for r in conn.execute(state.alerts.select()))
        state.acknowledge(conn, ids[0], actor="alice", at=T0 + timedelta(minutes=30))
        state.resolve_by_hand(
            conn, ids[-1], actor="alice", at=T0 + timedelta(hours=8), note="refund checked"
        )
    engine.step(now=T0 + timedelta(hours=9))
    return engine


def test_a_daily_digest_counts_the_day_and_lists_what_is_still_open(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    engine = _day_of_alerts(database_url, db, tmp_path, receiver.url + "/hook")
    thursday = datetime(2026, 11, 26, 8, 0, 30, tzinfo=UTC)
    engine.deliver(now=thursday - timedelta(hours=1))  # Wednesday's alerts went out already
    before = len(outbox_rows(db))
    assert digests.send_due(engine.settings, db, thursday) == 1
    assert digests.send_due(engine.settings, db, thursday + timedelta(minutes=5)) == 0  # once
    other = Database(database_url)  # a second instance sharing the database
    try:
        assert digests.send_due(engine.settings, other, thursday + timedelta(minutes=6)) == 0
    finally:
        other.dispose()
    queued = outbox_rows(db)[before:]
    assert len(queued) == 1 and queued[0]["reason"] == "daily digest"
    summary = queued[0]["payload"]["digest"]
    assert (summary["fired"], summary["resolved"], summary["acknowledged"]) == (4, 1, 1)
    assert summary["open"] == 3 and summary["by_severity"] == {"error": 3, "warning": 1}
    assert summary["top_rules"][0] == {"rule": "module-command-failed", "fired": 3}
    assert summary["median_seconds_to_acknowledge"] == 30 * 60
    assert summary["median_seconds_to_resolve"] == 6 * 3600
    engine.deliver(now=thursday)
    document = receiver.received[-1].json()
    assert document["type"] == "alert-digest"
    assert {a["rule"] for a in document["alerts"]} == {"module-command-failed"}


def test_a_digest_covers_only_the_alerts_its_matchers_select(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    engine = _day_of_alerts(
        database_url, db, tmp_path, "http://127.0.0.1:9/hook", match=["server=web2"]
    )
    digests.send_due(engine.settings, db, datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    summary = outbox_rows(db)[-1]["payload"]["digest"]
    assert (summary["fired"], summary["open"], summary["by_site"]) == (1, 1, {"main": 1})


def test_an_e_mailed_digest_reads_as_a_summary(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    smtp = SmtpServer()
    try:
        engine = engine_with_rules(
            database_url,
            db,
            tmp_path / "rules.yaml",
            RULES,
            receivers=[
                {
                    "name": "mail",
                    "email": {
                        "host": "127.0.0.1",
                        "port": smtp.port,
                        "security": "none",
                        "from": "monitor@example.com",
                        "to": ["ops@example.com"],
                    },
                }
            ],
            route={"receiver": "mail"},
            digests=[{"name": "weekly", "receiver": "mail", "every": "weekly", "day": "mon"}],
        )
        store_events(db, _failure(1, "web1", T0))
        engine.step(now=T0)
        monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
        assert digests.send_due(engine.settings, db, monday) == 1
        engine.deliver(now=monday)
        mail = smtp.mailbox.messages[-1].decode()
    finally:
        smtp.stop()
    assert "[digest] weekly: 1 fired, 0 resolved, 1 open" in mail
    assert "Weekly digest weekly" in mail and "module-command-failed: 1" in mail


@pytest.mark.parametrize(
    ("digest", "problem"),
    [
        ({"name": "d", "receiver": "nobody"}, "undefined receiver 'nobody'"),
        ({"name": "d", "receiver": "ops", "timezone": "Mars/Base"}, "is not a time zone name"),
        ({"name": "d", "receiver": "ops", "every": "hourly"}, "daily"),
        ({"name": "d", "receiver": "ops", "day": "funday"}, "'funday' is not a weekday"),
    ],
)
def test_a_bad_digest_is_refused_with_its_path(digest: dict[str, Any], problem: str) -> None:
    data = {
        "sites": [{"id": "main", "secret": "s" * 40}],
        "alerting": {
            "receivers": [{"name": "ops", "webhook": {"url": "http://127.0.0.1:9/"}}],
            "digests": [digest],
        },
    }
    with pytest.raises(ConfigError) as info:
        parse_settings(data, environ={})
    assert any(p.startswith("alerting") and problem in p for p in info.value.problems), (
        info.value.problems
    )
