"""Native SMTP e-mail: plain, STARTTLS or implicit TLS, with optional login."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from whmcs_monitor.notify.errors import DeliveryError
from whmcs_monitor.notify.message import Message, one_line


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1, max_length=50)
    ca_file: Path | None = None
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)


class EmailChannel:
    """SMTP answers are classified the SMTP way: 4xx is temporary, 5xx permanent."""

    def __init__(self, config: EmailConfig) -> None:
        self.config = config

    def describe(self) -> str:
        return f"smtp {self.config.host}:{self.config.port}"

    def _tls(self) -> ssl.SSLContext:
        ca = str(self.config.ca_file) if self.config.ca_file else None
        return ssl.create_default_context(cafile=ca)

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        if cfg.security == "tls":
            return smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=self._tls()
            )
        client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        if cfg.security == "starttls":
            client.starttls(context=self._tls())
        return client

    def _build(self, message: Message, delivery_id: str) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = one_line(message.title)  # not every Message comes from render()
        mail["From"] = self.config.sender
        mail["To"] = ", ".join(self.config.to)
        mail["X-WHMCS-Monitor-Delivery"] = delivery_id
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: Message, *, delivery_id: str) -> None:
        cfg = self.config
        try:
            with self._connect() as client:
                if cfg.username and cfg.password is not None:
                    client.login(cfg.username, cfg.password.get_secret_value())
                client.send_message(self._build(message, delivery_id))
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{self.describe()} refused the login for {cfg.username} ({exc.smtp_code})",
                permanent=True,
                status=exc.smtp_code,
            ) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError(
                f"{self.describe()} refused every recipient", permanent=True
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"{self.describe()} answered {exc.smtp_code}",
                permanent=exc.smtp_code >= 500,
                status=exc.smtp_code,
            ) from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise DeliveryError(
                f"{self.describe()}: {type(exc).__name__}", permanent=False
            ) from None
