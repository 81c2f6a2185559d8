"""The notification pipeline, assembled in one place: inhibit → silence → maintenance → acknowledged → group/dispatch → escalate.

Each stage has the same signature (candidates in, candidates still to send out); the reason a
stage holds an alert back is stored on the alert and in its history. Which alerts a pass looks
at is :mod:`~whmcs_monitor.alerting.scope`'s decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from sqlalchemy.engine import Connection

from whmcs_monitor.alerting import routing, scope
from whmcs_monitor.alerting.candidates import Candidate, Stage
from whmcs_monitor.alerting.escalation import escalate, pause
from whmcs_monitor.alerting.grouping import flush
from whmcs_monitor.alerting.inhibit import Inhibitor
from whmcs_monitor.alerting.maintenance import Maintenance
from whmcs_monitor.alerting.mute import Acknowledged, mute_stage
from whmcs_monitor.alerting.routing import Route
from whmcs_monitor.alerting.scope import Mutes
from whmcs_monitor.alerting.silence import Silencer
from whmcs_monitor.alerting.state import set_suppressed
from whmcs_monitor.config import Settings
from whmcs_monitor.store.db import LOCK_ALERT_PIPELINE, advisory_lock


def build(
    conn: Connection,
    settings: Settings,
    root: Route,
    groups: set[str] | None,
    muters: tuple[Inhibitor, Silencer, Maintenance],
    now: datetime,
) -> list[Stage]:
    def dispatch(passed: Sequence[Candidate]) -> list[Candidate]:
        flush(conn, settings, root, passed, now, groups)
        escalate(conn, settings, passed, now)
        return list(passed)

    return [*(mute_stage(muter) for muter in muters), mute_stage(Acknowledged()), dispatch]


def run(conn: Connection, settings: Settings, now: datetime, seen: Mutes | None) -> Mutes:
    """One pass; returns the mutes it saw, which the caller passes to its next pass once this
    one has committed (``seen``: ``None`` on the first pass of a process, which is a full one).

    Passes are serialized across instances: two concurrent passes would both find a group due
    and notify it twice.
    """
    advisory_lock(conn, LOCK_ALERT_PIPELINE)
    config = settings.alerting
    root = routing.build(config.route)
    silencer = Silencer(conn, now)
    maintenance = Maintenance(config.maintenance_windows, now)
    mutes = (
        frozenset(row.id for row, _ in silencer.active),
        frozenset(window.name for window, _ in maintenance.active),
    )
    changed = scope.take_changes(conn)
    if scope.full_pass_due(conn, seen, mutes, changed, config.inhibit_rules):
        work = scope.full(conn, root)
    else:
        work = scope.incremental(conn, root, changed, now)
    passed: list[Candidate] = list(work.candidates)
    muters = (
        Inhibitor(config.inhibit_rules, partial(work.everything, conn)),
        silencer,
        maintenance,
    )
    for stage in build(conn, settings, root, work.groups, muters, now):
        passed = stage(passed)
    for candidate in work.candidates:
        if not candidate.resolved:
            set_suppressed(conn, candidate.row, candidate.suppressed, at=now)
    pause(conn, [c for c in work.candidates if c.suppressed is not None])
    return mutes
