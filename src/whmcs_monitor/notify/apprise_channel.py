"""Apprise URLs: every chat, push and SMS service apprise supports, through one channel."""

from __future__ import annotations

import apprise
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from whmcs_monitor.notify.errors import DeliveryError
from whmcs_monitor.notify.message import Message

_TYPES = {"critical": apprise.NotifyType.FAILURE, "error": apprise.NotifyType.FAILURE}


class AppriseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[SecretStr] = Field(min_length=1, max_length=20)


class AppriseChannel:
    """Apprise reports only success or failure, so a failure is treated as temporary."""

    def __init__(self, config: AppriseConfig) -> None:
        self.config = config

    def describe(self) -> str:
        schemes = sorted({u.get_secret_value().split(":", 1)[0] for u in self.config.urls})
        return f"apprise {', '.join(schemes)}"

    def send(self, message: Message, *, delivery_id: str) -> None:
        client = apprise.Apprise()
        for url in self.config.urls:
            if not client.add(url.get_secret_value()):
                scheme = url.get_secret_value().split(":", 1)[0]
                raise DeliveryError(f"apprise does not accept the {scheme}:// URL", permanent=True)
        ok = client.notify(
            body=message.text,
            title=message.title,
            notify_type=_TYPES.get(message.severity, apprise.NotifyType.WARNING),
        )
        if not ok:
            raise DeliveryError(
                f"{self.describe()}: the service refused or was unreachable", permanent=False
            )
