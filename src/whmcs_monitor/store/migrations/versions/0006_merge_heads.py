"""merge the parts' branches into one history

Each part of whmcs-monitor started its own branch at 0002_metrics, which left six heads: a new
migration could not say which of them it follows, and ``alembic upgrade head`` failed. From here
on there is one head and every new migration follows it (tests/test_schema.py checks this).

Revision ID: 0006_merge_heads
Revises: 0005_events_seq_autoincrement, 0102_incremental_pipeline, 0201_poller, 0301_checks,
    0402_totp_last_step, 0501_files
"""

from __future__ import annotations

revision = "0006_merge_heads"
down_revision = (
    "0005_events_seq_autoincrement",
    "0102_incremental_pipeline",
    "0201_poller",
    "0301_checks",
    "0402_totp_last_step",
    "0501_files",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
