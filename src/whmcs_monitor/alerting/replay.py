"""``rules test``: replay stored events through a rule set on a scratch database and a simulated clock."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

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


def replay(
    events: Sequence[dict[str, Any]],
    rules: RuleSet,
    *,
    resolve_timeout: timedelta,
    until: datetime,
    sites: Sequence[str] = (),
) -> list[Outcome]:
    """What the rules would have done: every fire and resolve, in time order.

    Events are fed oldest first; before each one the clock advances to its time, so absences,
    count windows and resolve timeouts behave as they would have live.
    """
    evaluator = Evaluator(rules, resolve_timeout=resolve_timeout)
    ordered = sorted(events, key=lambda e: (e["occurred_at"], e.get("seq", 0)))
    with tempfile.TemporaryDirectory(prefix="whmcs-monitor-replay-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'replay.db'}")
        try:
            db.migrate()
            with db.write() as conn:
                if ordered:
                    evaluator.tick(conn, parse_rfc3339(ordered[0]["occurred_at"]), sites=sites)
                for event in ordered:
                    evaluator.tick(conn, parse_rfc3339(event["occurred_at"]), sites=sites)
                    evaluator.on_events(conn, [event])
                evaluator.tick(conn, until, sites=sites)
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
