"""The signed acknowledge link carried by notifications.

GET shows a confirmation page and only POST acknowledges, so mail scanners and chat previews
that fetch links cannot acknowledge an alert by themselves. The token in the link is the
authentication (see :mod:`whmcs_monitor.alerting.links`).
"""

from __future__ import annotations

import asyncio
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from whmcs_monitor.alerting import actions, state
from whmcs_monitor.alerting.links import verify_ack_token
from whmcs_monitor.errors import InputError
from whmcs_monitor.services import Services

router = APIRouter()
ACTOR = "signed link"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body style='font-family: sans-serif'><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status)


def _services(request: Request, alert_id: int, token: str) -> Services:
    services: Services = request.app.state.services
    if not verify_ack_token(services.settings, alert_id, token):
        raise InputError(
            "this acknowledge link is not valid for this alert", status=403, field="token"
        )
    return services


@router.get(
    "/links/alerts/{alert_id}/ack",
    response_class=HTMLResponse,
    summary="Confirm acknowledging an alert from a notification link",
)
async def confirm_ack(request: Request, alert_id: int, token: str = "") -> HTMLResponse:
    services = _services(request, alert_id, token)

    def load() -> tuple[str, str]:
        with services.db.read() as conn:
            row = state.get(conn, alert_id)
            return str(row.summary), str(row.state)

    summary, current = await asyncio.to_thread(load)
    if current != "firing":
        return _page(f"Alert {alert_id} is {current}", f"<p>{escape(summary)}</p>")
    form = (
        f"<p>{escape(summary)}</p><form method='post' action='?token={escape(token)}'>"
        "<button type='submit'>Acknowledge</button></form>"
    )
    return _page(f"Acknowledge alert {alert_id}?", form)


@router.post(
    "/links/alerts/{alert_id}/ack",
    response_class=HTMLResponse,
    summary="Acknowledge an alert from a notification link",
)
async def acknowledge(request: Request, alert_id: int, token: str = "") -> HTMLResponse:
    services = _services(request, alert_id, token)
    try:
        await asyncio.to_thread(
            actions.acknowledge, services.db, alert_id, actor=ACTOR, note="from a notification link"
        )
    except InputError as exc:
        if exc.status == 404:
            raise
        return _page(f"Alert {alert_id} was not acknowledged", f"<p>{escape(str(exc))}</p>", 409)
    return _page(
        f"Alert {alert_id} acknowledged",
        "<p>It stops repeating and escalating until it resolves.</p>",
    )
