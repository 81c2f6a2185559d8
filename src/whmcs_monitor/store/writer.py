"""Group commit: many ingest requests share one transaction, and so one fsync.

Each request hands its batch to :meth:`EventWriter.write` and awaits the result. A single worker
takes whatever batches are waiting (up to ``max_rows``), inserts them in one transaction in a
worker thread, and only after the commit returns resolves every request's future: a ``202`` is
never sent for a batch that is not committed. Under light load a batch commits alone, at once.

The rows are prepared (:func:`prepare_events`) in ``write()``, on the event loop, while the
worker thread commits the previous group: SQLite runs without the GIL, so the thread's share of
it stays small and the two overlap instead of taking turns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from whmcs_monitor.events.model import Event
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import PreparedEvents, insert_prepared, prepare_events


@dataclass(frozen=True, slots=True)
class WriteResult:
    accepted: int
    duplicates: int
    inserted: tuple[Event, ...]


_Pending = tuple[Sequence[Event], PreparedEvents, "asyncio.Future[WriteResult]"]


class EventWriter:
    def __init__(
        self,
        db: Database,
        *,
        max_rows: int = 5000,
        on_commit: Callable[[Sequence[Event]], None] | None = None,
    ) -> None:
        self._db = db
        self._max_rows = max_rows
        self._on_commit = on_commit
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-writer")

    async def stop(self) -> None:
        """Finish what was queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def write(self, batch: Sequence[Event]) -> WriteResult:
        if self._task is None:
            raise RuntimeError("EventWriter.start() was not called")
        future: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        prepared = prepare_events(self._db.write_engine.dialect, batch)
        await self._queue.put((batch, prepared, future))
        return await future

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            rows = len(group[0][0])
            while rows < self._max_rows and not self._queue.empty():
                item = self._queue.get_nowait()
                group.append(item)
                rows += len(item[0])
            try:
                results = await asyncio.to_thread(
                    self._commit, [(batch, prepared) for batch, prepared, _ in group]
                )
            except Exception as exc:  # every waiting request must hear about the failure
                for *_, future in group:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (*_, future), result in zip(group, results, strict=True):
                    if not future.done():
                        future.set_result(result)
            finally:
                for _ in group:
                    self._queue.task_done()

    def _commit(self, group: list[tuple[Sequence[Event], PreparedEvents]]) -> list[WriteResult]:
        with self._db.write() as conn:
            inserted_keys = insert_prepared(conn, [prepared for _, prepared in group])
        results: list[WriteResult] = []
        claimed: set[tuple[str, str]] = set()
        for batch, _ in group:
            inserted = []
            for event in batch:
                key = (event.site, event.event_id)
                if key in inserted_keys and key not in claimed:
                    claimed.add(key)
                    inserted.append(event)
            results.append(WriteResult(len(inserted), len(batch) - len(inserted), tuple(inserted)))
        if self._on_commit is not None:
            self._on_commit([e for r in results for e in r.inserted])
        return results
