"""End-to-end alert latency: signed ingest → rule → outbox → a webhook on loopback.

Starts `whmcs-monitor run --no-demo` in a subprocess with one rule (each refunded invoice is its
own alert, group_wait 0) and a webhook receiver in this process, sends one signed event per
request at a steady rate, and prints p50/p99 of the time from the start of the ingest request to
the notification's arrival. Baselines measured in the same run: a direct POST to the same
webhook receiver (the HTTP floor) and the ingest request alone (until its 202).

    python bench/e2e_latency.py [--rate 200] [--seconds 10] [--postgres] [--time-limit 90]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
from rawhttp import paced, request_bytes  # noqa: E402

from support import create_pg_database, drop_pg_database, free_port, postgres_available  # noqa: E402
from whmcs_monitor.lib.signing import sign  # noqa: E402

SECRET = "bench-secret-" + "e" * 40
SITE = "bench"
RULES = "rules: [{name: bench, match: {kinds: [invoice.refunded]}, group_by: [subjects.invoice], severity: warning}]"


def _receive(port_out: Connection) -> None:
    """The webhook receiver's process: records the arrival time of each invoice's notification,
    and answers ``GET /arrivals`` with all of them."""
    times: dict[str, float] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver (nginx, say) offers

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            now = time.time()
            doc = json.loads(body)
            for note in doc.get("notifications", [doc]):
                for alert in note.get("alerts", []):
                    key = alert["labels"].get("invoice") or alert["summary"]
                    with lock:
                        times.setdefault(key, now)
            self._answer(b"")

        def do_GET(self) -> None:
            with lock:
                self._answer(json.dumps(times).encode())

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # The default backlog of 5 drops SYNs under a burst: a 1 s retransmit, not our latency.
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    port_out.send(server.server_address[1])
    server.serve_forever()


class Arrivals:
    """The webhook receiver, in a process of its own: sharing the load generator's GIL, it would
    answer late, and the service's senders would wait for it."""

    def __init__(self) -> None:
        parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_receive, args=(child,), daemon=True)
        self.process.start()
        base = f"http://127.0.0.1:{parent.recv()}"
        self.url = base + "/hook"
        self.report = base + "/arrivals"

    def times(self) -> dict[str, float]:
        return dict(httpx.get(self.report, timeout=10).json())

    def close(self) -> None:
        self.process.terminate()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _run_paced(url: str, requests: list[bytes], rate: int, done: Any) -> None:
    asyncio.run(paced(url, requests, rate, 16, done))


def baseline(arrivals: Arrivals, rate: int, count: int) -> list[float]:
    base = arrivals.url.removesuffix("/hook")
    requests = [
        request_bytes(
            base,
            "/hook",
            json.dumps({"alerts": [{"labels": {"invoice": f"base-{i}"}, "summary": ""}]}).encode(),
            {"Content-Type": "application/json"},
        )
        for i in range(count)
    ]
    sent: dict[str, float] = {}

    def done(i: int, status: int, body: bytes, sent_at: float, seconds: float) -> None:
        sent[f"base-{i}"] = sent_at

    _run_paced(base, requests, rate, done)
    times = arrivals.times()
    return [times[k] - t for k, t in sent.items() if k in times]


def start_service(
    tmp: Path, database_url: str, hook_url: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    (tmp / "rules.yaml").write_text(RULES)
    config = {
        "data_dir": str(tmp),
        "log_level": "warning",
        "database": {"url": database_url},
        "demo": {"enabled": "off"},
        "sites": [{"id": SITE, "secret": SECRET}],
        "alerting": {
            "default_rules": False,
            "rule_files": ["rules.yaml"],
            "evaluation_interval": 0.1,
            "receivers": [
                {
                    "name": "bench",
                    "webhook": {"url": hook_url},
                    "coalesce_after": 1000,
                    "max_per_minute": 10000,
                }
            ],
            "route": {"receiver": "bench", "group_by": ["rule", "invoice"], "group_wait": "0s"},
        },
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "whmcs_monitor",
            "--config",
            str(tmp / "config.yaml"),
            "run",
            "--no-demo",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=0.5).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("the service did not start")


def ingest_request(url: str, invoice: int) -> bytes:
    event = {
        "id": str(uuid.uuid4()),
        "hook": "InvoiceRefunded",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "vars": {"invoiceid": invoice, "amount": "1.00"},
    }
    body = json.dumps({"events": [event]}).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-WHMCS-Monitor-Site": SITE,
        "X-WHMCS-Monitor-Timestamp": stamp,
        "X-WHMCS-Monitor-Signature": sign(SECRET.encode(), stamp, body),
    }
    return request_bytes(url, "/api/v1/ingest", body, headers)


