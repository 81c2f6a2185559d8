"""The live event stream: Server-Sent Events, resumable with ``Last-Event-ID``.

Each connection polls the store for events after the last one it sent, so it sees events ingested
by any instance sharing the database, not just this process. A connection lives at most
``web.stream_max_seconds``; the browser's EventSource then reconnects and resumes where it stopped.
Before each poll the stream checks its credentials again, and ends (``event: end``) once its token
is revoked, its session logged out or its user disabled.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from whmcs_monitor.store.events import max_seq
from whmcs_monitor.web import queries
from whmcs_monitor.web.guard import services_of, still_admitted, viewer

router = APIRouter(prefix="/api/v1", tags=["stream"])
KEEPALIVE = 15.0
ENDED = "the session or API token is no longer valid; log in again"


def _start(request: Request, after: int | None, last_event_id: str | None) -> int:
    if (
        last_event_id
        and last_event_id.isascii()
        and last_event_id.isdigit()
        and len(last_event_id) < 19
    ):
        return int(last_event_id)
    if after is not None:
        return after
    with services_of(request).db.read() as conn:
        return max_seq(conn)


async def _events(request: Request, position: int) -> AsyncIterator[str]:
    services = services_of(request)
    interval = services.settings.web.stream_poll_seconds
    lifetime = services.settings.web.stream_max_seconds
    started = last_sent = time.monotonic()
    yield f"retry: 2000\nevent: hello\ndata: {json.dumps({'after': position})}\n\n"
    while time.monotonic() - started < lifetime and not await request.is_disconnected():
        if not await still_admitted(request, viewer.role):
            yield f"event: end\ndata: {json.dumps({'reason': ENDED})}\n\n"
            return
        batch = await asyncio.to_thread(queries.events_after, services, position)
        for event in batch:
            position = event["seq"]
            yield f"id: {position}\nevent: event\ndata: {json.dumps(event)}\n\n"
        if batch:
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent >= KEEPALIVE:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        if len(batch) < 200:
            await asyncio.sleep(interval)


@router.get(
    "/stream",
    dependencies=[Depends(viewer)],
    summary="Live events as Server-Sent Events (event: event, data: one event as JSON)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="Start after this seq.")] = None,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> StreamingResponse:
    position = await asyncio.to_thread(_start, request, after, last_event_id)
    return StreamingResponse(
        _events(request, position),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
