"""A test notification sent straight to one receiver, bypassing the outbox.

The CLI's ``notify test`` and the dashboard's Receivers page both call :func:`send_test`, so an
operator checks a receiver the same way from either place.
"""

from __future__ import annotations

from typing import Any

from whmcs_monitor.alerting.config import AlertingConfig
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.notify.templates import render


def trial_document(receiver: str, *, requested_by: str) -> dict[str, Any]:
    """A notification document of the webhook's versioned shape, marked ``type: test``."""
    return {
        "version": "1",
        "type": "test",
        "receiver": receiver,
        "reason": f"test notification requested by {requested_by}",
        "status": "firing",
        "severity": "info",
        "group_labels": {},
        "alerts": [
            {
                "id": 0,
                "status": "firing",
                "state": "firing",
                "rule": "notify-test",
                "site": "monitor",
                "severity": "info",
                "summary": "whmcs-monitor can reach this receiver",
                "labels": {},
                "key_fields": {},
                "starts_at": utcnow().isoformat(),
                "ends_at": None,
                "fingerprint": "",
                "links": {"alert": ""},
            }
        ],
        "truncated": 0,
    }


def send_test(alerting: AlertingConfig, receiver: str, *, requested_by: str) -> str:
    """Deliver a test now and return the channel's description (without secrets).

    Raises ``InputError`` for an unknown receiver and ``DeliveryError`` if the receiver refuses
    (its message never carries the receiver's secrets).
    """
    config = alerting.receiver(receiver)
    if config is None:
        known = ", ".join(r.name for r in alerting.receivers) or "none are configured"
        raise InputError(f"{receiver!r} is not a receiver ({known})", status=404, field="receiver")
    document = trial_document(receiver, requested_by=requested_by)
    channel = config.channel()
    channel.send(render(config, [document]), delivery_id="test")
    return channel.describe()
