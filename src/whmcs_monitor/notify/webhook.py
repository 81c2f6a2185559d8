"""The signed generic webhook channel: the versioned JSON document, signed with HMAC-SHA256."""

from __future__ import annotations

import json
import time

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from whmcs_monitor.lib.signing import sign
from whmcs_monitor.notify.errors import DeliveryError, redact_url
from whmcs_monitor.notify.message import Message

RETRYABLE_STATUSES = frozenset({408, 425, 429})


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: SecretStr
    secret: SecretStr | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)


class WebhookChannel:
    """POST the document; headers carry the timestamp and ``sha256=`` signature (see lib.signing).

    The retry rule is Alertmanager's: 2xx succeeds, 5xx (and 408/425/429) may succeed later,
    every other answer is permanent.
    """

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        self.url = config.url.get_secret_value()

    def describe(self) -> str:
        return f"webhook {redact_url(self.url)}"

    def send(self, message: Message, *, delivery_id: str) -> None:
        body = json.dumps(message.document, separators=(",", ":"), default=str).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "whmcs-monitor",
            "X-WHMCS-Monitor-Delivery": delivery_id,
            "X-WHMCS-Monitor-Timestamp": stamp,
        }
        if self.config.secret is not None:
            secret = self.config.secret.get_secret_value().encode()
            headers["X-WHMCS-Monitor-Signature"] = sign(secret, stamp, body)
        try:
            response = httpx.post(
                self.url, content=body, headers=headers, timeout=self.config.timeout_seconds
            )
        except httpx.HTTPError as exc:
            # The exception text can quote the URL; name only its class and the redacted host.
            raise DeliveryError(
                f"{self.describe()}: {type(exc).__name__}", permanent=False
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return
        retry = status >= 500 or status in RETRYABLE_STATUSES
        raise DeliveryError(
            f"{self.describe()} answered HTTP {status}", permanent=not retry, status=status
        )
