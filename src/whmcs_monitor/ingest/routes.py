"""``POST /api/v1/ingest``: authenticate, bound, validate, normalize, commit, then answer 202."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.responses import Response

from whmcs_monitor.catalog import Catalog, EventKind
from whmcs_monitor.errors import InputError
from whmcs_monitor.events.model import Event
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.ingest.auth import (
    HEADER_SIGNATURE,
    HEADER_SITE,
    HEADER_TIMESTAMP,
    AuthFailure,
    authenticate,
)
from whmcs_monitor.ingest.validate import RawEvent, body_schema, parse_batch
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services
from whmcs_monitor.store.writer import EventWriter
from whmcs_monitor.web.errors import error_response

log = logging.getLogger(__name__)

# A body larger than this is checked and redacted in a thread: a 1 MiB batch can take a good
# part of a second, and the event loop must meanwhile answer every other sender.
_INLINE_BODY_BYTES = 64 * 1024


class _RequestOnlyRoute(APIRoute):
    """A route whose endpoint takes the request alone and answers by itself.

    FastAPI's own handler solves dependencies and checks parameters on every call, about 50 µs
    a request: a fifth of what one-event ingest costs in all. The ingest endpoint needs none of
    it (it reads the raw body and the headers it signs), so its handler is the endpoint itself.
    The route stays a FastAPI route, so /openapi.json still describes it, from the decorator.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


router = APIRouter(route_class=_RequestOnlyRoute)

UNLISTED_HOOK = "whmcs.unlisted_hook"
AUTH_FAILED_KIND = "security.ingest_auth_failed"
MONITOR_SITE = "monitor"


class IngestAccepted(BaseModel):
    accepted: int
    duplicates: int


def _resolve(catalog: Catalog, raw: RawEvent, index: int) -> EventKind:
    if raw.hook is not None:
        # A newer module may forward a hook this collector does not list yet: keep it, labelled.
        return catalog.for_hook(raw.hook) or catalog.get(UNLISTED_HOOK)
    assert raw.kind is not None
    entry = catalog.resolve_one(raw.kind)
    if entry is None:
        raise InputError(
            f"events[{index}].kind: {raw.kind!r} is not in the event catalog "
            "(see `whmcs-monitor catalog`)",
            field=f"events[{index}].kind",
            reason="unknown_kind",
        )
    return entry


def _normalize(catalog: Catalog, site: str, batch: list[RawEvent]) -> list[Event]:
    entries = [_resolve(catalog, raw, i) for i, raw in enumerate(batch)]
    received_at = utcnow()  # one request, one moment of receipt
    return [
        build_event(
            entry,
            site=site,
            data=raw.vars,
            occurred_at=raw.occurred_at,
            event_id=raw.id,
            hook=raw.hook,
            context=raw.context,
            labels={"hook": raw.hook} if entry.kind == UNLISTED_HOOK and raw.hook else None,
            received_at=received_at,
        )
        for entry, raw in zip(entries, batch, strict=True)
    ]


def _events(services: Services, site: str, body: bytes) -> list[Event]:
    return _normalize(services.catalog, site, parse_batch(body, services.settings.ingest))


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_big = InputError(
        f"body exceeds {limit} bytes (ingest.max_body_bytes)",
        status=413,
        field="body",
        reason="body_too_large",
    )
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


async def _report_auth_failure(
    services: Services, writer: EventWriter, request: Request, failure: AuthFailure
) -> None:
    services.metrics.rejections.labels(failure.reason).inc()
    ip = request.client.host if request.client else "unknown"
    suppressed = services.throttle.admit(ip)
    if suppressed is None:
        return
    claimed = request.headers.get("x-whmcs-monitor-site", "")[:64]
    event = build_event(
        services.catalog.get(AUTH_FAILED_KIND),
        site=MONITOR_SITE,
        data={
            "ip": ip,
            "reason": failure.reason,
            "claimed_site": claimed,
            "suppressed": suppressed,
        },
    )
    try:
        await writer.write([event])
    except Exception:  # the refusal must still be answered even if this report cannot be kept
        log.exception("could not store the ingest authentication failure event")


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }


_OPENAPI = {
    "parameters": [
        _header(HEADER_SITE, "The site id, as configured under `sites`."),
        _header(HEADER_TIMESTAMP, "Unix seconds; within ±`ingest.clock_skew_seconds` of now."),
        _header(
            HEADER_SIGNATURE,
            "`sha256=` + lowercase hex HMAC-SHA256 of `<timestamp>.<raw body>`, keyed with "
            "the site's secret.",
        ),
    ],
    "requestBody": {"required": True, "content": {"application/json": {"schema": body_schema()}}},
}


@router.post(
    "/api/v1/ingest",
    status_code=202,
    response_model=IngestAccepted,
    responses={
        400: {"description": "Malformed JSON (with its position) or invalid UTF-8"},
        401: {"description": "Missing or bad signature, stale timestamp or unknown site"},
        413: {"description": "A limit was exceeded; the message names it"},
        415: {"description": "The body is not application/json"},
        422: {"description": "An event or field is invalid; the message names it"},
        503: {"description": "The monitor's database is unavailable; retry later"},
    },
    summary="Receive a signed batch of events from a WHMCS site",
    openapi_extra=_OPENAPI,
)
async def ingest(request: Request) -> JSONResponse:
    """Body: ``{"events": [{"id", "hook" | "kind", "occurred_at", "vars", "context"}]}``.

    The signature is ``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>.<raw body>"`` with the site's
    secret. ``202`` means every new event is committed; ids seen before count as duplicates.
    """
    services: Services = request.app.state.services
    writer: EventWriter = request.app.state.writer
    started = time.perf_counter()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type != "application/json":
            raise InputError(
                f"Content-Type must be application/json, not {content_type or 'missing'!r}",
                status=415,
                field="content-type",
                reason="unsupported_media_type",
            )
        body = await _read_body(request, services.settings.ingest.max_body_bytes)
        site = authenticate(
            request.headers,
            body,
            services.site_secrets(),
            window_seconds=services.settings.ingest.clock_skew_seconds,
        )
        if len(body) <= _INLINE_BODY_BYTES:
            batch = _events(services, site, body)
        else:
            batch = await asyncio.to_thread(_events, services, site, body)
    except AuthFailure as failure:
        await _report_auth_failure(services, writer, request, failure)
        return error_response(401, str(failure))
    except InputError as exc:
        services.metrics.rejections.labels(exc.reason).inc()
        return error_response(exc.status, str(exc), exc.field)
    result = await writer.write(batch)
    if result.duplicates:
        services.metrics.duplicates.labels(site).inc(result.duplicates)
    services.metrics.latency.observe(time.perf_counter() - started)
    return JSONResponse({"accepted": result.accepted, "duplicates": result.duplicates}, 202)
