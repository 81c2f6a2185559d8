"""drop the events indexes no query reads: (category, occurred_at) and (site, occurred_at)

Every index on ``events`` is one more B-tree each ingested event is written to. Checked with
EXPLAIN on SQLite and PostgreSQL at a million events (bench/dashboard.py's data), no query
uses these two: filters on a category or a site read (category, seq) and (site, seq)
newest-first, a time window alone reads (occurred_at), and the overview's counts per category
read (category, severity, occurred_at) on SQLite and (occurred_at) on PostgreSQL. The sites
page, the one reader of (site, occurred_at), now takes a site's last event by ``seq``.

Revision ID: 0003_event_indexes
Revises: 0002_metrics
"""

from __future__ import annotations

from alembic import op

revision = "0003_event_indexes"
down_revision = "0002_metrics"
branch_labels = None
depends_on = None

_DROPPED = {
    "ix_events_category_occurred_at": ["category", "occurred_at"],
    "ix_events_site_occurred_at": ["site", "occurred_at"],
}


def upgrade() -> None:
    for name in _DROPPED:
        op.drop_index(name, table_name="events")


def downgrade() -> None:
    for name, columns in _DROPPED.items():
        op.create_index(name, "events", columns)
