"""The one error every channel raises: ``DeliveryError``, which says whether a retry can help.

Messages never hold a secret: channels build them from redacted endpoints (:func:`redact_url`)
and from the status or reason the far end gave.
"""

from __future__ import annotations

from urllib.parse import urlsplit


class DeliveryError(Exception):
    """A send failed. ``permanent`` means retrying the same message cannot succeed."""

    def __init__(self, message: str, *, permanent: bool, status: int | None = None) -> None:
        self.permanent = permanent
        self.status = status
        super().__init__(message)


def redact_url(url: str) -> str:
    """``https://hooks.example.com/T0/B1/xyz?token=1`` becomes ``https://hooks.example.com/…``.

    Webhook and chat URLs carry their credential in the path or query, so only the scheme and
    host are ever shown or stored.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…" if parts.scheme else "(URL)"
