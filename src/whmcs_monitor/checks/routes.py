"""Heartbeat pings: ``GET`` or ``POST /ping/{token}``, plus ``/start``, ``/fail`` and
``/{exit_code}``. The token is the only credential, as in Healthchecks, so a cron line needs
nothing but curl."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from whmcs_monitor.checks.config import HeartbeatConfig
from whmcs_monitor.checks.heartbeats import Signal, by_token, ping, token_digest
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services

router = APIRouter(tags=["heartbeats"])


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


@router.api_route("/ping/{token}", methods=["GET", "POST"], response_class=PlainTextResponse)
async def ping_success(request: Request, token: str) -> str:
    """The job finished successfully."""
    return await _ping(request, token, "success", None)


@router.api_route("/ping/{token}/start", methods=["GET", "POST"], response_class=PlainTextResponse)
async def ping_start(request: Request, token: str) -> str:
    """The job started; the next success ping measures the run's duration from here."""
    return await _ping(request, token, "start", None)


@router.api_route("/ping/{token}/fail", methods=["GET", "POST"], response_class=PlainTextResponse)
async def ping_fail(request: Request, token: str) -> str:
    """The job failed: the heartbeat goes down at once."""
    return await _ping(request, token, "fail", None)


@router.api_route(
    "/ping/{token}/{exit_code}", methods=["GET", "POST"], response_class=PlainTextResponse
)
async def ping_exit_code(request: Request, token: str, exit_code: str) -> str:
    """The job's exit status (``$?``): 0 is success, anything else a failure."""
    if not exit_code.isdigit() or int(exit_code) > 255:
        raise InputError(
            f"{exit_code!r} is not an exit status; use /start, /fail or a number from 0 to 255",
            status=404,
            field="exit_code",
        )
    code = int(exit_code)
    return await _ping(request, token, "success" if code == 0 else "fail", code)
