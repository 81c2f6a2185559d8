"""TLS certificate checks for any host:port, including SMTP with STARTTLS: days left, whether the
chain verifies and the hostname matches."""

from __future__ import annotations

import _ssl
import asyncio
import ssl
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from whmcs_monitor.checks.base import (
    CheckBase,
    Finding,
    ProbeContext,
    Result,
    expiry_phrase,
    ms_since,
)
from whmcs_monitor.checks.http import ssl_context
from whmcs_monitor.checks.tcp import close, open_tcp

if TYPE_CHECKING:
    from cryptography import x509

EXPIRY_STEPS = (1, 3, 7, 14, 21, 30, 60)  # one event per step crossed, not one per run
# OpenSSL's verify codes (x509_vfy.h) for the two failures whose dates say more than its text.
X509_V_ERR_CERT_NOT_YET_VALID = 9
X509_V_ERR_CERT_HAS_EXPIRED = 10


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

    async def _presented_chain(self, verify: bool) -> tuple[list[bytes], float]:
        """The certificates the server sent (DER, leaf first) and the handshake time in ms."""
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
            chain = unverified_chain(ssl_object) if ssl_object else []
            if not chain:
                raise TlsFailure("the server sent no certificate")
            return chain, ms_since(start, time.perf_counter())
        finally:
            await close(writer)

    async def probe(self, ctx: ProbeContext) -> Result:
        rejected: ssl.SSLCertVerificationError | None = None
        try:
            try:
                der_chain, elapsed = await self._presented_chain(verify=True)
            except ssl.SSLCertVerificationError as exc:
                rejected = exc
                der_chain, elapsed = await self._presented_chain(verify=False)
        except (OSError, TlsFailure, TimeoutError, ssl.SSLError) as exc:
            text = str(exc) or type(exc).__name__
            return Result("down", f"TLS handshake with {self.target} failed: {text}")
        # Imported here: cryptography adds about 9 MB to every process that loads it, and most
        # monitors never run a TLS check.
        from cryptography import x509

        chain = [x509.load_der_x509_certificate(der) for der in der_chain]
        # The chain lapses with its first certificate: an intermediate may expire before the leaf.
        soonest = min(chain, key=lambda cert: cert.not_valid_after_utc)
        not_after = soonest.not_valid_after_utc
        days_left = (not_after - ctx.now).total_seconds() / 86400
        metrics = {"days_left": round(days_left, 3)}
        if rejected is not None:
            return Result("down", rejection(rejected, chain, ctx.now), elapsed, metrics)
        if days_left < self.warn_days:
            message = f"{_which(soonest, chain)} {expiry_phrase(days_left)} ({not_after:%Y-%m-%d})"
            findings = [self._expiry_finding(days_left, not_after)]
            return Result("degraded", message, elapsed, metrics, findings)
        message = f"certificate valid for {days_left:.0f} more days"
        return Result("up", message, elapsed, metrics)

    def _expiry_finding(self, days_left: float, not_after: datetime) -> Finding:
        """One event per step crossed (21, 14, 7... days), for a certificate that verifies."""
        step = next((s for s in EXPIRY_STEPS if days_left < s), self.warn_days)
        data = {
            "host": self.server_name or self.host,
            "port": self.port,
            "days_left": int(days_left),
            "not_after": not_after.isoformat(),
        }
        return Finding("tls.certificate_expiring", f"{not_after:%Y%m%d%H%M%S}:{step}", data)


def unverified_chain(ssl_object: ssl.SSLObject) -> list[bytes]:
    """The certificates the peer presented, leaf first, as DER, whether or not they verified.

    Python 3.13 has ``SSLObject.get_unverified_chain()``; 3.11 and 3.12 have the same call, still
    private, on the ``_ssl`` object underneath (``getpeercert`` gives the leaf only).
    """
    public = getattr(ssl_object, "get_unverified_chain", None)
    if public is not None:
        return list(public())
    private: Any = getattr(ssl_object, "_sslobj")  # noqa: B009 (typeshed does not declare it)
    chain = private.get_unverified_chain() or []
    return [cert.public_bytes(_ssl.ENCODING_DER) for cert in chain]


def _which(cert: x509.Certificate, chain: list[x509.Certificate]) -> str:
    """``certificate`` for the leaf, ``intermediate 'R3'`` for another one of the chain."""
    if cert is chain[0]:
        return "certificate"
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"intermediate {str(names[0].value) if names else cert.subject.rfc4514_string()!r}"


def rejection(
    exc: ssl.SSLCertVerificationError, chain: list[x509.Certificate], now: datetime
) -> str:
    """Why the certificate does not verify, in plain words; the expiry cases with their dates."""
    if exc.verify_code == X509_V_ERR_CERT_HAS_EXPIRED:
        lapsed = min(chain, key=lambda cert: cert.not_valid_after_utc)
        days = (lapsed.not_valid_after_utc - now).total_seconds() / 86400
        expired = f"{expiry_phrase(days)} ({lapsed.not_valid_after_utc:%Y-%m-%d})"
        return f"{_which(lapsed, chain)} {expired}"
    if exc.verify_code == X509_V_ERR_CERT_NOT_YET_VALID:
        starts = chain[0].not_valid_before_utc
        return f"certificate is not valid until {starts:%Y-%m-%d %H:%M} UTC"
    return f"certificate rejected: {exc.verify_message}"
