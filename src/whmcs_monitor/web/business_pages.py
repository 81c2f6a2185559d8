"""The business report's data for the dashboard and for scripts: ``GET /api/v1/business/report``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from whmcs_monitor.analytics.publish import produce, site_with_database
from whmcs_monitor.services import Services
from whmcs_monitor.web.guard import services_of, viewer

api = APIRouter(prefix="/api/v1", tags=["business"])


def business_report(
    services: Services, site_id: str | None, period: Literal["day", "week", "month"], to_date: bool
) -> dict[str, Any]:
    site = site_with_database(services.settings, site_id)
    return produce(services.settings, services.db, site, period, to_date=to_date)


@api.get(
    "/business/report",
    dependencies=[Depends(viewer)],
    summary="KPIs, forecasts and anomalies of the last complete day, week or month (or so far)",
)
async def business_report_json(
    request: Request,
    site: Annotated[str | None, Query(max_length=64)] = None,
    period: Literal["day", "week", "month"] = "week",
    to_date: bool = False,
) -> dict[str, Any]:
    """The same document as ``whmcs-monitor report --format json``."""
    return await asyncio.to_thread(business_report, services_of(request), site, period, to_date)
