"""Daily and weekly alert digests: what fired, resolved and is still open, sent at a fixed time.

A digest covers the period that ended at its last scheduled time (``at`` every day, or on ``day``
for a weekly one, in its own time zone, so 08:00 stays 08:00 across daylight saving). It goes
out through the outbox (retries, delivery log, dead letter) and only once: its period is recorded
in the transaction that queues the message, so neither a restart nor a second instance sends it
again. A monitor that was down at the scheduled time sends the last period when it is back, never
a backlog of older ones.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.alerting.candidates import details_for
from whmcs_monitor.alerting.config import DigestConfig
from whmcs_monitor.alerting.grouping import MAX_ALERTS_PER_MESSAGE, alert_document
from whmcs_monitor.alerting.matchers import matches_all
from whmcs_monitor.alerting.state import OPEN_STATES
from whmcs_monitor.alerting.tables import alert_digests_sent, alerts, deliveries
from whmcs_monitor.alerting.types import WEEKDAYS
from whmcs_monitor.config import Settings
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.notify import outbox
from whmcs_monitor.notify.receivers import SEVERITY_ORDER
from whmcs_monitor.notify.templates import PAYLOAD_VERSION
from whmcs_monitor.store.db import Database, dialect_insert

TOP_RULES = 10


def period(digest: DigestConfig, now: datetime) -> tuple[datetime, datetime]:
    """The last complete period at ``now``, as UTC ``(start, end)``."""
    local = now.astimezone(ZoneInfo(digest.timezone))
    end = local.replace(hour=digest.at.hour, minute=digest.at.minute, second=0, microsecond=0)
    if end > local:
        end -= timedelta(days=1)  # aware arithmetic in one zone keeps the wall-clock time
    if digest.every == "weekly":
        while WEEKDAYS[end.weekday()] != digest.day:
            end -= timedelta(days=1)
    start = end - timedelta(days=7 if digest.every == "weekly" else 1)
    return start.astimezone(UTC), end.astimezone(UTC)


def send_due(settings: Settings, db: Database, now: datetime) -> int:
    """Queue every digest whose period has ended and was not sent yet; returns how many."""
    sent = 0
    for digest in settings.alerting.digests:
        receiver = settings.alerting.receiver(digest.receiver)
        assert receiver is not None  # the config names only defined receivers
        start, end = period(digest, now)
        with db.write() as conn:
            if not _claim(conn, digest.name, end, now):
                continue
            row = outbox.outbox_row(
                receiver,
                group_key=f"digest:{digest.name}",
                reason=f"{digest.every} digest",
                payload=summarize(conn, settings, digest, start, end),
                now=now,
            )
            outbox.enqueue(conn, [row])
        sent += 1
    return sent


def _claim(conn: Connection, name: str, end: datetime, now: datetime) -> bool:
    """Record the period as sent; ``False`` if it already was (here or by another instance)."""
    inserted = conn.execute(
        dialect_insert(conn, alert_digests_sent)
        .values(name=name, period_end=end, sent_at=now)
        .on_conflict_do_nothing(index_elements=["name", "period_end"])
        .returning(alert_digests_sent.c.name)  # a row only if inserted (rowcount is not portable)
    ).first()
    return inserted is not None


def summarize(
    conn: Connection, settings: Settings, digest: DigestConfig, start: datetime, end: datetime
) -> dict[str, Any]:
    """The digest's versioned payload: the counts of the period, and the alerts open at its end
    in the shape of a notification's alerts (so a digest coalesced with other notifications
    still renders)."""
    rows = [row for row in _touching(conn, start, end) if matches_all(digest.match, row.labels)]
    fired = [r for r in rows if start <= as_utc(r.starts_at) < end]
    resolved = [r for r in rows if r.ends_at is not None and start <= as_utc(r.ends_at) < end]
    acked = [r for r in rows if r.acked_at is not None and start <= as_utc(r.acked_at) < end]
    still_open = sorted(
        (r for r in rows if r.ends_at is None or as_utc(r.ends_at) >= end),
        key=lambda r: (-_rank(r.severity), as_utc(r.starts_at)),
    )
    shown = still_open[:MAX_ALERTS_PER_MESSAGE]
    details = details_for(conn, (r.id for r in shown))
    return {
        "version": PAYLOAD_VERSION,
        "type": "alert-digest",
        "receiver": digest.receiver,
        "reason": f"{digest.every} digest",
        "status": "firing" if still_open else "resolved",
        "severity": outbox.max_severity([r.severity for r in still_open]) if still_open else "info",
        "group_labels": {"digest": digest.name},
        "alerts": [alert_document(settings, r, details.get(r.id, {})) for r in shown],
        "truncated": len(still_open) - len(shown),
        "digest": {
            "name": digest.name,
            "every": digest.every,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "fired": len(fired),
            "resolved": len(resolved),
            "acknowledged": len(acked),
            "open": len(still_open),
            "by_severity": dict(Counter(r.severity for r in fired)),
            "by_site": dict(Counter(r.site for r in fired)),
            "top_rules": [
                {"rule": rule, "fired": count}
                for rule, count in Counter(r.rule for r in fired).most_common(TOP_RULES)
            ],
            "median_seconds_to_acknowledge": _median(
                [as_utc(r.acked_at) - as_utc(r.starts_at) for r in acked]
            ),
            "median_seconds_to_resolve": _median(
                [as_utc(r.ends_at) - as_utc(r.starts_at) for r in resolved]
            ),
            "notifications": _deliveries(conn, start, end),
        },
    }


def _touching(conn: Connection, start: datetime, end: datetime) -> Sequence[sa.Row[Any]]:
    """Alerts open at any moment of the period."""
    columns = [column for column in alerts.c if column.name != "details"]
    return conn.execute(
        sa.select(*columns)
        .where(
            alerts.c.starts_at < end,
            sa.or_(
                alerts.c.ends_at.is_(None),
                alerts.c.ends_at >= start,
                alerts.c.state.in_(OPEN_STATES),
            ),
        )
        .order_by(alerts.c.id)
    ).all()


def _deliveries(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    rows = conn.execute(
        sa.select(deliveries.c.outcome, sa.func.count())
        .where(deliveries.c.at >= start, deliveries.c.at < end)
        .group_by(deliveries.c.outcome)
    )
    return {outcome: int(count) for outcome, count in rows}


def _median(spans: Sequence[timedelta]) -> int | None:
    return int(statistics.median(s.total_seconds() for s in spans)) if spans else None


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else 0
