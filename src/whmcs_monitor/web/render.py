"""Jinja2 rendering with what every page needs: the caller, the CSRF token and the navigation."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from whmcs_monitor import __version__
from whmcs_monitor.lib.timeutil import as_utc, parse_rfc3339
from whmcs_monitor.web.guard import Principal

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# (path, label, role needed to see the link)
NAV: tuple[tuple[str, str, str], ...] = (
    ("/", "Overview", "viewer"),
    ("/events", "Events", "viewer"),
    ("/alerts", "Alerts", "viewer"),
    ("/checks", "Checks", "viewer"),
    ("/heartbeats", "Heartbeats", "viewer"),
    ("/silences", "Silences", "viewer"),
    ("/receivers", "Receivers", "viewer"),
    ("/coverage", "Coverage", "viewer"),
    ("/sites", "Sites", "viewer"),
    ("/users", "Users", "admin"),
    ("/api", "API", "viewer"),
)


def _when(value: str | datetime | None) -> str:
    """A timestamp as ``2026-11-27 10:00:05 UTC`` (the page is read by people in any zone)."""
    if value is None:
        return "never"
    moment = parse_rfc3339(value) if isinstance(value, str) else as_utc(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _pretty(value: Any) -> str:
    """A document as indented JSON text, for reading. Jinja's ``tojson`` is for embedding in
    a script: it escapes ``&``, ``<`` and non-ASCII as ``\u0026``, which a page then shows as
    is. This returns plain text, which autoescaping makes safe in HTML."""
    return json.dumps(value, indent=2, ensure_ascii=False)


TEMPLATES.env.filters["when"] = _when
TEMPLATES.env.filters["pretty_json"] = _pretty


def render(
    request: Request, template: str, data: dict[str, Any], status: int = 200
) -> HTMLResponse:
    principal: Principal | None = getattr(request.state, "principal", None)
    context = {
        "data": data,
        "me": principal,
        "csrf_token": principal.csrf_token if principal is not None else "",
        "nav": [item for item in NAV if principal is not None and principal.can(item[2])],
        "path": request.url.path,
        "version": __version__,
    }
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)
