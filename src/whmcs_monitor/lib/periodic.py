"""Periodic background work: the loop every worker of the service runs in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

log = logging.getLogger(__name__)
Worker = tuple[str, Callable[[], Coroutine[Any, Any, None]]]
T = TypeVar("T")


class Wakeup:
    """Cuts a worker's wait short when a producer in this process has work for it.

    Other instances sharing the database do not hear it: they find the work on their next
    ``interval``, which is why a wakeup only ever shortens the wait.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def set(self) -> None:
        """Safe from any thread (producers run in worker threads)."""
        loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout: float) -> None:
        """Until :meth:`set` or ``timeout`` seconds; a set during the last step counts."""
        if self._event is None:
            self._loop, self._event = asyncio.get_running_loop(), asyncio.Event()
        # asyncio.timeout, not wait_for: on Python 3.11, wait_for drops a cancellation that
        # arrives between the event firing and this task resuming, and the worker then never
        # stops (a shutdown under ingest load hung that way).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._event.wait()
        self._event.clear()


async def in_thread(func: Callable[..., T], *args: Any) -> T:
    """Run blocking (database) work in a thread. On cancellation the work is allowed to finish
    before the cancel goes on, so that shutting down never disposes of an engine under a
    connection still in use."""
    running = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await asyncio.wait([running])
        raise


async def every(
    interval: timedelta, step: Callable[[], object], *, name: str, wake: Wakeup | None = None
) -> None:
    """Run ``step`` in a thread (:func:`in_thread`) every ``interval`` (sooner when ``wake`` is
    set); a failing run is logged and retried later."""
    wait = wake.wait if wake is not None else asyncio.sleep
    while True:
        await wait(interval.total_seconds())
        try:
            await in_thread(step)
        except Exception:  # one bad run must not stop the loop for good
            log.exception("%s failed; retrying in %s", name, interval)
