"""Ingest load generator: events/s and latency of the real service against a minimal ASGI app.

Everything runs on loopback, bounded in request count and in time. For each store (SQLite, and
PostgreSQL when reachable) it starts `whmcs-monitor run --no-demo` in a subprocess on the same
uvicorn stack as the baseline, then measures (a) one event per request and (b) batches of 100,
and prints the ratios against the baseline measured in the same run. Beside the baseline (the
smallest ASGI app) it measures an empty FastAPI endpoint: the framework's own ceiling. It also
reports the idle RSS of the service.

    python bench/ingest.py [--requests 3000] [--batches 400] [--concurrency 16] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from rawhttp import Connection, request_bytes

from support import create_pg_database, drop_pg_database, free_port, postgres_available
from whmcs_monitor.lib.signing import sign

SECRET = "bench-secret-" + "b" * 40
SITE = "bench"


@dataclass
class Result:
    label: str
    requests: int
    events: int
    seconds: float
    latencies: list[float]
    client_cpu: float  # seconds of CPU the load generator used

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def eps(self) -> float:
        return self.events / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def make_request(batch_size: int) -> tuple[bytes, dict[str, str]]:
    events = [
        {
            "id": str(uuid.uuid4()),
            "hook": "InvoicePaid",
            "occurred_at": "2026-11-27T10:00:00Z",
            "vars": {"invoiceid": 52000 + i, "source": "autogen"},
            "context": {"request": "client", "whmcs_version": "8.13.1"},
        }
        for i in range(batch_size)
    ]
    body = json.dumps({"events": events}).encode()
    stamp = str(int(time.time()))
    return body, {
        "Content-Type": "application/json",
        "X-WHMCS-Monitor-Site": SITE,
        "X-WHMCS-Monitor-Timestamp": stamp,
        "X-WHMCS-Monitor-Signature": sign(SECRET.encode(), stamp, body),
    }


async def load(
    url: str, batch_size: int, count: int, concurrency: int, limit: float, label: str
) -> Result:
    """Keep ``concurrency`` keep-alive connections busy with prepared requests.

    The client is :mod:`rawhttp`: with httpx, the client set the pace at about 300 requests/s,
    the baseline's included. The CPU the client used is printed beside each run, so that it can
    be seen not to be the limit.
    """
    prepared = [
        request_bytes(url, "/api/v1/ingest", *make_request(batch_size)) for _ in range(count)
    ]  # signing is not timed
    prepared.reverse()
    latencies: list[float] = []
    deadline = time.monotonic() + limit

    async def worker() -> None:
        connection = await Connection.open(url)
        try:
            while prepared and time.monotonic() < deadline:
                status, body, seconds = await connection.send(prepared.pop())
                latencies.append(seconds)
                if status != 202:
                    raise RuntimeError(f"{label}: HTTP {status}: {body.decode()[:300]}")
        finally:
            connection.close()

    cpu = time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    client_cpu = time.process_time() - cpu
    return Result(
        label, len(latencies), len(latencies) * batch_size, elapsed, latencies, client_cpu
    )


def start(args: list[str], port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a server and wait for /healthz. Its log goes to ``log``, not to a pipe: a pipe that
    nobody reads fills up and then blocks the server in the middle of a run."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text(errors='replace')[-4000:]}")


def stop(proc: subprocess.Popen[bytes], label: str, grace: float = 30.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds, so that the run stays bounded in time."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print(
            f"warning: {label} (pid {proc.pid}) did not stop within {grace:g}s of SIGTERM "
            "and was killed"
        )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def service(
    database_url: str, workdir: Path, *, ingest_only: bool
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = workdir / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "server": {"host": "127.0.0.1", "port": port},
                "database": {"url": database_url},
                "sites": [{"id": SITE, "secret": SECRET}],
                "demo": {"enabled": "off"},
                "log_level": "warning",
            }
        )
    )
    env = {**os.environ, "WHMCS_MONITOR_CONFIG": str(config)}
    cmd = [sys.executable, "-m", "whmcs_monitor", "run", "--no-demo"]
    if ingest_only:
        cmd.append("--ingest-only")
    return start(cmd, port, env, workdir / "server.log"), port


def baseline(app: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(Path(__file__).parent),
        f"baseline_app:{app}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return start(cmd, port, dict(os.environ), log), port


def measure_baseline(app: str, label: str, args: argparse.Namespace, tmp: Path) -> Result:
    proc, port = baseline(app, tmp / f"baseline-{app}.log")
    try:
        return asyncio.run(
            load(
                f"http://127.0.0.1:{port}",
                1,
                args.requests,
                args.concurrency,
                args.time_limit,
                label,
            )
        )
    finally:
        stop(proc, label)


def report(rows: list[Result], base: Result, framework: Result) -> None:
    print(
        f"{'run':44} {'req/s':>9} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs base':>8}"
        f" {'client CPU':>11}"
    )
    for r in [base, framework, *rows]:
        ratio = r.rps / base.rps
        busy = r.client_cpu / r.seconds * 100
        print(
            f"{r.label:44} {r.rps:9.0f} {r.eps:10.0f} {r.pct(0.5):8.2f} {r.pct(0.99):8.2f} "
            f"{ratio:7.2f}x {busy:10.0f}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="single-event requests")
    parser.add_argument("--batches", type=int, default=400, help="100-event requests")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run at most")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="wm-bench-"))
    base, framework = (
        measure_baseline(app, label, args, tmp)
        for app, label in (
            ("app", "baseline: minimal ASGI 202 (1 event/req)"),
            ("framework", "reference: empty FastAPI endpoint 202"),
        )
    )

    backends = ["sqlite"]
    if postgres_available():
        backends.append("postgres")
    else:
        print("PostgreSQL not reachable: measuring SQLite only")

    rows: list[Result] = []
    idle: dict[str, float] = {}
    for label in backends:
        # An ingest-only node measures the ingest path itself; a full node (the default
        # `run`) also evaluates rules, checks and pollers on the same store while it ingests.
        # Each gets a database of its own: a full node started on the ingest-only node's
        # events would spend the run catching up on them.
        for node, ingest_only in (("ingest-only", True), ("full node", False)):
            workdir = tmp / f"{label}-{node.replace(' ', '-')}"
            workdir.mkdir()
            url, pg_name = (
                create_pg_database() if label == "postgres" else (f"sqlite:///{workdir}/b.db", "")
            )
            tag = f"{label}, {node}"
            proc, port = service(url, workdir, ingest_only=ingest_only)
            try:
                time.sleep(3)
                idle[tag] = rss_mb(proc.pid)
                base_url = f"http://127.0.0.1:{port}"
                for size, count, name in ((1, args.requests, "(a)"), (100, args.batches, "(b)")):
                    rows.append(
                        asyncio.run(
                            load(
                                base_url,
                                size,
                                count,
                                args.concurrency,
                                args.time_limit,
                                f"{name} {tag}: {size} event{'s' * (size > 1)}/req",
                            )
                        )
                    )
            finally:
                stop(proc, tag)
            engine = sa.create_engine(url)
            with engine.connect() as conn:
                stored = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
            engine.dispose()
            print(f"{tag}: {stored} events stored of {sum(r.events for r in rows[-2:])} sent")
            if pg_name:
                drop_pg_database(pg_name)

    report(rows, base, framework)
    for label, mb in idle.items():
        print(f"idle RSS ({label}): {mb:.1f} MB")


if __name__ == "__main__":
    main()
