"""The tables of the foundation. Later stages add theirs to the same ``metadata``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from whmcs_monitor.catalog.loader import SUBJECTS

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT keys autoincrement only as INTEGER in SQLite.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")
UtcDateTime = sa.DateTime(timezone=True)

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(96), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("hook", sa.String(96), nullable=True),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    *(sa.Column(f"{subject}_id", sa.BigInteger, nullable=True) for subject in SUBJECTS),
    sa.Column("labels", Json, nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("context", Json, nullable=False),
    sa.Column("fingerprint", sa.String(32), nullable=False),
    sa.UniqueConstraint("site", "event_id"),
    # Each index costs every ingested event one more B-tree write: keep only those a query
    # reads (see migration 0003_event_indexes; the dashboard adds its own in web/tables.py).
    sa.Index(None, "occurred_at"),
    sa.Index(None, "kind", "occurred_at"),
    # Pipeline cursors and the live stream remember the seq they reached: SQLite must never hand
    # out a seq again after the newest events were deleted (migration 0005).
    sqlite_autoincrement=True,
)

pipeline_cursors = sa.Table(
    "pipeline_cursors",
    metadata,
    sa.Column("consumer", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(256), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("totp_secret", sa.String(64), nullable=True),
    # The last TOTP time step (unix time // 30) a code was accepted for: a code works once.
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_login_at", UtcDateTime, nullable=True),
)

metric_series = sa.Table(
    "metric_series",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("labels", Json, nullable=False),
    sa.Index(None, "name", "site"),
)

metric_samples = sa.Table(
    "metric_samples",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("series", sa.String(32), nullable=False),
    sa.Column("ts", UtcDateTime, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Index(None, "series", "ts"),
    sa.Index(None, "ts"),
)

metric_rollups = sa.Table(
    "metric_rollups",
    metadata,
    sa.Column("series", sa.String(32), primary_key=True),
    sa.Column("resolution", sa.Integer, primary_key=True),
    sa.Column("bucket", UtcDateTime, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("sum", sa.Float, nullable=False),
    sa.Column("min", sa.Float, nullable=False),
    sa.Column("max", sa.Float, nullable=False),
)
