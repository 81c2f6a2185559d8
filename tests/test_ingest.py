"""The ingest protocol: signed batches, 202 only after commit, idempotent ids."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from support import SITE_ID, batch_body, event, signed_headers
from whmcs_monitor.store.tables import events


def post(client: TestClient, body: bytes, **kw: object) -> object:
    return client.post("/api/v1/ingest", content=body, headers=signed_headers(body, **kw))


def stored(client: TestClient) -> list[sa.Row[tuple[object, ...]]]:
    with client.app.state.services.db.read() as conn:  # type: ignore[attr-defined]
        return list(conn.execute(sa.select(events).order_by(events.c.seq)))


def test_it_accepts_a_signed_batch_and_stores_each_event(client: TestClient) -> None:
    batch = [event("InvoicePaid", vars={"invoiceid": 7}), event("TicketOpen", vars={"ticketid": 3})]
    response = post(client, batch_body(batch))
    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "duplicates": 0}
    rows = stored(client)
    assert [(r.kind, r.site) for r in rows] == [
        ("invoice.paid", SITE_ID),
        ("ticket.opened", SITE_ID),
    ]
    assert rows[0].invoice_id == 7 and rows[1].ticket_id == 3


def test_it_counts_a_replayed_event_as_a_duplicate_and_stores_it_once(client: TestClient) -> None:
    batch = [event()]
    assert post(client, batch_body(batch)).json() == {"accepted": 1, "duplicates": 0}
    time.sleep(1.1)  # a new timestamp, as a spool replay would send
    assert post(client, batch_body(batch)).json() == {"accepted": 0, "duplicates": 1}
    assert len(stored(client)) == 1


def test_it_dedups_the_same_id_twice_inside_one_batch(client: TestClient) -> None:
    one = event()
    assert post(client, batch_body([one, one])).json() == {"accepted": 1, "duplicates": 1}


def test_it_stores_values_the_fast_json_path_cannot_hold(client: TestClient) -> None:
    """Integers beyond 64 bits take the standard library's path; text beyond ASCII stays as sent."""
    values = {"big": 2**70, "negative": -(2**65), "note": "Zahlung für Rechnung Nr. 42: 10 €"}
    response = post(client, batch_body([event(vars=values)]))
    assert response.status_code == 202
    payload = stored(client)[0].payload
    assert {key: payload[key] for key in values} == values


def test_it_resolves_an_audit_alias_sent_as_kind(client: TestClient) -> None:
    response = post(
        client,
        batch_body(
            [event(None, kind="AdminLoginFailed", vars={"username": "root", "ip": "203.0.113.9"})]
        ),
    )
    assert response.status_code == 202
    assert stored(client)[0].kind == "security.admin_login_failed"


def test_it_keeps_an_unlisted_hook_instead_of_refusing_the_batch(client: TestClient) -> None:
    response = post(client, batch_body([event("SomeFutureWhmcsHook", vars={})]))
    assert response.status_code == 202
    row = stored(client)[0]
    assert row.kind == "whmcs.unlisted_hook" and row.labels == {"hook": "SomeFutureWhmcsHook"}


def test_it_redacts_secrets_a_sender_forgot_to_remove(client: TestClient) -> None:
    card = "4111111111111111"
    batch = [
        event(
            "ClientAdd",
            vars={"client_id": 5, "password": "hunter2hunter2", "notes": f"card {card}"},
        )
    ]
    assert post(client, batch_body(batch)).status_code == 202
    with client.app.state.services.db.read() as conn:  # type: ignore[attr-defined]
        raw = " ".join(str(v) for row in conn.execute(sa.select(events)) for v in row)
    assert "hunter2hunter2" not in raw and card not in raw


@pytest.mark.parametrize(
    "body_vars",
    [
        # Redaction reads the decoded text: escapes, dashes and a Kelvin sign hide nothing.
        b'{"pass\\u0077ord": "hunter2hunter2"}',
        b'{"note": "card 4111\\u00201111\\u00201111\\u00201111"}',
        '{"API-KEY": "hunter2hunter2", "to\u212aen": "hunter2hunter2"}'.encode(),
        b'{"context": {"Secret_Answer": "hunter2hunter2"}}',
    ],
)
def test_it_redacts_secrets_however_the_sender_spelled_them(
    client: TestClient, body_vars: bytes
) -> None:
    template = batch_body([event("ClientAdd", vars={"client_id": 5, "x": "VARS"})])
    body = template.replace(b'{"client_id": 5, "x": "VARS"}', body_vars)
    assert body != template
    assert post(client, body).status_code == 202
    with client.app.state.services.db.read() as conn:  # type: ignore[attr-defined]
        raw = " ".join(str(v) for row in conn.execute(sa.select(events)) for v in row)
    assert "hunter2" not in raw and "4111" not in raw


