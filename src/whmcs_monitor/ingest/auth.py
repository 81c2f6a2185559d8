"""Who sent this batch: the per-site HMAC signature, and throttled reporting of failures.

All authentication failures answer with one message, so that the response is no oracle for which
part (site, timestamp, signature) was wrong; the reason is kept for metrics and the security event.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from whmcs_monitor.lib.signing import verify

HEADER_SITE = "x-whmcs-monitor-site"
HEADER_TIMESTAMP = "x-whmcs-monitor-timestamp"
HEADER_SIGNATURE = "x-whmcs-monitor-signature"
AUTH_FAILED_MESSAGE = (
    "authentication failed: the site id, timestamp or signature was not accepted "
    "(check the site secret and the sender's clock)"
)


class AuthFailure(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(AUTH_FAILED_MESSAGE)


def authenticate(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, bytes],
    *,
    window_seconds: int,
    now: float | None = None,
) -> str:
    """Return the authenticated site id, or raise :class:`AuthFailure` with the reason."""
    site = headers.get(HEADER_SITE)
    stamp = headers.get(HEADER_TIMESTAMP)
    signature = headers.get(HEADER_SIGNATURE)
    if not site or not stamp or not signature:
        raise AuthFailure("missing_header")
    secret = secrets.get(site)
    if secret is None:
        raise AuthFailure("unknown_site")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:  # isdigit() alone takes '²'
        raise AuthFailure("bad_timestamp")
    # Whole seconds on both sides, so that the window is exactly ±window_seconds.
    if abs(int(time.time() if now is None else now) - int(stamp)) > window_seconds:
        raise AuthFailure("stale_timestamp")
    if not verify(secret, stamp, body, signature):
        raise AuthFailure("bad_signature")
    return site


@dataclass
class _Slot:
    last_reported: float
    suppressed: int


class FailureThrottle:
    """At most one stored security event per source address per interval, with a count of the rest.

    A flood of bad requests must not fill the store: the suppressed count rides on the next event.
    The table is bounded; the oldest addresses are forgotten first.
    """

    def __init__(self, interval_seconds: float, max_keys: int = 10_000) -> None:
        self.interval = interval_seconds
        self.max_keys = max_keys
        self._slots: dict[str, _Slot] = {}

    def admit(self, key: str, now: float | None = None) -> int | None:
        """Suppressed count to report now, or ``None`` if this failure is only counted."""
        now = time.monotonic() if now is None else now
        slot = self._slots.get(key)
        if slot is not None and now - slot.last_reported < self.interval:
            slot.suppressed += 1
            return None
        if slot is None and len(self._slots) >= self.max_keys:
            del self._slots[next(iter(self._slots))]
        suppressed = slot.suppressed if slot else 0
        self._slots[key] = _Slot(now, 0)
        return suppressed
