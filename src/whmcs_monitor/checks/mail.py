"""Mail checks: SMTP (connect, EHLO, STARTTLS, optional AUTH) and a POP3 or IMAP login to the
ticket-piping mailbox. The standard library clients run in the probe thread pool, and a
:class:`~whmcs_monitor.checks.blocking.Deadline` bounds the whole session, not only each read."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import ssl
import time
from abc import abstractmethod
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator

from whmcs_monitor.checks.base import CheckBase, ProbeContext, Result, ms_since
from whmcs_monitor.checks.blocking import Deadline, run_bounded
from whmcs_monitor.checks.http import ssl_context

MailError = (OSError, smtplib.SMTPException, poplib.error_proto, imaplib.IMAP4.error, EOFError)


class MailCheck(CheckBase):
    protocol: ClassVar[str]

    host: str
    port: int = Field(ge=1, le=65535)
    tls: Literal["none", "starttls", "implicit"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    verify_tls: bool = True
    ca_file: Path | None = None

    @model_validator(mode="after")
    def _credentials_together(self) -> MailCheck:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        return self

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def down_labels(self) -> dict[str, str]:
        return {"host": self.host}

    @property
    def context(self) -> ssl.SSLContext:
        return ssl_context(self.verify_tls, str(self.ca_file) if self.ca_file else None)

    @property
    def secret(self) -> str:
        return self.password.get_secret_value() if self.password else ""

    @abstractmethod
    def session(self, deadline: Deadline) -> str:
        """Blocking: one full session within ``deadline``; returns what was done, raises a
        ``MailError``."""

    async def probe(self, ctx: ProbeContext) -> Result:
        start = time.perf_counter()
        try:
            done = await run_bounded(self.session, self.own_timeout)
        except MailError as exc:
            return Result("down", f"{self.protocol} {self.target}: {_describe(exc)}")
        elapsed = ms_since(start, time.perf_counter())
        return Result("up", f"{done} in {elapsed:.0f} ms", elapsed)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate rejected: {exc.verify_message}"
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        return f"{exc.smtp_code} {reply.decode('utf-8', 'replace') if isinstance(reply, bytes) else reply}"
    if isinstance(exc, TimeoutError | OSError) and not str(exc):
        return "timed out"
    first = exc.args[0] if len(exc.args) == 1 else exc
    text = first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)
    return text or type(exc).__name__


class SmtpCheck(MailCheck):
    type: Literal["smtp"] = "smtp"
    protocol = "SMTP"
    down_kind = "dependency.smtp_down"
    port: int = Field(default=587, ge=1, le=65535)

    def session(self, deadline: Deadline) -> str:
        timeout = deadline.seconds
        client: smtplib.SMTP
        if self.tls == "implicit":
            client = deadline.connect(
                smtplib.SMTP_SSL, self.host, self.port, timeout=timeout, context=self.context
            )
        else:
            client = deadline.connect(smtplib.SMTP, self.host, self.port, timeout=timeout)
        with client:
            client.ehlo("whmcs-monitor")
            steps = ["EHLO"]
            if self.tls == "starttls":
                client.starttls(context=self.context)
                client.ehlo("whmcs-monitor")
                steps.append("STARTTLS")
            if self.username is not None:
                client.login(self.username, self.secret)
                steps.append("AUTH")
        return " + ".join(steps)


class Pop3Check(MailCheck):
    type: Literal["pop3"] = "pop3"
    protocol = "POP3"
    down_kind = "dependency.pop_down"
    port: int = Field(default=110, ge=1, le=65535)

    def session(self, deadline: Deadline) -> str:
        timeout = deadline.seconds
        client: poplib.POP3
        if self.tls == "implicit":
            client = deadline.connect(
                poplib.POP3_SSL, self.host, self.port, timeout=timeout, context=self.context
            )
        else:
            client = deadline.connect(poplib.POP3, self.host, self.port, timeout=timeout)
        try:
            if self.tls == "starttls":
                client.stls(context=self.context)
            if self.username is None:
                return "connected"
            client.user(self.username)
            client.pass_(self.secret)
            count, _size = client.stat()
            return f"logged in ({count} message(s) waiting)"
        finally:
            client.close()  # without QUIT: a POP3 probe must never commit deletions


class ImapCheck(MailCheck):
    type: Literal["imap"] = "imap"
    protocol = "IMAP"
    down_kind = "dependency.imap_down"
    port: int = Field(default=143, ge=1, le=65535)

    def session(self, deadline: Deadline) -> str:
        timeout = deadline.seconds
        client: imaplib.IMAP4
        if self.tls == "implicit":
            client = deadline.connect(
                imaplib.IMAP4_SSL, self.host, self.port, ssl_context=self.context, timeout=timeout
            )
        else:
            client = deadline.connect(imaplib.IMAP4, self.host, self.port, timeout=timeout)
        try:
            if self.tls == "starttls":
                client.starttls(ssl_context=self.context)
            if self.username is None:
                return "connected"
            client.login(self.username, self.secret)
            return "logged in"
        finally:
            client.logout()
