"""The ``harness`` fixture (a plugin: ``pytest_plugins = ["poller_fixtures"]`` in a test module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from poller_helpers import Harness, custom_harness
from whmcs_db import WhmcsDb


@pytest.fixture
def harness(database_url: str, whmcs_db: WhmcsDb) -> Iterator[Harness]:
    with custom_harness(database_url, whmcs_db) as h:
        yield h
