"""Checks and heartbeats: pages and JSON twins over ``checks.queries``.

The latency chart is drawn by uPlot in the browser from the check's JSON twin, so the page
carries no inline script and the chart shows exactly what the API returns.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from whmcs_monitor.checks import definitions
from whmcs_monitor.checks import queries as check_queries
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.durations import parse_duration
from whmcs_monitor.services import Services
from whmcs_monitor.store import audit
from whmcs_monitor.web.guard import Principal, admin, services_of, viewer
from whmcs_monitor.web.render import render

html = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["checks"])
CheckName = Annotated[str, Path(min_length=1, max_length=128)]
Window = Annotated[str, Query(max_length=10, description="How far back: `24h`, `7d`, `30d`.")]
Data = dict[str, Any]
MAX_WINDOW = timedelta(days=30)
# Adding a check makes the monitor connect wherever it says: admins only.
Admin = Annotated[Principal, Depends(admin)]


def check_list(services: Services) -> Data:
    with services.db.read() as conn:
        checks = check_queries.list_checks(conn)
        beats = check_queries.list_heartbeats(conn, services.settings)
    return {"checks": checks, "heartbeats": beats}


def check_detail(services: Services, name: str, window: str) -> Data:
    try:
        since = parse_duration(window)
    except ValueError as exc:
        raise InputError(f"since: {exc}", field="since") from None
    if since > MAX_WINDOW:
        raise InputError("since: at most 30d", field="since")
    with services.db.read() as conn:
        return {**check_queries.check_detail(conn, name, since=since), "window": window}


def heartbeat_list(services: Services) -> Data:
    with services.db.read() as conn:
        return {"heartbeats": check_queries.list_heartbeats(conn, services.settings)}


@html.get("/checks", dependencies=[Depends(viewer)])
async def checks_page(request: Request) -> HTMLResponse:
    return render(request, "checks.html", await asyncio.to_thread(check_list, services_of(request)))


@html.get("/checks/{name}", dependencies=[Depends(viewer)])
async def check_page(request: Request, name: CheckName, since: Window = "24h") -> HTMLResponse:
    data = await asyncio.to_thread(check_detail, services_of(request), name, since)
    return render(request, "check.html", data)


@html.get("/heartbeats", dependencies=[Depends(viewer)])
async def heartbeats_page(request: Request) -> HTMLResponse:
    data = await asyncio.to_thread(heartbeat_list, services_of(request))
    return render(request, "heartbeats.html", data)


@api.get(
    "/checks",
    dependencies=[Depends(viewer)],
    summary="Every check with its state and uptime over 24 h, 7 d and 30 d",
)
async def checks_json(request: Request) -> Data:
    return await asyncio.to_thread(check_list, services_of(request))


@api.get(
    "/checks/{name}", dependencies=[Depends(viewer)], summary="One check with its latency series"
)
async def check_json(request: Request, name: CheckName, since: Window = "24h") -> Data:
    return await asyncio.to_thread(check_detail, services_of(request), name, since)


@api.get(
    "/heartbeats", dependencies=[Depends(viewer)], summary="Heartbeats (cron pings) and their state"
)
async def heartbeats_json(request: Request) -> Data:
    return await asyncio.to_thread(heartbeat_list, services_of(request))


def add_check(services: Services, spec: dict[str, Any], actor: str) -> Data:
    with services.db.write() as conn:
        check = definitions.add_check(conn, services.settings, spec, actor=actor)
        audit.append(
            conn,
            actor=actor,
            action="check.add",
            target=check.name,
            details={"type": check.type_name},
        )
    return {"name": check.name, "type": check.type_name}


def remove_check(services: Services, name: str, actor: str) -> None:
    with services.db.write() as conn:
        definitions.remove_check(conn, name)
        audit.append(conn, actor=actor, action="check.remove", target=name)


@api.post(
    "/checks",
    status_code=201,
    summary="Add a check (the same fields as one entry of the config's checks.probes)",
)
async def add_check_json(request: Request, me: Admin, spec: dict[str, Any]) -> Data:
    """Checks added here live in the database beside those from the config file; the
    scheduler picks them up on its next pass. Validation errors name the field."""
    return await asyncio.to_thread(add_check, services_of(request), spec, me.user.username)


@api.delete(
    "/checks/{name}", status_code=204, summary="Remove a check that was added through the API"
)
async def remove_check_json(request: Request, me: Admin, name: CheckName) -> None:
    await asyncio.to_thread(remove_check, services_of(request), name, me.user.username)
