"""The ``poller:`` settings: bounded, and every mistake names the setting and the reason."""

from __future__ import annotations

import pytest

from whmcs_monitor.config import parse_settings
from whmcs_monitor.errors import ConfigError


def _problems(poller: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_settings({"poller": poller}, environ={})
    return str(exc.value)


def test_defaults_start_at_the_newest_rows_with_the_documented_patterns() -> None:
    settings = parse_settings({}, environ={})
    assert settings.poller.start_at == "end" and settings.poller.interval_seconds == 60
    assert "security.admin_login_failed" in settings.poller.activity_patterns
    assert settings.poller.thresholds.domain_expiry_days == [30, 14, 7, 1]


@pytest.mark.parametrize(
    ("poller", "expected"),
    [
        (
            {"activity_patterns": {"security.admin_login_failed": ["(unclosed"]}},
            "not a valid regex",
        ),
        ({"activity_patterns": {"invoice.paid": ["x"]}}, "is not an activity-log kind"),
        ({"whmcs_timezone": "Mars/Olympus"}, "not a known time zone"),
        ({"interval_seconds": 1}, "poller.interval_seconds: must be at least 5"),
        ({"thresholds": {"domain_expiry_days": []}}, "non-empty list of days"),
        ({"batchsize": 10}, "poller.batchsize: is not a known setting"),
    ],
)
def test_bad_poller_settings_are_named_with_the_reason(
    poller: dict[str, object], expected: str
) -> None:
    assert expected in _problems(poller)


def test_environment_overrides_reach_the_poller_section() -> None:
    settings = parse_settings({}, environ={"WHMCS_MONITOR_POLLER__BATCH_SIZE": "250"})
    assert settings.poller.batch_size == 250
