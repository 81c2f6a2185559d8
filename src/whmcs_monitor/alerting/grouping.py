"""Grouping and dispatch: route alerts to receivers, batch them per group, decide when to notify.

The decision is :func:`dedup_reason`, a pure function that names why a group is notified now
("first notification", "alerts changed", "alerts resolved", "repeat interval elapsed") or
returns ``None``; the reason travels with the notification and shows on the alert page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.alerting.candidates import Candidate, details_for
from whmcs_monitor.alerting.links import alert_links
from whmcs_monitor.alerting.routing import Route, routes_for
from whmcs_monitor.alerting.state import mark_changed
from whmcs_monitor.alerting.tables import alert_groups, alerts
from whmcs_monitor.config import Settings
from whmcs_monitor.lib.timeutil import as_utc, as_utc_or_none
from whmcs_monitor.notify import outbox
from whmcs_monitor.notify.receivers import ReceiverConfig
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
    next_due_at: datetime | None = None


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


def next_decision(
    group: GroupState, route: Route, firing: frozenset[int], has_resolved: bool
) -> datetime | None:
    """When :func:`dedup_reason` can next answer differently with the same alerts (``None``:
    only a change of the alerts can). A pass reads a group again then, or when an alert changes."""
    if group.last_sent_at is None:
        return group.created_at + route.group_wait if firing else None
    times = []
    if firing - group.last_sent_firing or has_resolved:
        times.append(group.last_sent_at + route.group_interval)
    if firing:
        times.append(group.last_sent_at + route.repeat_interval)
    return min(times, default=None)


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


def alert_document(settings: Settings, row: Any, details: Mapping[str, Any]) -> dict[str, Any]:
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
    details: Mapping[int, Mapping[str, Any]],
) -> dict[str, Any]:
    """The versioned document a notification carries (``details`` by alert id, see
    :func:`~whmcs_monitor.alerting.candidates.details_for`)."""
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
        "alerts": [alert_document(settings, r, details.get(r.id, {})) for r in shown],
        "truncated": max(0, len(rows) - len(shown)),
    }


def _new_group(group: Group, now: datetime) -> dict[str, Any]:
    # group_wait counts from the first alert, not from when this pass happened to run.
    created = min([now, *(as_utc(c.row.starts_at) for c in group.members)])
    return {
        "key": group.key,
        "receiver": group.route.receiver,
        "labels": group.labels,
        "created_at": created,
        "last_sent_at": None,
        "last_sent_firing": [],
    }


def _known_groups(conn: Connection, keys: set[str] | None) -> dict[str, GroupState]:
    """The stored groups of this pass (``None``: all of them) in one query."""
    query = sa.select(alert_groups)
    if keys is not None:
        query = query.where(alert_groups.c.key.in_(sorted(keys)))
    return {
        row.key: GroupState(
            as_utc(row.created_at),
            as_utc_or_none(row.last_sent_at),
            frozenset(row.last_sent_firing),
            as_utc_or_none(row.next_due_at),
        )
        for row in conn.execute(query)
    }


def flush(
    conn: Connection,
    settings: Settings,
    root: Route,
    candidates: Sequence[Candidate],
    now: datetime,
    keys: set[str] | None,
) -> None:
    """Notify every group that is due, writing the pass's changes in a few statements.

    ``keys`` are the groups this pass decides (``None``: all); ``candidates`` hold every alert
    of those groups that the mute stages let through, so a group without one is gone.
    """
    groups = assign(root, candidates)
    known = _known_groups(conn, keys)
    gone = set(known) - set(groups)
    if gone:
        conn.execute(alert_groups.delete().where(alert_groups.c.key.in_(sorted(gone))))
    created: list[dict[str, Any]] = []
    due: list[tuple[Group, str, ReceiverConfig, list[Any]]] = []
    sent_groups: list[dict[str, Any]] = []
    timers: list[dict[str, Any]] = []
    notified: set[int] = set()
    resolved_notified: set[int] = set()
    for group in groups.values():
        firing = frozenset(c.id for c in group.members if not c.resolved)
        resolved = [c for c in group.members if c.owes_resolved_notice]
        current = known.get(group.key)
        if current is None:
            created.append(_new_group(group, now))
            current = GroupState(created[-1]["created_at"], None, frozenset())
        reason = dedup_reason(current, group.route, firing, bool(resolved), now)
        receiver = settings.alerting.receiver(group.route.receiver or "")
        if receiver is None:  # routed to a receiver that no longer exists: nothing to wait for
            reason = next_due = None
        elif reason is None:
            next_due = next_decision(current, group.route, firing, bool(resolved))
        else:
            sent = GroupState(current.created_at, now, firing)
            next_due = next_decision(sent, group.route, firing, False)
        if group.key not in known:  # stored as it is after this pass: one insert, no update
            created[-1]["next_due_at"] = next_due
            if reason is not None:
                created[-1].update(last_sent_at=now, last_sent_firing=sorted(firing))
        elif reason is None and next_due != current.next_due_at:
            timers.append({"k": group.key, "due": next_due})
        elif reason is not None:
            sent_groups.append({"k": group.key, "firing": sorted(firing), "due": next_due})
        if reason is None or receiver is None:
            continue
        rows = [c.row for c in group.members if not c.resolved or c.owes_resolved_notice]
        due.append((group, reason, receiver, rows))
        notified |= {c.id for c in group.members if not c.resolved and c.row.notified_at is None}
        resolved_notified |= {c.id for c in resolved}
    if created:
        conn.execute(alert_groups.insert(), created)
    details = details_for(conn, (r.id for *_, rows in due for r in rows[:MAX_ALERTS_PER_MESSAGE]))
    queued = [
        outbox.outbox_row(
            receiver,
            group_key=group.key,
            reason=reason,
            payload=payload(settings, receiver.name, group.labels, reason, rows, details),
            now=now,
        )
        for group, reason, receiver, rows in due
    ]
    outbox.enqueue(conn, queued)
    _update_groups(conn, sent_groups, timers, now)
    if notified:
        conn.execute(
            alerts.update().where(alerts.c.id.in_(sorted(notified))).values(notified_at=now)
        )
    if resolved_notified:
        conn.execute(
            alerts.update()
            .where(alerts.c.id.in_(sorted(resolved_notified)))
            .values(resolved_notified_at=now)
        )
        mark_changed(conn, resolved_notified)  # nothing more is owed: they leave their groups


def _update_groups(
    conn: Connection, sent: list[dict[str, Any]], timers: list[dict[str, Any]], now: datetime
) -> None:
    by_key = alert_groups.c.key == sa.bindparam("k")
    if sent:
        conn.execute(
            alert_groups.update()
            .where(by_key)
            .values(
                last_sent_at=now,
                last_sent_firing=sa.bindparam("firing"),
                next_due_at=sa.bindparam("due"),
            ),
            sent,
        )
    if timers:
        conn.execute(
            alert_groups.update().where(by_key).values(next_due_at=sa.bindparam("due")), timers
        )
