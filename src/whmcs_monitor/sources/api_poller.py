"""The poll cycle for a site reachable only through the WHMCS API.

It derives the same events as the database source wherever the API carries the data, with the
same derive functions and the same event ids (an overdue invoice seen by both sources is one
event): the activity log, overdue invoices, the module queue, the daily cron, System Health,
domains, tickets awaiting a reply and pending or fraud orders. GetStats counters become metric
series (``whmcs_orders_pending``...).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Any

import httpx

from whmcs_monitor.config import SiteConfig
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services
from whmcs_monitor.sources.api import (
    WhmcsApi,
    WhmcsApiAuthError,
    WhmcsApiError,
    WhmcsApiPermissionError,
)
from whmcs_monitor.sources.derive import (
    Context,
    Derived,
    activity,
    automation,
    billing,
    new_condition,
    queues,
    tickets,
)
from whmcs_monitor.sources.derive import domains as domain_derive
from whmcs_monitor.sources.feeds import FeedResult
from whmcs_monitor.sources.poller import CycleReport, backing_off, record_outage, record_recovery
from whmcs_monitor.sources.queries import Query
from whmcs_monitor.sources.state import get_state, set_state
from whmcs_monitor.sources.whmcs_db import Row, as_date, as_int
from whmcs_monitor.store.events import insert_events
from whmcs_monitor.store.metrics import Sample
from whmcs_monitor.store.metrics import record as record_metrics

log = logging.getLogger(__name__)
API_OUTAGE_KEY = "api_outage"


def _no_sql(_query: Query, _params: dict[str, Any]) -> list[Row]:
    return []


def poll_api_site(
    services: Services,
    site: SiteConfig,
    *,
    now: datetime | None = None,
    force: bool = False,
    transport: httpx.BaseTransport | None = None,
) -> CycleReport:
    assert site.api is not None
    now = now or utcnow()
    report = CycleReport(site=site.id, ok=False)
    with services.db.read() as conn:
        outage = get_state(conn, site.id, API_OUTAGE_KEY)
    if backing_off(outage, now, force):
        report.skipped, report.error = True, outage.get("error")
        return report
    try:
        with WhmcsApi(site.api, transport=transport) as api:
            _run_steps(services, site.id, api, now, report)
    except WhmcsApiError as exc:
        record_outage(
            services,
            site.id,
            str(exc),
            outage,
            now,
            report,
            kind="system.api_unreachable",
            key=API_OUTAGE_KEY,
        )
        return report
    if outage:
        record_recovery(
            services, site.id, outage, now, kind="system.api_reachable", key=API_OUTAGE_KEY
        )
    report.ok = True
    report.events = sum(f.events for f in report.feeds)
    return report


def _run_steps(
    services: Services, site: str, api: WhmcsApi, now: datetime, report: CycleReport
) -> None:
    """Every step; an action the API role does not allow skips that step alone.

    A role that allows none of them makes the credential useless, which is an outage.
    """
    steps: list[tuple[str, Callable[[], FeedResult]]] = [
        *(
            (name, partial(_run, services, site, now, name, partial(step, api=api)))
            for name, step in _STEPS
        ),
        ("stats", lambda: FeedResult("stats", rows=record_stats(services, site, api, now))),
    ]
    for name, step in steps:
        try:
            report.feeds.append(step())
        except WhmcsApiPermissionError as exc:
            report.feed_errors[name] = str(exc)
            log.warning("site %s: API step %s skipped: %s", site, name, exc)
    if not report.feeds:
        raise WhmcsApiAuthError(
            f"{api.url}: the credential's API role allows none of the actions the monitor uses; "
            "give it the actions listed in docs/poller.md (Sites with API access only)"
        )


def _run(services: Services, site: str, now: datetime, name: str, step: Any) -> FeedResult:
    key = f"api:{name}"
    ctx = Context(
        site=site,
        catalog=services.catalog,
        config=services.settings.poller,
        now=now,
        fetch=_no_sql,
        origin="whmcs-api",
    )
    with services.db.read() as conn:
        ctx.state = get_state(conn, site, key)
    derived, rows = step(ctx)
    ctx.state["learned"] = True  # a step reads its whole list: one cycle is one full pass
    with services.db.write() as conn:
        inserted = insert_events(conn, derived.events)
        set_state(conn, site, key, ctx.state, now)
    return FeedResult(name, rows=rows, events=len(inserted))


def _activity(ctx: Context, api: WhmcsApi) -> tuple[Derived, int]:
    entries = api.activity_log()
    newest = max((as_int(e.get("id")) or 0 for e in entries), default=0)
    last = ctx.state.get("last_id")
    ctx.state["last_id"] = max(newest, last or 0)
    if last is None and ctx.config.start_at == "end":
        return Derived(), len(entries)
    rows = [
        {
            "id": as_int(e.get("id")),
            "date": e.get("date"),
            "description": e.get("description"),
            "user": e.get("username"),
            "userid": e.get("clientId") or e.get("userid"),
            "ipaddr": e.get("ipaddress"),
        }
        for e in entries
        if (as_int(e.get("id")) or 0) > (last or 0)
    ]
    return activity.activity(ctx, sorted(rows, key=lambda r: r["id"] or 0)), len(entries)


def _overdue(ctx: Context, api: WhmcsApi) -> tuple[Derived, int]:
    """Each overdue invoice once per aging bucket it reaches while the monitor watches."""
    invoices = api.overdue_invoices()
    out = Derived()
    for invoice in invoices:
        bucket = _age_bucket(ctx, as_date(invoice.get("duedate")))
        invoice_id = as_int(invoice.get("id")) or 0
        if bucket is not None and new_condition(ctx, invoice_id, f"{bucket}d+"):
            out.events += billing.overdue_invoice(ctx, invoice, bucket).events
    return out, len(invoices)


def _age_bucket(ctx: Context, due: date | None) -> int | None:
    """The highest aging bucket (days overdue) an invoice due on ``due`` has reached."""
    if due is None:
        return None
    days = (ctx.today - due).days
    return max(
        (b for b in ctx.config.thresholds.invoice_age_buckets_days if b <= days), default=None
    )


def _module_queue(ctx: Context, api: WhmcsApi) -> tuple[Derived, int]:
    items = api.module_queue()
    rows = [
        {
            "id": i.get("id"),
            "service_type": i.get("serviceType"),
            "service_id": i.get("serviceId"),
            "module_name": i.get("moduleName"),
            "module_action": i.get("moduleAction"),
            "last_attempt": i.get("lastAttempt"),
            "last_attempt_error": i.get("lastAttemptError"),
            "num_retries": i.get("numRetries"),
            "completed": 1 if i.get("completed") in (True, 1, "1", "true") else 0,
        }
        for i in items
    ]
    return queues.module_queue(ctx, rows), len(rows)


def _automation(ctx: Context, api: WhmcsApi) -> tuple[Derived, int]:
    log = api.automation_log()
    settings = {"lastDailyCronInvocationTime": str(log.get("lastDailyCronInvocationTime") or "")}
    return automation.settings_events(ctx, settings), 1


def _health(ctx: Context, api: WhmcsApi) -> tuple[Derived, int]:
    checks = api.health_status()
    out = Derived()
    for level, kind in (("danger", "system.health_danger"), ("warning", "system.health_warning")):
        for item in checks[level]:
            name = str(item.get("name") or item.get("type") or "unnamed check")
            data = {"name": name, "body": str(item.get("body") or "")[:500], "level": level}
            key = f"health:{level}:{name}:{ctx.today.isoformat()}"
            out.events.append(ctx.event(kind, key, data))
    return out, sum(len(v) for v in checks.values())


def _domains(ctx: Context, api: WhmcsApi) -> tuple[Derived, int]:
    rows = [
        {
            "id": d.get("id"),
            "userid": d.get("userid"),
            "domain": d.get("domainname"),
            "registrar": d.get("registrar"),
            "status": d.get("status"),
            "expirydate": d.get("expirydate"),
            "registrationdate": d.get("regdate"),
        }
        for d in api.clients_domains()
    ]
    return domain_derive.domains(ctx, rows), len(rows)


def _tickets(ctx: Context, api: WhmcsApi) -> tuple[Derived, int]:
    rows = [
        {
            "id": t.get("id"),
            "tid": t.get("tid"),
            "did": t.get("deptid"),
            "department": t.get("deptname") or f"department #{t.get('deptid')}",
            "userid": t.get("userid"),
            "date": t.get("date"),
            "title": t.get("subject"),
            "status": t.get("status"),
            "urgency": t.get("priority"),
            "lastreply": t.get("lastreply"),
        }
        for t in api.tickets("Awaiting Reply")
    ]
    return tickets.tickets(ctx, rows), len(rows)


def _orders(ctx: Context, api: WhmcsApi) -> tuple[Derived, int]:
    rows = [*api.orders("Pending"), *api.orders("Fraud")]
    derived = billing.orders(ctx, sorted(rows, key=lambda o: as_int(o.get("id")) or 0))
    return derived, len(rows)


# GetStats fields recorded as metric series (whmcs_<field>), for trends and dashboards.
STATS_METRICS = (
    "orders_pending",
    "tickets_awaitingreply",
    "tickets_flaggedtickets",
    "cancellations_pending",
    "networkissues_open",
    "staff_online",
)


def record_stats(services: Services, site: str, api: WhmcsApi, now: datetime) -> int:
    """GetStats counters as metric samples; the values WHMCS leaves out are skipped."""
    stats = api.stats()
    samples = [
        Sample(f"whmcs_{name}", float(value), site=site, ts=now)
        for name in STATS_METRICS
        if (value := _number(stats.get(name))) is not None
    ]
    with services.db.write() as conn:
        record_metrics(conn, samples)
    return len(samples)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _details(ctx: Context, api: WhmcsApi) -> tuple[Derived, int]:
    """Remembers the running version (shown by ``poller status``); the API has no latest one."""
    ctx.state["version"] = str(api.whmcs_details().get("version") or "")
    return Derived(), 1


_STEPS = (
    ("details", _details),
    ("activity", _activity),
    ("overdue_invoices", _overdue),
    ("module_queue", _module_queue),
    ("automation", _automation),
    ("health", _health),
    ("domains", _domains),
    ("tickets", _tickets),
    ("orders", _orders),
)
