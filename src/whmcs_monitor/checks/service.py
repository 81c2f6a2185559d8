"""Process and service checks on this host: a systemd unit is active, a process runs, a port
is listening."""

from __future__ import annotations

import asyncio
import shutil
from typing import Literal

import psutil
from pydantic import Field

from whmcs_monitor.checks.base import CheckBase, ProbeContext, Result
from whmcs_monitor.checks.blocking import run_blocking


class SystemdCheck(CheckBase):
    type: Literal["systemd"] = "systemd"
    unit: str

    @property
    def target(self) -> str:
        return self.unit

    async def probe(self, ctx: ProbeContext) -> Result:
        systemctl = shutil.which("systemctl")
        if systemctl is None:
            return Result(
                "down",
                f"systemctl is not available on this host, so {self.unit} cannot be checked; "
                "use a process check",
            )
        process = await asyncio.create_subprocess_exec(
            systemctl,
            "is-active",
            "--",
            self.unit,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(self.timeout.total_seconds()):
                out, err = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            return Result("down", f"systemctl is-active {self.unit} did not answer in time")
        state = out.decode(errors="replace").strip()
        if process.returncode == 0:
            return Result("up", f"{self.unit} is {state}", metrics={"active": 1.0})
        if not state:
            why = err.decode(errors="replace").strip().splitlines() or ["no answer"]
            return Result("down", f"systemctl cannot tell whether {self.unit} is active: {why[0]}")
        return Result("down", f"{self.unit} is {state}", metrics={"active": 0.0})


def _count_processes(name: str) -> int:
    count = 0
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if process.info.get("name") == name or (cmdline and cmdline[0].rsplit("/", 1)[-1] == name):
            count += 1
    return count


class ProcessCheck(CheckBase):
    type: Literal["process"] = "process"
    process: str
    min_count: int = Field(default=1, ge=1, le=100_000)

    @property
    def target(self) -> str:
        return self.process

    async def probe(self, ctx: ProbeContext) -> Result:
        count = await run_blocking(_count_processes, self.process)
        metrics = {"processes": float(count)}
        if count >= self.min_count:
            return Result("up", f"{count} {self.process} process(es) running", metrics=metrics)
        return Result(
            "down",
            f"{count} {self.process} process(es) running, expected {self.min_count}+",
            metrics=metrics,
        )


def _listening(port: int, address: str | None) -> bool:
    for conn in psutil.net_connections(kind="inet"):
        if conn.status != psutil.CONN_LISTEN or not conn.laddr or conn.laddr.port != port:
            continue
        if address is None or conn.laddr.ip in (address, "0.0.0.0", "::"):
            return True
    return False


class PortCheck(CheckBase):
    type: Literal["port"] = "port"
    port: int = Field(ge=1, le=65535)
    address: str | None = None

    @property
    def target(self) -> str:
        return f"{self.address or '*'}:{self.port}"

    async def probe(self, ctx: ProbeContext) -> Result:
        if await run_blocking(_listening, self.port, self.address):
            return Result("up", f"something listens on {self.target}")
        return Result("down", f"nothing listens on {self.target}")
