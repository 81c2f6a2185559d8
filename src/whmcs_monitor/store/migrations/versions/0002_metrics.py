"""metric series, samples and rollups

Revision ID: 0002_metrics
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_metrics"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "metric_rollups",
        sa.Column("series", sa.String(length=32), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("series", "resolution", "bucket", name=op.f("pk_metric_rollups")),
    )
    op.create_table(
        "metric_samples",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("series", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_samples")),
    )
    with op.batch_alter_table("metric_samples", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_metric_samples_series_ts"), ["series", "ts"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_metric_samples_ts"), ["ts"], unique=False)

    op.create_table(
        "metric_series",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_series")),
    )
    with op.batch_alter_table("metric_series", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_metric_series_name_site"), ["name", "site"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("metric_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metric_series_name_site"))

    op.drop_table("metric_series")
    with op.batch_alter_table("metric_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metric_samples_ts"))
        batch_op.drop_index(batch_op.f("ix_metric_samples_series_ts"))

    op.drop_table("metric_samples")
    op.drop_table("metric_rollups")
