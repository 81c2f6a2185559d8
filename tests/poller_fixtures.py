"""The ``harness`` fixture (a plugin: ``pytest_plugins = ["poller_fixtures"]`` in a test module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from poller_helpers import Harness, poller_settings
from whmcs_db import WhmcsDb
from whmcs_monitor.services import Services


@pytest.fixture
def harness(database_url: str, whmcs_db: WhmcsDb) -> Iterator[Harness]:
    services = Services.open(poller_settings(database_url, whmcs_db))
    yield Harness(services, whmcs_db)
    services.db.dispose()
