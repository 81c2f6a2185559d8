"""The baselines for bench/ingest.py, both answering 202 after reading the body.

``app`` is the smallest ASGI app: the figure the ingest targets are stated against. ``framework``
is one FastAPI endpoint, the framework the service is built on, doing nothing else: the ceiling
that the framework alone sets, printed beside it so that the cost of ingest itself can be told
from the cost of the stack it runs on.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response

BODY = b'{"accepted": 1, "duplicates": 0}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


framework = FastAPI()


@framework.post("/api/v1/ingest", status_code=202)
async def ingest(request: Request) -> Response:
    await request.body()
    return Response(BODY, 202, media_type="application/json")
