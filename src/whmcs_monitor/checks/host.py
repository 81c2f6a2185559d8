"""Host resources through psutil: CPU, load, memory, swap, disk space and inodes per mount, and
network errors. Crossing a threshold makes the check degraded and stores a host.* event."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import psutil
from pydantic import Field, field_validator

from whmcs_monitor.checks.base import CheckBase, Finding, ProbeContext, Result, duration
from whmcs_monitor.checks.blocking import run_blocking

# Pseudo and read-only image filesystems never fill up in a way an operator can act on.
_SKIP_FSTYPES = {"squashfs", "iso9660", "overlay", "tmpfs", "devtmpfs", "nsfs", "proc", "sysfs"}


@dataclass(frozen=True, slots=True)
class Mount:
    path: str
    used_pct: float
    free_bytes: float
    inodes_used_pct: float | None


def _mounts(only: list[str]) -> list[Mount]:
    wanted = only or [
        p.mountpoint for p in psutil.disk_partitions(all=False) if p.fstype not in _SKIP_FSTYPES
    ]
    found = []
    for path in dict.fromkeys(wanted):
        try:
            usage = psutil.disk_usage(path)
            stat = os.statvfs(path)
        except OSError:
            continue  # unmounted since listing; the next run sees the new list
        inodes = 100 * (stat.f_files - stat.f_ffree) / stat.f_files if stat.f_files else None
        found.append(Mount(path, usage.percent, float(usage.free), inodes))
    return found


def _cpu_seconds() -> tuple[float, float]:
    """Busy and total CPU seconds since boot, all CPUs, counted as ``psutil.cpu_percent`` does."""
    times = psutil.cpu_times()
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    return total - times.idle - getattr(times, "iowait", 0.0), total


def _read_host(mounts: list[str]) -> tuple[dict[str, float], list[Mount]]:
    """Blocking (statvfs on each mount): runs in the probe pool."""
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    net = psutil.net_io_counters()
    load1, load5, load15 = os.getloadavg()
    busy, total = _cpu_seconds()
    metrics = {
        "cpu_busy_s": busy,
        "cpu_total_s": total,
        "load1": load1,
        "load5": load5,
        "load15": load15,
        "cpus": float(psutil.cpu_count() or 1),
        "memory_pct": memory.percent,
        "swap_pct": swap.percent,
        "net_errors": float(net.errin + net.errout + net.dropin + net.dropout),
    }
    return metrics, _mounts(mounts)


class HostCheck(CheckBase):
    type: Literal["host"] = "host"
    host_label: str = Field(default_factory=socket.gethostname)
    mounts: list[str] = Field(default_factory=list)
    cpu_pct: float = Field(default=90, gt=0, le=100)
    load_per_cpu: float = Field(default=2.0, gt=0)
    memory_pct: float = Field(default=90, gt=0, le=100)
    swap_pct: float = Field(default=80, gt=0, le=100)
    disk_pct: float = Field(default=90, gt=0, le=100)
    inodes_pct: float = Field(default=90, gt=0, le=100)
    forecast_window: timedelta = timedelta(hours=24)
    forecast_days: float = Field(default=7, gt=0, le=365)

    @field_validator("forecast_window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> Any:
        return duration(value)

    @field_validator("forecast_window")
    @classmethod
    def _window_bounds(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=10) <= value <= timedelta(days=8):
            raise ValueError("must be between 10m and 8d (raw samples are kept 8 days)")
        return value

    @property
    def target(self) -> str:
        return self.host_label

    async def probe(self, ctx: ProbeContext) -> Result:
        metrics, mounts = await run_blocking(_read_host, self.mounts)
        rate = ctx.rate("net_errors", metrics["net_errors"])
        if rate is not None:
            metrics["net_errors_per_s"] = rate
        cpu = _cpu_pct_since_last_run(metrics, ctx)
        if cpu is not None:
            metrics["cpu_pct"] = cpu
        for mount in mounts:
            metrics[f"disk_pct:{mount.path}"] = mount.used_pct
            metrics[f"disk_free_bytes:{mount.path}"] = mount.free_bytes
            if mount.inodes_used_pct is not None:
                metrics[f"inodes_pct:{mount.path}"] = mount.inodes_used_pct
        findings = self._findings(metrics, mounts, ctx)
        if not findings:
            cpu_text = f"{cpu:.0f}%" if cpu is not None else "measured from the next run"
            message = (
                f"CPU {cpu_text}, memory {metrics['memory_pct']:.0f}%, "
                f"{len(mounts)} mount(s) below {self.disk_pct:g}%"
            )
            return Result("up", message, None, metrics)
        message = "; ".join(str(f.data["what"]) for f in findings)
        return Result("degraded", message, None, metrics, findings)

    def _findings(
        self, m: dict[str, float], mounts: list[Mount], ctx: ProbeContext
    ) -> list[Finding]:
        """One finding per resource over its threshold, keyed per day (a daily reminder)."""
        day = f"{ctx.now:%Y%m%d}"
        host = self.host_label
        out = []
        for mount in mounts:
            for label, used, limit in (
                ("disk", mount.used_pct, self.disk_pct),
                ("inodes", mount.inodes_used_pct, self.inodes_pct),
            ):
                if used is not None and used > limit:
                    what = f"{label} {mount.path} {used:.0f}% used"
                    data = {"host": host, "mount": mount.path, "percent": round(used), "what": what}
                    out.append(Finding("host.disk_high", f"{mount.path}:{label}:{day}", data))
        memory = max(
            ("memory", m["memory_pct"], self.memory_pct),
            ("swap", m["swap_pct"], self.swap_pct),
            key=lambda item: item[1] - item[2],
        )
        if memory[1] > memory[2]:
            what = f"{memory[0]} {memory[1]:.0f}% used"
            data = {"host": host, "percent": round(memory[1]), "what": what}
            out.append(Finding("host.memory_high", f"{memory[0]}:{day}", data))
        load_limit = self.load_per_cpu * m["cpus"]
        cpu = m.get("cpu_pct", 0.0)
        if cpu > self.cpu_pct or m["load5"] > load_limit:
            what = f"CPU {cpu:.0f}%, load {m['load5']:.2f} on {m['cpus']:.0f} CPU(s)"
            data = {"host": host, "percent": round(cpu), "what": what}
            out.append(Finding("host.cpu_high", day, data))
        return out


def _cpu_pct_since_last_run(metrics: dict[str, float], ctx: ProbeContext) -> float | None:
    """CPU use averaged over the whole time since the previous run, not a momentary sample, so
    host.cpu_high means the CPU stayed busy; ``None`` on a first run, which has no baseline."""
    busy = ctx.rate("cpu_busy_s", metrics["cpu_busy_s"])
    total = ctx.rate("cpu_total_s", metrics["cpu_total_s"])
    if busy is None or not total:
        return None
    return min(100.0, max(0.0, 100 * busy / total))
