"""One error shape everywhere: ``{"error": {"status": 422, "message": "...", "field": "..."}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from whmcs_monitor.config import format_error
from whmcs_monitor.errors import InputError, StoreError

log = logging.getLogger(__name__)


def error_response(
    status: int,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"status": status, "message": message, "field": field}},
        status_code=status,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def _input(_: Request, exc: InputError) -> JSONResponse:
        return error_response(exc.status, str(exc), exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        return error_response(422, format_error(first), None)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        # A 405 carries Allow, a 401 WWW-Authenticate: the headers are part of the answer.
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        log.error("store unavailable: %s", exc)
        return error_response(503, "the monitor's database is unavailable; retry later")

    @app.exception_handler(sa.exc.OperationalError)
    async def _db_down(_: Request, exc: sa.exc.OperationalError) -> JSONResponse:
        log.error("database error: %s", exc.orig)
        return error_response(503, "the monitor's database is unavailable; retry later")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal error; the monitor's log has the details")
