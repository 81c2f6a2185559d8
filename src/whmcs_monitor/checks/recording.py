"""Turning probe results into stored facts: flap state, metric samples and events, in one write
transaction per batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.catalog import Catalog
from whmcs_monitor.checks.base import CheckBase, Finding, Result
from whmcs_monitor.checks.flap import FlapState, advance, transition_kinds
from whmcs_monitor.checks.forecast import forecast_findings
from whmcs_monitor.checks.host import HostCheck
from whmcs_monitor.checks.tables import check_state
from whmcs_monitor.events.model import Event
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.lib.durations import format_duration
from whmcs_monitor.lib.timeutil import as_utc
from whmcs_monitor.store.events import insert_events
from whmcs_monitor.store.metrics import Sample, record

_SEVERITY = {"unknown": 0, "up": 0, "degraded": 1, "down": 2}


@dataclass(frozen=True, slots=True)
class Outcome:
    check: CheckBase
    result: Result
    started_at: datetime  # when the probe began; also the run's identity in event ids


def samples(outcome: Outcome) -> list[Sample]:
    """``check_up`` (1 answering, 0 down), ``check_latency_ms`` and each probe metric.

    A metric key ``name:item`` (``disk_pct:/var``) becomes ``check_name`` with an ``item`` label.
    """
    check, result, ts = outcome.check, outcome.result, outcome.started_at
    labels = {"check": check.name, "type": check.type_name}
    out = [Sample("check_up", 0.0 if result.status == "down" else 1.0, labels, check.site, ts)]
    if result.latency_ms is not None:
        out.append(Sample("check_latency_ms", result.latency_ms, labels, check.site, ts))
    for key, value in result.metrics.items():
        name, _, item = key.partition(":")
        extra = {"item": item} if item else {}
        if value == value and abs(value) != float("inf"):  # NaN and inf are not storable points
            out.append(Sample(f"check_{name}", value, {**labels, **extra}, check.site, ts))
    return out


def _event(
    catalog: Catalog,
    check: CheckBase,
    kind: str,
    key: str,
    data: dict[str, Any],
    *,
    at: datetime,
    labels: dict[str, str] | None = None,
    severity: str | None = None,
) -> Event:
    payload = {"check": check.name, "target": check.target, "type": check.type_name, **data}
    return build_event(
        catalog.get(kind),
        site=check.site,
        data=payload,
        occurred_at=at,
        event_id=f"check:{check.name}:{kind}:{key}",
        labels={**check.labels, **(labels or {})},
        severity=severity,
    )


def transition_events(
    catalog: Catalog, outcome: Outcome, before: FlapState, after: FlapState, since: datetime | None
) -> list[Event]:
    """check.down/up/degraded for a state change, plus the type's own down kind."""
    check, result, at = outcome.check, outcome.result, outcome.started_at
    run = at.isoformat()
    events = []
    lasted = format_duration(at - since) if since else "an unknown time"
    for kind in transition_kinds(before.state, after.state):
        data: dict[str, Any] = {"message": result.message, "state": after.state}
        if kind == "check.up":
            data["degraded_for" if before.state == "degraded" else "down_for"] = lasted
        event = _event(catalog, check, kind, run, data, at=at)
        if kind == "check.up" and before.state == "degraded":
            # check.up resolves the degraded alert too, but its catalog summary ("UP again
            # after...") says the check was down; the catalog has no kind for this recovery.
            event = replace(event, summary=f"{check.name} recovered after {lasted} degraded")
        events.append(event)
    down = check.down_event()
    if after.state == "down" and before.state != "down" and down is not None:
        kind, labels = down
        events.append(
            _event(catalog, check, kind, run, {"message": result.message, **labels}, at=at)
        )
    return events


