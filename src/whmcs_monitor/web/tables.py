"""The dashboard's tables: browser sessions, API tokens and login throttle state."""

from __future__ import annotations

import sqlalchemy as sa

from whmcs_monitor.store.tables import BigId, UtcDateTime, events, metadata

# Indexes for the dashboard's reads of ``events`` (see bench/dashboard.py for the figures):
# a filter on one kind, category or site walks its index newest-first (``ORDER BY seq DESC``)
# and stops at the page size, instead of sorting every match; the overview's health counts
# (GROUP BY category, severity over a time window) read the covering (category, severity,
# occurred_at) index already in group order, without touching the rows or sorting.
DASHBOARD_EVENT_INDEXES = (
    sa.Index("ix_events_kind_seq", events.c.kind, events.c.seq),
    sa.Index("ix_events_category_seq", events.c.category, events.c.seq),
    sa.Index("ix_events_site_seq", events.c.site, events.c.seq),
    sa.Index(
        "ix_events_category_severity_occurred_at",
        events.c.category,
        events.c.severity,
        events.c.occurred_at,
    ),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    # sha256 of the cookie value: a copy of the database does not hand out live sessions.
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Index(None, "user_id"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_used_at", UtcDateTime, nullable=True),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
)

login_throttle = sa.Table(
    "login_throttle",
    metadata,
    # "user:<name>" or "ip:<address>": both are limited, so neither spraying one password over
    # many accounts nor hammering one account from many addresses goes unchecked.
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", UtcDateTime, nullable=False),
    sa.Column("locked_until", UtcDateTime, nullable=True),
)
