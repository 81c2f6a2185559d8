"""The notification pipeline, assembled in one place: inhibit → silence → maintenance → acknowledged → group/dispatch → escalate.

Each stage has the same signature (candidates in, candidates still to send out); the reason a
stage holds an alert back is stored on the alert and in its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Connection

from whmcs_monitor.alerting import candidates as candidate_store
from whmcs_monitor.alerting import routing
from whmcs_monitor.alerting.candidates import Candidate, Stage
from whmcs_monitor.alerting.escalation import escalate
from whmcs_monitor.alerting.grouping import flush
from whmcs_monitor.alerting.inhibit import Inhibitor
from whmcs_monitor.alerting.maintenance import Maintenance
from whmcs_monitor.alerting.mute import Acknowledged, mute_stage
from whmcs_monitor.alerting.silence import Silencer
from whmcs_monitor.alerting.state import set_suppressed
from whmcs_monitor.config import Settings


def build(
    conn: Connection, settings: Settings, candidates: Sequence[Candidate], now: datetime
) -> list[Stage]:
    config = settings.alerting
    root = routing.build(config.route)

    def dispatch(passed: Sequence[Candidate]) -> list[Candidate]:
        flush(conn, settings, root, passed, now)
        escalate(conn, settings, passed, now)
        return list(passed)

    return [
        mute_stage(Inhibitor(config.inhibit_rules, candidates)),
        mute_stage(Silencer(conn, now)),
        mute_stage(Maintenance(config.maintenance_windows, now)),
        mute_stage(Acknowledged()),
        dispatch,
    ]


def run(conn: Connection, settings: Settings, now: datetime) -> list[Candidate]:
    """One pass over every open alert (and every owed resolved notice); returns what passed."""
    candidates = candidate_store.load(conn)
    passed: list[Candidate] = list(candidates)
    for stage in build(conn, settings, candidates, now):
        passed = stage(passed)
    for candidate in candidates:
        if not candidate.resolved:
            set_suppressed(conn, candidate.row, candidate.suppressed, at=now)
    return passed
