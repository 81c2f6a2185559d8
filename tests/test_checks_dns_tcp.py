"""DNS checks against a stub server on loopback, and TCP checks against real listeners."""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from typing import Any

import pytest

from checks_fixtures import (
    FrozenClock,
    dns_stub,
    kinds,
    listener_that_never_accepts,
    scheduler_for,
    step,
)
from whmcs_monitor.checks.base import ProbeContext, Result
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.checks.scheduler import Claim, run_probe
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.db import Database

RECORDS = {
    ("billing.example.com", "A"): ["192.0.2.10", "192.0.2.11"],
    ("example.com", "MX"): ["10 mail.example.com."],
    ("example.com", "TXT"): ['"v=spf1 include:_spf.example.net -all"'],
}


async def resolve(port: int, **spec: Any) -> Result:
    check = parse_check(
        {
            "type": "dns",
            "name": "dns",
            "resolvers": ["127.0.0.1"],
            "resolver_port": port,
            "timeout": 2,
            **spec,
        }
    )
    return await check.probe(ProbeContext(utcnow()))


async def test_a_name_resolving_to_the_expected_answers_is_up() -> None:
    with dns_stub(RECORDS) as port:
        result = await resolve(
            port, query="billing.example.com", expected=["192.0.2.11", "192.0.2.10"]
        )
    assert result.status == "up"
    assert result.message == "billing.example.com A = 192.0.2.10, 192.0.2.11"


async def test_an_unexpected_answer_is_down_with_a_dns_mismatch_finding() -> None:
    with dns_stub(RECORDS) as port:
        result = await resolve(port, query="billing.example.com", expected=["192.0.2.10"])
    assert result.status == "down"
    [finding] = result.findings
    assert finding.kind == "dns.mismatch"
    assert finding.data["actual"] == "192.0.2.10, 192.0.2.11"


async def test_the_same_wrong_answer_in_a_later_outage_is_stored_again(
    database_url: str, db: Database
) -> None:
    """The event id held only the answers, so a second hijack to the same address stored
    nothing, and no alert fired."""
    records = {("billing.example.com", "A"): ["192.0.2.66"]}
    clock = FrozenClock()
    with dns_stub(records) as port:
        spec = {"name": "dns", "type": "dns", "query": "billing.example.com", "timeout": 2}
        spec |= {"expected": ["192.0.2.10"], "resolvers": ["127.0.0.1"], "resolver_port": port}
        probes = [{**spec, "interval": 10, "jitter": 0, "down_after": 1}]
        scheduler = scheduler_for(database_url, probes, clock, db)
        for answer in ("192.0.2.66", "192.0.2.66", "192.0.2.10", "192.0.2.66"):
            records["billing.example.com", "A"] = [answer]
            await step(scheduler, clock)
    assert kinds(db) == ["check.down", "dns.mismatch", "check.up", "check.down", "dns.mismatch"]


async def test_contains_mode_accepts_extra_answers() -> None:
    with dns_stub(RECORDS) as port:
        result = await resolve(
            port, query="billing.example.com", expected=["192.0.2.10"], match="contains"
        )
    assert result.status == "up"


async def test_mx_and_txt_answers_compare_without_dots_or_quotes() -> None:
    with dns_stub(RECORDS) as port:
        mx = await resolve(
            port, query="example.com", record_type="MX", expected=["10 mail.example.com"]
        )
        txt = await resolve(
            port,
            query="example.com",
            record_type="TXT",
            expected=["v=spf1 include:_spf.example.net -all"],
        )
    assert (mx.status, txt.status) == ("up", "up")


async def test_a_name_that_does_not_exist_is_down() -> None:
    with dns_stub(RECORDS) as port:
        result = await resolve(port, query="gone.example.com")
    assert result.status == "down"
    assert result.message == "gone.example.com does not exist (NXDOMAIN)"


async def test_a_resolver_that_does_not_answer_is_down_within_the_timeout() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        start = time.monotonic()
        result = await resolve(silent.getsockname()[1], query="billing.example.com", timeout=0.5)
    finally:
        silent.close()
    assert result.status == "down"
    assert "within the timeout" in result.message
    assert time.monotonic() - start < 2


def test_a_resolver_must_be_an_ip_address() -> None:
    with pytest.raises(ValueError, match=r"'dns\.google' is not an IP address of a resolver"):
        parse_check({"type": "dns", "name": "d", "query": "x", "resolvers": ["dns.google"]})


async def tcp(port: int, **spec: Any) -> Result:
    check = parse_check({"type": "tcp", "name": "t", "host": "127.0.0.1", "port": port, **spec})
    return await check.probe(ProbeContext(utcnow()))


async def test_a_listening_port_is_up() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        result = await tcp(server.getsockname()[1])
    finally:
        server.close()
    assert result.status == "up"
    assert result.latency_ms is not None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"], ids=["address", "name"])
async def test_a_refused_connection_is_down_and_says_refused(host: str) -> None:
    result = await tcp(1, host=host)
    assert result.status == "down"
    assert result.message == (
        f"cannot connect to {host}:1: connection refused"
        " (nothing listens on the port, or a firewall rejects)"
    )


async def test_a_name_that_does_not_resolve_says_so() -> None:
    result = await tcp(80, host="no-such-host.invalid")
    assert result.message.startswith("cannot connect to no-such-host.invalid:80: the name does")


async def test_a_listener_that_never_accepts_times_out_with_its_own_message() -> None:
    """The probe's own timeout equalled the scheduler's, which always fired first with a bare
    "no result within the timeout"."""
    with listener_that_never_accepts() as port:
        check = parse_check({"type": "tcp", "name": "t", "host": "127.0.0.1", "port": port})
        check = check.model_copy(update={"timeout": timedelta(seconds=0.5)})
        start = time.monotonic()
        now = utcnow()
        result = await run_probe(check, Claim("t", now, {}, None), now, None)
    assert result.status == "down"
    assert result.message == (
        f"no connection to 127.0.0.1:{port} within 0.45s: timed out (filtered?)"
    )
    assert time.monotonic() - start < 1.5
