"""Apprise URLs: every chat, push and SMS service apprise supports, through one channel."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from whmcs_monitor.notify.errors import DeliveryError
from whmcs_monitor.notify.message import Message

# apprise loads its hundred plug-ins at import (about 20 MB), so it is imported on first use
# rather than in every instance that never sends through it.
_FAILURE_SEVERITIES = frozenset({"critical", "error"})


def _apprise() -> Any:
    return importlib.import_module("apprise")


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
        apprise = _apprise()
        client = apprise.Apprise()
        for url in self.config.urls:
            if not client.add(url.get_secret_value()):
                scheme = url.get_secret_value().split(":", 1)[0]
                raise DeliveryError(f"apprise does not accept the {scheme}:// URL", permanent=True)
        ok = client.notify(
            body=message.text,
            title=message.title,
            notify_type=apprise.NotifyType.FAILURE
            if message.severity in _FAILURE_SEVERITIES
            else apprise.NotifyType.WARNING,
        )
        if not ok:
            raise DeliveryError(
                f"{self.describe()}: the service refused or was unreachable", permanent=False
            )
