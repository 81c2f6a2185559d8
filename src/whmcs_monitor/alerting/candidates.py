"""The unit the notification pipeline passes between stages: an alert and why it was held back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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


def load(conn: Connection, *, where: sa.ColumnElement[bool] | None = None) -> list[Candidate]:
    """Open alerts, plus resolved ones whose resolved notice is still owed (``where`` narrows)."""
    owed = sa.and_(
        alerts.c.state == "resolved",
        sa.or_(
            sa.and_(alerts.c.notified_at.is_not(None), alerts.c.resolved_notified_at.is_(None)),
            alerts.c.escalation_step > 0,
        ),
    )
    # A pass may read many alerts: leave out ``details``, which only a sent message needs.
    columns = [column for column in alerts.c if column.name != "details"]
    query = sa.select(*columns).where(sa.or_(alerts.c.state.in_(OPEN_STATES), owed))
    if where is not None:
        query = query.where(where)
    return [Candidate(row) for row in conn.execute(query.order_by(alerts.c.id))]


def details_for(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The ``details`` of the alerts about to be sent, in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(sa.select(alerts.c.id, alerts.c.details).where(alerts.c.id.in_(wanted)))
    return {row.id: dict(row.details or {}) for row in rows}
