"""Periodic background work: the loop every worker of the service runs in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)
Worker = tuple[str, Callable[[], Coroutine[Any, Any, None]]]


async def every(interval: timedelta, step: Callable[[], object], *, name: str) -> None:
    """Run ``step`` in a thread every ``interval``; a failing run is logged and retried later.

    On cancellation a step already running is allowed to finish, so that it never leaves a
    database connection behind when the service shuts down.
    """
    while True:
        await asyncio.sleep(interval.total_seconds())
        running = asyncio.ensure_future(asyncio.to_thread(step))
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            await asyncio.wait([running])
            raise
        except Exception:  # one bad run must not stop the loop for good
            log.exception("%s failed; retrying in %s", name, interval)
