"""The signed webhook channel and the outbox against a real local HTTP receiver."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alerting_fixtures import (
    T0,
    WebhookReceiver,
    alert_rows,
    engine_with_rules,
    outbox_rows,
    store_events,
    stored_text,
)
from whmcs_monitor.alerting import state
from whmcs_monitor.lib.signing import sign, verify
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.notify import outbox
from whmcs_monitor.notify.templates import render
from whmcs_monitor.store.db import Database

URL_TOKEN = "T0KEN-in-the-url-5f2a9"
RULES = """
rules:
  - name: refunds
    match: {kinds: [invoice.refunded]}
    group_by: [subjects.invoice]
    severity: warning
  - name: notification-dead-letter
    match: {kinds: [notify.delivery_failed]}
    group_by: [receiver]
    severity: error
"""


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


def _engine(database_url: str, db: Database, tmp_path: Path, url: str, **receiver: Any) -> Any:
    hook = {
        "name": "hook",
        "webhook": {"url": url, "secret": "hook-signing-secret"},
        "backoff_base": "1s",
        **receiver,
    }
    route = {
        "receiver": "hook",
        "group_by": ["rule", "invoice"],
        "group_wait": "0s",
        "group_interval": "0s",
    }
    return engine_with_rules(
        database_url,
        db,
        tmp_path / "rules.yaml",
        RULES,
        receivers=[hook],
        route=route,
        resolve_timeout="1d",
    )


def _refund(invoice: int, minute: int = 0) -> tuple[str, dict[str, Any], Any]:
    return (
        "invoice.refunded",
        {"invoiceid": invoice, "amount": "10.00"},
        T0 + timedelta(minutes=minute),
    )


def _deliver_until_idle(engine: Any, rounds: int = 20) -> None:
    for i in range(rounds):
        engine.deliver(now=utcnow() + timedelta(minutes=i))


def test_a_webhook_gets_a_signed_versioned_payload(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    engine = _engine(database_url, db, tmp_path, receiver.url + "/hook")
    store_events(db, _refund(42))
    engine.step(now=T0)
    assert engine.deliver() == 1
    (post,) = receiver.received
    headers = {k.lower(): v for k, v in post.headers.items()}
    assert verify(
        b"hook-signing-secret",
        headers["x-whmcs-monitor-timestamp"],
        post.body,
        headers["x-whmcs-monitor-signature"],
    )
    doc = post.json()
    assert (doc["version"], doc["type"], doc["status"], doc["reason"]) == (
        "1",
        "alerts",
        "firing",
        "first notification",
    )
    (alert,) = doc["alerts"]
    assert alert["rule"] == "refunds" and alert["labels"]["invoice"] == "42"
    assert alert["links"]["alert"].endswith(f"/alerts/{alert['id']}")
    assert "token=" in alert["links"]["ack"]


def test_a_5xx_is_retried_with_backoff_and_then_delivered(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    receiver = WebhookReceiver([503])
    try:
        engine = _engine(database_url, db, tmp_path, receiver.url + "/hook")
        store_events(db, _refund(1))
        engine.step(now=T0)
        assert engine.deliver() == 0
        (row,) = outbox_rows(db)
        assert (row["state"], row["attempts"], row["last_error"]) == (
            "pending",
            1,
            f"webhook http://127.0.0.1:{receiver.server.server_address[1]}/… answered HTTP 503",
        )
        assert engine.deliver() == 0  # the backoff has not elapsed yet
        assert engine.deliver(now=utcnow() + timedelta(seconds=5)) == 1
        assert receiver.attempts == 2 and len(receiver.received) == 1
        from whmcs_monitor.alerting import queries

        with db.read() as conn:
            log = queries.list_deliveries(conn)
        assert [(d["outcome"], d["status"], d["attempt"]) for d in reversed(log)] == [
            ("retry", 503, 1),
            ("delivered", None, 2),
        ]
    finally:
        receiver.close()


def test_a_permanent_4xx_goes_to_dead_letter_and_raises_its_own_alert(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    receiver = WebhookReceiver([410])
    try:
        engine = _engine(database_url, db, tmp_path, receiver.url + "/hook")
        store_events(db, _refund(1))
        engine.step(now=T0)
        engine.deliver()
        assert [r["state"] for r in outbox_rows(db)] == ["dead"]
        assert receiver.attempts == 1
        engine.step(now=T0 + timedelta(minutes=1))
        dead = alert_rows(db, rule="notification-dead-letter")
        assert [(a["labels"]["receiver"], a["state"]) for a in dead] == [("hook", "firing")]
    finally:
        receiver.close()


def test_no_secret_reaches_the_stored_delivery_logs(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    receiver = WebhookReceiver([404])
    try:
        url = f"{receiver.url}/hooks/{URL_TOKEN}?token={URL_TOKEN}"
        engine = _engine(database_url, db, tmp_path, url)
        store_events(db, _refund(1))
        engine.step(now=T0)
        engine.deliver()
        down = _engine(database_url, db, tmp_path, f"http://127.0.0.1:9/hooks/{URL_TOKEN}")
        store_events(db, _refund(2))
        down.step(now=T0)
        down.deliver()
        engine.step(now=T0 + timedelta(minutes=1))
        text = stored_text(db)
        assert "answered HTTP 404" in text and "ConnectError" in text
        assert URL_TOKEN not in text and "hook-signing-secret" not in text
    finally:
        receiver.close()


def test_a_receiver_down_for_a_while_gets_everything_once_in_order_per_alert(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    receiver = WebhookReceiver([503] * 4)
    try:
        engine = _engine(database_url, db, tmp_path, receiver.url + "/hook", coalesce_after=50)
        store_events(db, *[_refund(i) for i in range(1, 4)])
        engine.step(now=T0)
        engine.deliver()
        for alert in alert_rows(db)[:2]:
            with db.write() as conn:
                state.resolve(
                    conn, alert["id"], at=T0 + timedelta(minutes=1), actor="test", reason="done"
                )
        engine.step(now=T0 + timedelta(minutes=1))
        _deliver_until_idle(engine)
        assert {r["state"] for r in outbox_rows(db)} == {"delivered"}
        seen = [
            (a["id"], a["status"], n.get("notification_id"))
            for post in receiver.received
            for n in _notifications(post.json())
            for a in n["alerts"]
        ]
        ids = [
            n["notification_id"] for post in receiver.received for n in _notifications(post.json())
        ]
        assert sorted(ids) == sorted(r["id"] for r in outbox_rows(db)) and len(ids) == len(set(ids))
        for alert_id in {a for a, _, _ in seen}:
            statuses = [s for a, s, _ in seen if a == alert_id]
            assert statuses in (["firing"], ["firing", "resolved"]), statuses
    finally:
        receiver.close()


def _notifications(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["notifications"] if doc.get("type") == "digest" else [doc]


def test_two_dispatchers_sharing_the_database_never_send_a_notification_twice(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    engine = _engine(database_url, db, tmp_path, receiver.url + "/hook", coalesce_after=1000)
    settings = engine.settings
    with db.write() as conn:
        hook = settings.alerting.receivers[0]
        rows = [
            outbox.outbox_row(
                hook.model_copy(update={"name": f"hook{i % 4}"}),
                group_key=str(i),
                reason="test",
                payload=_payload(i),
                now=utcnow(),
            )
            for i in range(40)
        ]
        outbox.enqueue(conn, rows)
    configs = [hook.model_copy(update={"name": f"hook{i}"}) for i in range(4)]
    others = [Database(database_url) for _ in range(3)]
    try:
        threads = [threading.Thread(target=_drain, args=(d, configs)) for d in [db, *others]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for other in others:
            other.dispose()
    sent = [n["notification_id"] for post in receiver.received for n in _notifications(post.json())]
    assert sorted(sent) == sorted(r["id"] for r in outbox_rows(db))
    assert len(sent) == 40 and len(set(sent)) == 40


def _payload(i: int) -> dict[str, Any]:
    alert = {
        "id": i,
        "status": "firing",
        "state": "firing",
        "rule": "r",
        "site": "main",
        "severity": "warning",
        "summary": f"alert {i}",
        "labels": {},
        "key_fields": {},
        "starts_at": "",
        "ends_at": None,
        "fingerprint": "",
        "links": {"alert": ""},
    }
    return {
        "version": "1",
        "type": "alerts",
        "receiver": "hook",
        "reason": "test",
        "status": "firing",
        "severity": "warning",
        "group_labels": {},
        "alerts": [alert],
        "truncated": 0,
    }


def _drain(database: Database, configs: Any) -> None:
    for _ in range(10):
        outbox.deliver(database, configs, render)


def test_a_burst_over_the_rate_limit_is_coalesced_into_one_digest(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    engine = _engine(
        database_url, db, tmp_path, receiver.url + "/hook", max_per_minute=3, coalesce_after=100
    )
    hook = engine.settings.alerting.receivers[0]
    with db.write() as conn:
        for i in range(2):
            _queue(conn, hook, str(i), i)
    engine.deliver()
    assert len(receiver.received) == 2  # under the limit: one message each
    with db.write() as conn:
        for i in range(2, 52):
            _queue(conn, hook, str(i), i)
    engine.deliver()
    assert len(receiver.received) == 3
    digest = receiver.received[-1].json()
    assert digest["type"] == "digest" and len(digest["notifications"]) == 50
    with db.write() as conn:
        _queue(conn, hook, "late", 99)
    engine.deliver()
    assert len(receiver.received) == 3 and [r["state"] for r in outbox_rows(db)][-1] == "pending"


def _queue(conn: Any, hook: Any, key: str, i: int) -> None:
    row = outbox.outbox_row(hook, group_key=key, reason="test", payload=_payload(i), now=utcnow())
    outbox.enqueue(conn, [row])


def test_a_failing_group_waits_without_holding_up_the_other_groups(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """Order is kept per group (so per alert), not across the whole receiver."""
    receiver.refuse = lambda doc: doc["alerts"][0]["summary"].startswith("alert 1")
    engine = _engine(database_url, db, tmp_path, receiver.url + "/hook", coalesce_after=100)
    hook = engine.settings.alerting.receivers[0]
    with db.write() as conn:
        for i, group in ((10, "a"), (20, "b"), (11, "a"), (21, "b"), (22, "b")):
            _queue(conn, hook, group, i)
    engine.deliver()
    delivered = [r["payload"]["alerts"][0]["summary"] for r in outbox_rows(db) if r["delivered_at"]]
    assert delivered == ["alert 20", "alert 21", "alert 22"]
    waiting = {r["payload"]["alerts"][0]["summary"]: r for r in outbox_rows(db)}
    assert waiting["alert 10"]["attempts"] == 1 and waiting["alert 10"]["state"] == "pending"
    assert waiting["alert 11"]["attempts"] == 0  # never sent ahead of the failed one
    receiver.refuse = None
    engine.deliver(now=utcnow() + timedelta(hours=1))  # past the backoff
    order = [post.json()["alerts"][0]["summary"] for post in receiver.received]
    assert order[3:] == ["alert 10", "alert 11"]


def test_a_message_that_fails_unexpectedly_is_retried_and_dead_lettered_not_stuck(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """Not only DeliveryError: any failure to build or send one message is that message's
    failure, logged and retried, and the rest of the pass goes on."""
    engine = _engine(database_url, db, tmp_path, receiver.url + "/hook", max_attempts=2)
    hook = engine.settings.alerting.receivers[0]
    with db.write() as conn:
        broken = outbox.outbox_row(
            hook, group_key="a", reason="test", payload={"severity": "error"}, now=utcnow()
        )
        outbox.enqueue(conn, [broken])
        _queue(conn, hook, "b", 1)
    assert engine.deliver() == 1
    rows = {r["group_key"]: r for r in outbox_rows(db)}
    assert (rows["a"]["state"], rows["a"]["attempts"]) == ("pending", 1)
    assert rows["a"]["last_error"].endswith("could not be built or sent (KeyError in templates.py)")
    assert rows["b"]["state"] == "delivered"
    engine.deliver(now=utcnow() + timedelta(hours=1))
    assert outbox_rows(db)[0]["state"] == "dead"
    engine.step(now=T0 + timedelta(minutes=1))
    dead = alert_rows(db, rule="notification-dead-letter")
    assert [(a["labels"]["receiver"], a["state"]) for a in dead] == [("hook", "firing")]


def _during_post(number: int, action: Callable[[], object]) -> Callable[[Any], bool]:
    """A ``refuse`` hook that runs ``action`` once, while post ``number`` (from 1) is in flight."""
    seen: list[Any] = []

    def hook(doc: Any) -> bool:
        seen.append(doc)
        if len(seen) == number:
            action()
        return False

    return hook


def _one_group_of_three(db: Database, hook: Any) -> None:
    with db.write() as conn:
        for i in range(3):
            _queue(conn, hook, "g", i)


def test_a_second_instance_never_resends_what_a_slow_pass_is_still_sending(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """A pass records each message as soon as it is sent, and holds its lease for longer than a
    send can take: another instance polling minutes later finds nothing to take."""
    engine = _engine(database_url, db, tmp_path, receiver.url + "/hook", coalesce_after=100)
    hook = engine.settings.alerting.receivers[0]
    _one_group_of_three(db, hook)
    other = Database(database_url)
    states_then: list[list[str]] = []

    def other_instance_polls() -> None:
        states_then.append([r["state"] for r in outbox_rows(db)])
        outbox.deliver(other, [hook], render, now=utcnow() + timedelta(minutes=3))

    receiver.refuse = _during_post(2, other_instance_polls)
    try:
        assert engine.deliver() == 3
    finally:
        other.dispose()
    assert states_then == [["delivered", "sending", "sending"]]
    sent = [post.json()["alerts"][0]["id"] for post in receiver.received]
    assert sent == [0, 1, 2]


def test_a_pass_whose_lease_was_taken_over_stops_and_records_nothing_over_it(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """The lease_until a pass wrote is its claim token: once another instance took the rows
    over (the lease ran out), the pass sends none of them again and overwrites none of its
    results."""
    engine = _engine(database_url, db, tmp_path, receiver.url + "/hook", coalesce_after=100)
    hook = engine.settings.alerting.receivers[0]
    _one_group_of_three(db, hook)
    other = Database(database_url)

    def other_instance_takes_over() -> None:
        receiver.refuse = None
        outbox.deliver(other, [hook], render, now=utcnow() + timedelta(hours=1))

    receiver.refuse = _during_post(1, other_instance_takes_over)
    try:
        assert engine.deliver() == 1  # the message in flight, and nothing after it
    finally:
        other.dispose()
    sent = [post.json()["alerts"][0]["id"] for post in receiver.received]
    assert sent == [0, 1, 2, 0]  # only the message in flight when the lease ran out goes twice
    assert [r["state"] for r in outbox_rows(db)] == ["delivered"] * 3


def test_a_row_held_for_quiet_hours_goes_out_before_a_later_critical_one_of_its_group(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """Per group (so per alert) nothing overtakes: a critical notice that bypasses quiet hours
    takes the held notices ahead of it along, so a firing notice never arrives after its
    resolved notice."""
    quiet = {"start": "22:00", "end": "07:00", "timezone": "UTC", "bypass": "critical"}
    engine = _engine(
        database_url, db, tmp_path, receiver.url + "/hook", quiet_hours=quiet, coalesce_after=100
    )
    hook = engine.settings.alerting.receivers[0]
    night = T0.replace(hour=23)
    firing, resolved = _payload(1), _payload(1)
    resolved["alerts"][0]["status"] = resolved["status"] = "resolved"
    critical = _payload(2) | {"severity": "critical"}
    with db.write() as conn:
        for payload, at in ((firing, night), (resolved, night), (critical, night)):
            row = outbox.outbox_row(hook, group_key="g", reason="test", payload=payload, now=at)
            outbox.enqueue(conn, [row])
        other = outbox.outbox_row(
            hook, group_key="h", reason="test", payload=_payload(3), now=night
        )
        outbox.enqueue(conn, [other])
    assert engine.deliver(now=night + timedelta(minutes=1)) == 3
    sent = [(post.json()["alerts"][0]["id"], post.json()["status"]) for post in receiver.received]
    assert sent == [(1, "firing"), (1, "resolved"), (2, "firing")]
    assert outbox_rows(db)[-1]["state"] == "pending"  # group h still waits for the morning


def _documented_verifier() -> Callable[..., bool]:
    """The verification snippet of docs/alerting.md, run as written."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "alerting.md").read_text("utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", doc, re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["verify_webhook"]  # type: ignore[no-any-return]


