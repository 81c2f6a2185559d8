"""The dashboard's read pages and their /api/v1 JSON twins, each pair built from one query."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from whmcs_monitor.catalog.loader import SEVERITY_ORDER
from whmcs_monitor.web import queries
from whmcs_monitor.web.guard import admin, services_of, viewer
from whmcs_monitor.web.render import render

html = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["dashboard"])
MAX_SEQ = 2**62
Seq = Annotated[int, Path(ge=1, le=MAX_SEQ, description="The event's number (`seq`).")]


async def overview_data(request: Request) -> dict[str, Any]:
    return await asyncio.to_thread(queries.overview, services_of(request))


async def events_data(
    request: Request,
    site: Annotated[str, Query(max_length=64, description="A site id.")] = "",
    category: Annotated[str, Query(max_length=32, description="A catalog category id.")] = "",
    kind: Annotated[str, Query(max_length=96, description="A kind, WHMCS hook or alias.")] = "",
    severity: Annotated[str, Query(max_length=16, description="This severity or worse.")] = "",
    since: Annotated[str, Query(max_length=40, description="`15m`, `6h`, `7d` or RFC 3339.")] = "",
    until: Annotated[str, Query(max_length=40, description="`15m`, `6h`, `7d` or RFC 3339.")] = "",
    q: Annotated[str, Query(max_length=200, description="Text in the summary.")] = "",
    before: Annotated[
        int | None, Query(ge=1, le=MAX_SEQ, description="Page: events older than this seq.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
) -> dict[str, Any]:
    query = queries.EventQuery(site, category, kind, severity, since, until, q, before, limit)
    return await asyncio.to_thread(queries.event_list, services_of(request), query)


async def event_data(request: Request, seq: Seq) -> dict[str, Any]:
    return await asyncio.to_thread(queries.event_detail, services_of(request), seq)


async def coverage_data(request: Request) -> dict[str, Any]:
    return await asyncio.to_thread(queries.coverage_card, services_of(request))


async def sites_data(request: Request) -> dict[str, Any]:
    return await asyncio.to_thread(queries.site_status, services_of(request))


async def users_data(request: Request) -> dict[str, Any]:
    return await asyncio.to_thread(queries.user_list, services_of(request))


Data = dict[str, Any]


@html.get("/", dependencies=[Depends(viewer)])
async def overview_page(
    request: Request, data: Annotated[Data, Depends(overview_data)]
) -> HTMLResponse:
    return render(request, "overview.html", data)


@api.get(
    "/overview",
    dependencies=[Depends(viewer)],
    summary="Health per category, business figures, recent events",
)
async def overview_json(data: Annotated[Data, Depends(overview_data)]) -> Data:
    return data


@html.get("/events", dependencies=[Depends(viewer)])
async def events_page(
    request: Request, data: Annotated[Data, Depends(events_data)]
) -> HTMLResponse:
    services = services_of(request)
    data = {
        **data,
        "categories": [(c.id, c.title) for c in services.catalog.categories],
        "severities": list(SEVERITY_ORDER),
        "sites": [site_id for site_id, _, _ in queries.site_ids(services)],
    }
    return render(request, "events.html", data)


@api.get(
    "/events",
    dependencies=[Depends(viewer)],
    summary="Events, newest first, filtered and paginated",
)
async def events_json(data: Annotated[Data, Depends(events_data)]) -> Data:
    return data


@html.get("/events/{seq}", dependencies=[Depends(viewer)])
async def event_page(request: Request, data: Annotated[Data, Depends(event_data)]) -> HTMLResponse:
    return render(request, "event.html", data)


@api.get(
    "/events/{seq}",
    dependencies=[Depends(viewer)],
    summary="One event with its redacted payload and WHMCS links",
)
async def event_json(data: Annotated[Data, Depends(event_data)]) -> Data:
    return data


@html.get("/coverage", dependencies=[Depends(viewer)])
async def coverage_page(
    request: Request, data: Annotated[Data, Depends(coverage_data)]
) -> HTMLResponse:
    return render(request, "coverage.html", data)


@api.get(
    "/coverage",
    dependencies=[Depends(viewer)],
    summary="The coverage scorecard and what to do about each gap",
)
async def coverage_json(data: Annotated[Data, Depends(coverage_data)]) -> Data:
    return data


@html.get("/sites", dependencies=[Depends(viewer)])
async def sites_page(request: Request, data: Annotated[Data, Depends(sites_data)]) -> HTMLResponse:
    return render(request, "sites.html", data)


@api.get(
    "/sites",
    dependencies=[Depends(viewer)],
    summary="Each WHMCS site's module, last event, spool and forwarder state",
)
async def sites_json(data: Annotated[Data, Depends(sites_data)]) -> Data:
    return data


@html.get("/users", dependencies=[Depends(admin)])
async def users_page(request: Request, data: Annotated[Data, Depends(users_data)]) -> HTMLResponse:
    return render(request, "users.html", data)


@api.get("/users", dependencies=[Depends(admin)], summary="Dashboard accounts (admin only)")
async def users_json(data: Annotated[Data, Depends(users_data)]) -> Data:
    return data
