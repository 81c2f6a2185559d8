"""Rule evaluation: events and metric samples in, alerts fired and resolved out.

``on_events`` runs inside the pipeline consumer's transaction (exactly once per event); ``tick``
runs on a timer for what time alone decides: absence, metric thresholds and resolve timeouts.
Both take ``now`` explicitly so ``rules test`` can replay history on a simulated clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor.alerting import state
from whmcs_monitor.alerting.rules import AbsenceSpec, Condition, EventMatch, Rule, RuleSet
from whmcs_monitor.alerting.tables import alerts, rule_hits, rule_marks
from whmcs_monitor.alerting.types import WEEKDAYS
from whmcs_monitor.events.normalize import get_path
from whmcs_monitor.lib.durations import format_duration
from whmcs_monitor.lib.timeutil import as_utc, parse_rfc3339
from whmcs_monitor.store import metrics
from whmcs_monitor.store.db import dialect_insert

_MISSING = get_path({}, "absent")  # the sentinel get_path returns for a missing path


def field_value(event: Mapping[str, Any], path: str) -> Any:
    """A label by bare name, else a dotted path into the event document (``payload.amount``)."""
    labels = event.get("labels") or {}
    if "." not in path and path in labels:
        return labels[path]
    return get_path(event, path)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _same(left: Any, right: Any) -> bool:
    """Equal as numbers when either side is a number and the other reads as one (an amount of
    10.0 or "10.00" is 10; WHMCS sends amounts as text), else equal as text ("01" is not "1")."""
    if _is_number(left) or _is_number(right):
        a, b = _number(left), _number(right)
        if a is not None and b is not None:
            return a == b
    return str(left) == str(right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def condition_holds(cond: Condition, event: Mapping[str, Any]) -> bool:
    value = field_value(event, cond.field)
    if cond.op == "exists":
        return value is not _MISSING and value is not None
    if value is _MISSING:
        return cond.op in ("ne", "not_in")
    if cond.op in ("eq", "ne"):
        return _same(value, cond.value) == (cond.op == "eq")
    if cond.op in ("in", "not_in"):
        return any(_same(value, v) for v in cond.value) == (cond.op == "in")
    if cond.op == "regex":
        return re.search(str(cond.value), str(value)) is not None
    number = _number(value)
    if number is None:
        return False
    return compare(cond.op, number, float(cond.value))


def compare(op: str, left: float, right: float) -> bool:
    return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]


def event_matches(match: EventMatch, event: Mapping[str, Any]) -> bool:
    return (
        (not match.kinds or event["kind"] in match.kinds)
        and (not match.categories or event["category"] in match.categories)
        and (not match.severities or event["severity"] in match.severities)
        and (not match.sites or event["site"] in match.sites)
        and all(condition_holds(c, event) for c in match.where)
    )


def group_labels(rule: Rule, event: Mapping[str, Any]) -> dict[str, str]:
    """The values of the rule's ``group_by`` fields; ``subjects.domain`` becomes label ``domain``."""
    out: dict[str, str] = {}
    for path in rule.group_by:
        value = field_value(event, path)
        out[path.rsplit(".", 1)[-1]] = (
            "" if value is _MISSING or value is None else str(value)[:128]
        )
    return out


def alert_labels(
    rule: Rule, site: str, severity: str, group: Mapping[str, str], event: Mapping[str, Any] | None
) -> dict[str, str]:
    labels = {**rule.labels, **{k: v for k, v in group.items() if v}}
    labels.update(rule=rule.name, site=site, severity=severity)
    if event is not None:
        labels.setdefault("category", str(event["category"]))
        labels.setdefault("source", str(event["source"]))
        labels.setdefault("kind", str(event["kind"]))
    return labels


def _set_mark(
    conn: Connection, rule: str, key: str, labels: Mapping[str, str], at: datetime
) -> None:
    """Store when the rule last saw its event; a mark only moves forward, so a late event (a
    spooled or backfilled one, older than the mark) does not restart an absence clock."""
    stmt = dialect_insert(conn, rule_marks).values(
        rule=rule, group_key=key, labels=dict(labels), at=at
    )
    later = sa.case((stmt.excluded.at > rule_marks.c.at, stmt.excluded.at), else_=rule_marks.c.at)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["rule", "group_key"], set_={"at": later})
    )


