"""The data behind each dashboard page. Every HTML page and its /api/v1 JSON twin call the same
function here, so the two can never disagree (Datasette's rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from whmcs_monitor import coverage
from whmcs_monitor.accounts import list_users
from whmcs_monitor.alerting.queries import list_alerts
from whmcs_monitor.catalog.loader import SEVERITY_ORDER
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.durations import parse_duration
from whmcs_monitor.lib.timeutil import as_utc, parse_rfc3339, utcnow
from whmcs_monitor.services import Services
from whmcs_monitor.store.events import EventFilter, query_events
from whmcs_monitor.store.tables import events
from whmcs_monitor.web.links import whmcs_links

HEALTH_WINDOW = timedelta(hours=24)
HOT_WINDOW = timedelta(hours=1)
# The business figures on the overview: counts of these kinds over HEALTH_WINDOW, in this order.
BUSINESS_FIGURES: tuple[tuple[str, str], ...] = (
    ("invoice.paid", "Invoices paid"),
    ("order.placed", "Orders placed"),
    ("client.added", "New clients"),
    ("gateway.failure", "Payment failures"),
    ("invoice.refunded", "Refunds"),
    ("ticket.opened", "Tickets opened"),
)
# A forwarder that has not sent its heartbeat (every WHMCS cron run, normally 5 minutes) for this
# long is reported silent.
FORWARDER_SILENT_AFTER = timedelta(minutes=30)
MAX_PAGE = 500
UNKNOWN_KIND = (
    "This kind is not in this version's event catalog: it was stored by another version of the "
    "monitor. The payload below is as it was received."
)
# How far back ``since=``/``until=`` may reach as a duration: now minus it is always a date.
LONGEST_LOOKBACK = timedelta(days=36_500)


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat().replace("+00:00", "Z") if value is not None else None


def category_health(services: Services, conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Per catalog category: event counts by severity over 24 h and the worst one in the last hour."""
    day: dict[str, dict[str, int]] = {}
    for category, severity, count in conn.execute(
        sa.select(events.c.category, events.c.severity, sa.func.count())
        .where(events.c.occurred_at >= now - HEALTH_WINDOW)
        .group_by(events.c.category, events.c.severity)
    ):
        day.setdefault(category, {})[severity] = count
    hot: dict[str, str] = {}
    for category, severity in conn.execute(
        sa.select(events.c.category, events.c.severity)
        .where(events.c.occurred_at >= now - HOT_WINDOW)
        .group_by(events.c.category, events.c.severity)
    ):
        if SEVERITY_ORDER[severity] > SEVERITY_ORDER.get(hot.get(category, "debug"), 0):
            hot[category] = severity
    rows = []
    for category in services.catalog.categories:
        counts = day.get(category.id, {})
        worst = hot.get(category.id, "debug")
        if SEVERITY_ORDER[worst] >= SEVERITY_ORDER["warning"]:
            state = worst
        else:
            state = "ok" if counts else "quiet"
        rows.append(
            {
                "category": category.id,
                "title": category.title,
                "state": state,
                "events_24h": sum(counts.values()),
                "problems_24h": sum(
                    n for sev, n in counts.items() if SEVERITY_ORDER[sev] >= SEVERITY_ORDER["error"]
                ),
            }
        )
    return rows


