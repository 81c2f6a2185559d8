"""Parsing and formatting durations such as "10m" and "1h 30m"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from whmcs_monitor.lib.durations import format_duration, parse_duration

EXAMPLE = "use a number and a unit, like 90s, 10m, 6h or 7d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("90s", timedelta(seconds=90), id="seconds"),
        pytest.param("10m", timedelta(minutes=10), id="minutes"),
        pytest.param("6h", timedelta(hours=6), id="hours"),
        pytest.param("7d", timedelta(days=7), id="days"),
        pytest.param("2w", timedelta(weeks=2), id="weeks"),
        pytest.param("1h30m", timedelta(hours=1, minutes=30), id="a combination"),
        pytest.param("1h 30m", timedelta(hours=1, minutes=30), id="a combination with a space"),
        pytest.param(
            "1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5), id="all units"
        ),
        pytest.param("30m1h", timedelta(hours=1, minutes=30), id="units out of order"),
        pytest.param(" 5m ", timedelta(minutes=5), id="surrounding spaces"),
        pytest.param("0s", timedelta(0), id="zero"),
        pytest.param("007m", timedelta(minutes=7), id="leading zeros"),
    ],
)
def test_it_parses_a_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("10x", f"'10x' is not a duration: {EXAMPLE}", id="unknown unit"),
        pytest.param("10M", f"'10M' is not a duration: {EXAMPLE}", id="upper-case unit"),
        pytest.param("10min", f"'10min' is not a duration: {EXAMPLE}", id="spelled-out unit"),
        pytest.param("10", f"'10' is not a duration: 10 has no unit; {EXAMPLE}", id="no unit"),
        pytest.param("h", f"'h' is not a duration: {EXAMPLE}", id="no number"),
        pytest.param("1.5h", f"'1.5h' is not a duration: {EXAMPLE}", id="a fraction"),
        pytest.param("-5m", f"'-5m' is not a duration: {EXAMPLE}", id="a negative number"),
        pytest.param("\uff15m", f"'\uff15m' is not a duration: {EXAMPLE}", id="a non-ASCII digit"),
        pytest.param("1h\t5m", f"'1h\\t5m' is not a duration: {EXAMPLE}", id="a tab between parts"),
        pytest.param("", f"'' is not a duration: it is empty; {EXAMPLE}", id="empty"),
        pytest.param("  ", f"'  ' is not a duration: it is empty; {EXAMPLE}", id="blank"),
        pytest.param(
            "1h1h", f"'1h1h' is not a duration: 'h' appears twice; {EXAMPLE}", id="a unit twice"
        ),
        pytest.param(
            "9999999999w", "'9999999999w' is not a duration: 9999999999w is too long", id="huge"
        ),
    ],
)
def test_it_says_what_is_wrong_with_a_bad_duration(text: str, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_duration(text)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        pytest.param(timedelta(hours=1, minutes=30), "1h 30m", id="hours and minutes"),
        pytest.param(timedelta(seconds=90), "1m 30s", id="seconds carry into minutes"),
        pytest.param(timedelta(days=8), "1w 1d", id="weeks"),
        pytest.param(timedelta(days=1, seconds=5), "1d 5s", id="zero parts are skipped"),
        pytest.param(timedelta(0), "0s", id="zero"),
        pytest.param(timedelta(seconds=1, microseconds=999_999), "1s", id="fractions dropped"),
        pytest.param(timedelta(minutes=-5), "-5m", id="negative"),
    ],
)
def test_it_formats_a_duration(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_formatting_then_parsing_gives_the_same_duration(seconds: int) -> None:
    duration = timedelta(seconds=abs(seconds))
    assert parse_duration(format_duration(duration)) == duration
