"""Redact secrets from hook variables before they are stored, shown or forwarded.

:func:`redact` returns a redacted deep copy of a JSON-like value (dicts, lists, tuples, strings,
numbers, ``None``) and never mutates its input. It applies four rules, in this order:

1. ``keep``: under each listed path, a mapping keeps only the listed sub-keys; anything else found
   there (a string, a number) is replaced by :data:`REDACTED`, since it cannot be allow-listed.
2. ``sensitive_paths``: the value at each dotted path (``"params.password"``, ``"mergefields"``)
   is replaced by :data:`REDACTED`, whatever its type.
3. Sensitive keys, at any depth: a key listed in the catalog's ``redaction.keys``, starting with
   one of its ``redaction.key_prefixes`` or containing one of its ``redaction.key_fragments``
   (``smtp_password``, ``client_secret``, ``totp_secret``) has its value replaced by
   :data:`REDACTED`. Keys and paths are compared case-insensitively, with ``-`` read as ``_``
   (``API-Key`` is ``api_key``); fragments are looked for with the ``_`` taken out as well.
4. Secrets inside any string, including dict keys and list items: Luhn-valid runs of 13-19
   digits (card numbers, also written in groups as ``4111 1111 1111 1111`` or with dashes) and
   PEM private key blocks. Only the secret span is replaced; other digits (invoice numbers,
   phone numbers, timestamps) are left alone unless they happen to pass the Luhn check. A JSON
   number of 13-19 digits that passes the Luhn check is a card number sent as a number, and is
   replaced whole.

Paths are dict keys joined by dots; a list on the way is transparent, so ``"items.password"``
reaches the ``password`` of every item. Values nested deeper than ``max_depth`` (64) are replaced
by :data:`TOO_DEEP`, so hostile input cannot exhaust the stack.

Usage::

    >>> redact({"password": "hunter2", "note": "card 4111 1111 1111 1111, invoice 1042"})
    {'password': '[redacted]', 'note': 'card [redacted], invoice 1042'}
    >>> redact({"params": {"sld": "example", "apikey": "k"}}, keep={"params": ["sld"]})
    {'params': {'sld': 'example'}}

The key lists come from ``events.yaml`` (``load_catalog().redaction``), shared with the PHP module
that redacts the same keys before a payload leaves the WHMCS host; they are not repeated here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from whmcs_monitor.catalog.loader import Catalog, load_catalog

__all__ = ["REDACTED", "TOO_DEEP", "RedactionRules", "default_rules", "redact", "redact_text"]

REDACTED = "[redacted]"
TOO_DEEP = "[too deep]"
MAX_DEPTH = 64
_DEPTH_CEILING = 512  # well under Python's recursion limit

# A run of at least 13 digits, optionally split by single spaces or dashes. Finding one is the
# cheap pre-check: strings without such a run never reach the Luhn scan.
_DIGIT_RUN = re.compile(r"[0-9](?:[ -]?[0-9]){12,}")
# A card number is written unbroken or in groups of 3-6 digits (4-4-4-4, 4-6-5, 4-4-4-4-3):
# shorter groups ("1 1 1 1 ...") are never one, and would make the scan quadratic.
_GROUP = re.compile(r"[0-9]+")
_SHORTEST_GROUP = 3
_SHORTEST_SECRET = 13  # a card number; a PEM block is longer still
_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    # An unterminated block (a truncated log line) is redacted to the end of the string.
    r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
    re.DOTALL,
)


def _normalise(key: str) -> str:
    return key.lower().replace("-", "_")


def _compact(key: str) -> str:
    return _normalise(key).replace("_", "")


@dataclass(frozen=True)
class RedactionRules:
    """Which keys are sensitive wherever they appear: exact ``keys`` and ``key_prefixes``.

    Build it from the catalog with :meth:`from_catalog`; :func:`default_rules` caches the one
    built from the packaged catalog.
    """

    keys: frozenset[str]
    key_prefixes: tuple[str, ...]
    key_fragments: tuple[str, ...] = ()
    _verdicts: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> RedactionRules:
        return cls(
            keys=frozenset(_normalise(k) for k in catalog.redaction.keys),
            key_prefixes=tuple(_normalise(p) for p in catalog.redaction.key_prefixes),
            key_fragments=tuple(_compact(f) for f in catalog.redaction.key_fragments),
        )

    def is_sensitive_key(self, key: str) -> bool:
        """True if values under ``key`` are redacted wholesale (case and ``-``/``_`` ignored)."""
        verdict = self._verdicts.get(key)
        if verdict is None:
            name = _normalise(key)
            verdict = (
                name in self.keys
                or name.startswith(self.key_prefixes)
                or any(fragment in _compact(name) for fragment in self.key_fragments)
            )
            if len(self._verdicts) < 4096:  # bounded: keys of hostile payloads are unbounded
                self._verdicts[key] = verdict
        return verdict


@cache
def default_rules() -> RedactionRules:
    """The rules from the packaged catalog, built once per process."""
    return RedactionRules.from_catalog(load_catalog())


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if position % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_spans(run: str) -> list[tuple[int, int]]:
    """Spans in ``run`` covering each Luhn-valid card number written inside it.

    A candidate is a sequence of consecutive digit groups joined by one kind of separator
    (all spaces, all dashes, or a single unbroken group) holding 13-19 digits in total, each
    group of at least three digits but the last.
    """
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    spans: list[tuple[int, int]] = []
    for first in range(len(groups)):
        start = groups[first][0]
        if groups[first][1] - start < _SHORTEST_GROUP:
            continue
        separator = ""
        digits = ""
        for last in range(first, len(groups)):
            group_start, group_end = groups[last]
            if last > first:
                between = run[groups[last - 1][1] : group_start]
                if len(between) != 1:  # groups are joined by one space or dash, nothing else
                    break
                if last == first + 1:
                    separator = between
                elif between != separator:
                    break
            digits += run[group_start:group_end]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and _luhn_valid(digits):
                spans.append((start, group_end))
            if group_end - group_start < _SHORTEST_GROUP:
                break  # a short group ends a card number
    return spans


def _redact_cards(text: str) -> str:
    pieces: list[str] = []
    position = 0
    for match in _DIGIT_RUN.finditer(text):
        spans = _card_spans(match.group())
        if not spans:
            continue
        offset = match.start()
        spans.sort()
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        for start, end in merged:
            pieces.append(text[position : offset + start])
            pieces.append(REDACTED)
            position = offset + end
    if not pieces:
        return text
    pieces.append(text[position:])
    return "".join(pieces)


def _card_number(value: int | float) -> bool:
    """Whether a JSON number is a card number: 13-19 digits that pass the Luhn check."""
    if isinstance(value, float):
        if not value.is_integer():
            return False
        value = int(value)
    digits = str(abs(value))
    return _SHORTEST_SECRET <= len(digits) <= 19 and _luhn_valid(digits)


def _number(value: int | float) -> int | float | str:
    # Most numbers are far below 13 digits: one comparison settles them.
    if -1e12 < value < 1e12 or not _card_number(value):
        return value
    return REDACTED


def redact_text(text: str) -> str:
    """``text`` with card numbers and PEM private key blocks replaced by :data:`REDACTED`."""
    if len(text) < _SHORTEST_SECRET:  # most keys and values: too short to hold either
        return text
    if "-----BEGIN" in text:
        text = _PEM_PRIVATE_KEY.sub(REDACTED, text)
    if _DIGIT_RUN.search(text):
        text = _redact_cards(text)
    return text


@dataclass
class _Node:
    """One step of the compiled ``sensitive_paths``/``keep`` tree."""

    children: dict[str, _Node] = field(default_factory=dict)
    redact: bool = False
    keep: frozenset[str] | None = None


def _compile(sensitive_paths: Iterable[str], keep: Mapping[str, Sequence[str]]) -> _Node | None:
    if not sensitive_paths and not keep:  # most calls: skip building the cache key
        return None
    frozen_keep = tuple(sorted((path, tuple(keys)) for path, keys in keep.items()))
    return _compile_cached(tuple(sensitive_paths), frozen_keep)


@lru_cache(maxsize=256)
def _compile_cached(
    sensitive_paths: tuple[str, ...], keep: tuple[tuple[str, tuple[str, ...]], ...]
) -> _Node | None:
    if not sensitive_paths and not keep:
        return None
    root = _Node()

    def node_for(path: str) -> _Node:
        parts = path.split(".")
        if not all(parts):
            raise ValueError(
                f"{path!r} is not a path: use dict keys joined by dots, like params.password"
            )
        node = root
        for part in parts:
            node = node.children.setdefault(_normalise(part), _Node())
        return node

    for path in sensitive_paths:
        node_for(path).redact = True
    for path, keys in keep:
        node = node_for(path)
        allowed = frozenset(_normalise(k) for k in keys)
        node.keep = allowed if node.keep is None else node.keep & allowed
    return root


class _Redactor:
    def __init__(self, rules: RedactionRules, max_depth: int) -> None:
        self.rules = rules
        self.max_depth = max_depth

    def value(self, value: Any, node: _Node | None, depth: int) -> Any:
        if depth > self.max_depth:
            return TOO_DEEP
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return _number(value)
        if isinstance(value, str):
            return redact_text(value)
        # dict first: the Mapping ABC check is slow, and decoded JSON only ever holds dicts.
        if isinstance(value, (dict, Mapping)):
            return self.mapping(value, node, None, depth)
        if isinstance(value, list | tuple):
            items = [self.value(item, node, depth + 1) for item in value]
            return items if isinstance(value, list) else tuple(items)
        return value  # not JSON-like: nothing to look into

    def mapping(
        self,
        value: Mapping[Any, Any],
        node: _Node | None,
        allowed: frozenset[str] | None,
        depth: int,
    ) -> dict[Any, Any]:
        if node is None and allowed is None and depth < self.max_depth:
            return self.plain(value, depth)
        out: dict[Any, Any] = {}
        children = node.children if node is not None else None
        for key, item in value.items():
            child: _Node | None = None
            if isinstance(key, str):
                if allowed is not None and _normalise(key) not in allowed:
                    continue
                if children:
                    child = children.get(_normalise(key))
                if self.rules.is_sensitive_key(key) or (child is not None and child.redact):
                    out[redact_text(key)] = REDACTED
                    continue
                key = redact_text(key)
            elif allowed is not None:
                continue
            if child is not None and child.keep is not None:
                out[key] = self.kept(item, child, child.keep, depth + 1)
            else:
                out[key] = self.value(item, child, depth + 1)
        return out

    def plain(self, value: Mapping[Any, Any], depth: int) -> dict[Any, Any]:
        """:meth:`mapping` where no path rule reaches: nearly every payload, so it is kept lean."""
        out: dict[Any, Any] = {}
        sensitive = self.rules.is_sensitive_key
        for key, item in value.items():
            if isinstance(key, str):
                if sensitive(key):
                    out[redact_text(key)] = REDACTED
                    continue
                key = redact_text(key)
            if isinstance(item, str):
                out[key] = redact_text(item)
            elif item is None or isinstance(item, bool):
                out[key] = item
            elif isinstance(item, (int, float)):
                out[key] = _number(item)
            else:
                out[key] = self.value(item, None, depth + 1)
        return out

    def kept(self, value: Any, node: _Node, allowed: frozenset[str], depth: int) -> Any:
        if depth > self.max_depth:
            return TOO_DEEP
        if isinstance(value, Mapping):
            return self.mapping(value, node, allowed, depth)
        if isinstance(value, list | tuple):
            items = [self.kept(item, node, allowed, depth + 1) for item in value]
            return items if isinstance(value, list) else tuple(items)
        return REDACTED  # not a mapping, so nothing here can be allow-listed


def redact(
    value: Any,
    *,
    sensitive_paths: Iterable[str] = (),
    keep: Mapping[str, Sequence[str]] = {},  # read only, never mutated
    rules: RedactionRules | None = None,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """A deep copy of ``value`` with every secret replaced by :data:`REDACTED`.

    ``sensitive_paths`` and ``keep`` are usually an event kind's ``sensitive`` and ``keep``
    from the catalog; ``rules`` defaults to :func:`default_rules`. Values nested deeper than
    ``max_depth`` become :data:`TOO_DEEP`.
    """
    if not 0 <= max_depth <= _DEPTH_CEILING:
        raise ValueError(f"max_depth must be between 0 and {_DEPTH_CEILING}, not {max_depth}")
    if isinstance(sensitive_paths, str):
        raise TypeError("sensitive_paths must be a collection of paths, not one string")
    if rules is None and max_depth == MAX_DEPTH:
        redactor = _default_redactor()
    else:
        redactor = _Redactor(rules if rules is not None else default_rules(), max_depth)
    return redactor.value(value, _compile(sensitive_paths, keep), 0)


@cache
def _default_redactor() -> _Redactor:
    """Every event is redacted twice (payload and context): build the usual redactor once."""
    return _Redactor(default_rules(), MAX_DEPTH)