@dataclass(slots=True)
class _Arrivals:
    """What a batch tells the absence rules: the events each saw, per rule and site, in order.

    Written once per rule and site (the mark, and the resolve): a batch of a hundred payments
    moves the "no payment" mark once, not a hundred times. No absence alert can open inside a
    batch (only ``tick`` opens them), so writing these after the batch's firings changes nothing
    but the number of statements.
    """

    seen: dict[tuple[str, str], list[tuple[datetime, str]]] = field(default_factory=dict)

    def add(self, rule: Rule, event: Mapping[str, Any], at: datetime) -> None:
        self.seen.setdefault((rule.name, event["site"]), []).append((at, str(event["kind"])))

    def write(self, conn: Connection) -> None:
        for (rule, site), arrivals in self.seen.items():
            fp = state.fingerprint(rule, site, {})
            _set_mark(conn, rule, fp, {"site": site}, max(at for at, _ in arrivals))
            _resolve_absence(conn, fp, arrivals)


def _resolve_absence(conn: Connection, fp: str, arrivals: Sequence[tuple[datetime, str]]) -> None:
    """Resolve the open absence alert at the first arrival newer than the event it missed.

    An event older than that (one that arrives late) says nothing about the silence since.
    """
    current = state.open_alert(conn, fp)
    if current is None:
        return
    last_seen = (current.details or {}).get("last_seen")
    missed_since = as_utc(datetime.fromisoformat(last_seen)) if last_seen else None
    for at, kind in arrivals:
        if missed_since is None or at > missed_since:
            state.resolve(conn, current.id, at=at, actor="rule", reason=f"{kind} arrived again")
            return


def _marks(conn: Connection, rule: str) -> list[sa.Row[Any]]:
    return list(conn.execute(sa.select(rule_marks).where(rule_marks.c.rule == rule)))


