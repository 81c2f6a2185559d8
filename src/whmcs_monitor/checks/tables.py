"""The checks' tables: scheduling and flap state per check, checks added through the API, and
heartbeat state."""

from __future__ import annotations

import sqlalchemy as sa

from whmcs_monitor.store.tables import Json, UtcDateTime, metadata

# One row per check, whether it comes from the config or the API. The scheduler claims due rows
# (next_run_at <= now) with FOR UPDATE SKIP LOCKED, so instances sharing PostgreSQL split them.
check_state = sa.Table(
    "check_state",
    metadata,
    sa.Column("name", sa.String(96), primary_key=True),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("target", sa.String(512), nullable=False),
    sa.Column("origin", sa.String(8), nullable=False),  # config | preset | api
    sa.Column("state", sa.String(12), nullable=False),  # unknown | up | degraded | down
    sa.Column("fail_streak", sa.Integer, nullable=False),
    sa.Column("ok_streak", sa.Integer, nullable=False),
    sa.Column("next_run_at", UtcDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claimed_until", UtcDateTime, nullable=True),
    sa.Column("last_run_at", UtcDateTime, nullable=True),
    sa.Column("last_status", sa.String(12), nullable=True),
    sa.Column("last_message", sa.Text, nullable=False),
    sa.Column("last_latency_ms", sa.Float, nullable=True),
    sa.Column("last_metrics", Json, nullable=False),
    sa.Column("last_change_at", UtcDateTime, nullable=True),
    sa.Column("down_since", UtcDateTime, nullable=True),
    sa.Index(None, "next_run_at"),
)

check_definitions = sa.Table(
    "check_definitions",
    metadata,
    sa.Column("name", sa.String(96), primary_key=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("spec", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
)

heartbeats = sa.Table(
    "heartbeats",
    metadata,
    sa.Column("name", sa.String(96), primary_key=True),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("state", sa.String(8), nullable=False),  # new | up | late | down
    sa.Column("pings", sa.BigInteger, nullable=False),
    sa.Column("last_ping_at", UtcDateTime, nullable=True),
    sa.Column("last_start_at", UtcDateTime, nullable=True),
    sa.Column("last_duration_s", sa.Float, nullable=True),
    sa.Column("last_exit_code", sa.Integer, nullable=True),
    sa.Column("next_due_at", UtcDateTime, nullable=True),
    sa.Column("alert_at", UtcDateTime, nullable=True),
    sa.Column("down_since", UtcDateTime, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index(None, "alert_at"),
)
