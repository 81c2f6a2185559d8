"""Pydantic field types shared by the rule files and the alerting settings."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from whmcs_monitor.alerting.matchers import Matcher, parse_matcher
from whmcs_monitor.lib.durations import format_duration, parse_duration

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be a duration like 30s, 10m or 6h (or a number of seconds)")
    elif isinstance(value, int | float):
        duration = timedelta(seconds=value)
    else:
        duration = parse_duration(value)
    if duration < timedelta(0):
        raise ValueError(f"{value!r} is negative; give a duration like 10m")
    return duration


def _longer_than_zero(value: timedelta) -> timedelta:
    """Windows, hold times and timeouts: zero would make a window empty or resolve at once."""
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s, like 10m")
    return value


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    found = _CLOCK.match(value) if isinstance(value, str) else None
    if not found:
        raise ValueError(f"{value!r} is not a time of day; write HH:MM, like 08:00")
    return time(int(found.group(1)), int(found.group(2)))


def _matcher(value: Any) -> Matcher:
    if isinstance(value, Matcher):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a matcher like server=web1")
    return parse_matcher(value)


def _zone_name(value: Any) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"{value!r} is not a time zone name such as Europe/Berlin") from exc
    return str(value)


def _weekday(value: Any) -> str:
    text = str(value).lower()[:3]
    if text not in WEEKDAYS:
        raise ValueError(f"{value!r} is not a weekday; use mon, tue, wed, thu, fri, sat or sun")
    return text


Duration = Annotated[
    timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)
]
PositiveDuration = Annotated[Duration, AfterValidator(_longer_than_zero)]
ClockTime = Annotated[time, BeforeValidator(_clock)]
LabelMatcher = Annotated[Matcher, BeforeValidator(_matcher), PlainSerializer(str, return_type=str)]
Weekday = Annotated[str, BeforeValidator(_weekday)]
TimeZoneName = Annotated[str, BeforeValidator(_zone_name)]
