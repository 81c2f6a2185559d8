"""Hostile and malformed requests: each gets its status and a message that says what is wrong,
and none of them stores an event."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from support import SITE_SECRET, batch_body, event, signed_headers
from whmcs_monitor.lib.signing import sign
from whmcs_monitor.store.tables import events


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    status: int
    message: str
    headers: Callable[[bytes], dict[str, str]] = signed_headers


def _nest(depth: int) -> dict[str, object]:
    node: dict[str, object] = {}
    for _ in range(depth):
        node = {"a": node}
    return node


def _replayed_with_new_timestamp(body: bytes) -> dict[str, str]:
    old = str(int(time.time()) - 10)
    headers = signed_headers(body)
    headers["X-WHMCS-Monitor-Signature"] = sign(SITE_SECRET.encode(), old, body)
    return headers


def _without(name: str) -> Callable[[bytes], dict[str, str]]:
    def headers(body: bytes) -> dict[str, str]:
        h = signed_headers(body)
        del h[name]
        return h

    return headers


AUTH = "authentication failed"
GOOD = batch_body([event()])
CASES = [
    Case("bad json", b'{"events": [', 400, "malformed JSON at line 1 column 13"),
    Case("trailing garbage", b'{"events": []} x', 400, "malformed JSON"),
    Case("NaN literal", b'{"events": [{"id": NaN}]}', 400, "NaN is not a valid JSON number"),
    Case(
        "number beyond a double",
        b'{"events": [{"id": "x", "vars": {"amount": 1e400}}]}',
        400,
        "the number 1e400 is too large for a double",
    ),
    Case("invalid utf-8", b'{"events": ["\xff\xfe"]}', 400, "not valid UTF-8"),
    Case("raw NUL byte", b'{"events": ["a\x00b"]}', 400, "malformed JSON"),
    Case(
        "escaped NUL",
        batch_body([event(vars={"note": "a\u0000b"})]),
        422,
        "events[0].vars.note: text contains a NUL character",
    ),
    Case("lone surrogate", b'{"events": [{"id": "x\\ud800"}]}', 422, "unpaired surrogate"),
    Case("top level list", b"[]", 422, "body: must be a JSON object"),
    Case("no events key", b"{}", 422, "events: is required and must be a list"),
    Case("events not a list", b'{"events": {}}', 422, "events: is required and must be a list"),
    Case("event not object", b'{"events": [1]}', 422, "events[0]: must be an object"),
    Case("id wrong type", batch_body([event(id=5)]), 422, "events[0].id: must be a string"),
    Case(
        "id missing",
        batch_body([{"hook": "InvoicePaid", "occurred_at": "2026-11-27T10:00:00Z"}]),
        422,
        "events[0].id: is required",
    ),
    Case(
        "hook and kind",
        batch_body([event(kind="invoice.paid")]),
        422,
        "events[0]: give exactly one of hook and kind",
    ),
    Case(
        "bad timestamp",
        batch_body([event(occurred_at="yesterday")]),
        422,
        "events[0].occurred_at: 'yesterday' is not an RFC 3339 timestamp",
    ),
    Case(
        "naive timestamp",
        batch_body([event(occurred_at="2026-11-27T10:00:00")]),
        422,
        "has no time zone",
    ),
    Case(
        "vars not object",
        batch_body([event(vars=[1, 2])]),
        422,
        "events[0].vars: must be an object, not list",
    ),
    Case("deep nesting", batch_body([event(vars=_nest(40))]), 422, "nests deeper than 32 levels"),
    Case(
        "huge string",
        batch_body([event(vars={"x": "a" * 70_000})]),
        413,
        "events[0].vars.x: text is 70000 bytes; the limit is 65536",
    ),
    Case(
        "huge body",
        b'{"events": ["' + b"a" * (1024 * 1024) + b'"]}',
        413,
        "body exceeds 1048576 bytes",
    ),
    Case(
        "10k-event batch",
        batch_body([{"id": f"e{i}"} for i in range(10_000)]),
        413,
        "the batch has 10000 events; the limit is 500",
    ),
    Case(
        "wrong signature",
        GOOD,
        401,
        AUTH,
        lambda b: signed_headers(b, secret="not-the-secret-" + "z" * 32),
    ),
    Case(
        "stale timestamp",
        GOOD,
        401,
        AUTH,
        lambda b: signed_headers(b, timestamp=int(time.time()) - 301),
    ),
    Case(
        "future timestamp",
        GOOD,
        401,
        AUTH,
        lambda b: signed_headers(b, timestamp=int(time.time()) + 301),
    ),
    Case("replayed body, new timestamp", GOOD, 401, AUTH, _replayed_with_new_timestamp),
    Case("unknown site", GOOD, 401, AUTH, lambda b: signed_headers(b, site="nope")),
    Case("missing signature", GOOD, 401, AUTH, _without("X-WHMCS-Monitor-Signature")),
    Case(
        "signature without prefix",
        GOOD,
        401,
        AUTH,
        lambda b: {
            **signed_headers(b),
            "X-WHMCS-Monitor-Signature": signed_headers(b)[
                "X-WHMCS-Monitor-Signature"
            ].removeprefix("sha256="),
        },
    ),
    Case(
        "integer of 5000 digits",
        b'{"events": [], "x": ' + b"9" * 5000 + b"}",
        400,
        "an integer of 5000 digits",
    ),
    Case(
        "lone surrogate in a key",
        batch_body([event(vars={"\ud800": "a"})]),
        422,
        "events[0].vars.\\ud800: key contains an unpaired surrogate",
    ),
    Case(
        "timestamp without seconds",
        batch_body([event(occurred_at="2026-11-27T10:00Z")]),
        422,
        "is not an RFC 3339 timestamp",
    ),
    Case(
        "ISO week date",
        batch_body([event(occurred_at="2026-W48-5T10:00:00Z")]),
        422,
        "is not an RFC 3339 timestamp",
    ),
    Case(
        "offset without colon",
        batch_body([event(occurred_at="2026-11-27T10:00:00+0200")]),
        422,
        "is not an RFC 3339 timestamp",
    ),
    Case(
        "wrong content type",
        GOOD,
        415,
        "Content-Type must be application/json",
        lambda b: {**signed_headers(b), "Content-Type": "text/plain"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_a_clear_error_and_stores_nothing(client: TestClient, case: Case) -> None:
    response = client.post("/api/v1/ingest", content=case.body, headers=case.headers(case.body))
    assert response.status_code == case.status, response.text
    error = response.json()["error"]
    assert error["status"] == case.status
    assert case.message in error["message"]
    with client.app.state.services.db.read() as conn:  # type: ignore[attr-defined]
        kinds = list(conn.scalars(sa.select(events.c.kind)))
    assert all(kind == "security.ingest_auth_failed" for kind in kinds)
    assert (case.status == 401) == bool(kinds)


def test_the_same_message_answers_every_authentication_failure(client: TestClient) -> None:
    messages = {
        client.post("/api/v1/ingest", content=c.body, headers=c.headers(c.body)).json()["error"][
            "message"
        ]
        for c in CASES
        if c.status == 401
    }
    assert len(messages) == 1


def test_a_good_request_after_bad_ones_is_still_accepted(client: TestClient) -> None:
    client.post("/api/v1/ingest", content=b"{", headers=signed_headers(b"{"))
    response = client.post("/api/v1/ingest", content=GOOD, headers=signed_headers(GOOD))
    assert response.status_code == 202
    assert json.loads(response.text) == {"accepted": 1, "duplicates": 0}


def test_a_timestamp_of_a_non_ascii_digit_is_an_authentication_failure(client: TestClient) -> None:
    """``'²'.isdigit()`` is true, but ``int('²')`` raises: it must be a 401, not a 500."""
    headers = [
        (name.encode(), value.encode())
        for name, value in signed_headers(GOOD).items()
        if name != "X-WHMCS-Monitor-Timestamp"
    ]
    headers.append((b"X-WHMCS-Monitor-Timestamp", "\u00b2".encode("latin-1")))
    response = client.post("/api/v1/ingest", content=GOOD, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith(AUTH)
