"""Render queued notification payloads into a :class:`Message` with the Jinja2 templates.

One template per format: ``text.j2`` (plain-text e-mail and apprise), ``html.j2`` (HTML e-mail);
the webhook carries the payload itself as its versioned JSON document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jinja2

from whmcs_monitor.notify.message import Message, one_line
from whmcs_monitor.notify.outbox import max_severity
from whmcs_monitor.notify.receivers import ReceiverConfig

PAYLOAD_VERSION = "1"

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("whmcs_monitor.notify", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates ship with the package: no stat() per notification
)


def _title(payloads: Sequence[dict[str, Any]]) -> str:
    if len(payloads) > 1:
        count = sum(len(p["alerts"]) for p in payloads)
        return f"[digest] {len(payloads)} notifications, {count} alert(s)"
    p = payloads[0]
    if p.get("type") == "alert-digest":
        d = p["digest"]
        return (
            f"[digest] {d['name']}: {d['fired']} fired, {d['resolved']} resolved, "
            f"{d['open']} open ({d['from'][:16]} to {d['to'][:16]} UTC)"
        )
    firing = [a for a in p["alerts"] if a["status"] != "resolved"]
    status = "RESOLVED" if not firing else p["severity"].upper()
    head = p["alerts"][0]
    more = f" (+{len(p['alerts']) - 1} more)" if len(p["alerts"]) > 1 else ""
    return f"[{status}] {head['site']}: {head['summary']}{more}"[:250]


def render(receiver: ReceiverConfig, payloads: Sequence[dict[str, Any]]) -> Message:
    """One message for one payload, or a digest of several (a burst coalesced into one)."""
    title = one_line(_title(payloads))
    context = {"title": title, "payloads": payloads, "receiver": receiver.name}
    document: dict[str, Any] = (
        dict(payloads[0])
        if len(payloads) == 1
        else {"version": PAYLOAD_VERSION, "type": "digest", "notifications": list(payloads)}
    )
    severities = [str(p.get("severity", "warning")) for p in payloads]
    bodies = receiver.kind != "webhook"  # the webhook sends the document, not the bodies
    return Message(
        title=title,
        text=_env.get_template("text.j2").render(context) if bodies else "",
        html=_env.get_template("html.j2").render(context) if bodies else "",
        document=document,
        severity=max_severity(severities),
    )
