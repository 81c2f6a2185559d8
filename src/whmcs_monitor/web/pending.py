"""Pages whose data comes from parts not yet in this build: an honest empty state, no numbers."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from whmcs_monitor.web.guard import viewer
from whmcs_monitor.web.render import render

router = APIRouter(include_in_schema=False)

# path -> (title, what will appear, what to configure)
PENDING: dict[str, tuple[str, str, str]] = {
    "/alerts": (
        "Alerts",
        "Firing, acknowledged and resolved alerts, with buttons to acknowledge, resolve or silence "
        "each one, its history and a timeline.",
        "Alerting is not part of this build yet. Once it is, alert rules in the config's "
        "alerting section turn events into alerts here.",
    ),
    "/checks": (
        "Checks",
        "Each health check's state, latency chart and uptime over 24 hours, 7 days and 30 days, "
        "and the heartbeats your cron jobs ping.",
        "Checks are not part of this build yet. Once they are, the checks section of the config "
        "lists the HTTP, TLS, DNS, TCP and host probes to run.",
    ),
    "/silences": (
        "Silences and maintenance",
        "Active and scheduled silences and maintenance windows, and a form to create one.",
        "Silences come with alerting, which is not part of this build yet.",
    ),
    "/receivers": (
        "Receivers",
        "The places alerts are sent (email, Slack, webhooks…), each with a test button.",
        "Receivers come with alerting, which is not part of this build yet; they are configured "
        "in the config's alerting section.",
    ),
}


def _page(path: str) -> None:
    title, appears, configure = PENDING[path]

    async def page(request: Request) -> HTMLResponse:
        data = {"title": title, "appears": appears, "configure": configure}
        return render(request, "pending.html", data)

    router.add_api_route(path, page, methods=["GET"], dependencies=[Depends(viewer)], name=path)


for _path in PENDING:
    _page(_path)
