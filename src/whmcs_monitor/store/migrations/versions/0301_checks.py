"""check state, API-defined checks and heartbeats

Revision ID: 0301_checks
Revises: 0002_metrics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0301_checks"
down_revision = "0002_metrics"
branch_labels = ("checks",)
depends_on = None

_json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "check_state",
        sa.Column("name", sa.String(length=96), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=512), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("fail_streak", sa.Integer(), nullable=False),
        sa.Column("ok_streak", sa.Integer(), nullable=False),
        sa.Column("next_run_at", _ts, nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", _ts, nullable=True),
        sa.Column("last_run_at", _ts, nullable=True),
        sa.Column("last_status", sa.String(length=12), nullable=True),
        sa.Column("last_message", sa.Text(), nullable=False),
        sa.Column("last_latency_ms", sa.Float(), nullable=True),
        sa.Column("last_metrics", _json, nullable=False),
        sa.Column("last_change_at", _ts, nullable=True),
        sa.Column("down_since", _ts, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_check_state")),
    )
    op.create_index(op.f("ix_check_state_next_run_at"), "check_state", ["next_run_at"])
    op.create_table(
        "check_definitions",
        sa.Column("name", sa.String(length=96), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("spec", _json, nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_check_definitions")),
    )
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(length=96), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("pings", sa.BigInteger(), nullable=False),
        sa.Column("last_ping_at", _ts, nullable=True),
        sa.Column("last_start_at", _ts, nullable=True),
        sa.Column("last_duration_s", sa.Float(), nullable=True),
        sa.Column("last_exit_code", sa.Integer(), nullable=True),
        sa.Column("next_due_at", _ts, nullable=True),
        sa.Column("alert_at", _ts, nullable=True),
        sa.Column("down_since", _ts, nullable=True),
        sa.Column("updated_at", _ts, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_heartbeats")),
    )
    op.create_index(op.f("ix_heartbeats_alert_at"), "heartbeats", ["alert_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_heartbeats_alert_at"), table_name="heartbeats")
    op.drop_table("heartbeats")
    op.drop_table("check_definitions")
    op.drop_index(op.f("ix_check_state_next_run_at"), table_name="check_state")
    op.drop_table("check_state")
