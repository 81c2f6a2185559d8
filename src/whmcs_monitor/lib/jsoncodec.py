"""JSON for the hot paths: orjson where it can, the standard library where orjson says no.

Every ingested event is decoded once and written as three JSON columns, and the rule engine
decodes those columns again; orjson does each several times faster than :mod:`json`. It is also
stricter (no NaN, no integers beyond 64 bits, no unpaired surrogates), so anything it refuses goes
through :mod:`json` exactly as before: the same values are accepted and the same errors, with the
same positions, are reported.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_STDLIB = json.JSONEncoder()
_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    """Compact JSON text for storage; what orjson cannot encode is left to :mod:`json`."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return _STDLIB.encode(value)


def loads(text: str | bytes) -> Any:
    """Decode stored JSON; a value orjson refuses (say, an integer beyond 64 bits) still loads."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