def finding_events(
    catalog: Catalog, outcome: Outcome, after: FlapState, down_since: datetime | None
) -> list[Event]:
    """A down or degraded run's findings wait until flap control confirms that state (or a
    worse one), so one bad sample (a CPU spike) stores nothing.

    A down run's findings are keyed by the outage too (``down_since``): the same wrong DNS
    answer in a later outage is news again, not a duplicate of the first one.
    """
    status = outcome.result.status
    if status != "up" and _SEVERITY[after.state] < _SEVERITY[status]:
        return []
    outage = f"@{as_utc(down_since):%Y%m%dT%H%M%S}" if status == "down" and down_since else ""
    return [_finding_event(catalog, outcome, f, outage) for f in outcome.result.findings]


def _finding_event(catalog: Catalog, outcome: Outcome, finding: Finding, scope: str = "") -> Event:
    return _event(
        catalog,
        outcome.check,
        finding.kind,
        finding.key + scope,
        dict(finding.data),
        at=outcome.started_at,
        labels=dict(finding.labels),
        severity=finding.severity,
    )


def record_outcomes(
    conn: Connection, catalog: Catalog, outcomes: Sequence[Outcome], *, owner: str | None
) -> list[Event]:
    """Apply results to the claimed rows; a row no longer claimed by ``owner`` is left alone.

    The conditional update (``claimed_by = owner``) is what keeps a slow instance whose lease
    ran out from overwriting the state written by the instance that took the check over.
    ``owner=None`` records without a claim (tests and one-off runs).
    """
    if not outcomes:
        return []
    names = [o.check.name for o in outcomes]
    stmt = sa.select(check_state).where(check_state.c.name.in_(names))
    if owner is not None:
        stmt = stmt.where(check_state.c.claimed_by == owner)
    rows = {row.name: row for row in conn.execute(stmt)}
    stored_samples: list[Sample] = []
    events: list[Event] = []
    forecasts: list[Outcome] = []
    updates: list[dict[str, Any]] = []
    for outcome in outcomes:
        row = rows.get(outcome.check.name)
        if row is None:
            continue
        before = FlapState(row.state, row.fail_streak, row.ok_streak)
        after = advance(
            before,
            outcome.result.status,
            down_after=outcome.check.down_after,
            up_after=outcome.check.up_after,
        )
        since = as_utc(row.last_change_at) if row.last_change_at else None
        changed = after.state != before.state
        down_since = _down_since(after.state, changed, outcome.started_at, row.down_since)
        events += transition_events(catalog, outcome, before, after, since)
        events += finding_events(catalog, outcome, after, down_since)
        stored_samples += samples(outcome)
        if isinstance(outcome.check, HostCheck):
            forecasts.append(outcome)
        updates.append(
            {
                "b_name": row.name,
                "state": after.state,
                "fail_streak": after.fail_streak,
                "ok_streak": after.ok_streak,
                "last_run_at": outcome.started_at,
                "last_status": outcome.result.status,
                "last_message": outcome.result.message[:2000],
                "last_latency_ms": outcome.result.latency_ms,
                "last_metrics": _storable(outcome.result.metrics),
                "last_change_at": outcome.started_at if changed else row.last_change_at,
                "down_since": down_since,
            }
        )
    if updates:  # one statement for the whole batch (executemany)
        conn.execute(
            check_state.update()
            .where(check_state.c.name == sa.bindparam("b_name"))
            .values(claimed_by=None, claimed_until=None),
            updates,
        )
    record(conn, stored_samples)
    for outcome in forecasts:  # after recording, so the fit includes this run's samples
        assert isinstance(outcome.check, HostCheck)
        found = forecast_findings(conn, outcome.check, outcome.started_at)
        events += [_finding_event(catalog, outcome, f) for f in found]
    insert_events(conn, events)
    return events


def _storable(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if v == v and abs(v) != float("inf")}


def _down_since(
    state: str, changed: bool, at: datetime, previous: datetime | None
) -> datetime | None:
    if state != "down":
        return None
    return at if changed else previous