def business_figures(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    kinds = [kind for kind, _ in BUSINESS_FIGURES]
    counts: dict[str, int] = {
        kind: int(count)
        for kind, count in conn.execute(
            sa.select(events.c.kind, sa.func.count())
            .where(events.c.occurred_at >= now - HEALTH_WINDOW, events.c.kind.in_(kinds))
            .group_by(events.c.kind)
        )
    }
    return [
        {"kind": kind, "label": label, "count_24h": int(counts.get(kind, 0))}
        for kind, label in BUSINESS_FIGURES
    ]


def overview(services: Services) -> dict[str, Any]:
    now = utcnow()
    with services.db.read() as conn:
        return {
            "generated_at": _iso(now),
            "window_hours": int(HEALTH_WINDOW.total_seconds() // 3600),
            "health": category_health(services, conn, now),
            "figures": business_figures(conn, now),
            "open_alerts": list_alerts(conn, limit=20),
            "recent_events": [
                _brief(e)
                for e in query_events(conn, EventFilter(limit=15, since=now - HEALTH_WINDOW))
            ],
        }


def _brief(event: dict[str, Any]) -> dict[str, Any]:
    """An event without its payload, for lists and the live stream."""
    keep = ("seq", "site", "kind", "category", "severity", "occurred_at", "summary")
    return {key: event[key] for key in keep}


@dataclass(frozen=True, slots=True)
class EventQuery:
    """The events page's filters, as a browser or an API client sends them."""

    site: str = ""
    category: str = ""
    kind: str = ""
    severity: str = ""
    since: str = ""
    until: str = ""
    q: str = ""
    before: int | None = None
    limit: int = 50

    def to_filter(self, services: Services) -> EventFilter:
        catalog = services.catalog
        if self.category and self.category not in {c.id for c in catalog.categories}:
            raise InputError(f"category: no category named {self.category!r}", field="category")
        kinds: tuple[str, ...] = ()
        if self.kind:
            resolved = catalog.resolve(self.kind)
            if not resolved:
                raise InputError(
                    f"kind: {self.kind!r} is not a kind, hook or alias in the catalog", field="kind"
                )
            kinds = tuple(k.kind for k in resolved)
        if self.severity and self.severity not in SEVERITY_ORDER:
            raise InputError(
                f"severity: must be one of {', '.join(SEVERITY_ORDER)}", field="severity"
            )
        if not 1 <= self.limit <= MAX_PAGE:
            raise InputError(f"limit: must be between 1 and {MAX_PAGE}", field="limit")
        if len(self.q) > 200:
            raise InputError("q: search text is limited to 200 characters", field="q")
        since, until = _time_bound("since", self.since), _time_bound("until", self.until)
        if since is not None and until is not None and until <= since:
            raise InputError(
                f"until: must be later than since ({self.until!r} is not after {self.since!r})",
                field="until",
            )
        return EventFilter(
            since=since,
            until=until,
            kinds=kinds,
            categories=(self.category,) if self.category else (),
            sites=(self.site,) if self.site else (),
            # "warning" shows warnings and worse: an operator filters by "at least".
            severities=tuple(
                s for s, n in SEVERITY_ORDER.items() if n >= SEVERITY_ORDER[self.severity]
            )
            if self.severity
            else (),
            text=self.q.strip() or None,
            limit=self.limit,
            before_seq=self.before,
        )


def _time_bound(name: str, text: str) -> datetime | None:
    """``6h`` means six hours ago; an RFC 3339 timestamp means that instant."""
    text = text.strip()
    if not text:
        return None
    try:
        span = parse_duration(text)
    except ValueError:
        pass
    else:
        if span > LONGEST_LOOKBACK:  # now minus 99999999d is before year 1: an OverflowError
            raise InputError(
                f"{name}: {text!r} reaches back too far; "
                f"the longest is {LONGEST_LOOKBACK.days}d (about 100 years)",
                field=name,
            )
        return utcnow() - span
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise InputError(
            f"{name}: use a duration such as 15m, 6h or 7d, or a time such as 2026-11-27T10:00:00Z",
            field=name,
        ) from None


def event_list(services: Services, query: EventQuery) -> dict[str, Any]:
    flt = query.to_filter(services)
    with services.db.read() as conn:
        rows = query_events(conn, flt)
    return {
        "events": [_brief(e) for e in rows],
        "next_before": rows[-1]["seq"] if len(rows) == flt.limit else None,
        "filters": {
            "site": query.site,
            "category": query.category,
            "kind": query.kind,
            "severity": query.severity,
            "since": query.since,
            "until": query.until,
            "q": query.q,
            "limit": query.limit,
        },
    }


def event_detail(services: Services, seq: int) -> dict[str, Any]:
    with services.db.read() as conn:
        rows = query_events(conn, EventFilter(before_seq=seq + 1, limit=1))
    if not rows or rows[0]["seq"] != seq:
        raise InputError(f"no event with number {seq}", status=404, field="seq")
    event = rows[0]
    site = services.settings.site(event["site"])
    base = site.whmcs_url if site is not None else None
    event["whmcs_links"] = whmcs_links(
        base, services.settings.web.whmcs_admin_dir, event["subjects"]
    )
    try:
        event["description"] = services.catalog.get(event["kind"]).description
    except KeyError:  # stored by a version whose catalog had this kind; this one has not
        event["description"] = UNKNOWN_KIND
    return event


def coverage_card(services: Services) -> dict[str, Any]:
    with services.db.read() as conn:
        card = coverage.compute(services.catalog, services.settings, conn)
    return card.as_json()


def site_ids(services: Services) -> list[tuple[str, str, bool]]:
    """(id, name, is_demo) for every site allowed to send events."""
    rows = [(s.id, s.name or s.id, False) for s in services.settings.sites]
    demo = services.settings.demo
    if demo.enabled != "off" and all(s[0] != demo.site_id for s in rows):
        rows.append((demo.site_id, "Demo traffic simulator", True))
    return rows


def _latest(conn: Connection, site: str, kind: str | None = None) -> Any:
    """The site's last received event (of ``kind``): the highest ``seq``.

    Receive order is the order the reconciler's missing-heartbeat check reads (``query_events``),
    so this page and that alert agree on which heartbeat is the last one; the (site, seq) and
    (kind, seq) indexes answer it without sorting the site's events.
    """
    stmt = sa.select(events).where(events.c.site == site).order_by(events.c.seq.desc())
    if kind is not None:
        stmt = stmt.where(events.c.kind == kind)
    return conn.execute(stmt.limit(1)).first()


def site_status(services: Services) -> dict[str, Any]:
    now = utcnow()
    out = []
    with services.db.read() as conn:
        for site_id, name, is_demo in site_ids(services):
            last = _latest(conn, site_id)
            beat = _latest(conn, site_id, "forwarder.heartbeat")
            payload: dict[str, Any] = beat.payload if beat is not None else {}
            # Versions: the heartbeat's vars, then its context, then any event's context (check
            # and poller events carry none).
            reports = (
                payload,
                beat.context if beat is not None else {},
                last.context if last is not None else {},
            )
            if beat is None:
                state = "never seen"
            elif as_utc(beat.occurred_at) + FORWARDER_SILENT_AFTER < now:
                state = "silent"
            else:
                state = "backlog" if _int(payload.get("spool_depth")) else "alive"
            out.append(
                {
                    "id": site_id,
                    "name": name,
                    "demo": is_demo,
                    "module_version": _reported("module_version", reports),
                    "whmcs_version": _reported("whmcs_version", reports),
                    "last_event_at": _iso(last.occurred_at) if last is not None else None,
                    "last_event_summary": last.summary if last is not None else None,
                    "last_heartbeat_at": _iso(beat.occurred_at) if beat is not None else None,
                    "spool_depth": _int(payload.get("spool_depth")),
                    # The PHP module's names (Forwarder::heartbeatLine), shown under shorter ones.
                    "dropped": _int(payload.get("dropped_events")),
                    "hook_count": _int(payload.get("hooks_registered")),
                    "forwarder_state": state,
                }
            )
    return {"sites": out, "silent_after_minutes": int(FORWARDER_SILENT_AFTER.total_seconds() // 60)}


def _reported(key: str, reports: tuple[dict[str, Any], ...]) -> Any:
    """The first non-empty ``key`` among ``reports``, or ``None``."""
    return next((report[key] for report in reports if report.get(key)), None)


def _int(value: Any) -> int | None:
    """Heartbeat fields come from a PHP module: take whole numbers, ignore anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def user_list(services: Services) -> dict[str, Any]:
    return {
        "users": [
            {
                "username": u.username,
                "role": u.role,
                "disabled": u.disabled,
                "totp_enabled": u.totp_enabled,
                "created_at": _iso(u.created_at),
                "last_login_at": _iso(u.last_login_at),
            }
            for u in list_users(services.db)
        ]
    }


def events_after(services: Services, after_seq: int, limit: int = 200) -> list[dict[str, Any]]:
    """Events stored after ``after_seq``, oldest first: what the live stream sends next."""
    with services.db.read() as conn:
        rows = conn.execute(
            sa.select(events).where(events.c.seq > after_seq).order_by(events.c.seq).limit(limit)
        ).all()
    return [
        {
            "seq": r.seq,
            "site": r.site,
            "kind": r.kind,
            "category": r.category,
            "severity": r.severity,
            "occurred_at": _iso(r.occurred_at),
            "summary": r.summary,
        }
        for r in rows
    ]
