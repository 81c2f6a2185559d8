"""The poller's own state in the monitor's store: one cursor per site and feed, plus small state.

``poller_cursors`` holds where each feed (a WHMCS table read incrementally) stopped, written in
the same transaction as the events derived from the rows it covers, so a crash or an outage can
neither skip nor repeat a row. ``poller_state`` keeps per-site facts between cycles (an ongoing
outage, the last maintenance-mode value, admin roles, order statuses seen).
"""

from __future__ import annotations

import sqlalchemy as sa

from whmcs_monitor.store.tables import Json, UtcDateTime, metadata

poller_cursors = sa.Table(
    "poller_cursors",
    metadata,
    sa.Column("site", sa.String(64), primary_key=True),
    sa.Column("feed", sa.String(64), primary_key=True),
    sa.Column("position", sa.String(64), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

poller_state = sa.Table(
    "poller_state",
    metadata,
    sa.Column("site", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(96), primary_key=True),
    sa.Column("value", Json, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