class Evaluator:
    """Applies one rule set; ``resolve_timeout`` closes event alerts that set no ``resolve_after``."""

    def __init__(self, rules: RuleSet, *, resolve_timeout: timedelta) -> None:
        self.rules = rules
        self.resolve_timeout = resolve_timeout

    # --- events ------------------------------------------------------------------------------
    def on_events(self, conn: Connection, batch: Sequence[Mapping[str, Any]]) -> None:
        """Matches are written in bulk; pending ones are written before any resolve, so a
        fire, clear, fire sequence inside one batch keeps its order. Absence rules' arrivals
        are written once, at the end (:class:`_Arrivals`)."""
        pending: list[state.Firing] = []
        arrivals = _Arrivals()
        for event in batch:
            at = parse_rfc3339(event["occurred_at"])
            for rule in self.rules.rules:
                if rule.resolve_on is not None and event_matches(rule.resolve_on, event):
                    state.fire(conn, pending)
                    pending.clear()
                    self._clear(conn, rule, event, at)
                if (
                    rule.match is None
                    or rule.type == "metric"
                    or not event_matches(rule.match, event)
                ):
                    continue
                if rule.type == "absence":
                    arrivals.add(rule, event, at)
                    continue
                firing = self._on_match(conn, rule, event, at)
                if firing is not None:
                    pending.append(firing)
        state.fire(conn, pending)
        arrivals.write(conn)

    def _clear(self, conn: Connection, rule: Rule, event: Mapping[str, Any], at: datetime) -> None:
        """Resolve what a clearing event clears: the open alerts of its rule and site that agree
        with it on every group label it carries.

        A clearing event may carry fewer of the group labels than the event that fired: check.up
        knows the check and its target, not the provisioning server that dependency.server_api_down
        names, so ``server-api-down`` groups by both and is cleared by its check's check.up. An
        event that carries all of them, or none, clears the one alert of its own fingerprint.
        """
        group = group_labels(rule, event)
        carried = {k: v for k, v in group.items() if v}
        reason = f"{event['kind']}: {event['summary']}"
        if len(carried) in (0, len(group)):
            fp = state.fingerprint(rule.name, event["site"], group)
            state.resolve_fingerprint(conn, fp, at=at, reason=reason)
            return
        for row in self._open(conn, rule.name, site=event["site"]):
            if all(row.labels.get(k) == v for k, v in carried.items()):
                state.resolve(conn, row.id, at=at, actor="rule", reason=reason)

    def _on_match(
        self, conn: Connection, rule: Rule, event: Mapping[str, Any], at: datetime
    ) -> state.Firing | None:
        group = group_labels(rule, event)
        fp = state.fingerprint(rule.name, event["site"], group)
        if rule.type == "count":
            assert rule.count is not None
            conn.execute(rule_hits.insert().values(rule=rule.name, group_key=fp, at=at))
            seen = self._hits(conn, rule.name, fp, at - rule.count.window, at)
            if seen < rule.count.threshold:
                return None
            summary = (
                f"{seen} x {event['kind']} in {format_duration(rule.count.window)}"
                f"{self._group_text(group)} (threshold {rule.count.threshold})"
            )
        else:
            summary = rule.summary or str(event["summary"])
        severity = rule.severity or str(event["severity"])
        return state.Firing(
            fp=fp,
            rule=rule.name,
            site=event["site"],
            severity=severity,
            labels=alert_labels(rule, event["site"], severity, group, event),
            summary=summary,
            details={
                "event": {k: event[k] for k in ("seq", "id", "kind", "summary", "occurred_at")},
                "subjects": event.get("subjects") or {},
                "key_fields": dict(event.get("labels") or {}),
            },
            at=at,
        )

    @staticmethod
    def _group_text(group: Mapping[str, str]) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in group.items() if v)
        return f" ({shown})" if shown else ""

    @staticmethod
    def _hits(conn: Connection, rule: str, key: str, start: datetime, end: datetime) -> int:
        return int(
            conn.scalar(
                sa.select(sa.func.count()).where(
                    rule_hits.c.rule == rule,
                    rule_hits.c.group_key == key,
                    rule_hits.c.at > start,
                    rule_hits.c.at <= end,
                )
            )
            or 0
        )

    # --- time --------------------------------------------------------------------------------
    def tick(self, conn: Connection, now: datetime, *, sites: Iterable[str] = ()) -> None:
        """Resolve what timed out, fire absences and metric breaches as of ``now``."""
        for rule in self.rules.rules:
            if rule.type == "event":
                self._expire_events(conn, rule, now)
            elif rule.type == "count":
                self._expire_counts(conn, rule, now)
            elif rule.type == "absence":
                self._check_absence(conn, rule, now, sites)
            else:
                self._check_metric(conn, rule, now)
        self._resolve_orphans(conn, now)
        horizon = max((r.count.window for r in self.rules.rules if r.count), default=timedelta(0))
        conn.execute(rule_hits.delete().where(rule_hits.c.at < now - horizon - timedelta(hours=1)))

    def next_due(self, conn: Connection, after: datetime, until: datetime) -> datetime | None:
        """The first instant in (``after``, ``until``] at which :meth:`tick` changes something no
        event causes: a resolve timeout ends, a count window slides below its threshold, or an
        absence reaches its length.

        ``rules test`` ticks there, so the times it prints are those of a live engine, which
        ticks every ``evaluation_interval``. Metric rules are left out: a replay has no samples.
        """
        dues = [due for rule in self.rules.rules for due in self._dues(conn, rule, after, until)]
        return min((due for due in dues if after < due <= until), default=None)

    def _dues(
        self, conn: Connection, rule: Rule, after: datetime, until: datetime
    ) -> list[datetime]:
        quiet = self.timeout(rule)
        if rule.type == "event" and quiet is not None:
            oldest = conn.scalar(
                sa.select(sa.func.min(alerts.c.last_seen_at)).where(
                    alerts.c.rule == rule.name,
                    alerts.c.state.in_(state.OPEN_STATES),
                    alerts.c.last_seen_at > after - quiet,
                )
            )
            return [] if oldest is None else [as_utc(oldest) + quiet]
        if rule.type == "count":
            assert rule.count is not None
            window = rule.count.window
            oldest = conn.scalar(
                sa.select(sa.func.min(rule_hits.c.at)).where(
                    rule_hits.c.rule == rule.name,
                    rule_hits.c.group_key.in_([r.fingerprint for r in self._open(conn, rule.name)]),
                    rule_hits.c.at > after - window,
                )
            )
            return [] if oldest is None else [as_utc(oldest) + window]
        if rule.type == "absence":
            assert rule.absence is not None
            firing = {row.site for row in self._open(conn, rule.name)}
            clocks = [
                as_utc(m.at)
                for m in _marks(conn, rule.name)
                if m.labels.get("site", "") not in firing
                and _watches(rule.absence, m.labels.get("site", ""))
            ]
            return [d for since in clocks if (d := absence_due(rule.absence, since, until))]
        return []

    @staticmethod
    def _open(conn: Connection, rule: str, *, site: str | None = None) -> list[sa.Row[Any]]:
        query = sa.select(alerts).where(
            alerts.c.rule == rule, alerts.c.state.in_(state.OPEN_STATES)
        )
        if site is not None:
            query = query.where(alerts.c.site == site)
        return list(conn.execute(query))

    def timeout(self, rule: Rule) -> timedelta | None:
        """How long an event alert stays open without a new matching event.

        ``None`` for a rule with ``resolve_on`` and no ``resolve_after``: only its clearing event
        closes it. Checks send check.down and dependency.*_down once per outage, not while it
        lasts, so a timeout would report "resolved" while the thing is still down (and end the
        inhibition it drives).
        """
        if rule.resolve_after is not None:
            return rule.resolve_after
        return None if rule.resolve_on is not None else self.resolve_timeout

    def _expire_events(self, conn: Connection, rule: Rule, now: datetime) -> None:
        quiet = self.timeout(rule)
        if quiet is None:
            return
        expired = conn.execute(
            sa.select(alerts.c.id).where(
                alerts.c.rule == rule.name,
                alerts.c.state.in_(state.OPEN_STATES),
                alerts.c.last_seen_at <= now - quiet,
            )
        )
        for row in expired.all():
            state.resolve(
                conn,
                row.id,
                at=now,
                actor="rule",
                reason=f"no new event for {format_duration(quiet)}",
            )

    def _resolve_orphans(self, conn: Connection, now: datetime) -> None:
        """Resolve the open alerts of rules that are no longer loaded (removed, renamed or
        disabled): nothing else would ever resolve them, and they would repeat forever."""
        orphans = conn.execute(
            sa.select(alerts.c.id, alerts.c.rule).where(
                alerts.c.state.in_(state.OPEN_STATES),
                alerts.c.rule.not_in([r.name for r in self.rules.rules]),
            )
        )
        for row in orphans.all():
            state.resolve(
                conn,
                row.id,
                at=now,
                actor="rule",
                reason=f"rule {row.rule} was removed or disabled",
            )

    def _expire_counts(self, conn: Connection, rule: Rule, now: datetime) -> None:
        assert rule.count is not None
        for row in self._open(conn, rule.name):
            seen = self._hits(conn, rule.name, row.fingerprint, now - rule.count.window, now)
            if seen < rule.count.threshold:
                state.resolve(
                    conn,
                    row.id,
                    at=now,
                    actor="rule",
                    reason=f"{seen} in the last {format_duration(rule.count.window)}, below {rule.count.threshold}",
                )

    def _check_absence(
        self, conn: Connection, rule: Rule, now: datetime, sites: Iterable[str]
    ) -> None:
        assert rule.absence is not None
        spec = rule.absence
        marks = {m.labels.get("site", ""): m for m in _marks(conn, rule.name)}
        for site in sorted(set(sites) | set(marks)):
            if not _watches(spec, site):
                continue
            mark = marks.get(site)
            if mark is None:  # start the clock the first time the rule meets this site
                _set_mark(
                    conn, rule.name, state.fingerprint(rule.name, site, {}), {"site": site}, now
                )
                continue
            since = as_utc(mark.at)
            if active_time(rule, since, now) < spec.for_:
                continue
            severity = rule.severity or "error"
            kinds = ", ".join(rule.match.kinds if rule.match else [])
            firing = state.Firing(
                fp=state.fingerprint(rule.name, site, {}),
                rule=rule.name,
                site=site,
                severity=severity,
                labels=alert_labels(rule, site, severity, {}, None),
                summary=rule.summary
                or f"no {kinds} for {format_duration(spec.for_)} (last at {since:%Y-%m-%d %H:%M} UTC)",
                details={"last_seen": since.isoformat()},
                at=now,
            )
            state.fire(conn, [firing])

    def _check_metric(self, conn: Connection, rule: Rule, now: datetime) -> None:
        spec = rule.metric
        assert spec is not None and rule.severity is not None
        lookback = (spec.rate_over or timedelta(0)) + spec.for_ + timedelta(minutes=10)
        for series in metrics.query(
            conn,
            spec.name,
            since=now - lookback,
            until=now + timedelta(seconds=1),
            labels=spec.labels,
        ):
            value = _series_value(series.points, spec.rate_over, now)
            if value is None:
                continue
            group = {"metric": spec.name, **series.labels}
            fp = state.fingerprint(rule.name, series.site, group)
            breaching = compare(spec.op, value, spec.threshold)
            if breaching:
                mark_key = fp
                pending = next(
                    (m for m in _marks(conn, rule.name) if m.group_key == mark_key), None
                )
                if pending is None:
                    _set_mark(conn, rule.name, mark_key, group, now)
                    pending_since = now
                else:
                    pending_since = as_utc(pending.at)
                if now - pending_since >= spec.for_:
                    what = "rate" if spec.rate_over else "value"
                    firing = state.Firing(
                        fp=fp,
                        rule=rule.name,
                        site=series.site,
                        severity=rule.severity,
                        labels=alert_labels(rule, series.site, rule.severity, group, None),
                        summary=rule.summary
                        or f"{spec.name} {what} {value:g} {spec.op} {spec.threshold:g}",
                        details={"value": value},
                        at=now,
                    )
                    state.fire(conn, [firing])
                continue
            conn.execute(
                rule_marks.delete().where(
                    rule_marks.c.rule == rule.name, rule_marks.c.group_key == fp
                )
            )
            clear = spec.clear if spec.clear is not None else spec.threshold
            # Hysteresis: below the threshold but not past ``clear``, an open alert stays open.
            if not compare(spec.op, value, clear):
                state.resolve_fingerprint(conn, fp, at=now, reason=f"{spec.name} is {value:g}")


