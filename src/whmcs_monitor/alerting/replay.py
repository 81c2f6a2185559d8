"""``rules test``: replay stored events through a rule set on a scratch database and a simulated clock."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.alerting.evaluation import Evaluator
from whmcs_monitor.alerting.rules import RuleSet
from whmcs_monitor.alerting.tables import alert_history, alerts
from whmcs_monitor.lib.timeutil import as_utc, parse_rfc3339
from whmcs_monitor.store.db import Database


@dataclass(frozen=True)
class Outcome:
    at: datetime
    action: str
    rule: str
    site: str
    severity: str
    summary: str

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


def _advance(
    conn: Connection, evaluator: Evaluator, clock: datetime, to: datetime, sites: Sequence[str]
) -> datetime:
    """Tick at each due time after ``clock`` and before ``to``, then at ``to``; returns ``to``."""
    while (due := evaluator.next_due(conn, clock, to)) is not None and due < to:
        evaluator.tick(conn, due, sites=sites)
        clock = due
    evaluator.tick(conn, to, sites=sites)
    return to


def replay(
    events: Sequence[dict[str, Any]],
    rules: RuleSet,
    *,
    resolve_timeout: timedelta,
    until: datetime,
    sites: Sequence[str] = (),
) -> list[Outcome]:
    """What the rules would have done: every fire and resolve, in time order.

    Events are fed oldest first. Before each one the clock advances to its time, stopping at
    every instant something falls due on the way (:meth:`Evaluator.next_due`), so absences,
    count windows and resolve timeouts happen when they would have live, not at the next event.
    """
    evaluator = Evaluator(rules, resolve_timeout=resolve_timeout)
    ordered = sorted(events, key=lambda e: (e["occurred_at"], e.get("seq", 0)))
    with tempfile.TemporaryDirectory(prefix="whmcs-monitor-replay-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'replay.db'}")
        try:
            db.migrate()
            with db.write() as conn:
                clock = parse_rfc3339(ordered[0]["occurred_at"]) if ordered else until
                evaluator.tick(conn, clock, sites=sites)  # starts the absence clocks
                for event in ordered:
                    clock = _advance(
                        conn, evaluator, clock, parse_rfc3339(event["occurred_at"]), sites
                    )
                    evaluator.on_events(conn, [event])
                _advance(conn, evaluator, clock, until, sites)
                rows = conn.execute(
                    sa.select(
                        alert_history.c.at,
                        alert_history.c.action,
                        alerts.c.rule,
                        alerts.c.site,
                        alerts.c.severity,
                        alerts.c.summary,
                        alert_history.c.detail,
                    )
                    .join(alerts, alerts.c.id == alert_history.c.alert_id)
                    .order_by(alert_history.c.at, alert_history.c.id)
                ).all()
        finally:
            db.dispose()
    return [
        Outcome(
            as_utc(r.at),
            r.action,
            r.rule,
            r.site,
            r.severity,
            r.summary if r.action == "fired" else f"{r.summary} — {r.detail}",
        )
        for r in rows
    ]
