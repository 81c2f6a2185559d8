"""The unit the notification pipeline passes between stages: an alert and why it was held back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from whmcs_monitor.alerting.state import OPEN_STATES
from whmcs_monitor.alerting.tables import alerts


@dataclass(slots=True)
class Candidate:
    row: Row[Any]
    suppressed: str | None = None

    @property
    def id(self) -> int:
        return int(self.row.id)

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.row.labels)

    @property
    def resolved(self) -> bool:
        return bool(self.row.state == "resolved")

    @property
    def owes_resolved_notice(self) -> bool:
        """Notified while firing and resolved since: the resolved notice must go out, muted or not."""
        return self.resolved and self.row.notified_at is not None


# Every stage has this signature: candidates in, candidates still to send out. A stage that holds
# one back sets its ``suppressed`` reason; the pipeline stores that reason on the alert.
Stage = Callable[[Sequence[Candidate]], list[Candidate]]


def load(conn: Connection) -> list[Candidate]:
    """Open alerts, plus resolved ones whose resolved notice is still owed."""
    owed = sa.and_(
        alerts.c.state == "resolved",
        sa.or_(
            sa.and_(alerts.c.notified_at.is_not(None), alerts.c.resolved_notified_at.is_(None)),
            alerts.c.escalation_step > 0,
        ),
    )
    rows = conn.execute(
        sa.select(alerts).where(sa.or_(alerts.c.state.in_(OPEN_STATES), owed)).order_by(alerts.c.id)
    )
    return [Candidate(row) for row in rows]
