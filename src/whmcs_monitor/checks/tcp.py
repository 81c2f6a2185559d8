"""TCP checks: a connection to host:port opens within the timeout."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Literal

from pydantic import Field

from whmcs_monitor.checks.base import CheckBase, ProbeContext, Result, ms_since


async def open_tcp(
    host: str, port: int, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float]:
    """Connect, returning the streams and the connect time in ms; ``OSError`` names the cause."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError as exc:
        raise OSError(f"no connection to {host}:{port} within {timeout:g}s") from exc
    except OSError as exc:
        raise OSError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from exc
    return reader, writer, ms_since(start, time.perf_counter())


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):  # the peer vanished first: nothing to free
        async with asyncio.timeout(1):
            await writer.wait_closed()


class TcpCheck(CheckBase):
    type: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(ge=1, le=65535)

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    async def probe(self, ctx: ProbeContext) -> Result:
        try:
            _, writer, elapsed = await open_tcp(self.host, self.port, self.timeout.total_seconds())
        except OSError as exc:
            return Result("down", str(exc))
        await close(writer)
        return Result("up", f"connected in {elapsed:.0f} ms", elapsed)
