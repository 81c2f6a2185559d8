"""Assembling a site's business report, and sending the weekly one to a receiver.

:func:`produce` is the one way a report is made: the ``report`` command, the API behind the
dashboard's business data and the weekly mail all call it, so they cannot disagree.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from whmcs_monitor.analytics import report as reporting
from whmcs_monitor.analytics.refresh import local_now
from whmcs_monitor.analytics.whmcs import connect
from whmcs_monitor.config import Settings, SiteConfig
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.notify.message import Message
from whmcs_monitor.store import metrics as metric_store
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events

log = logging.getLogger(__name__)
SENT_METRIC = "analytics_weekly_report_sent_week"


def site_with_database(settings: Settings, site_id: str | None) -> SiteConfig:
    """The site to read: the one named, or the only one with a WHMCS database."""
    with_db = [s for s in settings.sites if s.database is not None]
    if site_id is not None:
        site = settings.site(site_id)
        if site is None:
            known = ", ".join(s.id for s in settings.sites) or "none configured"
            raise InputError(f"site {site_id!r} is not a configured site ({known})", field="site")
        if site.database is None:
            raise InputError(
                f"site {site_id!r} has no WHMCS database access; add sites[].database to the config",
                field="site",
            )
        return site
    if len(with_db) == 1:
        return with_db[0]
    if not with_db:
        raise InputError(
            "no site has WHMCS database access; add sites[].database to the config", field="site"
        )
    names = ", ".join(s.id for s in with_db)
    raise InputError(
        f"several sites have WHMCS database access; choose one with --site or ?site= ({names})",
        field="site",
    )


def produce(
    settings: Settings,
    db: Database,
    site: SiteConfig,
    period: reporting.Period,
    *,
    now: datetime | None = None,
    to_date: bool = False,
) -> dict[str, Any]:
    """The report document for ``site`` over the last complete ``period`` (or so far)."""
    assert site.database is not None
    config = settings.analytics
    moment = now or local_now(config)
    win = reporting.window(period, moment, to_date=to_date)
    with db.read() as conn:
        anomalies = query_events(
            conn,
            EventFilter(
                since=win.start.replace(tzinfo=config.zone),
                until=win.end.replace(tzinfo=config.zone),
                categories=("business",),
                sites=(site.id,),
                limit=500,
            ),
        )
    with connect(site.database) as whmcs:
        return reporting.build(
            whmcs,
            site=site.id,
            period=period,
            config=config,
            now=moment,
            to_date=to_date,
            anomalies=anomalies,
        )


def _week_number(moment: datetime) -> int:
    year, week, _ = moment.isocalendar()
    return year * 100 + week


def send_weekly_reports(settings: Settings, db: Database, *, now: datetime | None = None) -> int:
    """Send last week's report for each site, once per week, after the configured hour.

    The week already sent is recorded as a metric sample, so a restart or a second instance
    does not send it again, and a failed send is retried on the next run.
    """
    weekly = settings.analytics.weekly_report
    if weekly.receiver is None:
        return 0
    receiver = settings.alerting.receiver(weekly.receiver)
    if receiver is None:
        log.error("analytics.weekly_report.receiver %r is not a receiver", weekly.receiver)
        return 0
    local = local_now(settings.analytics, now)
    if local.weekday() < weekly.weekday or (
        local.weekday() == weekly.weekday and local.hour < weekly.hour
    ):
        return 0
    week = _week_number(local)
    sent = 0
    for site in (s for s in settings.sites if s.database is not None):
        with db.read() as conn:
            last = metric_store.latest(conn, SENT_METRIC, site=site.id)
        if last and int(last[0][2]) >= week:
            continue
        doc = produce(settings, db, site, "week", now=local)
        message = Message(
            title=f"Weekly business report: {site.name or site.id}",
            text=reporting.to_markdown(doc),
            html=reporting.to_html(doc),
            document={"version": "1", "type": "report", "report": doc},
            severity="info",
        )
        receiver.channel().send(message, delivery_id=f"weekly-report:{site.id}:{week}")
        with db.write() as conn:
            metric_store.record(
                conn, [metric_store.Sample(SENT_METRIC, float(week), site=site.id, ts=utcnow())]
            )
        sent += 1
    return sent
