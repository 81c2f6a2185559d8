"""A plain keep-alive HTTP/1.1 client on asyncio streams, for the load generators in bench/.

httpx spends about 3 ms of CPU per request on this kind of 2-core machine: at a few hundred
requests a second the load generator, not the service, was then what a benchmark measured, and
it took a core away from the service. Requests here are bytes built before the clock starts,
and a response is read just far enough to know its status and where it ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


def request_bytes(url: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One POST as it goes on the wire."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {url.removeprefix('http://')}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one response (Content-Length or chunked)."""
    status = int((await reader.readline()).split()[1])
    length: int | None = None
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is not None:
        return status, await reader.readexactly(length)
    chunks = []
    while size := int((await reader.readline()).strip(), 16):
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readexactly(2)
    return status, b"".join(chunks)


class Connection:
    """One keep-alive connection; ``send`` returns the status, the body and the seconds taken."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def send(self, request: bytes) -> tuple[int, bytes, float]:
        started = time.perf_counter()
        self.writer.write(request)
        status, body = await read_response(self.reader)
        return status, body, time.perf_counter() - started

    def close(self) -> None:
        self.writer.close()


async def paced(
    url: str,
    requests: list[bytes],
    rate: float,
    concurrency: int,
    done: Callable[[int, int, bytes, float, float], None],
) -> None:
    """Send ``requests[i]`` at ``i / rate`` seconds (or as soon as one of ``concurrency``
    connections is free), calling ``done(i, status, body, sent_at, seconds)`` for each answer;
    ``sent_at`` is wall-clock time (``time.time()``), to compare with other processes' clocks."""
    connections: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(concurrency):
        connections.put_nowait(await Connection.open(url))
    loop = asyncio.get_running_loop()

    async def one(index: int, connection: Connection) -> None:
        sent_at = time.time()
        try:
            status, body, seconds = await connection.send(requests[index])
        finally:
            connections.put_nowait(connection)
        done(index, status, body, sent_at, seconds)

    tasks = []
    start = loop.time()
    for index in range(len(requests)):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, await connections.get())))
    await asyncio.gather(*tasks)
    while not connections.empty():
        connections.get_nowait().close()
