"""The analytics section of the config: defaults, and every mistake named with its path."""

from __future__ import annotations

import pytest

from whmcs_monitor.analytics.config import AnalyticsConfig
from whmcs_monitor.config import parse_settings
from whmcs_monitor.errors import ConfigError


def test_defaults_are_a_weekday_office_and_bounded_guards() -> None:
    config = parse_settings({}, environ={}).analytics
    assert config.business_hours.weekdays == frozenset(range(5))
    assert config.sla.target("High").total_seconds() == 3600
    assert config.sla.target("Whatever").total_seconds() == 8 * 3600
    assert (config.interval_seconds, config.full_refresh_seconds) == (300, 1800)


@pytest.mark.parametrize(
    ("case", "settings", "message"),
    [
        (
            "end before start",
            {"business_hours": {"start": "17:00", "end": "09:00"}},
            "must be later than start",
        ),
        ("unknown zone", {"timezone": "Mars/Olympus"}, "not a known time zone"),
        (
            "bad SLA duration",
            {"sla": {"first_response": {"High": "soon"}}},
            "High: 'soon' is not a duration",
        ),
        ("unknown weekday", {"business_hours": {"days": ["mon", "funday"]}}, "mon"),
    ],
)
def test_bad_analytics_settings_are_refused_with_the_reason(
    case: str, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        AnalyticsConfig.model_validate(settings)


def test_config_check_names_each_analytics_problem_by_its_path() -> None:
    bad = {
        "timezone": "Mars/Olympus",
        "interval_seconds": 1,
        "business_hours": {"start": "17:00", "end": "09:00"},
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings({"analytics": bad}, environ={})
    assert caught.value.problems == [
        "analytics.interval_seconds: must be at least 30",
        "analytics.timezone: 'Mars/Olympus' is not a known time zone (like Europe/Berlin)",
        "analytics.business_hours.end: must be later than start",
    ]


def test_the_environment_overrides_analytics_settings() -> None:
    settings = parse_settings({}, environ={"WHMCS_MONITOR_ANALYTICS__BASELINE_WEEKS": "4"})
    assert settings.analytics.baseline_weeks == 4
