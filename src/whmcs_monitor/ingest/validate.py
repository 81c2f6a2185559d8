"""Decode and check an ingest body, naming the exact field or limit that fails.

Every check here runs before anything is stored, and a failure rejects the whole batch: a sender
gets one clear answer and either all of its events are stored or none are.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from whmcs_monitor.config import IngestConfig
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import parse_rfc3339, utcnow

EVENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}")
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,95}$")
MAX_FUTURE = timedelta(days=1)
MAX_INTEGER_DIGITS = 100  # far above any id or amount, far below Python's 4300-digit limit
EARLIEST = datetime(2000, 1, 1).astimezone()


def body_schema() -> dict[str, Any]:
    """The body :func:`parse_batch` accepts, as JSON Schema, for the OpenAPI description."""
    name = {"type": "string", "pattern": NAME_RE.pattern}
    event = {
        "type": "object",
        "required": ["id", "occurred_at"],
        "properties": {
            "id": {
                "type": "string",
                "pattern": EVENT_ID_RE.pattern,
                "description": "Unique per site (a UUID or ULID); a repeated id is a duplicate.",
            },
            "hook": {**name, "description": "A WHMCS hook name. Give hook or kind, not both."},
            "kind": {**name, "description": "An event catalog name, for other senders."},
            "occurred_at": {"type": "string", "format": "date-time"},
            "vars": {"type": "object", "description": "The hook's variables, already redacted."},
            "context": {
                "type": "object",
                "description": "whmcs_version, module_version, request (client/admin/cron/api).",
            },
        },
    }
    return {
        "type": "object",
        "required": ["events"],
        "properties": {"events": {"type": "array", "items": event}},
    }


@dataclass(frozen=True, slots=True)
class RawEvent:
    id: str
    hook: str | None
    kind: str | None
    occurred_at: datetime
    vars: dict[str, Any]
    context: dict[str, Any]


def _path(parts: list[str | int]) -> str:
    """``events[0].vars.key``; a key that is not valid text (a lone surrogate) is escaped, since
    the error that names it must itself be encodable as JSON."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part.encode("utf-8", "backslashreplace").decode("utf-8")
            out += f".{text}" if out else text
    return out


def _bad_json(message: str) -> InputError:
    return InputError(message, status=400, reason="bad_json")


def _reject_constant(name: str) -> Any:
    raise _bad_json(f"malformed JSON: {name} is not a valid JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _bad_json(f"malformed JSON: the number {text[:40]} is too large for a double")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _bad_json(
            f"malformed JSON: an integer of {len(text.lstrip('-'))} digits; at most {MAX_INTEGER_DIGITS} are read"
        )
    return int(text)


def decode_body(raw: bytes, limits: IngestConfig) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson refuses more than the protocol does (integers beyond 64 bits) and explains less:
        # the standard library decides and names the line and column, as it always has.
        pass
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"body is not valid UTF-8 (bad byte at offset {exc.start})",
            status=400,
            reason="bad_utf8",
        ) from exc
    try:
        return json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite, parse_int=_integer
        )
    except json.JSONDecodeError as exc:
        raise _bad_json(
            f"malformed JSON at line {exc.lineno} column {exc.colno} (char {exc.pos}): {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise InputError(
            f"JSON nests deeper than {limits.max_depth} levels (limit ingest.max_depth)",
            status=422,
            field="body",
            reason="too_deep",
        ) from exc


# A decoded string can hold a NUL or an unpaired surrogate only if the body spells it as a
# \u escape (json.loads refuses raw control characters, strict UTF-8 refuses encoded
# surrogates), and none can take more bytes than the body. A body with no such escape and no
# room for an over-long string needs only the depth check (see _Walker.check_strings).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _nests_within(value: Any, levels: int) -> bool:
    """Whether nothing inside ``value`` sits more than ``levels`` levels below it.

    The same rule as :meth:`_Walker.walk`, several times cheaper: it visits containers only and
    builds no paths. The walk, which names the offending path, runs only when this fails.
    """
    if not isinstance(value, (dict, list)) or not value:
        return True
    if levels == 0:
        return False
    for child in value.values() if isinstance(value, dict) else value:
        if isinstance(child, (dict, list)) and not _nests_within(child, levels - 1):
            return False
    return True


