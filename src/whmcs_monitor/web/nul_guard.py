"""Refuse a NUL character in anything a dashboard or API request sends, before it reaches the store.

PostgreSQL cannot store U+0000 in text (psycopg raises ``DataError``), and no name, filter,
password or comment has a use for one. Every dashboard router runs :func:`reject_nul` before its
role guard, so a new route cannot forget it and a 422 names the field instead of a 500.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from whmcs_monitor.errors import InputError

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _shown(name: str) -> str:
    return name.replace(NUL, "\\0")


def _refuse(field: str) -> InputError:
    field = _shown(field)
    return InputError(
        f"{field}: contains a NUL character (\\0), which is not allowed; remove it", field=field
    )


def _nul_in_document(value: Any, location: str) -> str | None:
    """Where the first NUL sits in a JSON document (``matchers[0]``, ``spec.host``), or ``None``."""
    if isinstance(value, str):
        return location if NUL in value else None
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{location}.{key}" if location else str(key)
            if NUL in str(key):
                return where
            items.append((where, item))
    elif isinstance(value, list):
        items = [(f"{location}[{index}]", item) for index, item in enumerate(value)]
    for where, item in items:
        found = _nul_in_document(item, where)
        if found is not None:
            return found
    return None


async def _nul_in_body(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(FORM_TYPES):
        form = await request.form()
        return next(
            (k for k, v in form.multi_items() if NUL in k or (isinstance(v, str) and NUL in v)),
            None,
        )
    body = await request.body()
    try:
        document = json.loads(body) if body else None
    except ValueError:  # not JSON: the route's own parsing says what is wrong with it
        return None
    return _nul_in_document(document, "")


async def reject_nul(request: Request) -> None:
    """The path, the query string and a form or JSON body, in that order: the first NUL is a 422."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and NUL in value:
            raise _refuse(name)
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise _refuse(name)
    if request.method in BODY_METHODS:
        found = await _nul_in_body(request)
        if found is not None:
            raise _refuse(found or "body")
