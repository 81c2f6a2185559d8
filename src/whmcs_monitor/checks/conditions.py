"""Conditions on an HTTP answer's body, Gatus-style: ``$.status == ok``, ``$.items[0].n > 3``.

A condition is parsed when the config is loaded, so a typo is a config error, not a failing
check at 3 a.m.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_EXPR = re.compile(r"^\s*(\$[^\s]*)\s*(==|!=|>=|<=|>|<|contains|exists|absent)\s*(.*?)\s*$")
_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class JsonCondition:
    text: str
    path: tuple[str | int, ...]
    op: str
    expected: str

    def evaluate(self, document: Any) -> str | None:
        """``None`` when the condition holds, otherwise why it does not."""
        value = _walk(document, self.path)
        if self.op == "exists":
            return None if value is not _MISSING else f"{self.text}: {self._where} is missing"
        if self.op == "absent":
            return None if value is _MISSING else f"{self.text}: {self._where} is present"
        if value is _MISSING:
            return f"{self.text}: {self._where} is missing"
        if _holds(value, self.op, self.expected):
            return None
        return f"{self.text}: {self._where} is {_show(value)}"

    @property
    def _where(self) -> str:
        return self.text.split()[0]


def parse_condition(text: str) -> JsonCondition:
    """Parse one condition; raises ``ValueError`` naming what is wrong."""
    match = _EXPR.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a condition; write it like '$.status == ok' "
            "(operators: == != > >= < <= contains exists absent)"
        )
    raw_path, op, expected = match.groups()
    steps: list[str | int] = []
    rest = raw_path[1:]
    while rest:
        step = _STEP.match(rest)
        if not step:
            raise ValueError(f"{text!r}: the path {raw_path!r} must look like $.a.b[0].c")
        steps.append(step.group(1) if step.group(1) is not None else int(step.group(2)))
        rest = rest[step.end() :]
    if op in ("exists", "absent") and expected:
        raise ValueError(f"{text!r}: {op} takes no value")
    if op not in ("exists", "absent") and not expected:
        raise ValueError(f"{text!r}: {op} needs a value to compare with")
    if op in (">", ">=", "<", "<=") and _number(expected) is None:
        raise ValueError(f"{text!r}: {op} compares numbers, and {expected!r} is not one")
    return JsonCondition(text.strip(), tuple(steps), op, expected)


def _walk(node: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        in_list = isinstance(step, int) and isinstance(node, list) and step < len(node)
        if in_list or (isinstance(step, str) and isinstance(node, dict) and step in node):
            node = node[step]
        else:
            return _MISSING
    return node


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:79] + "…"


def _holds(value: Any, op: str, expected: str) -> bool:
    if op == "contains":
        return expected in (value if isinstance(value, str) else json.dumps(value))
    if op in ("==", "!="):
        equal = _show_scalar(value) == expected.strip("\"'")
        return equal if op == "==" else not equal
    left, right = _number(value), _number(expected)
    if left is None or right is None:
        return False
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]


def _show_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if not isinstance(value, dict | list) else json.dumps(value)
