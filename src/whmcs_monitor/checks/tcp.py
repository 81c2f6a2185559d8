"""TCP checks: a connection to host:port opens within the timeout."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import re
import socket
import time
from typing import Literal

from pydantic import Field

from whmcs_monitor.checks.base import CheckBase, ProbeContext, Result, ms_since

# What a failed connect means, in the words an operator acts on (asyncio's own text is
# "Connect call failed ('127.0.0.1', 80)" whatever the reason).
_PLAIN_ERRORS = {
    errno.ECONNREFUSED: "connection refused (nothing listens on the port, or a firewall rejects)",
    errno.ECONNRESET: "connection reset by the server",
    errno.EHOSTUNREACH: "host unreachable (no route to it)",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "timed out (filtered?)",
}
_ERRNO_IN_TEXT = re.compile(r"\[Errno (\d+)\]")


def _reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"the name does not resolve ({exc.strerror})"
    # Several addresses (IPv6 and IPv4) failing differently come as one error, errno None.
    codes = {exc.errno} if exc.errno else {int(c) for c in _ERRNO_IN_TEXT.findall(str(exc))}
    if len(codes) == 1 and (code := codes.pop()) in _PLAIN_ERRORS:
        return _PLAIN_ERRORS[code]
    return exc.strerror or str(exc)


async def open_tcp(
    host: str, port: int, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float]:
    """Connect, returning the streams and the connect time in ms; ``OSError`` names the cause."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError as exc:
        raise OSError(
            f"no connection to {host}:{port} within {timeout:g}s: timed out (filtered?)"
        ) from exc
    except OSError as exc:
        raise OSError(f"cannot connect to {host}:{port}: {_reason(exc)}") from exc
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
            _, writer, elapsed = await open_tcp(self.host, self.port, self.own_timeout)
        except OSError as exc:
            return Result("down", str(exc))
        await close(writer)
        return Result("up", f"connected in {elapsed:.0f} ms", elapsed)
