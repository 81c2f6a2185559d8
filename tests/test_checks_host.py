"""Host resources through psutil, and process, port and systemd checks on this machine."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta
from typing import Any

import psutil
import pytest

from checks_fixtures import FrozenClock, kinds, scheduler_for, step
from support import free_port
from whmcs_monitor.checks.base import ProbeContext, Result
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.db import Database

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


def burn_cpu(seconds: float) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


async def test_the_host_check_reports_cpu_memory_and_each_mount() -> None:
    check = parse_check({"name": "local", "type": "host", "mounts": ["/"], **RELAXED})
    first = await check.probe(ProbeContext(utcnow()))
    burn_cpu(0.3)
    now = utcnow()
    result = await check.probe(ProbeContext(now, first.metrics, now - timedelta(seconds=1)))
    assert result.status == "up"
    m = result.metrics
    assert 0 < m["cpu_pct"] <= 100  # averaged since the first run, which burnt some
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


async def test_cpu_over_its_threshold_counts_only_as_an_average_since_the_last_run() -> None:
    """host.cpu_high means the CPU stayed busy; one 0.2 s sample used to be enough to fire it."""
    check = parse_check(
        {"name": "local", "type": "host", "mounts": ["/"], **{**RELAXED, "cpu_pct": 0.001}}
    )
    first = await check.probe(ProbeContext(utcnow()))
    assert first.status == "up"  # no baseline yet: a single moment says nothing
    assert "cpu_pct" not in first.metrics
    assert first.message.startswith("CPU measured from the next run, memory ")
    burn_cpu(0.3)
    now = utcnow()
    second = await check.probe(ProbeContext(now, first.metrics, now - timedelta(seconds=1)))
    assert second.status == "degraded"
    assert [f.kind for f in second.findings] == ["host.cpu_high"]


async def test_a_host_threshold_stores_its_event_only_once_flap_control_confirms_it(
    database_url: str, db: Database
) -> None:
    clock = FrozenClock()
    spec = {"name": "host", "type": "host", "mounts": ["/"], "interval": 10, "jitter": 0}
    scheduler = scheduler_for(database_url, [{**spec, **RELAXED, "disk_pct": 0.001}], clock, db)
    await step(scheduler, clock)
    assert kinds(db) == []  # one degraded run is a blip
    await step(scheduler, clock)
    assert kinds(db) == ["check.degraded", "host.disk_high"]


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
