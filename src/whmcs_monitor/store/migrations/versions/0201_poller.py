"""poller cursors and state

Revision ID: 0201_poller
Revises: 0002_metrics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0201_poller"
down_revision = "0002_metrics"
branch_labels = ("poller",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poller_cursors",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("position", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", "feed", name=op.f("pk_poller_cursors")),
    )
    op.create_table(
        "poller_state",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column(
            "value", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", "key", name=op.f("pk_poller_state")),
    )


def downgrade() -> None:
    op.drop_table("poller_state")
    op.drop_table("poller_cursors")
