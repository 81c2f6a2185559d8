"""Escalation: while an alert stays firing and unacknowledged, notify further receivers step by step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Connection

from whmcs_monitor.alerting.candidates import Candidate
from whmcs_monitor.alerting.grouping import payload
from whmcs_monitor.alerting.matchers import matches_all
from whmcs_monitor.alerting.state import record
from whmcs_monitor.alerting.tables import alerts
from whmcs_monitor.config import Settings
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.notify import outbox


def escalate(
    conn: Connection, settings: Settings, candidates: Sequence[Candidate], now: datetime
) -> None:
    """Take each due step of the first matching policy; send resolved notices to everyone escalated to.

    Candidates are what the mute stages let through, so an acknowledged, silenced or inhibited
    alert does not escalate.
    """
    for candidate in candidates:
        row = candidate.row
        if candidate.resolved:
            _notify_resolved(conn, settings, candidate, now)
            continue
        policy = next(
            (p for p in settings.alerting.escalations if matches_all(p.match, candidate.labels)),
            None,
        )
        if policy is None:
            continue
        step = row.escalation_step
        reached = list(row.escalated_to)
        age = now - as_utc(row.starts_at)
        while step < len(policy.steps) and age >= policy.steps[step].after:
            target = policy.steps[step]
            receiver = settings.alerting.receiver(target.receiver)
            if receiver is not None:
                reason = f"escalation {policy.name} step {step + 1}"
                outbox.enqueue(
                    conn,
                    receiver,
                    group_key=f"esc:{row.id}",
                    reason=reason,
                    payload=payload(settings, receiver.name, {"alert": str(row.id)}, reason, [row]),
                    now=now,
                )
                record(
                    conn,
                    row.id,
                    "escalated",
                    at=now,
                    actor="escalation",
                    detail=f"{reason}: {receiver.name}",
                )
                if receiver.name not in reached:
                    reached.append(receiver.name)
            step += 1
        if step != row.escalation_step:
            conn.execute(
                alerts.update()
                .where(alerts.c.id == row.id)
                .values(
                    escalation_step=step, escalated_to=reached, notified_at=row.notified_at or now
                )
            )


def _notify_resolved(
    conn: Connection, settings: Settings, candidate: Candidate, now: datetime
) -> None:
    row = candidate.row
    if row.escalation_step == 0:
        return
    for name in row.escalated_to:
        receiver = settings.alerting.receiver(name)
        if receiver is not None:
            outbox.enqueue(
                conn,
                receiver,
                group_key=f"esc:{row.id}",
                reason="alert resolved",
                payload=payload(settings, name, {"alert": str(row.id)}, "alert resolved", [row]),
                now=now,
            )
    conn.execute(alerts.update().where(alerts.c.id == row.id).values(escalation_step=0))
