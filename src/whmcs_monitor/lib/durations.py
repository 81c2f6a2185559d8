"""Parse and format the short durations used in rules and settings ("10m", "1h30m", "7d").

Usage::

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> format_duration(timedelta(hours=1, minutes=30))
    '1h 30m'

:func:`parse_duration` accepts what :func:`format_duration` writes, so the two round-trip for
whole seconds.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

UNITS: dict[str, int] = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_EXAMPLE = "use a number and a unit, like 90s, 10m, 6h or 7d"
_PART = re.compile(r"([0-9]+)([a-zA-Z]*)")
_SHAPE = re.compile(r"(?:[0-9]+[a-zA-Z]*[ ]*)+")
_MAX_DIGITS = 9  # a part above 999,999,999 units is a typo, and could overflow timedelta


def parse_duration(text: str) -> timedelta:
    """The :class:`~datetime.timedelta` that ``text`` names.

    ``text`` is one or more parts, each a whole number and a unit (``s``, ``m``, ``h``, ``d`` or
    ``w``), optionally separated by spaces: ``"90s"``, ``"1h30m"``, ``"1w 2d"``. Each unit may
    appear once. Anything else raises :class:`ValueError` saying what is wrong.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"{text!r} is not a duration: it is empty; {_EXAMPLE}")
    if not _SHAPE.fullmatch(stripped):
        raise ValueError(f"{text!r} is not a duration: {_EXAMPLE}")
    seconds = 0
    seen: set[str] = set()
    for number, unit in _PART.findall(stripped):
        if not unit:
            raise ValueError(f"{text!r} is not a duration: {number} has no unit; {_EXAMPLE}")
        if unit not in UNITS:
            raise ValueError(f"{text!r} is not a duration: {_EXAMPLE}")
        if unit in seen:
            raise ValueError(f"{text!r} is not a duration: {unit!r} appears twice; {_EXAMPLE}")
        if len(number.lstrip("0")) > _MAX_DIGITS:
            raise ValueError(f"{text!r} is not a duration: {number}{unit} is too long")
        seen.add(unit)
        seconds += int(number) * UNITS[unit]
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # 999999999w fits the digit limit but not a timedelta
        longest = f"{timedelta.max.days}d"
        raise ValueError(
            f"{text!r} is not a duration: it is too long (at most {longest})"
        ) from None


def format_duration(duration: timedelta) -> str:
    """``duration`` as its parts from weeks down to seconds, like ``"1h 30m"`` or ``"1w 2d"``.

    Zero is ``"0s"``; fractions of a second are dropped; a negative duration gets a leading
    ``-`` (``"-5m"``).
    """
    total = int(duration.total_seconds())  # truncates towards zero
    if total < 0:
        return "-" + format_duration(timedelta(seconds=-total))
    parts: list[str] = []
    for unit, size in UNITS.items():
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0s"
