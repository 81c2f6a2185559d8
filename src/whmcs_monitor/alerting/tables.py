"""The alerting and notification tables, added to the store's one ``metadata``."""

from __future__ import annotations

import sqlalchemy as sa

from whmcs_monitor.store.tables import BigId, Json, UtcDateTime, metadata

# One row per firing episode; a fingerprint has at most one row that is not resolved.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(32), nullable=False),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # firing | acknowledged | resolved
    sa.Column("labels", Json, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("details", Json, nullable=False),  # subjects, key fields, last event
    sa.Column("event_count", sa.Integer, nullable=False),
    sa.Column("starts_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("ends_at", UtcDateTime, nullable=True),
    sa.Column("acked_by", sa.String(128), nullable=True),
    sa.Column("acked_at", UtcDateTime, nullable=True),
    sa.Column("suppressed", sa.Text, nullable=True),  # why the pipeline holds it back, if it does
    sa.Column("notified_at", UtcDateTime, nullable=True),
    sa.Column("resolved_notified_at", UtcDateTime, nullable=True),
    sa.Column("escalation_step", sa.Integer, nullable=False, server_default="0"),
    sa.Column("escalated_to", Json, nullable=False),
    sa.Column("next_escalation_at", UtcDateTime, nullable=True),  # the next due escalation step
    sa.Index(None, "fingerprint", "state"),
    sa.Index(None, "state", "starts_at"),
    sa.Index(None, "next_escalation_at"),
)

# Alerts whose state changed since the notification pipeline last looked at them: its queue.
alert_changes = sa.Table(
    "alert_changes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.BigInteger, nullable=False),
)

alert_history = sa.Table(
    "alert_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.BigInteger, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index(None, "alert_id", "id"),
)

# Per rule and group: matching event times (count windows) and marks (absence, metric holds).
rule_hits = sa.Table(
    "rule_hits",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("group_key", sa.String(32), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index(None, "rule", "group_key", "at"),
    sa.Index(None, "at"),
)

rule_marks = sa.Table(
    "rule_marks",
    metadata,
    sa.Column("rule", sa.String(128), primary_key=True),
    sa.Column("group_key", sa.String(32), primary_key=True),
    sa.Column("labels", Json, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("matchers", Json, nullable=False),
    sa.Column("starts_at", UtcDateTime, nullable=False),
    sa.Column("ends_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index(None, "ends_at"),
)

alert_groups = sa.Table(
    "alert_groups",
    metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("receiver", sa.String(64), nullable=False),
    sa.Column("labels", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_sent_at", UtcDateTime, nullable=True),
    sa.Column("last_sent_firing", Json, nullable=False),  # alert ids in the last notification
    sa.Column("next_due_at", UtcDateTime, nullable=True),  # when its timers next need a decision
    sa.Index(None, "next_due_at"),
)

# Which groups an alert belongs to (its labels and the routes decide; both are fixed per alert).
alert_group_members = sa.Table(
    "alert_group_members",
    metadata,
    sa.Column("group_key", sa.String(32), primary_key=True),
    sa.Column("alert_id", sa.BigInteger, primary_key=True),
    sa.Index(None, "alert_id"),
)

# Which digest periods went out: one row per digest and period, so it is sent once, by one instance.
alert_digests_sent = sa.Table(
    "alert_digests_sent",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("period_end", UtcDateTime, primary_key=True),
    sa.Column("sent_at", UtcDateTime, nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("receiver", sa.String(64), nullable=False),
    sa.Column("group_key", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | sending | delivered | dead
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    sa.Column("delivered_at", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index(None, "state", "next_attempt_at"),
    sa.Index(None, "receiver", "state"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("receiver", sa.String(64), nullable=False),
    sa.Column("notification_ids", Json, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # delivered | retry | dead
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Index(None, "receiver", "at"),
)
