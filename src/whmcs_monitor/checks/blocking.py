"""Where blocking probe code runs: a bounded thread pool of its own, under a deadline that covers
the whole session.

The standard library mail clients and pymysql bound each socket operation, not the session: a
server that sends one byte every few hundred milliseconds never trips that timeout, and the thread
would stay blocked for good. :class:`Deadline` shuts the session's socket down when its time is
up, so the blocked read returns and the thread is free again. :func:`run_blocking` keeps probe
threads out of the event loop's default executor, which ingest, ``/ping`` and the scheduler's own
database work share: a hung probe can cost a probe thread, never the service.

Usage::

    def session(deadline: Deadline) -> str:
        client = deadline.connect(smtplib.SMTP, host, port, timeout=deadline.seconds)
        ...

    done = await run_bounded(session, 9.0)  # raises DeadlineExceeded when time runs out
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
C = TypeVar("C")

# Enough for every blocking probe a monitor runs at once (each holds a thread for at most its
# timeout); more would only queue, and a queued probe is cancelled when its timeout passes.
PROBE_THREADS = 16
_REPEAT = 0.05  # after the deadline, how often a socket opened late is shut down too
_pool = ThreadPoolExecutor(max_workers=PROBE_THREADS, thread_name_prefix="check-probe")

SocketSource = Callable[[], socket.socket | None]


class DeadlineExceeded(TimeoutError):
    """The session ran out of time; raised from whatever error the shut socket caused."""


async def run_blocking(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in the probe pool; cancelling the caller drops it if it has not started."""
    return await asyncio.get_running_loop().run_in_executor(_pool, func, *args)


async def run_bounded(session: Callable[[Deadline], T], seconds: float) -> T:
    """``session(deadline)`` in the probe pool, cut off ``seconds`` from now."""
    return await run_blocking(Deadline(seconds).run, session)


class Deadline:
    """A time limit for one blocking session, counted from when the probe asked for it.

    Inside ``with deadline:`` a watchdog thread waits for the limit, then shuts down every
    watched socket (and keeps doing so for a socket that appears later, as one still connecting
    at the deadline would), so the blocked call fails at once; the error that causes leaves the
    block as :class:`DeadlineExceeded`.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._until = time.monotonic() + seconds
        self._sources: list[SocketSource] = []
        self._done = threading.Event()
        self._watchdog: threading.Thread | None = None

    def __enter__(self) -> Deadline:
        if self.remaining() <= 0:  # it waited in the pool's queue for its whole budget
            self.expired = True
            raise self._exceeded()
        self._watchdog = threading.Thread(target=self._watch, name="check-deadline", daemon=True)
        self._watchdog.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._watchdog is not None:
            self._watchdog.join()
        if self.expired and exc is not None and not isinstance(exc, DeadlineExceeded):
            raise self._exceeded() from exc

    def _exceeded(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"no complete answer within {self.seconds:g}s")

    def run(self, session: Callable[[Deadline], T]) -> T:
        with self:
            return session(self)

    def remaining(self) -> float:
        return self._until - time.monotonic()

    def watch(self, source: SocketSource) -> None:
        """Shut down ``source()`` when the time is up. A callable, not a socket: STARTTLS and
        SSL replace a client's socket object mid-session, so it is looked up when needed."""
        self._sources.append(source)

    def connect(self, client_class: type[C], /, *args: Any, **kwargs: Any) -> C:
        """``client_class(*args, **kwargs)`` for a client that keeps its socket in ``.sock``.

        smtplib, poplib and imaplib connect and read the greeting in the constructor, so the
        object is created first and initialised once the deadline can see its socket.
        """
        client = client_class.__new__(client_class)
        self.watch(lambda: getattr(client, "sock", None))
        try:
            client_class.__init__(client, *args, **kwargs)
        except BaseException:
            sock = getattr(client, "sock", None)
            if sock is not None:  # poplib leaves it open when the greeting fails
                sock.close()
            raise
        return client

    def _watch(self) -> None:
        if self._done.wait(self.remaining()):
            return
        self.expired = True
        while True:
            for source in self._sources:
                sock = source()
                if sock is not None:
                    with contextlib.suppress(OSError):  # already closed, or not connected yet
                        sock.shutdown(socket.SHUT_RDWR)
            if self._done.wait(_REPEAT):
                return
