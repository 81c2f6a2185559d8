"""audit_head: the audit trail's newest record, anchored outside the chain

Deleting the newest audit records breaks no hash link; comparing the chain with this one-row
anchor, written in the same transaction as each record, shows the truncation. An existing
trail is anchored at its current newest record.

Revision ID: 0004_audit_head
Revises: 0003_event_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_audit_head"
down_revision = "0003_event_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.execute(
        "INSERT INTO audit_head (id, record_id, hash) "
        "SELECT 1, id, hash FROM audit_log ORDER BY id DESC LIMIT 1"
    )


def downgrade() -> None:
    op.drop_table("audit_head")
