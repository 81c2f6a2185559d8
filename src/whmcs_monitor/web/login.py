"""Logging in and out: throttled, audited, with an optional TOTP code and a login CSRF cookie."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from whmcs_monitor.accounts import check_totp, record_login, verify_password
from whmcs_monitor.services import Services
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import advisory_lock
from whmcs_monitor.web import sessions, throttle
from whmcs_monitor.web.guard import Principal, leaving, services_of
from whmcs_monitor.web.render import render

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "wm_login_csrf"
LOCK_LOGIN = 7_301_401  # serializes throttle counters across instances (PostgreSQL)
WRONG = "Wrong username, password or code."


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def secure_cookies(request: Request) -> bool:
    """Secure when the browser reached us over HTTPS (directly or via a trusted proxy)."""
    settings = services_of(request).settings
    mode = settings.web.secure_cookies
    if mode != "auto":
        return mode == "always"
    public = settings.server.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def safe_next(target: str) -> str:
    """Only a path on this site: ``//evil.example``, ``https://…`` and ``/<TAB>/evil.example``
    (browsers drop tabs and newlines from URLs) would leave it."""
    clean = not any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in target)
    if clean and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _login_page(
    request: Request, *, error: str = "", next_url: str = "/", status: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"error": error, "next": safe_next(next_url), "login_csrf": token},
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next_url=next)


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    cookie: str = ""
    locked_until: datetime | None = None


def attempt_login(services: Services, username: str, password: str, code: str, ip: str) -> Attempt:
    """Check the throttle, the password and the code; audit the outcome either way."""
    db, config = services.db, services.settings.web
    keys = throttle.keys(username, ip)
    with db.read() as conn:
        locked = throttle.locked_until(conn, keys)
    if locked is not None:
        with db.write() as conn:
            audit.append(
                conn, actor=f"ip:{ip}", action="login.refused_locked", target=username[:128]
            )
        return Attempt(False, locked_until=locked)
    user = verify_password(db, username, password)
    if user is not None and check_totp(db, username, code):
        with db.write() as conn:
            for key in keys:
                throttle.clear(conn, key)
            cookie = sessions.create(conn, user.id, ip, config)
            record_login(conn, user.id)
            audit.append(
                conn,
                actor=user.username,
                action="login.success",
                target=user.username,
                details={"ip": ip},
            )
        return Attempt(True, cookie)
    with db.write() as conn:
        advisory_lock(conn, LOCK_LOGIN)
        locked = throttle.record_failure(conn, keys, config)
        audit.append(conn, actor=f"ip:{ip}", action="login.failure", target=username[:128])
        if locked is not None:
            audit.append(
                conn,
                actor="system",
                action="login.lockout",
                target=username[:128],
                details={"ip": ip, "until": locked.isoformat()},
            )
    return Attempt(False, locked_until=locked)


@router.post("/login")
async def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(
            request, error="The login form expired; please try again.", next_url=next, status=403
        )
    if not username or not password:
        return _login_page(
            request, error="Enter a username and a password.", next_url=next, status=422
        )
    result = await asyncio.to_thread(
        attempt_login, services_of(request), username, password, code, client_ip(request)
    )
    if not result.ok:
        if result.locked_until is not None:
            minutes = services_of(request).settings.web.login_lockout_minutes
            message = f"Too many failed logins: locked for {minutes} minutes. Try again later."
            return _login_page(request, error=message, next_url=next, status=429)
        return _login_page(request, error=WRONG, next_url=next, status=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        result.cookie,
        max_age=services_of(request).settings.web.session_max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def _logout(services: Services, principal: Principal) -> None:
    db = services.db
    with db.write() as conn:
        sessions.end(conn, principal.session_hash)
        audit.append(
            conn, actor=principal.user.username, action="logout", target=principal.user.username
        )


@router.post("/logout")
async def logout(
    request: Request, principal: Annotated[Principal, Depends(leaving)]
) -> RedirectResponse:
    if principal.via == "session":
        await asyncio.to_thread(_logout, services_of(request), principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE)
    return response
