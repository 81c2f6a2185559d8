"""alerting: change queue, group members and due times (a pass reads only what changed); digests sent

Revision ID: 0102_incremental_pipeline
Revises: 0101_alerting
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0102_incremental_pipeline"
down_revision = "0101_alerting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_changes")),
    )
    op.create_table(
        "alert_group_members",
        sa.Column("group_key", sa.String(length=32), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("group_key", "alert_id", name=op.f("pk_alert_group_members")),
    )
    op.create_index(
        op.f("ix_alert_group_members_alert_id"), "alert_group_members", ["alert_id"], unique=False
    )
    op.create_table(
        "alert_digests_sent",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "period_end", name=op.f("pk_alert_digests_sent")),
    )
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_alert_groups_next_due_at"), ["next_due_at"])
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_escalation_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_alerts_next_escalation_at"), ["next_escalation_at"])


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_next_escalation_at"))
        batch_op.drop_column("next_escalation_at")
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_groups_next_due_at"))
        batch_op.drop_column("next_due_at")
    op.drop_table("alert_digests_sent")
    op.drop_index(op.f("ix_alert_group_members_alert_id"), table_name="alert_group_members")
    op.drop_table("alert_group_members")
    op.drop_table("alert_changes")
