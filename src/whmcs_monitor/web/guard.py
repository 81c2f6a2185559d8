"""Who is asking, and may they: sessions or API tokens, roles, and CSRF on every state change.

Every dashboard and API route depends on exactly one :class:`Require` (the route-table test checks
that), so a route cannot be added without saying which role it needs.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from whmcs_monitor.accounts import RANK, User
from whmcs_monitor.services import Services
from whmcs_monitor.web import sessions, tokens

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No valid session or token: a browser goes to the login page, an API client gets 401."""


class PasswordChangeRequired(Exception):
    """The account must set a new password first (the first admin's generated one, say): a
    browser goes to the password form, an API client with a session gets 403."""


class Forbidden(Exception):
    """Authenticated but not allowed: 403, saying which role the action needs."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    role: str  # the effective role: a read-scoped token is a viewer whatever its owner is
    via: Literal["session", "token"]
    csrf_token: str = ""
    session_hash: str = ""
    read_only: bool = False  # a read-scoped token: it may look, never change anything

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _identify(services: Services, cookie: str | None, bearer: str | None) -> Principal | None:
    config = services.settings.web
    stale = False
    with services.db.read() as conn:
        if bearer is not None:
            found = tokens.authenticate(conn, bearer)
            if found is None:
                return None
            write = found.scope == "write"
            principal = Principal(
                found.user, found.user.role if write else "viewer", "token", read_only=not write
            )
            stale = found.stale
        elif cookie:
            session = sessions.load(conn, cookie, config)
            if session is None:
                return None
            principal = Principal(
                session.user, session.user.role, "session", session.csrf_token, session.id_hash
            )
            stale = session.stale
        else:
            return None
    if stale:
        with services.db.write() as conn:
            if bearer is not None:
                tokens.mark_used(conn, bearer)
            else:
                sessions.touch(conn, principal.session_hash)
    return principal


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def current_principal(request: Request) -> Principal | None:
    """The caller, identified once per request and kept on ``request.state``."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    bearer = _bearer(request)
    if bearer is None and "authorization" in request.headers:
        raise LoginRequired()
    principal = await asyncio.to_thread(
        _identify, services_of(request), request.cookies.get(sessions.COOKIE), bearer
    )
    request.state.principal = principal
    return principal


async def still_admitted(request: Request, role: str) -> bool:
    """Whether the credentials ``request`` came with still admit ``role``, looked up afresh.

    A live stream outlasts the check made when it connected; calling this as it goes ends it
    once its token is revoked, its session logged out or its user disabled.
    """
    principal = await asyncio.to_thread(
        _identify, services_of(request), request.cookies.get(sessions.COOKIE), _bearer(request)
    )
    if principal is None or (principal.via == "session" and principal.user.must_change_password):
        return False
    return principal.can(role)


async def _check_csrf(request: Request, principal: Principal) -> None:
    """Sessions ride on cookies, which a hostile page can make the browser send; tokens cannot."""
    if principal.via != "session" or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, principal.csrf_token):
        raise Forbidden("the form was stale or not sent from this dashboard; reload and retry")


class Require:
    """A dependency that admits ``role`` or stronger: ``Depends(Require("operator"))``.

    With ``session_only``, API tokens are refused whatever their scope: a leaked token must not
    be able to turn off two-factor authentication or change the password it cannot log in with.
    A session whose user must change their password reaches only the routes marked
    ``password_change`` (the password form and logout).
    """

    def __init__(
        self, role: str, *, session_only: bool = False, password_change: bool = False
    ) -> None:
        if role not in RANK:
            raise ValueError(f"unknown role {role!r}")
        self.role = role
        self.session_only = session_only
        self.password_change = password_change

    async def __call__(self, request: Request) -> Principal:
        principal = await current_principal(request)
        if principal is None:
            raise LoginRequired()
        pending = principal.via == "session" and principal.user.must_change_password
        if pending and not self.password_change:
            raise PasswordChangeRequired()
        if not principal.can(self.role):
            raise Forbidden(f"this needs the {self.role} role; you are {principal.role}")
        if principal.read_only and request.method not in SAFE_METHODS:
            raise Forbidden("this API token is read-only; create a write token to make changes")
        if self.session_only and principal.via != "session":
            raise Forbidden("this needs a logged-in session; API tokens cannot do it")
        await _check_csrf(request, principal)
        return principal


viewer = Require("viewer")
operator = Require("operator")
admin = Require("admin")
# Security settings of one's own account: password and two-factor authentication.
account_owner = Require("viewer", session_only=True)
# What a session may still do while its user must change their password.
password_owner = Require("viewer", session_only=True, password_change=True)
leaving = Require("viewer", password_change=True)
