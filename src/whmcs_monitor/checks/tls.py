"""TLS certificate checks for any host:port, including SMTP with STARTTLS: days left, whether the
chain verifies and the hostname matches."""

from __future__ import annotations

import asyncio
import ssl
import time
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from whmcs_monitor.checks.base import CheckBase, Finding, ProbeContext, Result, ms_since
from whmcs_monitor.checks.http import ssl_context
from whmcs_monitor.checks.tcp import close, open_tcp

EXPIRY_STEPS = (1, 3, 7, 14, 21, 30, 60)  # one event per step crossed, not one per run


class TlsFailure(Exception):
    """The TLS endpoint could not be reached or spoke nonsense before the handshake."""


async def _smtp_reply(reader: asyncio.StreamReader) -> tuple[int, list[str]]:
    lines: list[str] = []
    while True:
        raw = await reader.readline()
        line = raw.decode("latin-1").rstrip("\r\n")
        if not line:
            raise TlsFailure("the SMTP server closed the connection")
        if len(line) < 3 or not line[:3].isdigit():
            raise TlsFailure(f"not an SMTP reply: {line[:60]!r}")
        lines.append(line[4:])
        if len(line) < 4 or line[3] != "-":
            return int(line[:3]), lines


async def smtp_starttls_prelude(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Banner, EHLO and STARTTLS, leaving the socket ready for the TLS handshake."""
    code, _ = await _smtp_reply(reader)
    if code != 220:
        raise TlsFailure(f"SMTP banner {code}, expected 220")
    writer.write(b"EHLO whmcs-monitor\r\n")
    code, extensions = await _smtp_reply(reader)
    if code != 250:
        raise TlsFailure(f"EHLO answered {code}")
    if not any(ext.upper().startswith("STARTTLS") for ext in extensions):
        raise TlsFailure("the SMTP server does not offer STARTTLS")
    writer.write(b"STARTTLS\r\n")
    code, lines = await _smtp_reply(reader)
    if code != 220:
        raise TlsFailure(f"STARTTLS answered {code} {' '.join(lines)}")


class TlsCheck(CheckBase):
    type: Literal["tls"] = "tls"
    host: str
    port: int = Field(default=443, ge=1, le=65535)
    server_name: str | None = None
    starttls: Literal["none", "smtp"] = "none"
    warn_days: int = Field(default=21, ge=1, le=365)
    ca_file: Path | None = None

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    async def _peer_certificate(self, verify: bool) -> tuple[bytes, float]:
        """The leaf certificate (DER) after a handshake, and the handshake time in ms."""
        timeout = self.timeout.total_seconds()
        reader, writer, _ = await open_tcp(self.host, self.port, timeout)
        try:
            start = time.perf_counter()
            if self.starttls == "smtp":
                async with asyncio.timeout(timeout):
                    await smtp_starttls_prelude(reader, writer)
            context = ssl_context(verify, str(self.ca_file) if self.ca_file else None)
            async with asyncio.timeout(timeout):
                await writer.start_tls(context, server_hostname=self.server_name or self.host)
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
            if not der:
                raise TlsFailure("the server sent no certificate")
            return der, ms_since(start, time.perf_counter())
        finally:
            await close(writer)

    async def probe(self, ctx: ProbeContext) -> Result:
        problem: str | None = None
        try:
            try:
                der, elapsed = await self._peer_certificate(verify=True)
            except ssl.SSLCertVerificationError as exc:
                problem = f"certificate rejected: {exc.verify_message}"
                der, elapsed = await self._peer_certificate(verify=False)
        except (OSError, TlsFailure, TimeoutError, ssl.SSLError) as exc:
            text = str(exc) or type(exc).__name__
            return Result("down", f"TLS handshake with {self.target} failed: {text}")
        # Imported here: cryptography adds about 9 MB to every process that loads it, and most
        # monitors never run a TLS check.
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        not_after = cert.not_valid_after_utc
        days_left = (not_after - ctx.now).total_seconds() / 86400
        metrics = {"days_left": round(days_left, 3)}
        findings = self._expiry_findings(days_left, not_after, problem)
        if problem:
            return Result("down", problem, elapsed, metrics, findings)
        if days_left < self.warn_days:
            message = f"certificate expires in {days_left:.1f} days ({not_after:%Y-%m-%d})"
            return Result("degraded", message, elapsed, metrics, findings)
        message = f"certificate valid for {days_left:.0f} more days"
        return Result("up", message, elapsed, metrics)

    def _expiry_findings(
        self, days_left: float, not_after: datetime, problem: str | None
    ) -> list[Finding]:
        if problem is None and days_left >= self.warn_days:
            return []
        step = next((s for s in EXPIRY_STEPS if days_left < s), "invalid")
        data = {
            "host": self.server_name or self.host,
            "port": self.port,
            "days_left": max(int(days_left), 0),
            "not_after": not_after.isoformat(),
            "problem": problem,
        }
        key = f"{not_after:%Y%m%d%H%M%S}:{step}"
        severity = "error" if problem else None
        return [Finding("tls.certificate_expiring", key, data, severity=severity)]