def test_the_documented_verification_accepts_a_delivery_and_refuses_a_forgery(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    engine = _engine(database_url, db, tmp_path, receiver.url + "/hook")
    store_events(db, _refund(42))
    engine.step(now=T0)
    engine.deliver()
    (post,) = receiver.received
    verify_webhook = _documented_verifier()
    secret = b"hook-signing-secret"
    assert verify_webhook(secret, post.headers, post.body)
    assert post.headers["X-WHMCS-Monitor-Delivery"] == str(outbox_rows(db)[0]["id"])
    assert not verify_webhook(secret, post.headers, post.body.replace(b"42", b"43"))
    assert not verify_webhook(b"another-secret", post.headers, post.body)
    stale = int(post.headers["X-WHMCS-Monitor-Timestamp"]) - 3600
    replayed = post.headers | {
        "X-WHMCS-Monitor-Timestamp": str(stale),
        "X-WHMCS-Monitor-Signature": sign(secret, stale, post.body),
    }
    assert not verify_webhook(secret, replayed, post.body)


def _three_groups_of_one(db: Database, hook: Any) -> None:
    with db.write() as conn:
        for i, group in enumerate("abc"):
            _queue(conn, hook, group, i)


def test_alerts_of_one_message_each_are_all_delivered_and_each_logged(
    database_url: str, db: Database, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """Sent side by side and recorded together: every row delivered, one log entry each."""
    import sqlalchemy as sa

    from whmcs_monitor.alerting.tables import deliveries

    engine = _engine(database_url, db, tmp_path, receiver.url + "/hook", coalesce_after=100)
    _three_groups_of_one(db, engine.settings.alerting.receivers[0])
    assert engine.deliver() == 3
    rows = outbox_rows(db)
    assert [(r["state"], r["attempts"], r["lease_until"]) for r in rows] == [
        ("delivered", 1, None)
    ] * 3
    assert all(r["delivered_at"] is not None for r in rows)
    with db.read() as conn:
        logged = sorted(ids[0] for ids in conn.scalars(sa.select(deliveries.c.notification_ids)))
    assert logged == [r["id"] for r in rows]
    assert sorted(post.json()["alerts"][0]["id"] for post in receiver.received) == [0, 1, 2]


def test_a_message_whose_lease_ran_low_before_its_turn_waits_for_the_next_pass(
    database_url: str,
    db: Database,
    tmp_path: Path,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not sent under a lease about to run out (another instance could take it over
    meanwhile): it goes back to pending, and the next pass sends it under a fresh claim."""
    engine = _engine(database_url, db, tmp_path, receiver.url + "/hook", coalesce_after=100)
    _three_groups_of_one(db, engine.settings.alerting.receivers[0])
    monkeypatch.setattr(outbox.Lease, "fresh", lambda _self: False)
    assert engine.deliver() == 0
    assert receiver.received == []
    assert [(r["state"], r["lease_until"]) for r in outbox_rows(db)] == [("pending", None)] * 3
    monkeypatch.undo()
    assert engine.deliver() == 3