def load(url: str, rate: int, count: int) -> tuple[dict[str, float], list[float]]:
    """Signed single-event ingests at ``rate``; built and signed before the first is sent."""
    requests = [ingest_request(url, 100_000 + i) for i in range(count)]
    sent: dict[str, float] = {}
    ingest: list[float] = []

    def done(i: int, status: int, body: bytes, sent_at: float, seconds: float) -> None:
        sent[str(100_000 + i)] = sent_at
        ingest.append(seconds)
        if status != 202:
            print(f"ingest answered {status}: {body.decode()[:300]}", file=sys.stderr)

    _run_paced(url, requests, rate, done)
    return sent, ingest


def stages(database_url: str, sent: dict[str, float]) -> dict[str, list[float]]:
    """Where the time went, per invoice, from the service's own timestamps: the event's
    ``received_at`` (ingest parsed it), the notification's ``created_at`` (the pass that queued
    it began) and its ``delivered_at``."""
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        received = {
            str(row.invoice_id): row.received_at
            for row in conn.execute(sa.text("SELECT invoice_id, received_at FROM events"))
        }
        queued: dict[str, tuple[Any, Any]] = {}
        for row in conn.execute(
            sa.text("SELECT payload, created_at, delivered_at FROM notifications")
        ):
            payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
            for alert in payload["alerts"]:
                queued[alert["labels"].get("invoice", "")] = (row.created_at, row.delivered_at)
        sends = [
            row.duration_ms / 1000
            for row in conn.execute(sa.text("SELECT duration_ms FROM deliveries"))
        ]
    engine.dispose()

    def epoch(value: Any) -> float:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return float(value.replace(tzinfo=value.tzinfo or UTC).timestamp())

    out: dict[str, list[float]] = {
        "request -> stored": [],
        "stored -> queued": [],
        "queued -> delivered": [],
    }
    for invoice, started in sent.items():
        if invoice not in received or invoice not in queued or queued[invoice][1] is None:
            continue
        stored, (created, delivered) = epoch(received[invoice]), map(epoch, queued[invoice])
        out["request -> stored"].append(stored - started)
        out["stored -> queued"].append(created - stored)
        out["queued -> delivered"].append(delivered - created)
    out["webhook send (each)"] = sends
    return out


def run(database_url: str, label: str, rate: int, seconds: int, time_limit: float) -> None:
    count = rate * seconds
    arrivals = Arrivals()
    floor = baseline(arrivals, rate, min(count, rate * 3))
    with tempfile.TemporaryDirectory(prefix="wm-e2e-") as tmp:
        proc, url = start_service(Path(tmp), database_url, arrivals.url)
        try:
            sent, ingest = load(url, rate, count)
            deadline = time.monotonic() + time_limit
            while time.monotonic() < deadline and not all(k in arrivals.times() for k in sent):
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        breakdown = stages(database_url, sent)
    times = arrivals.times()
    arrivals.close()
    latencies = [times[k] - t for k, t in sent.items() if k in times]
    print(f"\n== {label}: {count} events at {rate}/s ==")
    print(
        f"baseline direct webhook POST  p50 {pct(floor, 0.5):7.1f} ms  p99 {pct(floor, 0.99):7.1f} ms"
    )
    print(
        f"ingest until 202              p50 {pct(ingest, 0.5):7.1f} ms  p99 {pct(ingest, 0.99):7.1f} ms"
    )
    if latencies:
        print(
            f"ingest -> webhook (e2e)       p50 {pct(latencies, 0.5):7.1f} ms  p99 {pct(latencies, 0.99):7.1f} ms  mean {statistics.mean(latencies) * 1000:.1f} ms"
        )
    print(f"notifications received        {len(latencies)}/{count}  (target: p99 <= 500 ms)")
    for name, values in breakdown.items():
        if values:
            print(
                f"  stage {name:22s}  p50 {pct(values, 0.5):7.1f} ms  p99 {pct(values, 0.99):7.1f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--postgres", action="store_true", help="Also run on PostgreSQL when reachable."
    )
    parser.add_argument(
        "--time-limit", type=float, default=60.0, help="Seconds to wait for stragglers."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "SQLite", args.rate, args.seconds, args.time_limit)
    if args.postgres and postgres_available():
        url, name = create_pg_database()
        try:
            run(url, "PostgreSQL", args.rate, args.seconds, args.time_limit)
        finally:
            drop_pg_database(name)


if __name__ == "__main__":
    main()
