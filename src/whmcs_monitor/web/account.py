"""The caller's own account: API tokens, two-factor authentication and password."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from whmcs_monitor.accounts import (
    disable_totp,
    enable_totp,
    new_totp_secret,
    set_password,
    totp_uri,
    verify_password,
)
from whmcs_monitor.errors import InputError
from whmcs_monitor.services import Services
from whmcs_monitor.web import sessions, tokens
from whmcs_monitor.web.guard import (
    Principal,
    account_owner,
    password_owner,
    services_of,
    viewer,
)
from whmcs_monitor.web.render import render

html = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["tokens"])
Me = Annotated[Principal, Depends(viewer)]
Owner = Annotated[Principal, Depends(account_owner)]
PasswordOwner = Annotated[Principal, Depends(password_owner)]
TokenId = Annotated[int, Path(ge=1, le=2**62)]


def account_data(services: Services, me: Principal, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "tokens": [t.as_json() for t in tokens.list_for(services.db, me.user)],
        "totp_enabled": me.user.totp_enabled,
        **extra,
    }
    if not me.user.totp_enabled:
        secret = new_totp_secret()
        data["totp_secret"] = secret
        data["totp_uri"] = totp_uri(secret, me.user.username)
    return data


@html.get("/account")
async def account_page(request: Request, me: Me) -> HTMLResponse:
    data = await asyncio.to_thread(account_data, services_of(request), me)
    return render(request, "account.html", data)


@html.post("/account/tokens")
async def create_token_form(
    request: Request,
    me: Me,
    name: Annotated[str, Form(max_length=64)] = "",
    scope: Annotated[str, Form(max_length=16)] = "read",
) -> HTMLResponse:
    services = services_of(request)
    secret, _ = await asyncio.to_thread(
        tokens.create, services.db, me.user, name, scope, actor=me.user.username
    )
    data = await asyncio.to_thread(account_data, services, me, new_token=secret)
    return render(request, "account.html", data, status=201)


@html.post("/account/tokens/{token_id}/revoke")
async def revoke_token_form(request: Request, me: Me, token_id: TokenId) -> RedirectResponse:
    await asyncio.to_thread(
        tokens.revoke, services_of(request).db, me.user, token_id, actor=me.user.username
    )
    return RedirectResponse("/account", status_code=303)


@html.post("/account/totp")
async def enable_totp_form(
    request: Request,
    me: Owner,
    secret: Annotated[str, Form(max_length=64)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
) -> RedirectResponse:
    await asyncio.to_thread(
        enable_totp, services_of(request).db, me.user.username, secret, code, actor=me.user.username
    )
    return RedirectResponse("/account", status_code=303)


@html.post("/account/totp/disable")
async def disable_totp_form(request: Request, me: Owner) -> RedirectResponse:
    await asyncio.to_thread(
        disable_totp, services_of(request).db, me.user.username, actor=me.user.username
    )
    return RedirectResponse("/account", status_code=303)


@html.get("/account/password")
async def password_page(request: Request, me: PasswordOwner) -> HTMLResponse:
    return render(request, "password.html", {"required": me.user.must_change_password})


def _change_password(services: Services, me: Principal, current: str, new: str) -> None:
    if verify_password(services.db, me.user.username, current) is None:
        raise InputError(
            "current_password: that is not your current password",
            field="current_password",
        )
    if new == current:
        raise InputError(
            "new_password: choose a password different from the current one",
            field="new_password",
        )
    set_password(services.db, me.user.username, new, actor=me.user.username)
    with services.db.write() as conn:
        sessions.end_others(conn, me.user.id, me.session_hash)


@html.post("/account/password")
async def change_password_form(
    request: Request,
    me: PasswordOwner,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
) -> RedirectResponse:
    await asyncio.to_thread(
        _change_password, services_of(request), me, current_password, new_password
    )
    # A forced change was in the way of where the user was going: the overview.
    return RedirectResponse("/" if me.user.must_change_password else "/account", status_code=303)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    scope: tokens.Scope = "read"


@api.get("/tokens", summary="Your API tokens (never their secrets)")
async def list_tokens(request: Request, me: Me) -> dict[str, Any]:
    found = await asyncio.to_thread(tokens.list_for, services_of(request).db, me.user)
    return {"tokens": [t.as_json() for t in found]}


@api.post(
    "/tokens",
    status_code=201,
    summary="Create an API token; its secret is shown only in this answer",
)
async def create_token(request: Request, me: Me, body: NewToken) -> dict[str, Any]:
    secret, info = await asyncio.to_thread(
        tokens.create,
        services_of(request).db,
        me.user,
        body.name,
        body.scope,
        actor=me.user.username,
    )
    return {"token": secret, **info.as_json()}


@api.delete("/tokens/{token_id}", status_code=204, summary="Revoke one of your API tokens")
async def revoke_token(request: Request, me: Me, token_id: TokenId) -> None:
    await asyncio.to_thread(
        tokens.revoke, services_of(request).db, me.user, token_id, actor=me.user.username
    )
