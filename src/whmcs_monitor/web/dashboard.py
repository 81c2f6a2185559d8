"""Plug the dashboard into the app: routers, static files, auth errors, headers and API docs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from whmcs_monitor.config import format_error
from whmcs_monitor.errors import InputError
from whmcs_monitor.web import (
    account,
    alerting_pages,
    business_pages,
    checks_pages,
    login,
    pages,
    stream,
    user_admin,
)
from whmcs_monitor.web.errors import error_response
from whmcs_monitor.web.guard import (
    Forbidden,
    LoginRequired,
    PasswordChangeRequired,
    is_api,
    viewer,
)
from whmcs_monitor.web.headers import outermost
from whmcs_monitor.web.nul_guard import reject_nul
from whmcs_monitor.web.render import render

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
BEARER = "bearerAuth"
PASSWORD_CHANGE_FIRST = (
    "your account must set a new password first: log in to the dashboard and choose one at "
    "/account/password"
)
DATA_REFUSED = (
    "the database refused a value in this request (out of range, too long or an unusable "
    "character); check what you sent"
)
docs = APIRouter(include_in_schema=False)


@docs.get("/api", dependencies=[Depends(viewer)])
async def api_page(request: Request) -> HTMLResponse:
    """The API reference, rendered from the same OpenAPI document that /openapi.json serves."""
    spec = request.app.openapi()
    operations = [
        {
            "method": method.upper(),
            "path": path,
            "summary": op.get("summary", ""),
            "params": [p["name"] for p in op.get("parameters", [])],
        }
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]
    return render(request, "api.html", {"operations": operations})


def _openapi_with_tokens(app: FastAPI) -> Any:
    """Declare bearer-token auth on every /api/v1 operation except signed ingest."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec: dict[str, Any] = original()
        spec.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER] = {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from the dashboard's Account page (`wmt_…`). "
            "Read tokens act as a viewer; write tokens with their owner's role.",
        }
        for path, item in spec["paths"].items():
            if path.startswith("/api/v1/") and path != "/api/v1/ingest":
                for op in item.values():
                    op["security"] = [{BEARER: []}]
        app.openapi_schema = spec
        return spec

    return openapi


def _wants_page(request: Request) -> bool:
    """A browser on a dashboard page gets an error page; everyone else the JSON error shape."""
    return not is_api(request) and "text/html" in request.headers.get("accept", "")


def install_dashboard(app: FastAPI) -> None:
    outermost(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (
        login.router,
        pages.html,
        pages.api,
        account.html,
        account.api,
        user_admin.html,
        user_admin.api,
        stream.router,
        alerting_pages.html,
        alerting_pages.api,
        checks_pages.html,
        checks_pages.api,
        business_pages.api,
        docs,
    ):
        app.include_router(router, dependencies=[Depends(reject_nul)])
    app.openapi = _openapi_with_tokens(app)  # type: ignore[method-assign]

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        if is_api(request):
            response = error_response(
                401, "log in or send an API token: Authorization: Bearer wmt_…"
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _password_change(request: Request, _: PasswordChangeRequired) -> Response:
        if is_api(request):
            return error_response(403, PASSWORD_CHANGE_FIRST)
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if is_api(request):
            return error_response(403, str(exc))
        return render(request, "error.html", {"status": 403, "message": str(exc)}, status=403)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        if not _wants_page(request):
            return error_response(exc.status, str(exc), exc.field)
        return render(
            request, "error.html", {"status": exc.status, "message": str(exc)}, status=exc.status
        )

    @app.exception_handler(sa.exc.DataError)
    async def _refused(request: Request, exc: sa.exc.DataError) -> Response:
        """A safety net: input the checks above let through but the database would not store."""
        log.warning("the database refused a value from %s: %s", request.url.path, exc.orig)
        return await _input(request, InputError(DATA_REFUSED))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        message = format_error(exc.errors()[0])
        if not _wants_page(request):
            return error_response(422, message)
        return render(request, "error.html", {"status": 422, "message": message}, status=422)
