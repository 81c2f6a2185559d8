"""Fixtures for the PHP addon module's tests (php-cli runs the real module in an emulated WHMCS)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from php_support import StubCollector, require_php


@pytest.fixture(scope="session")
def php() -> str:
    return require_php()


@pytest.fixture
def stub_collector() -> Iterator[StubCollector]:
    stub = StubCollector().start()
    yield stub
    stub.stop()


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"
