"""file baselines and the state of log followers and file checks

Revision ID: 0501_files
Revises: 0002_metrics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0501_files"
down_revision = "0002_metrics"
branch_labels = ("files",)
depends_on = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "file_baseline",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("base_sha256", sa.String(length=64), nullable=True),
        sa.Column("base_size", sa.BigInteger(), nullable=True),
        sa.Column("base_mode", sa.Integer(), nullable=True),
        sa.Column("base_uid", sa.Integer(), nullable=True),
        sa.Column("base_gid", sa.Integer(), nullable=True),
        sa.Column("base_mtime_ns", sa.BigInteger(), nullable=True),
        sa.Column("seen_sha256", sa.String(length=64), nullable=True),
        sa.Column("seen_size", sa.BigInteger(), nullable=True),
        sa.Column("seen_mode", sa.Integer(), nullable=True),
        sa.Column("seen_uid", sa.Integer(), nullable=True),
        sa.Column("seen_gid", sa.Integer(), nullable=True),
        sa.Column("seen_mtime_ns", sa.BigInteger(), nullable=True),
        sa.Column("seen_ctime_ns", sa.BigInteger(), nullable=True),
        sa.Column("seen_ino", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("site", "path", name=op.f("pk_file_baseline")),
    )
    op.create_table(
        "files_state",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column(
            "value", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("site", "key", name=op.f("pk_files_state")),
    )


def downgrade() -> None:
    op.drop_table("files_state")
    op.drop_table("file_baseline")
