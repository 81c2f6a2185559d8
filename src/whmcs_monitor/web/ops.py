"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from whmcs_monitor.errors import StoreError
from whmcs_monitor.services import Services

router = APIRouter()
# A probe that waits longer than its caller is no answer: orchestrators give up after seconds.
READY_TIMEOUT_SECONDS = 5.0


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database is reachable and its schema is current")
async def readyz(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    try:
        pending = await asyncio.wait_for(
            asyncio.to_thread(services.db.pending_migrations), READY_TIMEOUT_SECONDS
        )
    except StoreError as exc:  # reached, but a schema this version cannot run on
        return JSONResponse({"status": "unavailable", "reason": str(exc)}, 503)
    except TimeoutError:
        reason = f"database unreachable: no answer within {READY_TIMEOUT_SECONDS:g} s"
        return JSONResponse({"status": "unavailable", "reason": reason}, 503)
    except Exception as exc:  # any failure to reach the store means "not ready"
        return JSONResponse(
            {"status": "unavailable", "reason": f"database unreachable: {type(exc).__name__}"}, 503
        )
    if pending:
        return JSONResponse(
            {"status": "unavailable", "reason": f"migrations pending: {sorted(pending)}"}, 503
        )
    return JSONResponse({"status": "ok"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    services: Services = request.app.state.services
    body = await asyncio.to_thread(generate_latest, services.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
