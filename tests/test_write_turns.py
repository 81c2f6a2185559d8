"""SQLite writers of one process take turns in arrival order; workers wake when work arrives."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest

from whmcs_monitor.lib.periodic import Wakeup, every, in_thread
from whmcs_monitor.store.db import WriterQueue


def test_writers_get_the_lock_in_the_order_they_asked_for_it() -> None:
    queue = WriterQueue()
    order: list[int] = []
    queue.__enter__()  # held, so that every thread below has to queue

    def writer(number: int) -> None:
        with queue:
            order.append(number)

    threads = []
    for number in range(8):
        thread = threading.Thread(target=writer, args=(number,))
        thread.start()
        threads.append(thread)
        time.sleep(0.02)  # each one queues before the next starts
    queue.__exit__(None, None, None)
    for thread in threads:
        thread.join(timeout=10)
    assert order == list(range(8))


def test_a_write_inside_a_write_on_the_same_thread_fails_instead_of_hanging() -> None:
    queue = WriterQueue()
    with queue, pytest.raises(RuntimeError, match="wait for itself"), queue:
        pass
    with queue:  # released properly after the failure
        pass


def test_a_wakeup_from_another_thread_cuts_the_wait_short() -> None:
    async def scenario() -> tuple[int, float]:
        wake = Wakeup()
        runs: list[float] = []
        task = asyncio.create_task(
            every(timedelta(seconds=30), lambda: runs.append(time.monotonic()), name="t", wake=wake)
        )
        await asyncio.sleep(0.05)
        started = time.monotonic()
        threading.Thread(target=wake.set).start()
        while not runs and time.monotonic() - started < 5:
            await asyncio.sleep(0.01)
        task.cancel()
        return len(runs), (runs[0] if runs else float("inf")) - started

    count, delay = asyncio.run(scenario())
    assert count == 1 and delay < 2  # not the 30 s interval


@pytest.mark.parametrize("yields", range(6))
def test_a_worker_stops_when_cancelled_just_after_a_wakeup(yields: int) -> None:
    """Shutdown cancels the workers while ingest keeps waking them. On Python 3.11, a cancel
    that came after the wakeup fired but before the worker resumed was lost inside
    ``asyncio.wait_for`` (at 1 to 3 loop turns), and the service never stopped."""

    async def scenario() -> bool:
        wake = Wakeup()
        task = asyncio.create_task(every(timedelta(seconds=30), lambda: None, name="t", wake=wake))
        await asyncio.sleep(0.02)
        wake.set()
        for _ in range(yields):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=2)
        if not done:  # do not leave it running past the test
            task.cancel()
            await asyncio.wait([task], timeout=2)
        return bool(done)

    assert asyncio.run(scenario()), "the worker went on running after it was cancelled"


def test_cancelled_work_in_a_thread_finishes_before_the_cancel_goes_on() -> None:
    """Shutdown disposes of the database engines once the workers are cancelled: a scan or a
    rule step still running in its thread must be done by then."""

    async def scenario() -> list[str]:
        started = threading.Event()
        finished: list[str] = []

        def work() -> None:
            started.set()
            time.sleep(0.2)
            finished.append("done")

        task = asyncio.create_task(in_thread(work))
        while not started.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return finished

    assert asyncio.run(scenario()) == ["done"]
