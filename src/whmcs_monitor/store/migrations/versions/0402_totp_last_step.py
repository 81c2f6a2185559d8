"""users.totp_last_step: the last TOTP time step accepted, so a code works once (RFC 6238 §5.2)

Revision ID: 0402_totp_last_step
Revises: 0401_web
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0402_totp_last_step"
down_revision = "0401_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