class _Walker:
    """Checks depth, string sizes and text validity of a decoded JSON value."""

    def __init__(self, limits: IngestConfig, raw: bytes) -> None:
        self.max_depth = limits.max_depth
        self.max_string = limits.max_string_bytes
        self.check_strings = len(raw) > self.max_string or bool(_SUSPECT_ESCAPE.search(raw))

    def check(self, document: Any) -> None:
        """Raise an :class:`InputError` naming the first problem in ``document``, if any."""
        if self.check_strings or not _nests_within(document, self.max_depth):
            self.walk(document, [], 0)

    def check_string(self, value: str, parts: list[str | int], what: str) -> None:
        if len(value) * 4 > self.max_string:
            try:
                size = len(value.encode("utf-8"))
            except UnicodeEncodeError:
                size = 0
            if size > self.max_string:
                raise InputError(
                    f"{_path(parts)}: {what} is {size} bytes; the limit is {self.max_string} "
                    "(ingest.max_string_bytes)",
                    status=413,
                    field=_path(parts),
                    reason="string_too_long",
                )
        if "\x00" in value:
            raise InputError(
                f"{_path(parts)}: {what} contains a NUL character",
                field=_path(parts),
                reason="bad_text",
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(
                f"{_path(parts)}: {what} contains an unpaired surrogate escape (\\u{ord(value[exc.start]):04x})",
                field=_path(parts),
                reason="bad_text",
            ) from exc

    def walk(self, value: Any, parts: list[str | int], depth: int) -> None:
        if depth > self.max_depth:
            raise InputError(
                f"{_path(parts)}: nests deeper than {self.max_depth} levels (ingest.max_depth)",
                field=_path(parts),
                reason="too_deep",
            )
        if isinstance(value, str):
            if self.check_strings:
                self.check_string(value, parts, "text")
        elif isinstance(value, dict):
            for key, item in value.items():
                parts.append(key)
                if self.check_strings:
                    self.check_string(key, parts, "key")
                self.walk(item, parts, depth + 1)
                parts.pop()
        elif isinstance(value, list):
            for index, item in enumerate(value):
                parts.append(index)
                self.walk(item, parts, depth + 1)
                parts.pop()


def _field(event: dict[str, Any], name: str, index: int, kind: type, required: bool) -> Any:
    value = event.get(name)
    if value is None:
        if required:
            raise InputError(
                f"events[{index}].{name}: is required", field=f"events[{index}].{name}"
            )
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        expected = "a string" if kind is str else "an object"
        raise InputError(
            f"events[{index}].{name}: must be {expected}, not {type(value).__name__}",
            field=f"events[{index}].{name}",
        )
    return value


def _event(event: Any, index: int, latest: datetime, times: dict[str, datetime]) -> RawEvent:
    """One event of the batch; ``times`` remembers the timestamps parsed so far in it.

    The events of one request mostly share their second, and the common shapes (a string id,
    an object of vars) are checked by type before :func:`_field` is asked to explain anything.
    """
    if not isinstance(event, dict):
        raise InputError(f"events[{index}]: must be an object", field=f"events[{index}]")
    event_id = event.get("id")
    if type(event_id) is not str:
        event_id = _field(event, "id", index, str, True)
    if not EVENT_ID_RE.match(event_id):
        raise InputError(
            f"events[{index}].id: must be 1-128 letters, digits, '.', '_', ':' or '-' "
            "(a UUID or ULID)",
            field=f"events[{index}].id",
        )
    event_id = _canonical_id(event_id)
    hook = _field(event, "hook", index, str, False)
    kind = _field(event, "kind", index, str, False)
    if (hook is None) == (kind is None):
        raise InputError(
            f"events[{index}]: give exactly one of hook and kind", field=f"events[{index}]"
        )
    name_field, name = ("hook", hook) if hook is not None else ("kind", kind)
    if not NAME_RE.match(name):
        raise InputError(
            f"events[{index}].{name_field}: {name!r} is not a valid name",
            field=f"events[{index}].{name_field}",
        )
    stamp = _field(event, "occurred_at", index, str, True)
    occurred_at = times.get(stamp)
    if occurred_at is None:
        occurred_at = times[stamp] = _occurred_at(stamp, index, latest)
    variables = event.get("vars")
    if type(variables) is not dict:
        variables = _field(event, "vars", index, dict, False) or {}
    context = event.get("context")
    if type(context) is not dict:
        context = _field(event, "context", index, dict, False) or {}
    return RawEvent(event_id, hook, kind, occurred_at, variables, context)


def _canonical_id(event_id: str) -> str:
    """UUIDs and ULIDs are case-insensitive: one spelling each, so that a replay that changed
    the case is still a duplicate. Other ids are the sender's own and are kept as sent."""
    if len(event_id) == 36 and _UUID.fullmatch(event_id):
        return event_id.lower()
    if len(event_id) == 26 and _ULID.fullmatch(event_id):
        return event_id.upper()
    return event_id


def _occurred_at(stamp: str, index: int, latest: datetime) -> datetime:
    where = f"events[{index}].occurred_at"
    try:
        occurred_at = parse_rfc3339(stamp)
    except ValueError as exc:
        reason = str(exc) if "zone" in str(exc) else "is not an RFC 3339 timestamp"
        raise InputError(f"{where}: {stamp[:40]!r} {reason}", field=where) from exc
    if occurred_at > latest or occurred_at < EARLIEST:
        raise InputError(
            f"{where}: {stamp[:40]!r} is not a plausible time (check the sender's clock)",
            field=where,
        )
    return occurred_at


def parse_batch(raw: bytes, limits: IngestConfig) -> list[RawEvent]:
    """The events of a request body, or an :class:`InputError` naming what is wrong."""
    document = decode_body(raw, limits)
    if not isinstance(document, dict):
        raise InputError('body: must be a JSON object like {"events": [...]}', field="body")
    batch = document.get("events")
    if not isinstance(batch, list):
        raise InputError("events: is required and must be a list", field="events")
    if len(batch) > limits.max_events:
        raise InputError(
            f"events: the batch has {len(batch)} events; the limit is {limits.max_events} "
            "(ingest.max_events)",
            status=413,
            field="events",
            reason="too_many_events",
        )
    _Walker(limits, raw).check(document)
    latest = utcnow() + MAX_FUTURE
    times: dict[str, datetime] = {}
    return [_event(event, index, latest, times) for index, event in enumerate(batch)]
