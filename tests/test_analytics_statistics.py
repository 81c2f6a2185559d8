"""The pure statistics: robust baselines, anomaly rules, forecasts and business hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from whmcs_monitor.analytics.anomaly import LevelRule, RateRule, level_anomaly, rate_anomaly
from whmcs_monitor.analytics.baseline import robust, same_slot_past_weeks, slot_name
from whmcs_monitor.analytics.businesshours import business_seconds
from whmcs_monitor.analytics.config import BusinessHoursConfig
from whmcs_monitor.analytics.forecast import days_until_full, linear_trend, month_end_revenue

TUESDAY = datetime(2026, 11, 24, 15, 30)


def test_the_median_and_mad_ignore_one_outlier_week() -> None:
    baseline = robust([100, 102, 98, 101, 99, 5000], "test")
    assert baseline.median == 100.5
    assert baseline.mad == 1.5


def test_past_slots_are_the_same_weekday_and_time_in_earlier_weeks() -> None:
    slots = same_slot_past_weeks(TUESDAY, 3)
    assert [s.strftime("%a %H:%M %d") for s in slots] == [
        "Tue 15:30 17",
        "Tue 15:30 10",
        "Tue 15:30 03",
    ]
    assert slot_name(TUESDAY) == "Tuesday at this hour"


def test_a_level_far_below_its_median_reads_as_a_percentage() -> None:
    finding = level_anomaly(
        38,
        robust([85, 86, 85.5], "x"),
        LevelRule(min_baseline=50),
        what="revenue so far today",
        typical="a typical Tuesday at this hour",
    )
    assert finding is not None
    assert finding.message == "revenue so far today is 56% below a typical Tuesday at this hour"


@pytest.mark.parametrize(
    ("case", "actual", "samples", "rule"),
    [
        ("within the usual spread", 70, [60, 100, 85, 120, 90], LevelRule(min_baseline=50)),
        ("under the minimum volume", 0, [10, 12, 11], LevelRule(min_baseline=50)),
        (
            "direction not watched",
            300,
            [100, 100, 100],
            LevelRule(min_baseline=50, directions=("below",)),
        ),
        ("close in relative terms", 80, [100, 100, 100], LevelRule(min_baseline=50)),
        ("a usual level of zero, guard off", 5, [0, 0, 0], LevelRule(min_baseline=0)),
        ("a negative usual level, guard off", -1, [-5, -4, -5], LevelRule(min_baseline=0)),
    ],
)
def test_a_level_is_not_anomalous(
    case: str, actual: float, samples: list[float], rule: LevelRule
) -> None:
    assert level_anomaly(actual, robust(samples, case), rule, what="x", typical="y") is None


def test_a_rate_spike_reads_as_a_multiple_of_its_usual() -> None:
    finding = rate_anomaly(
        0.25,
        100,
        robust([0.05, 0.05, 0.04], "x"),
        RateRule(min_attempts=20),
        what="the failed payment rate at Stripe",
    )
    assert finding is not None
    assert finding.message == "the failed payment rate at Stripe is 5x its usual (25.0% vs 5.0%)"


def test_a_rate_needs_enough_attempts_and_a_floor_keeps_a_zero_baseline_finite() -> None:
    zero = robust([0.0, 0.0, 0.0], "x")
    assert rate_anomaly(0.5, 10, zero, RateRule(min_attempts=20), what="r") is None
    finding = rate_anomaly(0.2, 40, zero, RateRule(min_attempts=20), what="r")
    assert finding is not None and finding.message == "r is 20x its usual (20.0% vs 0.0%)"


def test_a_linear_trend_recovers_slope_and_intercept() -> None:
    trend = linear_trend([(0, 100), (1, 110), (2, 120), (3, 130)])
    assert trend is not None and (trend.slope, trend.intercept) == (10, 100)
    assert linear_trend([(1, 5), (1, 6)]) is None


def test_month_end_revenue_fills_each_remaining_day_with_its_weekday_median() -> None:
    # 30 September: weekdays earn 100, weekends 40; October so far (1st-6th) and half of the 7th.
    daily = {
        date(2026, 9, d): (100.0 if date(2026, 9, d).weekday() < 5 else 40.0) for d in range(1, 31)
    }
    daily |= {
        date(2026, 10, d): (100.0 if date(2026, 10, d).weekday() < 5 else 40.0) for d in range(1, 7)
    }
    daily[date(2026, 10, 7)] = 50.0  # Wednesday, half done
    projection = month_end_revenue(daily, date(2026, 10, 7), fraction_of_today_elapsed=0.5)
    # 1-6 Oct: Thu, Fri, Sat, Sun, Mon, Tue = 4 x 100 + 2 x 40 = 480, + 50 today.
    assert projection.month_to_date == 530
    # Rest of today 50; 8-31 Oct: 24 days with 7 weekend days = 17 x 100 + 7 x 40.
    assert projection.projected_rest == 50 + 1700 + 280
    assert projection.days_left == 24


def test_month_end_revenue_is_not_projected_from_less_than_two_of_each_weekday() -> None:
    # A shop open since Sunday 15 November: 9 days before today, so one Monday and Sunday only.
    daily = {date(2026, 11, 15) + timedelta(days=n): 100.0 for n in range(10)}
    projection = month_end_revenue(daily, date(2026, 11, 24), fraction_of_today_elapsed=0.5)
    assert (projection.month_to_date, projection.projected_total) == (1000, None)
    assert (projection.history_days, projection.days_left) == (9, 6)


def test_days_until_full_is_none_when_a_server_does_not_grow() -> None:
    assert days_until_full(40, 50, 1 / 3) == pytest.approx(30)
    assert days_until_full(40, 50, 0) is None
    assert days_until_full(55, 50, 1) == 0


def test_business_time_skips_nights_and_weekends() -> None:
    hours = BusinessHoursConfig()
    friday_evening, monday_morning = datetime(2026, 11, 20, 16, 30), datetime(2026, 11, 23, 9, 30)
    assert business_seconds(friday_evening, monday_morning, hours) == 3600
    assert business_seconds(monday_morning, friday_evening, hours) == 0
    saturday = BusinessHoursConfig(days=["sat"], start=time(10), end=time(12))
    assert business_seconds(friday_evening, monday_morning, saturday) == 7200


def test_analytics_never_asks_for_a_secret_column() -> None:
    from whmcs_monitor.analytics.allowlist import ANALYTICS_ALLOWED
    from whmcs_monitor.sources.allowlist import FORBIDDEN

    leaks = {
        (table, column)
        for table, columns in ANALYTICS_ALLOWED.items()
        for column in columns
        if column in FORBIDDEN.get(table, ())
    }
    assert leaks == set()
    assert not {"tblcreditcards", "tblpaymentgateways", "tblregistrars", "tblbankaccts"} & set(
        ANALYTICS_ALLOWED
    )
