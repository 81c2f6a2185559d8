"""Check scheduler benchmark: schedule drift, CPU and memory with thousands of checks.

It starts a TCP listener and an HTTP server in a child process (so their CPU is not counted),
then, in this process:

1. baseline: the same probes at the same rate, fired by a bare asyncio loop with no scheduler,
   no database and no flap control, for ``--baseline`` seconds;
2. the real scheduler (SQLite store by default, ``--pg`` for PostgreSQL) running ``--checks``
   checks (half TCP, half HTTP) at a 60 s interval for ``--duration`` seconds.

It prints schedule drift (how late each probe started against its planned time), CPU % of one
core and peak RSS for both. Targets: drift p99 <= 1 s, CPU <= 30 %, RSS <= 200 MB.

    python bench/checks.py [--checks 2000] [--duration 180] [--baseline 30] [--pg]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from support import create_pg_database, drop_pg_database, free_port, make_settings  # noqa: E402
from whmcs_monitor.catalog import load_catalog  # noqa: E402
from whmcs_monitor.checks.base import ProbeContext  # noqa: E402
from whmcs_monitor.checks.config import ChecksConfig  # noqa: E402
from whmcs_monitor.checks.scheduler import Scheduler  # noqa: E402
from whmcs_monitor.lib.timeutil import utcnow  # noqa: E402
from whmcs_monitor.store.db import Database  # noqa: E402

INTERVAL = 60


async def serve(tcp_port: int, http_port: int) -> None:
    """Child process: a TCP listener that accepts and closes, and a minimal HTTP server."""
    import uvicorn
    from baseline_app import app

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    tcp = await asyncio.start_server(hang_up, "127.0.0.1", tcp_port, backlog=1024)
    config = uvicorn.Config(app, host="127.0.0.1", port=http_port, log_level="error", backlog=1024)
    async with tcp:
        await uvicorn.Server(config).serve()


def probes(count: int, tcp_port: int, http_port: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        if i % 2:
            out.append(
                {"name": f"http-{i}", "type": "http", "url": f"http://127.0.0.1:{http_port}/"}
            )
        else:
            out.append({"name": f"tcp-{i}", "type": "tcp", "host": "127.0.0.1", "port": tcp_port})
    return [{**p, "interval": INTERVAL, "timeout": 5} for p in out]


class Sampler:
    """CPU % of one core and peak RSS of this process over a window."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak_rss = 0
        self._cpu = 0.0
        self._wall = 0.0

    def start(self) -> None:
        times = self.proc.cpu_times()
        self._cpu = times.user + times.system
        self._wall = time.monotonic()
        self.peak_rss = self.proc.memory_info().rss

    def sample(self) -> None:
        self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss)

    def cpu_percent(self) -> float:
        times = self.proc.cpu_times()
        return 100 * (times.user + times.system - self._cpu) / (time.monotonic() - self._wall)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def baseline(specs: list[dict[str, Any]], seconds: float) -> tuple[list[float], Sampler]:
    """The same probes at the same rate, fired straight from a loop: the cost of probing alone."""
    checks = ChecksConfig.model_validate({"probes": specs}).probes
    sampler = Sampler()
    sampler.start()
    drift: list[float] = []
    start = time.monotonic()
    tasks: set[asyncio.Task[None]] = set()

    async def one(check: Any, planned: float) -> None:
        await asyncio.sleep(max(0.0, planned - time.monotonic()))
        drift.append(max(0.0, time.monotonic() - planned))
        await check.probe(ProbeContext(utcnow()))

    for i, check in enumerate(checks):
        planned = start + i * INTERVAL / len(checks)
        if planned - start >= seconds:
            break
        task = asyncio.create_task(one(check, planned))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while time.monotonic() - start < seconds:
        sampler.sample()
        await asyncio.sleep(1)
    await asyncio.gather(*tasks)
    return drift, sampler


async def scheduled(
    url: str, specs: list[dict[str, Any]], seconds: float
) -> tuple[Scheduler, Sampler]:
    settings = make_settings(url, checks={"probes": specs, "concurrency": 500})
    db = Database(settings.database_url, pool_size=5)
    db.migrate()
    scheduler = Scheduler(db, settings, load_catalog())
    sampler = Sampler()
    sampler.start()
    runner = asyncio.create_task(scheduler.run())
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sampler.sample()
        await asyncio.sleep(1)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    db.dispose()
    return scheduler, sampler


def report(label: str, drift: list[float], sampler: Sampler, runs: int, seconds: float) -> None:
    print(
        f"{label:<22} runs {runs:>6}  ({runs / seconds:6.1f}/s)  drift p50 {pct(drift, 0.5) * 1000:7.1f} ms"
        f"  p99 {pct(drift, 0.99) * 1000:7.1f} ms  max {max(drift, default=0) * 1000:7.1f} ms"
        f"  CPU {sampler.cpu_percent():5.1f}%  RSS peak {sampler.peak_rss / 2**20:6.1f} MB"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=180)
    parser.add_argument("--baseline", type=float, default=30)
    parser.add_argument("--pg", action="store_true", help="use PostgreSQL instead of SQLite")
    parser.add_argument("--serve", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        await serve(*args.serve)
        return
    tcp_port, http_port = free_port(), free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(tcp_port), str(http_port)])
    pg_name = None
    try:
        await asyncio.sleep(2)
        specs = probes(args.checks, tcp_port, http_port)
        print(
            f"{args.checks} checks (half TCP, half HTTP) every {INTERVAL}s; "
            f"{psutil.cpu_count()} CPU(s), load {psutil.getloadavg()[0]:.2f}"
        )
        drift, sampler = await baseline(specs, args.baseline)
        report("baseline (bare loop)", drift, sampler, len(drift), args.baseline)
        with tempfile.TemporaryDirectory() as tmp:
            if args.pg:
                url, pg_name = create_pg_database()
            else:
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            scheduler, sampler = await scheduled(url, specs, args.duration)
        runs = len(scheduler.drift)
        report(
            f"scheduler ({'pg' if args.pg else 'sqlite'})",
            scheduler.drift,
            sampler,
            runs,
            args.duration,
        )
        over = sum(d > 1 for d in scheduler.drift)
        print(
            f"probes started more than 1 s late: {over} of {runs}; "
            f"mean drift {statistics.fmean(scheduler.drift or [0]) * 1000:.1f} ms"
        )
        print("targets: drift p99 <= 1000 ms, CPU <= 30%, RSS <= 200 MB")
    finally:
        child.terminate()
        child.wait(10)
        if pg_name:
            drop_pg_database(pg_name)


if __name__ == "__main__":
    asyncio.run(main())
