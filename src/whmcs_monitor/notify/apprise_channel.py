"""Apprise URLs: every chat, push and SMS service apprise supports, through one channel.

An apprise URL carries its service's token, so only its scheme is ever shown (the receivers
list, ``notify test``, errors, logs). A URL apprise cannot use is refused when the config loads.
"""

from __future__ import annotations

import importlib
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from whmcs_monitor.notify.errors import DeliveryError
from whmcs_monitor.notify.message import Message

# apprise loads its hundred plug-ins at import (about 20 MB), so it is imported on first use
# rather than in every instance that never sends through it.
_FAILURE_SEVERITIES = frozenset({"critical", "error"})
_SCHEME = re.compile(r"^([a-z0-9+]+)://", re.IGNORECASE)


def _apprise() -> Any:
    return importlib.import_module("apprise")


def _scheme(url: str) -> str | None:
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def _service(url: str) -> Any:
    """apprise's object for ``url``, or a ValueError that names nothing but its scheme."""
    scheme = _scheme(url)
    if scheme is None:  # checked first: apprise would log such a URL whole
        raise ValueError("has no service scheme like slack:// or tgram:// in front")
    service = _apprise().Apprise.instantiate(url)
    if service is None:
        raise ValueError(
            f"is not a {scheme}:// URL apprise can use (an unknown service, or a part missing "
            "or wrong)"
        )
    return service


def _usable(url: SecretStr) -> SecretStr:
    _service(url.get_secret_value())
    return url


class AppriseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[Annotated[SecretStr, AfterValidator(_usable)]] = Field(min_length=1, max_length=20)


class AppriseChannel:
    """Apprise reports only success or failure, so a failure is treated as temporary."""

    def __init__(self, config: AppriseConfig) -> None:
        self.config = config

    def describe(self) -> str:
        schemes = {_scheme(u.get_secret_value()) or "(invalid URL)" for u in self.config.urls}
        return f"apprise {', '.join(sorted(schemes))}"

    def send(self, message: Message, *, delivery_id: str) -> None:
        apprise = _apprise()
        client = apprise.Apprise()
        for number, url in enumerate(self.config.urls, start=1):
            try:  # the config may have passed under another apprise version
                client.add(_service(url.get_secret_value()))
            except ValueError as exc:
                raise DeliveryError(f"apprise URL {number} {exc}", permanent=True) from None
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
