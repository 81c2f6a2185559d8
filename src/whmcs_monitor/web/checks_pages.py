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

from whmcs_monitor.checks import queries as check_queries
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.durations import parse_duration
from whmcs_monitor.services import Services
from whmcs_monitor.web.guard import services_of, viewer
from whmcs_monitor.web.render import render

html = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["checks"])
CheckName = Annotated[str, Path(min_length=1, max_length=128)]
Window = Annotated[str, Query(max_length=10, description="How far back: `24h`, `7d`, `30d`.")]
Data = dict[str, Any]
MAX_WINDOW = timedelta(days=30)


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
