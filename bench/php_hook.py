"""Benchmark runner for the PHP addon module (bench/php_hook.php); loopback only, bounded.

    python bench/php_hook.py [--calls 20000] [--rounds 20] [--events 10]

1. Request path: microseconds a hook call adds inside the WHMCS request, against an empty handler
   (target: at most 20 µs median per event).
2. Shutdown flush, ``--rounds`` requests of ``--events`` events each, against:
   - up:          the real collector (uvicorn, temporary SQLite) on a loopback port;
   - down:        a loopback port with nothing listening (connection refused);
   - unreachable: a loopback listener with backlog 0 whose queue is filled and never accepted, so
                  a new connection hangs until curl's connect timeout.
   Target: unreachable costs at most the connect timeout once per breaker window, ~0 after that;
   nothing lost in any case (captured = sent + spooled, 0 dropped).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from whmcs_monitor.config import parse_settings
from whmcs_monitor.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "php_hook.php"
SITE, SECRET = "bench", "bench-secret-" + "x" * 40
PHP_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def real_collector(data_dir: Path) -> Iterator[tuple[str, Any]]:
    settings = parse_settings(
        {
            "database": {"url": f"sqlite:///{data_dir / 'monitor.db'}"},
            "sites": [{"id": SITE, "secret": SECRET}],
            "demo": {"enabled": "off"},
        },
        environ={},
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:
        raise RuntimeError("the collector did not start")
    try:
        yield url, settings
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def stored_count(settings: Any) -> int:
    from whmcs_monitor.store.db import Database
    from whmcs_monitor.store.events import EventFilter, query_events

    db = Database(settings.database_url)
    try:
        with db.read() as conn:
            return len(query_events(conn, EventFilter(limit=1_000_000, sites=(SITE,))))
    finally:
        db.dispose()


@contextmanager
def unreachable_listener() -> Iterator[str]:
    """A loopback port that completes no new handshake: backlog 0, queue full, never accepted."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):  # fill the accept queue until a connect no longer completes
        client = socket.socket()
        client.settimeout(0.2)
        try:
            client.connect(("127.0.0.1", port))
            fillers.append(client)
        except OSError:
            client.close()
            break
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for client in fillers:
            client.close()
        server.close()


def run_php(php: str, args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run(
        [php, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=PHP_TIMEOUT,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"php failed: {proc.stderr}{proc.stdout}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def flush_env(url: str, spool_dir: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "WHMCS_MONITOR_COLLECTOR_URL": url,
        "WHMCS_MONITOR_SITE_ID": SITE,
        "WHMCS_MONITOR_SECRET": SECRET,
        "WHMCS_MONITOR_SPOOL_DIR": str(spool_dir),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000, help="hook calls per shape")
    parser.add_argument("--rounds", type=int, default=20, help="requests per flush scenario")
    parser.add_argument("--events", type=int, default=10, help="events per request")
    args = parser.parse_args()
    php = shutil.which("php")
    if php is None:
        print("php is not installed; nothing to measure", file=sys.stderr)
        return 1

    request = run_php(php, ["request", str(args.calls)])
    print(f"Request path (PHP {request['php']}, {args.calls} calls per shape, median):")
    print(
        f"  {'shape':36} {'empty µs':>9} {'module µs':>10} {'added µs':>9} {'p99 µs':>8}"
        f" {'deferred µs':>12}"
    )
    worst = 0.0
    for row in request["shapes"]:
        worst = max(worst, row["added_median_us"])
        print(
            f"  {row['shape']:36} {row['empty_handler_median_us']:9.3f}"
            f" {row['module_handler_median_us']:10.3f} {row['added_median_us']:9.3f}"
            f" {row['module_handler_p99_us']:8.3f} {row['deferred_to_shutdown_us_per_event']:12.3f}"
        )
    print(
        f"  worst added median: {worst:.3f} µs (target <= 20 µs): {'OK' if worst <= 20 else 'MISSED'}"
    )
    print("  (deferred = normalize + redact + encode, done at shutdown after the response)")

    flush_args = ["flush", str(args.rounds), str(args.events)]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="php-hook-bench-") as tmp:
        base = Path(tmp)
        with real_collector(base) as (url, settings):
            results["up"] = run_php(php, flush_args, flush_env(url, base / "spool-up"))
            results["up"]["stored_by_collector"] = stored_count(settings)
        refused = f"http://127.0.0.1:{free_port()}"
        results["down (refused)"] = run_php(
            php, flush_args, flush_env(refused, base / "spool-down")
        )
        with unreachable_listener() as url:
            results["unreachable"] = run_php(php, flush_args, flush_env(url, base / "spool-unr"))

    print(
        f"\nShutdown flush ({args.rounds} requests x {args.events} events; connect timeout 300 ms):"
    )
    print(
        f"  {'collector':16} {'1st ms':>8} {'later median ms':>16} {'later max ms':>13}"
        f" {'after window ms':>16} {'captured':>9} {'sent':>6} {'spooled':>8} {'dropped':>8}"
    )
    lost_anywhere = False
    for name, r in results.items():
        after = r["flush_after_breaker_window_ms"]
        print(
            f"  {name:16} {r['first_flush_ms']:8.2f} {r['later_flush_median_ms']:16.3f}"
            f" {r['later_flush_max_ms']:13.3f} {'-' if after is None else f'{after:.2f}':>16}"
            f" {r['captured']:9} {r['sent']:6} {r['spooled']:8} {r['dropped']:8}"
        )
        accounted = r["sent"] + r["spooled"] + r["rejected"]
        if accounted < r["captured"] or r["dropped"]:
            lost_anywhere = True
    up = results["up"]
    print(f"  up: the collector stored {up['stored_by_collector']} of {up['captured']} events")
    print(f"  nothing lost: {'OK' if not lost_anywhere else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
