"""Host resources through psutil, and process, port and systemd checks on this machine."""

from __future__ import annotations

import os
import socket
from typing import Any

import psutil
import pytest

from support import free_port
from whmcs_monitor.checks.base import ProbeContext, Result
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.lib.timeutil import utcnow

RELAXED = {
    "cpu_pct": 100,
    "load_per_cpu": 10_000,
    "memory_pct": 100,
    "swap_pct": 100,
    "disk_pct": 100,
    "inodes_pct": 100,
}


async def run(**spec: Any) -> Result:
    check = parse_check({"name": "local", "timeout": 5, **spec})
    return await check.probe(ProbeContext(utcnow()))


async def test_the_host_check_reports_cpu_memory_and_each_mount() -> None:
    result = await run(type="host", mounts=["/"], **RELAXED)
    assert result.status == "up"
    m = result.metrics
    assert 0 <= m["cpu_pct"] <= 100
    assert 0 <= m["memory_pct"] <= 100
    assert 0 <= m["disk_pct:/"] <= 100
    assert m["disk_free_bytes:/"] > 0
    assert "load1" in m


async def test_a_disk_over_its_threshold_makes_it_degraded_with_host_disk_high() -> None:
    result = await run(type="host", mounts=["/"], **{**RELAXED, "disk_pct": 0.001})
    assert result.status == "degraded"
    [finding] = [f for f in result.findings if f.kind == "host.disk_high"]
    assert finding.data["mount"] == "/"
    assert result.message.startswith("disk / ")


async def test_a_running_process_is_up_and_a_missing_one_down() -> None:
    me = psutil.Process(os.getpid()).name()
    assert (await run(type="process", process=me)).status == "up"
    missing = await run(type="process", process="no-such-daemon-zz")
    assert missing.status == "down"
    assert missing.message == "0 no-such-daemon-zz process(es) running, expected 1+"


async def test_a_listening_port_is_found_and_a_free_one_is_not() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        up = await run(type="port", port=server.getsockname()[1])
    finally:
        server.close()
    assert up.status == "up"
    assert (await run(type="port", port=free_port())).status == "down"


async def test_systemd_without_systemctl_says_to_use_a_process_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("whmcs_monitor.checks.service.shutil.which", lambda _name: None)
    result = await run(type="systemd", unit="mariadb.service")
    assert result.message == (
        "systemctl is not available on this host, so mariadb.service cannot be checked; "
        "use a process check"
    )


async def test_systemd_answers_name_the_unit() -> None:
    result = await run(type="systemd", unit="no-such-unit-zz.service")
    assert result.status == "down"
    assert "no-such-unit-zz.service" in result.message
