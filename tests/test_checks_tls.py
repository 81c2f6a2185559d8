"""TLS certificate checks against local TLS servers and aiosmtpd with STARTTLS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from checks_fixtures import Pki, Reply, serve_http, smtp_server
from whmcs_monitor.checks.base import ProbeContext, Result
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.lib.timeutil import utcnow


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


async def probe_server(pki: Pki, files: Any, **spec: Any) -> Result:
    with serve_http({"/": Reply(200, "ok")}, tls=files) as server:
        port = int(server.url.rsplit(":", 1)[1])
        check = parse_check(
            {
                "type": "tls",
                "name": "cert",
                "host": "localhost",
                "port": port,
                "ca_file": str(pki.ca_file),
                "timeout": 2,
                **spec,
            }
        )
        return await check.probe(ProbeContext(utcnow()))


async def test_a_valid_certificate_is_up_with_its_days_left(pki: Pki) -> None:
    result = await probe_server(pki, pki.issue("valid", days=90))
    assert result.status == "up"
    assert 89 < result.metrics["days_left"] <= 90
    assert result.findings == []


async def test_a_certificate_expiring_soon_is_degraded_and_reported(pki: Pki) -> None:
    result = await probe_server(pki, pki.issue("soon", days=5))
    assert result.status == "degraded"
    [finding] = result.findings
    assert finding.kind == "tls.certificate_expiring"
    assert finding.data["days_left"] == 4
    assert finding.data["host"] == "localhost"
    assert finding.key.endswith(":7")  # the 7-day step: one event per step, not per run


async def test_an_expired_certificate_is_down_and_says_how_long_ago(pki: Pki) -> None:
    result = await probe_server(pki, pki.issue("expired", expired=True))
    assert result.status == "down"
    expired_on = f"{utcnow() - timedelta(days=1):%Y-%m-%d}"
    assert result.message == f"certificate expired 1 day ago ({expired_on})"
    assert result.findings == []  # not "expires in 0 days": check.down carries the message


@pytest.mark.parametrize(
    ("issue", "spec", "message"),
    [
        (
            {"hosts": ("billing.example.com",)},
            {},
            "certificate rejected: Hostname mismatch, certificate is not valid for 'localhost'.",
        ),
        ({"self_signed": True}, {}, "certificate rejected: self-signed certificate"),
        ({}, {"ca_file": None}, "certificate rejected: unable to get local issuer certificate"),
        ({"not_yet_valid": True}, {}, "certificate is not valid until "),
    ],
    ids=["wrong host", "self-signed", "untrusted chain", "not yet valid"],
)
async def test_an_invalid_certificate_is_down_with_its_own_reason_and_no_expiry_event(
    pki: Pki, issue: dict[str, Any], spec: dict[str, Any], message: str
) -> None:
    """Each of these used to be stored as tls.certificate_expiring, "expires in 89 days"."""
    result = await probe_server(pki, pki.issue("invalid", **issue), **spec)
    assert result.status == "down"
    assert result.message.startswith(message)
    assert result.findings == []
    assert result.metrics["days_left"] > 80  # the certificate was still read and measured


async def test_an_intermediate_expiring_before_the_leaf_sets_the_days_left(pki: Pki) -> None:
    intermediate = pki.intermediate("short-lived intermediate", days=5)
    result = await probe_server(pki, intermediate.issue("chained", days=90))
    assert result.status == "degraded"
    assert 4 < result.metrics["days_left"] <= 5
    expires = f"{utcnow() + timedelta(days=5):%Y-%m-%d}"
    assert (
        result.message == f"intermediate 'short-lived intermediate' expires in 4 days ({expires})"
    )
    [finding] = result.findings
    assert (finding.kind, finding.data["days_left"]) == ("tls.certificate_expiring", 4)


async def test_smtp_starttls_certificates_are_checked(pki: Pki) -> None:
    with smtp_server(pki.issue("smtp", days=10)) as port:
        check = parse_check(
            {
                "type": "tls",
                "name": "mx",
                "host": "localhost",
                "port": port,
                "starttls": "smtp",
                "ca_file": str(pki.ca_file),
                "timeout": 3,
            }
        )
        result = await check.probe(ProbeContext(utcnow()))
    assert result.status == "degraded"
    assert result.findings[0].kind == "tls.certificate_expiring"


async def test_a_port_that_does_not_speak_smtp_fails_the_starttls_prelude(pki: Pki) -> None:
    with serve_http({"/": Reply(200, "ok")}) as server:
        port = int(server.url.rsplit(":", 1)[1])
        check = parse_check(
            {
                "type": "tls",
                "name": "mx",
                "host": "127.0.0.1",
                "port": port,
                "starttls": "smtp",
                "timeout": 0.5,
            }
        )
        result = await check.probe(ProbeContext(utcnow()))
    assert result.status == "down"
    assert result.message.startswith("TLS handshake with 127.0.0.1:")


async def test_a_closed_port_is_down_with_the_reason() -> None:
    check = parse_check({"type": "tls", "name": "x", "host": "127.0.0.1", "port": 1, "timeout": 1})
    result = await check.probe(ProbeContext(utcnow()))
    assert result.status == "down"
    assert "cannot connect to 127.0.0.1:1" in result.message
