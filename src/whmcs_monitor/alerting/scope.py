"""The scope of a pipeline pass: every open alert (a full pass), or only what changed or is due.

An incremental pass reads the alerts queued in ``alert_changes``, the groups whose timers are due
and the alerts whose next escalation step is due, then the complete membership of every group
they belong to, so that each group is decided on all of its alerts, exactly as a full pass would
decide it. Its cost follows what changed, not how many alerts are open.

What can mute any alert (a silence or a maintenance window starting or ending, an inhibiting
alert firing or resolving) and a new routing tree (a new process, perhaps a new config) call for
a full pass instead; :func:`full_pass_due` tells which pass is due.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.alerting import candidates as candidate_store
from whmcs_monitor.alerting.candidates import Candidate
from whmcs_monitor.alerting.config import InhibitRule
from whmcs_monitor.alerting.grouping import assign
from whmcs_monitor.alerting.matchers import matches_all
from whmcs_monitor.alerting.routing import Route
from whmcs_monitor.alerting.tables import alert_changes, alert_group_members, alert_groups, alerts

# Past this many changed alerts in one pass, one full read is cheaper than following each.
FULL_PASS_ABOVE = 5000
DELETE_CHUNK = 5000  # ids per statement, well under SQLite's limit on bound parameters

Mutes = tuple[frozenset[int], frozenset[str]]  # active silence ids, active maintenance windows


@dataclass
class Scope:
    candidates: list[Candidate]
    groups: set[str] | None  # the group keys to decide; ``None``: every group

    def everything(self, conn: Connection) -> list[Candidate]:
        """Every open or owed alert (inhibition needs them all): a full scope holds them already."""
        return self.candidates if self.groups is None else candidate_store.load(conn)


def full_pass_due(
    conn: Connection,
    seen: Mutes | None,
    mutes: Mutes,
    changed: Collection[int],
    inhibit_rules: Sequence[InhibitRule],
) -> bool:
    """``seen``: the mutes of this process's last committed pass (``None`` before the first)."""
    return (
        mutes != seen
        or len(changed) > FULL_PASS_ABOVE
        or _inhibitors_changed(conn, changed, inhibit_rules)
    )


def take_changes(conn: Connection) -> set[int]:
    """The queued alert ids; the queue entries go (the pass's transaction keeps that atomic)."""
    rows = conn.execute(sa.select(alert_changes.c.id, alert_changes.c.alert_id)).all()
    taken = [row.id for row in rows]
    # By id, never "up to the largest id": on PostgreSQL a smaller id may commit after the read.
    for start in range(0, len(taken), DELETE_CHUNK):
        conn.execute(
            alert_changes.delete().where(
                alert_changes.c.id.in_(taken[start : start + DELETE_CHUNK])
            )
        )
    return {row.alert_id for row in rows}


def _inhibitors_changed(
    conn: Connection, changed: Collection[int], rules: Sequence[InhibitRule]
) -> bool:
    """Did an alert that can inhibit others fire or resolve? Its targets may be anywhere."""
    if not rules or not changed:
        return False
    rows = conn.execute(sa.select(alerts.c.labels).where(alerts.c.id.in_(sorted(changed))))
    return any(matches_all(rule.source, dict(row.labels)) for row in rows for rule in rules)


def full(conn: Connection, root: Route) -> Scope:
    """Every open or owed alert, with the group membership rebuilt from the current routes."""
    candidates = candidate_store.load(conn)
    conn.execute(alert_group_members.delete())
    _file(conn, root, candidates)
    return Scope(candidates, None)


def incremental(conn: Connection, root: Route, changed: set[int], now: datetime) -> Scope:
    changed = changed | _escalations_due(conn, now)
    filed = _memberships(conn, alert_ids=changed)
    groups = {key for key, _ in filed} | _groups_due(conn, now)
    dirty = candidate_store.load(conn, where=alerts.c.id.in_(sorted(changed)))
    filed_ids = {alert_id for _, alert_id in filed}
    groups |= _file(conn, root, [c for c in dirty if c.id not in filed_ids])
    done = changed - {c.id for c in dirty}
    if done:  # resolved with nothing more owed: they leave their groups
        conn.execute(
            alert_group_members.delete().where(alert_group_members.c.alert_id.in_(sorted(done)))
        )
    members = _members(conn, groups)
    while more := {key for key, _ in _memberships(conn, alert_ids=members)} - groups:
        groups |= more  # an alert of these groups is also in another group: decide that too
        members = _members(conn, groups)
    unrouted = [c for c in dirty if c.id not in members]  # still muted, escalated, recorded
    return Scope(sorted([*members.values(), *unrouted], key=lambda c: c.id), groups)


def _file(conn: Connection, root: Route, candidates: Sequence[Candidate]) -> set[str]:
    """Record which groups each alert belongs to; returns those groups."""
    groups = assign(root, candidates)
    rows = [
        {"group_key": key, "alert_id": candidate.id}
        for key, group in groups.items()
        for candidate in group.members
    ]
    if rows:
        conn.execute(alert_group_members.insert(), rows)
    return set(groups)


def _memberships(conn: Connection, *, alert_ids: Iterable[int]) -> set[tuple[str, int]]:
    wanted = sorted(alert_ids)
    if not wanted:
        return set()
    rows = conn.execute(
        sa.select(alert_group_members.c.group_key, alert_group_members.c.alert_id).where(
            alert_group_members.c.alert_id.in_(wanted)
        )
    )
    return {(row.group_key, row.alert_id) for row in rows}


def _members(conn: Connection, groups: set[str]) -> dict[int, Candidate]:
    if not groups:
        return {}
    member_ids = sa.select(alert_group_members.c.alert_id).where(
        alert_group_members.c.group_key.in_(sorted(groups))
    )
    return {c.id: c for c in candidate_store.load(conn, where=alerts.c.id.in_(member_ids))}


def _groups_due(conn: Connection, now: datetime) -> set[str]:
    rows = conn.execute(sa.select(alert_groups.c.key).where(alert_groups.c.next_due_at <= now))
    return {row.key for row in rows}


def _escalations_due(conn: Connection, now: datetime) -> set[int]:
    rows = conn.execute(sa.select(alerts.c.id).where(alerts.c.next_escalation_at <= now))
    return {row.id for row in rows}
