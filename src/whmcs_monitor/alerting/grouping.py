"""Grouping and dispatch: route alerts to receivers, batch them per group, decide when to notify.

The decision is :func:`dedup_reason`, a pure function that names why a group is notified now
("first notification", "alerts changed", "alerts resolved", "repeat interval elapsed") or
returns ``None``; the reason travels with the notification and shows on the alert page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.alerting.candidates import Candidate
from whmcs_monitor.alerting.links import alert_links
from whmcs_monitor.alerting.routing import Route, routes_for
from whmcs_monitor.alerting.tables import alert_groups, alerts
from whmcs_monitor.config import Settings
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.notify import outbox
from whmcs_monitor.notify.templates import PAYLOAD_VERSION

MAX_ALERTS_PER_MESSAGE = 50


@dataclass
class Group:
    key: str
    route: Route
    labels: dict[str, str]
    members: list[Candidate] = field(default_factory=list)


@dataclass(frozen=True)
class GroupState:
    created_at: datetime
    last_sent_at: datetime | None
    last_sent_firing: frozenset[int]


def dedup_reason(
    group: GroupState, route: Route, firing: frozenset[int], has_resolved: bool, now: datetime
) -> str | None:
    """Why this group should be notified now, or ``None`` to wait."""
    if group.last_sent_at is None:
        if firing and now - group.created_at >= route.group_wait:
            return "first notification"
        # Notified under an earlier group (then muted, say): the resolved notice goes out now.
        return "alerts resolved" if has_resolved and not firing else None
    since = now - group.last_sent_at
    if firing - group.last_sent_firing and since >= route.group_interval:
        return "alerts changed"
    if has_resolved and since >= route.group_interval:
        return "alerts resolved"
    if firing and since >= route.repeat_interval:
        return "repeat interval elapsed"
    return None


def group_key(route: Route, labels: dict[str, str]) -> str:
    material = json.dumps([route.receiver, route.path, sorted(labels.items())])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def assign(root: Route, candidates: Sequence[Candidate]) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for candidate in candidates:
        labels = candidate.labels
        for route in routes_for(root, labels):
            grouped = {name: labels.get(name, "") for name in route.group_by}
            key = group_key(route, grouped)
            groups.setdefault(key, Group(key, route, grouped)).members.append(candidate)
    return groups


def alert_document(settings: Settings, row: Any) -> dict[str, Any]:
    details = dict(row.details or {})
    return {
        "id": row.id,
        "status": "resolved" if row.state == "resolved" else "firing",
        "state": row.state,
        "rule": row.rule,
        "site": row.site,
        "severity": row.severity,
        "summary": row.summary,
        "labels": dict(row.labels),
        "key_fields": dict(details.get("key_fields") or {}),
        "starts_at": as_utc(row.starts_at).isoformat(),
        "ends_at": as_utc(row.ends_at).isoformat() if row.ends_at else None,
        "fingerprint": row.fingerprint,
        "links": alert_links(settings, row.id, row.site, details.get("subjects") or {}),
    }


def payload(
    settings: Settings,
    receiver: str,
    group_labels: dict[str, str],
    reason: str,
    rows: Sequence[Any],
) -> dict[str, Any]:
    shown = list(rows)[:MAX_ALERTS_PER_MESSAGE]
    return {
        "version": PAYLOAD_VERSION,
        "type": "alerts",
        "receiver": receiver,
        "reason": reason,
        "status": "firing" if any(r.state != "resolved" for r in rows) else "resolved",
        "severity": outbox.max_severity(
            [r.severity for r in rows if r.state != "resolved"] or [r.severity for r in rows]
        ),
        "group_labels": group_labels,
        "alerts": [alert_document(settings, r) for r in shown],
        "truncated": max(0, len(rows) - len(shown)),
    }


def _state(conn: Connection, group: Group, now: datetime) -> GroupState:
    row = conn.execute(sa.select(alert_groups).where(alert_groups.c.key == group.key)).first()
    if row is None:
        # group_wait counts from the first alert, not from when this pass happened to run.
        created = min([now, *(as_utc(c.row.starts_at) for c in group.members)])
        assert group.route.receiver is not None
        conn.execute(
            alert_groups.insert().values(
                key=group.key,
                receiver=group.route.receiver,
                labels=group.labels,
                created_at=created,
                last_sent_firing=[],
            )
        )
        return GroupState(created, None, frozenset())
    last = as_utc(row.last_sent_at) if row.last_sent_at else None
    return GroupState(as_utc(row.created_at), last, frozenset(row.last_sent_firing))


def flush(
    conn: Connection,
    settings: Settings,
    root: Route,
    candidates: Sequence[Candidate],
    now: datetime,
) -> list[Candidate]:
    """Notify every group that is due; returns the candidates that went into a notification."""
    groups = assign(root, candidates)
    conn.execute(alert_groups.delete().where(alert_groups.c.key.not_in(list(groups) or [""])))
    sent: list[Candidate] = []
    for group in groups.values():
        firing = frozenset(c.id for c in group.members if not c.resolved)
        resolved = [c for c in group.members if c.owes_resolved_notice]
        current = _state(conn, group, now)
        reason = dedup_reason(current, group.route, firing, bool(resolved), now)
        if reason is None:
            continue
        receiver = settings.alerting.receiver(group.route.receiver or "")
        if receiver is None:
            continue
        rows = [c.row for c in group.members if not c.resolved or c.owes_resolved_notice]
        outbox.enqueue(
            conn,
            receiver,
            group_key=group.key,
            reason=reason,
            payload=payload(settings, receiver.name, group.labels, reason, rows),
            now=now,
        )
        conn.execute(
            alert_groups.update()
            .where(alert_groups.c.key == group.key)
            .values(last_sent_at=now, last_sent_firing=sorted(firing))
        )
        if firing:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(firing), alerts.c.notified_at.is_(None))
                .values(notified_at=now)
            )
        if resolved:
            conn.execute(
                alerts.update()
                .where(alerts.c.id.in_([c.id for c in resolved]))
                .values(resolved_notified_at=now)
            )
        sent.extend(group.members)
    return sent
