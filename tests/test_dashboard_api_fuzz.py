"""Schemathesis against /openapi.json with a write token: no request may get a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings

from dashboard_fixtures import seed_users
from support import Collector, make_settings
from whmcs_monitor import accounts
from whmcs_monitor.store.db import Database
from whmcs_monitor.web import tokens

EXAMPLES_PER_OPERATION = 12
_server: dict[str, Any] = {}


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """The real service on SQLite, and an admin write token (after decoys a fuzzed DELETE may hit)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'monitor.db'}"
    db = Database(url)
    db.migrate()
    seed_users(db)
    alice = accounts.get_user(db, "alice")
    for n in range(5):
        tokens.create(db, alice, f"decoy-{n}", "read", actor="test")
    _server["token"], _ = tokens.create(db, alice, "fuzzer", "write", actor="test")
    db.dispose()
    server = Collector(make_settings(url, web={"stream_max_seconds": 0.2}))
    server.start()
    yield server
    server.stop()
    patch.undo()


@pytest.fixture(scope="module")
def api_schema(fuzz_target: Collector) -> Any:
    schema = schemathesis.openapi.from_url(f"{fuzz_target.url}/openapi.json")
    return schema.exclude(path="/api/v1/stream")  # an endless stream; covered by the browser test


def test_no_api_request_gets_a_server_error(api_schema: Any) -> None:
    headers = {"Authorization": f"Bearer {_server['token']}"}
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            response = case.call(headers=headers, timeout=10)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        call()
    assert failures == []
