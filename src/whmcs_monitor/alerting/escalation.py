"""Escalation: while an alert stays firing and unacknowledged, notify further receivers step by step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from whmcs_monitor.alerting.candidates import Candidate, details_for
from whmcs_monitor.alerting.config import EscalationPolicy
from whmcs_monitor.alerting.grouping import payload
from whmcs_monitor.alerting.matchers import matches_all
from whmcs_monitor.alerting.state import mark_changed, record
from whmcs_monitor.alerting.tables import alerts
from whmcs_monitor.config import Settings
from whmcs_monitor.lib.timeutil import as_utc, as_utc_or_none
from whmcs_monitor.notify import outbox
from whmcs_monitor.notify.receivers import ReceiverConfig


def escalate(
    conn: Connection, settings: Settings, candidates: Sequence[Candidate], now: datetime
) -> None:
    """Take each due step of the first matching policy; send resolved notices to everyone escalated to.

    Candidates are what the mute stages let through, so an acknowledged, silenced or inhibited
    alert does not escalate. Each alert keeps the time of its next step, so that a pass reads
    it again then.
    """
    for candidate in candidates:
        if candidate.resolved:
            _notify_resolved(conn, settings, candidate, now)
            continue
        policy = next(
            (p for p in settings.alerting.escalations if matches_all(p.match, candidate.labels)),
            None,
        )
        _advance(conn, settings, candidate.row, policy, now)


def _advance(
    conn: Connection,
    settings: Settings,
    row: Any,
    policy: EscalationPolicy | None,
    now: datetime,
) -> None:
    """Take the policy's due steps, and store the step reached and when the next one is due."""
    steps = policy.steps if policy is not None else []
    step = row.escalation_step
    reached = list(row.escalated_to)
    started = as_utc(row.starts_at)
    while policy is not None and step < len(steps) and now - started >= steps[step].after:
        receiver = settings.alerting.receiver(steps[step].receiver)
        if receiver is not None:
            reason = f"escalation {policy.name} step {step + 1}"
            _enqueue(conn, settings, row, reason, receiver, now)
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
    next_at = started + steps[step].after if step < len(steps) else None
    if step != row.escalation_step or next_at != as_utc_or_none(row.next_escalation_at):
        conn.execute(
            alerts.update()
            .where(alerts.c.id == row.id)
            .values(
                escalation_step=step,
                escalated_to=reached,
                notified_at=row.notified_at or (now if step else None),
                next_escalation_at=next_at,
            )
        )


def pause(conn: Connection, muted: Sequence[Candidate]) -> None:
    """A muted alert does not escalate: drop its next step until a pass lets it through again."""
    ids = [c.id for c in muted if c.row.next_escalation_at is not None]
    if ids:
        conn.execute(alerts.update().where(alerts.c.id.in_(ids)).values(next_escalation_at=None))


def _enqueue(
    conn: Connection,
    settings: Settings,
    row: Any,
    reason: str,
    receiver: ReceiverConfig,
    now: datetime,
) -> None:
    """One message about one alert, to one receiver of its escalation."""
    message = payload(
        settings, receiver.name, {"alert": str(row.id)}, reason, [row], details_for(conn, [row.id])
    )
    outbox.enqueue(
        conn,
        [
            outbox.outbox_row(
                receiver, group_key=f"esc:{row.id}", reason=reason, payload=message, now=now
            )
        ],
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
            _enqueue(conn, settings, row, "alert resolved", receiver, now)
    conn.execute(alerts.update().where(alerts.c.id == row.id).values(escalation_step=0))
    mark_changed(conn, [row.id])  # nothing more is owed: it leaves its groups
