"""The live event stream over real HTTP: authenticated, in order, resumable with Last-Event-ID."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from dashboard_fixtures import seed_users
from support import Collector, event, make_settings
from whmcs_monitor import accounts
from whmcs_monitor.accounts import get_user, set_disabled
from whmcs_monitor.store.db import Database
from whmcs_monitor.web import tokens


@pytest.fixture
def streaming(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Collector, str]]:
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    db = Database(database_url)
    db.migrate()
    seed_users(db)
    token, _ = tokens.create(db, accounts.get_user(db, "charlie"), "stream", "read", actor="test")
    db.dispose()
    server = Collector(
        make_settings(database_url, web={"stream_poll_seconds": 0.1, "stream_max_seconds": 3})
    )
    server.start()
    yield server, token
    server.stop()


def _read(response: httpx.Response, wanted: int) -> list[dict[str, Any]]:
    """The first ``wanted`` ``event`` messages, with their ids."""
    found: list[dict[str, Any]] = []
    current: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if current.get("event") == "event":
                found.append({"id": current["id"], **json.loads(current["data"])})
                if len(found) == wanted:
                    break
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            current[name] = value
    return found


def test_the_stream_needs_a_login_or_a_token(streaming: tuple[Collector, str]) -> None:
    server, _ = streaming
    assert httpx.get(f"{server.url}/api/v1/stream").status_code == 401


def test_events_arrive_in_order_and_a_reconnect_resumes_after_the_last_one(
    streaming: tuple[Collector, str],
) -> None:
    server, token = streaming
    headers = {"Authorization": f"Bearer {token}"}
    marker = uuid.uuid4().hex[:8]
    with httpx.stream(
        "GET", f"{server.url}/api/v1/stream", headers=headers, timeout=10
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        server.post([event(vars={"invoiceid": n}, id=f"{marker}-{n}") for n in (1, 2)])
        first = _read(response, 2)
    assert [e["summary"] for e in first] == ["Invoice #1 paid", "Invoice #2 paid"]
    server.post([event(vars={"invoiceid": 3})])
    resume = {**headers, "Last-Event-ID": first[-1]["id"]}
    with httpx.stream("GET", f"{server.url}/api/v1/stream", headers=resume, timeout=10) as response:
        after = _read(response, 1)
    assert [e["summary"] for e in after] == ["Invoice #3 paid"]


def _revoke_charlies_token(db: Database) -> None:
    charlie = get_user(db, "charlie")
    tokens.revoke(db, charlie, tokens.list_for(db, charlie)[0].id, actor="test")


def _disable_charlie(db: Database) -> None:
    set_disabled(db, "charlie", True, actor="test")


@pytest.mark.parametrize(
    "cut_off", [_revoke_charlies_token, _disable_charlie], ids=["revoked", "disabled"]
)
def test_an_open_stream_ends_once_its_token_is_revoked_or_its_user_disabled(
    streaming: tuple[Collector, str], database_url: str, cut_off: Any
) -> None:
    server, token = streaming
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream("GET", f"{server.url}/api/v1/stream", headers=headers, timeout=10) as lines:
        assert lines.status_code == 200
        db = Database(database_url)
        cut_off(db)
        db.dispose()
        started = time.monotonic()
        server.post([event(vars={"invoiceid": 77})])
        rest = list(lines.iter_lines())
    assert time.monotonic() - started < 2  # the stream's own lifetime is 3 s
    assert "event: end" in rest
    assert "event: event" not in rest
