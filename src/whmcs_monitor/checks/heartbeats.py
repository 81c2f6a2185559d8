"""Heartbeats: jobs that ping ``/ping/<token>`` on a schedule (a period or a cron expression)
plus a grace time. A heartbeat is ``new`` until its first ping, ``up`` while pings arrive on
time, ``late`` after the expected time and ``down`` once the grace time has passed too (stored
as heartbeat.missed) or when the job reports a failure. Every function takes ``now`` so the
life of a heartbeat can be tested under a frozen clock."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from cronsim import CronSim
from sqlalchemy.engine import Connection

from whmcs_monitor.catalog import Catalog
from whmcs_monitor.checks.config import HeartbeatConfig
from whmcs_monitor.checks.tables import heartbeats
from whmcs_monitor.events.model import Event
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.lib.durations import format_duration
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.store.db import dialect_insert
from whmcs_monitor.store.events import insert_events
from whmcs_monitor.store.metrics import Sample, record

Signal = Literal["success", "start", "fail"]
MAX_RUN = timedelta(days=1)  # a /start older than this belongs to a run that never finished


def token_digest(token: str) -> str:
    """Heartbeats are looked up by a digest of the token, so lookup time says nothing about it."""
    return hashlib.sha256(token.encode()).hexdigest()


def by_token(configured: Sequence[HeartbeatConfig]) -> dict[str, HeartbeatConfig]:
    return {token_digest(hb.token.get_secret_value()): hb for hb in configured}


def next_expected(hb: HeartbeatConfig, after: datetime) -> datetime:
    """When the next ping is due after one at ``after``."""
    if hb.period is not None:
        return after + hb.period
    assert hb.cron is not None  # the config guarantees one of the two
    local = after.astimezone(ZoneInfo(hb.tz))
    return next(CronSim(hb.cron, local)).astimezone(UTC)


def sync(conn: Connection, configured: Sequence[HeartbeatConfig], now: datetime) -> None:
    """One row per configured heartbeat; rows of removed heartbeats go."""
    names = {hb.name for hb in configured}
    existing = {row.name for row in conn.execute(sa.select(heartbeats.c.name))}
    for hb in configured:
        if hb.name not in existing:
            _ensure_row(conn, hb, now)
    gone = existing - names
    if gone:
        conn.execute(heartbeats.delete().where(heartbeats.c.name.in_(gone)))


def _ensure_row(conn: Connection, hb: HeartbeatConfig, now: datetime) -> None:
    """Insert the ``new`` row unless it exists; two instances racing to do so both succeed."""
    conn.execute(
        dialect_insert(conn, heartbeats)
        .values(name=hb.name, site=hb.site, state="new", pings=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )


def _event(
    catalog: Catalog, hb: HeartbeatConfig, kind: str, key: str, data: dict[str, Any], at: datetime
) -> Event:
    """Every heartbeat event carries the ``heartbeat`` label, so the check.up of a recovery
    resolves the heartbeat-missed alert of the same heartbeat (it groups by that label)."""
    return build_event(
        catalog.get(kind),
        site=hb.site,
        data={"check": hb.name, "name": hb.name, "target": "heartbeat", **data},
        occurred_at=at,
        event_id=f"heartbeat:{hb.name}:{kind}:{key}",
        labels={"heartbeat": hb.name},
    )


def ping(
    conn: Connection,
    catalog: Catalog,
    hb: HeartbeatConfig,
    signal: Signal,
    now: datetime,
    *,
    exit_code: int | None = None,
) -> list[Event]:
    """Apply one ping; returns the events stored. The row lock serializes concurrent pings."""
    _ensure_row(conn, hb, now)
    row = conn.execute(
        sa.select(heartbeats).where(heartbeats.c.name == hb.name).with_for_update()
    ).one()
    if signal == "start":
        conn.execute(
            heartbeats.update()
            .where(heartbeats.c.name == hb.name)
            .values(last_start_at=now, updated_at=now)
        )
        return []
    started = as_utc(row.last_start_at) if row.last_start_at else None
    duration = (now - started).total_seconds() if started and now - started <= MAX_RUN else None
    due = next_expected(hb, now)
    failed = signal == "fail" or (exit_code is not None and exit_code != 0)
    state = "down" if failed else "up"
    events = _ping_events(catalog, hb, row, state, exit_code, now)
    conn.execute(
        heartbeats.update()
        .where(heartbeats.c.name == hb.name)
        .values(
            state=state,
            pings=row.pings + 1,
            last_ping_at=now,
            last_start_at=None,
            last_duration_s=duration if duration is not None else row.last_duration_s,
            last_exit_code=exit_code,
            next_due_at=due,
            alert_at=due + hb.grace,
            down_since=(as_utc(row.down_since) if row.down_since else now) if failed else None,
            updated_at=now,
        )
    )
    if duration is not None and not failed:
        labels = {"heartbeat": hb.name}
        record(conn, [Sample("heartbeat_duration_seconds", duration, labels, hb.site, now)])
    insert_events(conn, events)
    return events


def _ping_events(
    catalog: Catalog,
    hb: HeartbeatConfig,
    row: Any,
    state: str,
    exit_code: int | None,
    now: datetime,
) -> list[Event]:
    key = now.isoformat()
    if state == "down" and row.state != "down":
        reason = f"exit code {exit_code}" if exit_code is not None else "/fail"
        message = f"the job reported a failure ({reason})"
        return [_event(catalog, hb, "check.down", key, {"message": message}, now)]
    if state == "up" and row.state == "down":
        since = as_utc(row.down_since) if row.down_since else None
        down_for = format_duration(now - since) if since else "an unknown time"
        return [_event(catalog, hb, "check.up", key, {"down_for": down_for}, now)]
    return []


def sweep(
    conn: Connection, catalog: Catalog, configured: Sequence[HeartbeatConfig], now: datetime
) -> list[Event]:
    """Mark overdue heartbeats late, and down (heartbeat.missed) once past the grace time.

    Rows are claimed with FOR UPDATE SKIP LOCKED so that two instances sweeping at once never
    both store the miss; the event id (name + the missed deadline) makes a retry harmless too.
    """
    known = {hb.name: hb for hb in configured}
    rows = conn.execute(
        sa.select(heartbeats)
        .where(
            heartbeats.c.state.in_(["up", "late"]),
            heartbeats.c.next_due_at <= now,
            heartbeats.c.name.in_(list(known)),
        )
        .with_for_update(skip_locked=True)
    ).all()
    events = []
    for row in rows:
        hb = known[row.name]
        alert_at = as_utc(row.alert_at)
        if now < alert_at:
            if row.state != "late":
                conn.execute(
                    heartbeats.update()
                    .where(heartbeats.c.name == row.name)
                    .values(state="late", updated_at=now)
                )
            continue
        last = as_utc(row.last_ping_at).isoformat() if row.last_ping_at else "never"
        data = {"last_ping": last, "expected_by": alert_at.isoformat()}
        events.append(_event(catalog, hb, "heartbeat.missed", alert_at.isoformat(), data, now))
        conn.execute(
            heartbeats.update()
            .where(heartbeats.c.name == row.name)
            .values(state="down", down_since=alert_at, updated_at=now)
        )
    insert_events(conn, events)
    return events


def cron_line(hb: HeartbeatConfig) -> str:
    """The crontab schedule that matches the heartbeat's."""
    if hb.cron is not None:
        return hb.cron
    assert hb.period is not None
    minutes = int(hb.period.total_seconds() // 60)
    if hb.period.total_seconds() % 60 == 0 and 0 < minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    hours = minutes // 60
    if minutes % 60 == 0 and 0 < hours <= 24 and 24 % hours == 0:
        return f"0 */{hours} * * *" if hours < 24 else "0 0 * * *"
    return "*/5 * * * *"


def whmcs_cron_snippet(hb: HeartbeatConfig, base_url: str, whmcs_root: str) -> str:
    """A crontab line that runs the WHMCS cron and reports start, duration and exit code."""
    url = f"{base_url.rstrip('/')}/ping/{hb.token.get_secret_value()}"
    curl = "curl -fsS -m 10 --retry 3 -o /dev/null"
    return (
        f"{cron_line(hb)} {curl} {url}/start; "
        f"php -q {whmcs_root.rstrip('/')}/crons/cron.php; {curl} {url}/$?"
    )
