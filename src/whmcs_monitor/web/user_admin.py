"""Managing dashboard accounts (admin only), from the Users page or the API."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from whmcs_monitor.accounts import Role, create_user, get_user, set_disabled, set_role
from whmcs_monitor.errors import InputError
from whmcs_monitor.services import Services
from whmcs_monitor.web import queries
from whmcs_monitor.web.guard import Principal, admin, services_of

html = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["users"])
Admin = Annotated[Principal, Depends(admin)]
Username = Annotated[str, Path(min_length=1, max_length=64)]


def update_user(
    services: Services, me: Principal, username: str, role: str | None, disabled: bool | None
) -> None:
    """Change a role or enable/disable; an admin cannot lock themselves out this way."""
    get_user(services.db, username)  # a 404 naming the user, even when nothing is to change
    if username == me.user.username and (disabled or (role is not None and role != "admin")):
        raise InputError(
            "username: you cannot disable or demote your own account; ask another admin",
            field="username",
        )
    if role is not None:
        set_role(services.db, username, role, actor=me.user.username)
    if disabled is not None:
        set_disabled(services.db, username, disabled, actor=me.user.username)


@html.post("/users")
async def create_user_form(
    request: Request,
    me: Admin,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    role: Annotated[str, Form(max_length=16)] = "viewer",
) -> RedirectResponse:
    await asyncio.to_thread(
        create_user, services_of(request).db, username, password, role, actor=me.user.username
    )
    return RedirectResponse("/users", status_code=303)


@html.post("/users/{username}")
async def update_user_form(
    request: Request,
    me: Admin,
    username: Username,
    role: Annotated[str, Form(max_length=16)] = "",
    disabled: Annotated[str, Form(max_length=8)] = "",
) -> RedirectResponse:
    flag = {"yes": True, "no": False}.get(disabled)
    await asyncio.to_thread(update_user, services_of(request), me, username, role or None, flag)
    return RedirectResponse("/users", status_code=303)


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: Role = "viewer"


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    disabled: bool | None = None


@api.post("/users", status_code=201, summary="Create an account (admin only)")
async def create_user_json(request: Request, me: Admin, body: NewUser) -> dict[str, Any]:
    services = services_of(request)
    await asyncio.to_thread(
        create_user, services.db, body.username, body.password, body.role, actor=me.user.username
    )
    users = (await asyncio.to_thread(queries.user_list, services))["users"]
    return next(u for u in users if u["username"] == body.username)


@api.patch("/users/{username}", summary="Change an account's role or disable it (admin only)")
async def update_user_json(
    request: Request, me: Admin, username: Username, body: UserChange
) -> dict[str, Any]:
    services = services_of(request)
    await asyncio.to_thread(update_user, services, me, username, body.role, body.disabled)
    users = (await asyncio.to_thread(queries.user_list, services))["users"]
    return next(u for u in users if u["username"] == username)
