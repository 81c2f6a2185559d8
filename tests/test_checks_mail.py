"""SMTP, POP3 and IMAP checks against real local servers (aiosmtpd with STARTTLS and AUTH)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from checks_fixtures import (
    MAIL_PASSWORD,
    MAIL_USER,
    Pki,
    dripping_server,
    line_server,
    smtp_server,
)
from whmcs_monitor.checks.base import ProbeContext, Result
from whmcs_monitor.checks.registry import parse_check
from whmcs_monitor.lib.timeutil import utcnow


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


async def run(**spec: Any) -> Result:
    check = parse_check({"name": "mail", "host": "127.0.0.1", "timeout": 3, **spec})
    return await check.probe(ProbeContext(utcnow()))


async def test_smtp_with_starttls_and_auth_is_up(pki: Pki) -> None:
    with smtp_server(pki.issue("smtp", hosts=("127.0.0.1",))) as port:
        result = await run(
            type="smtp",
            port=port,
            username=MAIL_USER,
            password=MAIL_PASSWORD,
            ca_file=str(pki.ca_file),
        )
    assert result.status == "up"
    assert result.message.startswith("EHLO + STARTTLS + AUTH in ")


async def test_smtp_with_a_wrong_password_is_down_and_the_message_holds_no_secret(pki: Pki) -> None:
    with smtp_server(pki.issue("smtp2", hosts=("127.0.0.1",))) as port:
        result = await run(
            type="smtp",
            port=port,
            username=MAIL_USER,
            password="wrong-secret-xyz",
            ca_file=str(pki.ca_file),
        )
    assert result.status == "down"
    assert result.message.startswith(f"SMTP 127.0.0.1:{port}: 535")
    assert "wrong-secret-xyz" not in result.message


async def test_smtp_starttls_with_an_untrusted_certificate_is_down(pki: Pki) -> None:
    with smtp_server(pki.issue("smtp3", hosts=("127.0.0.1",), self_signed=True)) as port:
        result = await run(type="smtp", port=port)
    assert result.status == "down"
    assert "TLS certificate rejected: self-signed certificate" in result.message


async def test_pop3_login_to_the_ticket_mailbox_is_up() -> None:
    with line_server("pop3") as port:
        result = await run(
            type="pop3", port=port, tls="none", username=MAIL_USER, password=MAIL_PASSWORD
        )
    assert result.status == "up"
    assert result.message.startswith("logged in (2 message(s) waiting)")


async def test_pop3_with_a_bad_password_is_down() -> None:
    with line_server("pop3") as port:
        result = await run(type="pop3", port=port, tls="none", username=MAIL_USER, password="nope")
    assert result.status == "down"
    assert "invalid login" in result.message


async def test_imap_login_is_up_and_a_bad_one_down() -> None:
    with line_server("imap") as port:
        good = await run(
            type="imap", port=port, tls="none", username=MAIL_USER, password=MAIL_PASSWORD
        )
        bad = await run(type="imap", port=port, tls="none", username=MAIL_USER, password="nope")
    assert good.status == "up"
    assert bad.status == "down"
    assert "AUTHENTICATIONFAILED" in bad.message


def test_a_username_without_a_password_is_refused() -> None:
    with pytest.raises(ValueError, match="give both username and password, or neither"):
        parse_check({"type": "smtp", "name": "m", "host": "x", "username": "a"})


async def test_a_mail_server_that_is_not_there_is_down() -> None:
    result = await run(type="pop3", port=1, tls="none")
    assert result.status == "down"
    assert result.message.startswith("POP3 127.0.0.1:1: ")


@pytest.mark.parametrize("protocol", ["smtp", "pop3", "imap"])
async def test_a_server_that_drips_bytes_is_down_when_the_timeout_runs_out(protocol: str) -> None:
    """Each byte arrives before the socket timeout, so only a deadline on the whole session
    ends it; without one the probe's thread stayed blocked for good."""
    with dripping_server() as port:
        started = time.monotonic()
        async with asyncio.timeout(5):
            result = await run(type=protocol, port=port, tls="none", timeout=1)
    assert result.status == "down"
    assert result.message == f"{protocol.upper()} 127.0.0.1:{port}: no complete answer within 0.9s"
    assert time.monotonic() - started < 2.5
