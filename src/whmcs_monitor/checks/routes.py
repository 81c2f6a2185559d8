"""Heartbeat pings: ``GET`` or ``POST /ping/{token}``, plus ``/start``, ``/fail`` and
``/{exit_code}``. The token is the only credential, as in Healthchecks, so a cron line needs
nothing but curl."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from whmcs_monitor.checks.config import HeartbeatConfig
from whmcs_monitor.checks.heartbeats import Signal, by_token, ping, token_digest
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services

router = APIRouter(tags=["heartbeats"])
Endpoint = Callable[..., Awaitable[str]]


def get_and_post(path: str) -> Callable[[Endpoint], Endpoint]:
    """Register an endpoint for GET and POST, each with its own OpenAPI operation id."""

    def register(endpoint: Endpoint) -> Endpoint:
        for method in ("GET", "POST"):
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                operation_id=f"{endpoint.__name__}_{method.lower()}",
                response_class=PlainTextResponse,
            )
        return endpoint

    return register


def _heartbeat(services: Services, token: str) -> HeartbeatConfig:
    found = by_token(services.settings.checks.heartbeats).get(token_digest(token))
    if found is None:
        raise InputError("no heartbeat has this token; check the ping URL", status=404)
    return found


async def _ping(request: Request, token: str, signal: Signal, exit_code: int | None) -> str:
    services: Services = request.app.state.services
    hb = _heartbeat(services, token)

    def write() -> None:
        with services.db.write() as conn:
            ping(conn, services.catalog, hb, signal, utcnow(), exit_code=exit_code)

    await asyncio.to_thread(write)
    return "OK"


@get_and_post("/ping/{token}")
async def ping_success(request: Request, token: str) -> str:
    """The job finished successfully."""
    return await _ping(request, token, "success", None)


@get_and_post("/ping/{token}/start")
async def ping_start(request: Request, token: str) -> str:
    """The job started; the next success ping measures the run's duration from here."""
    return await _ping(request, token, "start", None)


@get_and_post("/ping/{token}/fail")
async def ping_fail(request: Request, token: str) -> str:
    """The job failed: the heartbeat goes down at once."""
    return await _ping(request, token, "fail", None)


@get_and_post("/ping/{token}/{exit_code}")
async def ping_exit_code(request: Request, token: str, exit_code: str) -> str:
    """The job's exit status (``$?``): 0 is success, anything else a failure."""
    if not (exit_code.isascii() and exit_code.isdigit()) or int(exit_code) > 255:
        raise InputError(
            f"{exit_code!r} is not an exit status; use /start, /fail or a number from 0 to 255",
            status=404,
            field="exit_code",
        )
    code = int(exit_code)
    return await _ping(request, token, "success" if code == 0 else "fail", code)