def _series_value(
    points: Sequence[tuple[datetime, float]], rate_over: timedelta | None, now: datetime
) -> float | None:
    if not points:
        return None
    if rate_over is None:
        return points[-1][1]
    window = [(ts, v) for ts, v in points if ts >= now - rate_over]
    if len(window) < 2 or window[-1][0] == window[0][0]:
        return None
    hours = (window[-1][0] - window[0][0]).total_seconds() / 3600
    return (window[-1][1] - window[0][1]) / hours


def active_time(rule: Rule, start: datetime, end: datetime) -> timedelta:
    """How much of [start, end) falls in the rule's active days and hours (all of it if unset)."""
    assert rule.absence is not None
    return sum((hi - lo for lo, hi in _active_spans(rule.absence, start, end)), timedelta(0))


def absence_due(spec: AbsenceSpec, since: datetime, until: datetime) -> datetime | None:
    """When the active time from ``since`` reaches ``spec.for_``, if that is by ``until``."""
    left = spec.for_
    for lo, hi in _active_spans(spec, since, until):
        if hi - lo >= left:
            return lo + left
        left -= hi - lo
    return None


def _watches(spec: AbsenceSpec, site: str) -> bool:
    return not spec.sites or site in spec.sites


def _active_spans(
    spec: AbsenceSpec, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The parts of [start, end) inside the active days and hours, oldest first, in UTC."""
    if not spec.days and spec.from_time is None and spec.until_time is None:
        if end > start:
            yield start, end
        return
    zone = ZoneInfo(spec.timezone)
    # From the day before: an overnight window that began then may still be open at ``start``.
    day = (start.astimezone(zone) - timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    while day < end:
        if not spec.days or WEEKDAYS[day.weekday()] in spec.days:
            open_at, close_at = _window(spec, day)
            lo, hi = max(open_at, start), min(close_at, end)
            if hi > lo:
                yield lo, hi
        day += timedelta(days=1)  # wall-clock arithmetic: the next local midnight, DST or not


def _window(spec: AbsenceSpec, day: datetime) -> tuple[datetime, datetime]:
    """The active window that opens on local ``day``, in UTC.

    Without ``from`` it opens at midnight, without ``until`` it closes at the next midnight; an
    ``until`` at or before ``from`` (22:00 to 06:00) closes the next morning, and the window
    belongs to the day it opens on, as maintenance windows and quiet hours do.
    """
    opens, closes = spec.from_time, spec.until_time
    open_at = day.replace(hour=opens.hour, minute=opens.minute) if opens else day
    next_day = day + timedelta(days=1)
    if closes is None:
        close_at = next_day
    else:
        close_at = day.replace(hour=closes.hour, minute=closes.minute)
        if close_at <= open_at:
            close_at = next_day.replace(hour=closes.hour, minute=closes.minute)
    return open_at.astimezone(UTC), close_at.astimezone(UTC)
