"""Arbitrary signed JSON never makes the ingest endpoint answer with a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from support import make_settings, signed_headers
from whmcs_monitor.config import IngestConfig
from whmcs_monitor.errors import InputError
from whmcs_monitor.ingest.validate import _nests_within, _Walker
from whmcs_monitor.web.app import create_app

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.uuids().map(str), st.text(max_size=10), st.integers()),
        "hook": st.sampled_from(["InvoicePaid", "TicketOpen", "", "Nope"]) | st.integers(),
        "kind": st.sampled_from(["invoice.paid", "AdminLoginFailed", "OrderStatusChange", "x"]),
        "occurred_at": st.sampled_from(
            ["2026-11-27T10:00:00Z", "2026-11-27", "", "9999-01-01T00:00:00Z"]
        ),
        "vars": json_values,
        "context": json_values,
    },
)
documents = st.one_of(
    json_values, st.fixed_dictionaries({"events": st.lists(event_like, max_size=5)})
)


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for every example: hypothesis runs many inputs against the same service."""
    path = tmp_path_factory.mktemp("fuzz")
    with TestClient(create_app(make_settings(f"sqlite:///{path}/fuzz.db"))) as client:
        yield client


@settings(max_examples=150, deadline=None)
@given(document=documents)
def test_arbitrary_signed_documents_get_a_2xx_or_4xx(
    fuzz_client: TestClient, document: Any
) -> None:
    body = json.dumps(document).encode()
    response = fuzz_client.post("/api/v1/ingest", content=body, headers=signed_headers(body))
    assert response.status_code in (202, 400, 413, 415, 422), response.text
    if response.status_code != 202:
        assert response.json()["error"]["message"]


@settings(max_examples=300, deadline=None)
@given(value=json_values, max_depth=st.integers(min_value=0, max_value=6))
def test_the_quick_depth_check_agrees_with_the_walk_that_names_the_path(
    value: Any, max_depth: int
) -> None:
    walker = _Walker(IngestConfig(), b"")
    walker.max_depth = max_depth
    try:
        walker.walk(value, [], 0)
    except InputError:
        within = False
    else:
        within = True
    assert _nests_within(value, max_depth) is within