def test_it_names_the_field_of_an_unknown_kind(client: TestClient) -> None:
    response = post(client, batch_body([event(), event(None, kind="no.such_kind")]))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "events[1].kind"
    assert stored(client) == []


def test_a_failed_signature_becomes_one_throttled_security_event(client: TestClient) -> None:
    body = batch_body([event()])
    for _ in range(5):
        headers = signed_headers(body, secret="wrong-secret-" + "y" * 32)
        assert client.post("/api/v1/ingest", content=body, headers=headers).status_code == 401
    rows = stored(client)
    assert [r.kind for r in rows] == ["security.ingest_auth_failed"]
    assert rows[0].payload["reason"] == "bad_signature"


def test_a_timestamp_exactly_at_the_edge_of_the_window_is_accepted(client: TestClient) -> None:
    for offset in (-300, 300):
        body = batch_body([event()])
        stamp = int(time.time()) + offset
        assert post(client, body, timestamp=stamp).status_code == 202, offset
    for offset in (-301, 301):
        body = batch_body([event()])
        assert post(client, body, timestamp=int(time.time()) + offset).status_code == 401


def test_a_leap_second_and_lowercase_separators_are_rfc_3339(client: TestClient) -> None:
    batch = [
        event(occurred_at="2016-12-31T23:59:60Z"),
        event(occurred_at="2026-11-27t10:00:00.123456789z"),
    ]
    assert post(client, batch_body(batch)).status_code == 202
    assert [r.occurred_at.second for r in stored(client)] == [59, 0]


def test_a_uuid_replayed_in_another_case_is_a_duplicate(client: TestClient) -> None:
    first = event(id="0192F1C4-5D6B-7C8D-9E0F-A1B2C3D4E5F6")
    again = {**first, "id": first["id"].lower()}
    ulid = event(id="01jdq3v5x8k9m2n4p6r7s8t9vw")
    ulid_again = {**ulid, "id": ulid["id"].upper()}
    response = post(client, batch_body([first, again, ulid, ulid_again]))
    assert response.json() == {"accepted": 2, "duplicates": 2}
    assert sorted(r.event_id for r in stored(client)) == [
        "0192f1c4-5d6b-7c8d-9e0f-a1b2c3d4e5f6",
        "01JDQ3V5X8K9M2N4P6R7S8T9VW",
    ]


@pytest.mark.parametrize(
    ("alias", "kind"),
    [("InvoicePaymentFailed", "gateway.failure"), ("OrderStatusChange", "order.status_changed")],
)
def test_an_alias_of_several_kinds_is_stored_as_its_default(
    client: TestClient, alias: str, kind: str
) -> None:
    assert post(client, batch_body([event(None, kind=alias)])).status_code == 202
    assert stored(client)[0].kind == kind


def test_it_redacts_card_numbers_sent_as_numbers_and_keys_that_contain_a_secret_word(
    client: TestClient,
) -> None:
    seeded = {
        "note": 4111111111111111,
        "amounts": [5500000000000004, 378282246310005],
        "smtp_password": "LEAKsmtppw",
        "FTPBackupPassword": "LEAKftp",
        "nested": {"client_secret": "LEAKcs", "totp_secret": "LEAKtotp", "epp_code": "LEAKepp"},
    }
    assert post(client, batch_body([event(vars=seeded)])).status_code == 202
    with client.app.state.services.db.read() as conn:  # type: ignore[attr-defined]
        raw = " ".join(str(v) for row in conn.execute(sa.select(events)) for v in row)
    for secret in ("4111111111111111", "5500000000000004", "378282246310005", "LEAK"):
        assert secret not in raw, secret


def test_a_405_names_the_allowed_method(client: TestClient) -> None:
    response = client.get("/api/v1/ingest")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_a_subject_id_of_a_non_ascii_digit_is_kept_as_text_not_a_500(client: TestClient) -> None:
    """``'²'.isdigit()`` is true but ``int('²')`` raises: such a value is no id."""
    response = post(client, batch_body([event(vars={"invoiceid": "\u00b2"})]))
    assert response.status_code == 202, response.text
    row = stored(client)[0]
    assert row.invoice_id is None and row.payload["invoiceid"] == "\u00b2"
