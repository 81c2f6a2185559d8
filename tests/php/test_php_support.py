"""The php availability helper: skip on a developer machine, fail under CI=true."""

from __future__ import annotations

import pytest
from php_support import require_php


def test_a_missing_php_skips_the_test_on_a_developer_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("php_support.shutil.which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="php-cli is not installed"):
        require_php()


def test_a_missing_php_fails_the_test_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("php_support.shutil.which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and php-cli is not installed"):
        require_php()
