"""Alerts, silences and receivers: pages, JSON twins and the operator's actions on them.

Reads come from ``alerting.queries`` and writes go through ``alerting.actions`` (which audit), so
the dashboard, the API and the CLI change alerts the same way.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from whmcs_monitor.alerting import actions
from whmcs_monitor.alerting import queries as alert_queries
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.durations import parse_duration
from whmcs_monitor.lib.timeutil import parse_rfc3339, utcnow
from whmcs_monitor.notify.errors import DeliveryError
from whmcs_monitor.notify.trial import send_test
from whmcs_monitor.services import Services
from whmcs_monitor.web.guard import Principal, operator, services_of, viewer
from whmcs_monitor.web.render import render

html = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["alerts"])
AlertId = Annotated[int, Path(ge=1, le=2**62)]
SilenceId = Annotated[int, Path(ge=1, le=2**62)]
ReceiverName = Annotated[str, Path(min_length=1, max_length=64)]
Operator = Annotated[Principal, Depends(operator)]
Data = dict[str, Any]


def alert_list(services: Services, history: bool) -> Data:
    with services.db.read() as conn:
        open_alerts = alert_queries.list_alerts(conn)
        recent = alert_queries.list_alerts(conn, states=(), limit=50) if history else []
    return {
        "open": open_alerts,
        "recent": recent,
        "receivers_configured": bool(services.settings.alerting.receivers),
    }


def silence_list(services: Services) -> Data:
    with services.db.read() as conn:
        found = alert_queries.list_silences(conn, utcnow(), include_expired=True)
    return {"silences": found[:100]}


def receiver_list(services: Services) -> Data:
    return {"receivers": alert_queries.list_receivers(services.settings)}


def alert_detail(services: Services, alert_id: int) -> Data:
    with services.db.read() as conn:
        return alert_queries.get_alert(conn, alert_id)


def create_silence(
    services: Services, me: Principal, matchers: list[str], duration: str, starts: str, comment: str
) -> int:
    """Silence now or from ``starts`` (RFC 3339) for ``duration`` (``2h``): maintenance too.

    ``actions.add_silence`` bounds the length and the start, for the CLI as well."""
    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise InputError(f"duration: {exc}", field="duration") from None
    start = None
    if starts.strip():
        try:
            start = parse_rfc3339(starts.strip())
        except ValueError:
            raise InputError(
                "starts_at: use a time such as 2026-11-28T02:00:00Z, or leave it empty for now",
                field="starts_at",
            ) from None
    if not comment.strip():
        raise InputError(
            "comment: say why (it is shown wherever the silence mutes an alert)", field="comment"
        )
    return actions.add_silence(
        services.db,
        [m.strip() for m in matchers if m.strip()],
        duration=length,
        actor=me.user.username,
        comment=comment.strip(),
        starts_at=start,
    )


# ---- pages -----------------------------------------------------------------------------------


@html.get("/alerts", dependencies=[Depends(viewer)])
async def alerts_page(request: Request) -> HTMLResponse:
    data = await asyncio.to_thread(alert_list, services_of(request), True)
    return render(request, "alerts.html", data)


@html.get("/alerts/{alert_id}", dependencies=[Depends(viewer)])
async def alert_page(request: Request, alert_id: AlertId) -> HTMLResponse:
    data = await asyncio.to_thread(alert_detail, services_of(request), alert_id)
    return render(request, "alert.html", data)


@html.post("/alerts/{alert_id}/ack")
async def ack_form(request: Request, me: Operator, alert_id: AlertId) -> RedirectResponse:
    await asyncio.to_thread(
        actions.acknowledge, services_of(request).db, alert_id, actor=me.user.username
    )
    return RedirectResponse("/alerts", status_code=303)


@html.post("/alerts/{alert_id}/resolve")
async def resolve_form(request: Request, me: Operator, alert_id: AlertId) -> RedirectResponse:
    await asyncio.to_thread(
        actions.resolve, services_of(request).db, alert_id, actor=me.user.username
    )
    return RedirectResponse("/alerts", status_code=303)


@html.get("/silences", dependencies=[Depends(viewer)])
async def silences_page(
    request: Request,
    matchers: Annotated[
        str, Query(max_length=2000, description="Prefill: one matcher a line.")
    ] = "",
) -> HTMLResponse:
    data = await asyncio.to_thread(silence_list, services_of(request))
    return render(request, "silences.html", {**data, "prefill": matchers})


@html.post("/silences")
async def silence_form(
    request: Request,
    me: Operator,
    matchers: Annotated[str, Form(max_length=2000)] = "",
    duration: Annotated[str, Form(max_length=20)] = "2h",
    starts_at: Annotated[str, Form(max_length=40)] = "",
    comment: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    await asyncio.to_thread(
        create_silence,
        services_of(request),
        me,
        matchers.splitlines(),
        duration,
        starts_at,
        comment,
    )
    return RedirectResponse("/silences", status_code=303)


@html.post("/silences/{silence_id}/expire")
async def expire_form(request: Request, me: Operator, silence_id: SilenceId) -> RedirectResponse:
    await asyncio.to_thread(
        actions.expire_silence, services_of(request).db, silence_id, actor=me.user.username
    )
    return RedirectResponse("/silences", status_code=303)


@html.get("/receivers", dependencies=[Depends(viewer)])
async def receivers_page(request: Request) -> HTMLResponse:
    return render(request, "receivers.html", receiver_list(services_of(request)))


def test_receiver(services: Services, receiver: str, me: Principal) -> Data:
    """Send a test now; a receiver that refuses is a result to show, not a server error."""
    try:
        target = send_test(
            services.settings.alerting, receiver, requested_by=f"{me.user.username} (dashboard)"
        )
    except DeliveryError as exc:
        return {
            "receiver": receiver,
            "delivered": False,
            "error": str(exc),
            "permanent": exc.permanent,
        }
    return {"receiver": receiver, "delivered": True, "target": target}


@html.post("/receivers/{receiver}/test")
async def test_receiver_form(
    request: Request, me: Operator, receiver: ReceiverName
) -> HTMLResponse:
    services = services_of(request)
    result = await asyncio.to_thread(test_receiver, services, receiver, me)
    return render(request, "receivers.html", {**receiver_list(services), "test": result})


# ---- API twins -------------------------------------------------------------------------------


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=500)


class NewSilence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matchers: list[str] = Field(min_length=1, max_length=20)
    duration: str = Field(default="2h", max_length=20)
    starts_at: str = Field(default="", max_length=40)
    comment: str = Field(min_length=1, max_length=500)


@api.get(
    "/alerts", dependencies=[Depends(viewer)], summary="Open alerts, and the 50 newest of any state"
)
async def alerts_json(request: Request) -> Data:
    return await asyncio.to_thread(alert_list, services_of(request), True)


@api.get(
    "/alerts/{alert_id}",
    dependencies=[Depends(viewer)],
    summary="One alert with its history and notifications",
)
async def alert_json(request: Request, alert_id: AlertId) -> Data:
    return await asyncio.to_thread(alert_detail, services_of(request), alert_id)


@api.post("/alerts/{alert_id}/ack", summary="Acknowledge a firing alert")
async def ack_json(request: Request, me: Operator, alert_id: AlertId, body: Note) -> Data:
    services = services_of(request)
    await asyncio.to_thread(
        actions.acknowledge, services.db, alert_id, actor=me.user.username, note=body.note
    )
    return await asyncio.to_thread(alert_detail, services, alert_id)


@api.post("/alerts/{alert_id}/resolve", summary="Resolve an alert by hand")
async def resolve_json(request: Request, me: Operator, alert_id: AlertId, body: Note) -> Data:
    services = services_of(request)
    await asyncio.to_thread(
        actions.resolve, services.db, alert_id, actor=me.user.username, note=body.note
    )
    return await asyncio.to_thread(alert_detail, services, alert_id)


@api.get(
    "/silences",
    dependencies=[Depends(viewer)],
    summary="Silences and maintenance windows, newest first",
)
async def silences_json(request: Request) -> Data:
    return await asyncio.to_thread(silence_list, services_of(request))


@api.post("/silences", status_code=201, summary="Create a silence or schedule a maintenance window")
async def silence_json(request: Request, me: Operator, body: NewSilence) -> Data:
    services = services_of(request)
    silence_id = await asyncio.to_thread(
        create_silence, services, me, body.matchers, body.duration, body.starts_at, body.comment
    )
    found = (await asyncio.to_thread(silence_list, services))["silences"]
    return next(s for s in found if s["id"] == silence_id)


@api.delete("/silences/{silence_id}", status_code=204, summary="Expire a silence now")
async def expire_json(request: Request, me: Operator, silence_id: SilenceId) -> None:
    await asyncio.to_thread(
        actions.expire_silence, services_of(request).db, silence_id, actor=me.user.username
    )


@api.get(
    "/receivers", dependencies=[Depends(viewer)], summary="Receivers, described without secrets"
)
async def receivers_json(request: Request) -> Data:
    return receiver_list(services_of(request))


@api.post(
    "/receivers/{receiver}/test",
    summary="Send a test notification to a receiver now and report whether it was delivered",
)
async def test_receiver_json(request: Request, me: Operator, receiver: ReceiverName) -> Data:
    return await asyncio.to_thread(test_receiver, services_of(request), receiver, me)
