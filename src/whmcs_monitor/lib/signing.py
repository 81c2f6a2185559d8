"""Sign and verify webhook bodies with HMAC-SHA256 over ``b"<timestamp>." + body``.

The signature is sent as ``sha256=<lowercase hex>``; covering the timestamp lets the receiver
refuse replays of old requests (checking the timestamp's age is the caller's job).

Usage::

    >>> signature = sign(b"secret", 1700000000, b'{"kind":"invoice.paid"}')
    >>> verify(b"secret", 1700000000, b'{"kind":"invoice.paid"}', signature)
    True
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["PREFIX", "sign", "verify"]

PREFIX = "sha256="


def _message(timestamp: int | str, body: bytes) -> bytes:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | str):
        raise TypeError(f"timestamp must be an int or a string of digits, not {timestamp!r}")
    stamp = str(timestamp)
    if not (stamp.isascii() and stamp.isdigit()):
        raise ValueError(
            f"timestamp must be whole seconds since the epoch, like 1700000000, not {stamp!r}"
        )
    return stamp.encode("ascii") + b"." + body


def sign(secret: bytes, timestamp: int | str, body: bytes) -> str:
    """``"sha256=<hex>"``: the HMAC-SHA256 of ``b"<timestamp>." + body`` under ``secret``."""
    digest = hmac.new(secret, _message(timestamp, body), hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify(secret: bytes, timestamp: int | str, body: bytes, signature: str) -> bool:
    """True if ``signature`` is :func:`sign`'s answer for these inputs, compared in constant time.

    A signature without the ``sha256=`` prefix, with upper-case hex, or of any other shape, and
    a timestamp that is not whole seconds, are failures (``False``), never exceptions.
    """
    if not isinstance(signature, str) or not signature.startswith(PREFIX):
        return False
    try:
        expected = sign(secret, timestamp, body)
    except (TypeError, ValueError):
        return False
    # compare_digest refuses non-ASCII str, so compare bytes.
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8"))
