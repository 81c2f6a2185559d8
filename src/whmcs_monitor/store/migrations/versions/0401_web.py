"""dashboard sessions, API tokens, login throttle state and indexes for the event pages

Revision ID: 0401_web
Revises: 0002_metrics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0401_web"
down_revision = "0002_metrics"
branch_labels = ("web",)
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Utc = sa.DateTime(timezone=True)


_EVENT_INDEXES = {
    "ix_events_kind_seq": ["kind", "seq"],
    "ix_events_category_seq": ["category", "seq"],
    "ix_events_site_seq": ["site", "seq"],
    "ix_events_category_severity_occurred_at": ["category", "severity", "occurred_at"],
}


def upgrade() -> None:
    for name, columns in _EVENT_INDEXES.items():
        op.create_index(name, "events", columns)
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("user_id", _BigId, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _Utc, nullable=False),
        sa.Column("last_seen_at", _Utc, nullable=False),
        sa.Column("expires_at", _Utc, nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_web_sessions_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", _BigId, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("created_at", _Utc, nullable=False),
        sa.Column("last_used_at", _Utc, nullable=True),
        sa.Column("revoked_at", _Utc, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", _Utc, nullable=False),
        sa.Column("locked_until", _Utc, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttle"),
    )


def downgrade() -> None:
    for name in _EVENT_INDEXES:
        op.drop_index(name, table_name="events")
    op.drop_table("login_throttle")
    op.drop_table("api_tokens")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
