"""Helpers for the PHP module's tests: find php, run the emulation harness, read the spool.

``require_php()`` skips a test with a clear reason when php-cli (or its curl extension) is
missing, except under ``CI=true``, where a missing php is a broken CI image and fails the test.

``StubCollector`` is a deliberately independent ingest endpoint (stdlib only) that checks the
signature the way the protocol describes it and can be told to answer with any status. Tests that
need "a collector that says 500" or "count the requests" use it; tests about what a real collector
stores use the ``collector`` fixture from tests/conftest.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import resource
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO / "whmcs" / "modules" / "addons" / "whmcs_monitor"
HARNESS_DIR = Path(__file__).resolve().parent / "harness"


def require_php() -> str:
    """The php-cli path with curl loaded; skip (or fail under CI=true) when unavailable."""
    php = shutil.which("php")
    problem = None
    if php is None:
        problem = "php-cli is not installed (apt-get install php-cli php-curl)"
    else:
        modules = subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout
        if "curl" not in modules.split():
            problem = "the php curl extension is not installed (apt-get install php-curl)"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {problem}")
        pytest.skip(problem)
    assert php is not None
    return php


def module_env(
    *, url: str, site_id: str, secret: str, spool_dir: Path, **extra: str
) -> dict[str, str]:
    """Environment for a php process running the module (config precedence: env first)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHMCS_MONITOR_")}
    env.update(
        WHMCS_MONITOR_COLLECTOR_URL=url,
        WHMCS_MONITOR_SITE_ID=site_id,
        WHMCS_MONITOR_SECRET=secret,
        WHMCS_MONITOR_SPOOL_DIR=str(spool_dir),
    )
    env.update({f"WHMCS_MONITOR_{k.upper()}": v for k, v in extra.items()})
    return env


@dataclass
class HarnessRun:
    report: dict[str, Any]
    stdout: str
    stderr: str
    error_log: str
    seconds: float


def run_harness(
    php: str,
    calls: list[dict[str, Any]],
    env: dict[str, str],
    workdir: Path,
    *,
    module_dir: Path = MODULE_DIR,
    timeout: float = 60,
    max_file_bytes: int | None = None,
) -> HarnessRun:
    """Fire ``calls`` through the emulated WHMCS in a fresh php process and wait for its end
    (its shutdown flush included).

    ``max_file_bytes`` caps the size of every file the process writes (RLIMIT_FSIZE, with
    SIGXFSZ ignored): a write past it is cut short, as on a full disk.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / f"scenario-{time.monotonic_ns()}.json"
    scenario.write_text(json.dumps({"module_dir": str(module_dir), "calls": calls}))
    error_log = workdir / "php-error.log"
    started = time.monotonic()
    proc = subprocess.run(
        [
            php,
            "-d",
            "display_errors=stderr",
            "-d",
            "error_reporting=E_ALL",
            "-d",
            f"error_log={error_log}",
            str(HARNESS_DIR / "run.php"),
            str(scenario),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=None if max_file_bytes is None else lambda: _limit_file_size(max_file_bytes),
    )
    seconds = time.monotonic() - started
    assert proc.returncode == 0, f"php exited {proc.returncode}: {proc.stderr}\n{proc.stdout}"
    first_line = proc.stdout.splitlines()[0] if proc.stdout else "{}"
    return HarnessRun(
        report=json.loads(first_line),
        stdout=proc.stdout,
        stderr=proc.stderr,
        error_log=error_log.read_text() if error_log.exists() else "",
        seconds=seconds,
    )


def _limit_file_size(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a short write instead of a killed process


def spool_events(spool_dir: Path) -> list[dict[str, Any]]:
    """Every event waiting in the spool, oldest first."""
    events = []
    for name in ("spool.replay.jsonl", "spool.jsonl"):
        path = spool_dir / name
        if path.exists():
            events += [json.loads(line) for line in path.read_text().splitlines() if line]
    return events


def all_files_text(directory: Path) -> str:
    """Every file under a directory, concatenated: for "no secret anywhere" checks."""
    if not directory.exists():
        return ""
    return "\n".join(
        p.read_text(errors="replace") for p in sorted(directory.rglob("*")) if p.is_file()
    )


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass
class StubCollector:
    """A stdlib ingest endpoint on loopback that verifies signatures and dedups by id."""

    site_id: str = "site-stub"
    secret: str = "stub-secret-Zx81"
    status: int = 202
    delay: float = 0.0  # seconds to wait before answering: a slow collector
    requests: list[dict[str, Any]] = field(default_factory=list)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_signatures: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self.stored.values())

    def start(self) -> StubCollector:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ts = self.headers.get("X-WHMCS-Monitor-Timestamp", "")
                good = hmac.compare_digest(
                    self.headers.get("X-WHMCS-Monitor-Signature", ""), sign(stub.secret, ts, body)
                )
                fresh = ts.isdigit() and abs(time.time() - int(ts)) <= 300
                site_ok = self.headers.get("X-WHMCS-Monitor-Site") == stub.site_id
                stub.requests.append({"path": self.path, "body": body, "signed": good})
                time.sleep(stub.delay)
                if not (good and fresh and site_ok):
                    stub.bad_signatures += 1
                    return self._answer(401, {"error": "bad signature"})
                if stub.status != 202:
                    return self._answer(stub.status, {"error": "configured failure"})
                events = json.loads(body)["events"]
                if any(e.get("vars", {}).get("poison") for e in events):
                    return self._answer(422, {"error": "events[0].vars.poison: refused"})
                accepted = duplicates = 0
                for event in events:
                    if event["id"] in stub.stored:
                        duplicates += 1
                    else:
                        stub.stored[event["id"]] = event
                        accepted += 1
                self._answer(202, {"accepted": accepted, "duplicates": duplicates})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
