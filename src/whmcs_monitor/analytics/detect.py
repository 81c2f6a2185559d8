"""Detectors: each compares a KPI now with its seasonal baseline and yields anomaly signals.

A :class:`Signal` is everything an event needs (catalog kind, data with the baseline explained, a
deterministic id so a re-run in the same hour or day cannot duplicate it). Detectors read WHMCS
through the KPI modules and decide through :mod:`anomaly`; they never write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from whmcs_monitor.analytics.anomaly import LevelRule, RateRule, level_anomaly, rate_anomaly
from whmcs_monitor.analytics.baseline import WEEKDAYS, robust, same_slot_past_weeks, slot_name
from whmcs_monitor.analytics.kpis import capacity, orders, payments, recurring, revenue, support
from whmcs_monitor.analytics.kpis.common import Connection, Context, fetch, num
from whmcs_monitor.lib.durations import format_duration

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Signal:
    kind: str
    event_id: str
    data: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)


Detector = Callable[[Connection, Context], Iterator[Signal]]


class NotEnoughData(Exception):
    """Raised by a detector whose history is too short to judge; the refresh reports it."""


@dataclass(frozen=True, slots=True)
class Detection:
    """The anomalies found, and a note for each detector that could not judge (and why)."""

    signals: list[Signal]
    notes: list[str]


def _money(value: float) -> str:
    return f"{value:,.2f}"


# A median and MAD of fewer past weeks than this (or than baseline_weeks) judge nothing.
MIN_BASELINE_WEEKS = 3


def revenue_baseline_days(conn: Connection, ctx: Context) -> list[date]:
    """The same weekday in each of the last ``baseline_weeks`` weeks, from the day of the first
    transaction on: a week before the shop took any money is not a week without revenue.

    Raises :class:`NotEnoughData` when fewer than ``MIN_BASELINE_WEEKS`` of them are left.
    """
    first = revenue.first_day(conn, ctx)
    weeks = ctx.config.baseline_weeks
    days = [
        d.date()
        for d in same_slot_past_weeks(ctx.now, weeks)
        if first is not None and d.date() >= first
    ]
    needed = min(MIN_BASELINE_WEEKS, weeks)
    if len(days) < needed:
        has = (
            f"the site has {len(days)} since its first transaction on {first}"
            if first
            else "the site has no transaction yet"
        )
        raise NotEnoughData(
            f"revenue so far today is not compared until {needed} past "
            f"{WEEKDAYS[ctx.now.weekday()]}s have revenue history; {has}"
        )
    return days


def not_judged_now(conn: Connection, ctx: Context) -> list[str]:
    """What the detectors cannot judge yet for lack of history, for a report to say so."""
    try:
        revenue_baseline_days(conn, ctx)
    except NotEnoughData as exc:
        return [_note(revenue_today, exc)]
    return []


def revenue_today(conn: Connection, ctx: Context) -> Iterator[Signal]:
    """Net revenue from midnight until now, against the same weekdays up to the same time."""
    now = ctx.now
    days = revenue_baseline_days(conn, ctx)
    values = revenue.so_far_on(conn, [now.date(), *days], now.time())
    until = now.strftime("%H:%M")
    baseline = robust(
        [values[d] for d in days],
        f"net revenue from midnight to {until} on each of the last {len(days)} "
        f"{WEEKDAYS[now.weekday()]}s",
    )
    rule = LevelRule(
        min_baseline=ctx.config.revenue_min_baseline, min_relative=ctx.config.revenue_min_relative
    )
    finding = level_anomaly(
        values[now.date()],
        baseline,
        rule,
        what="revenue so far today",
        typical=f"a typical {slot_name(now)}",
    )
    if finding is None:
        return
    yield Signal(
        "business.revenue_anomaly",
        f"analytics:revenue:{now:%Y-%m-%d}:{now.hour:02d}",
        {
            **finding.explain(),
            "actual": _money(finding.actual),
            "expected": _money(finding.expected),
            "window": f"today until {until}",
            "message": finding.message,
        },
    )


def failed_payments(conn: Connection, ctx: Context) -> Iterator[Signal]:
    """Each gateway's failed-payment rate over the last hours, against the same hours past weeks."""
    hours = ctx.config.failed_payment_window_hours
    end = ctx.now
    start = end - timedelta(hours=hours)
    current = payments.by_gateway(conn, start, end)
    past = [
        payments.by_gateway(conn, at - timedelta(hours=hours), at)
        for at in same_slot_past_weeks(ctx.now, ctx.config.baseline_weeks)
    ]
    rule = RateRule(
        min_attempts=ctx.config.failed_payment_min_attempts,
        min_ratio=ctx.config.failed_payment_min_ratio,
    )
    for gateway, counts in sorted(current.items()):
        samples = [p[gateway].rate for p in past if gateway in p and p[gateway].attempts]
        if not samples:
            continue
        baseline = robust(
            samples,
            f"failed share of {gateway} gateway log entries in the same {hours} h window "
            f"({start:%a %H:%M}-{end:%H:%M}) of the last {len(past)} weeks",
        )
        finding = rate_anomaly(
            counts.rate,
            counts.attempts,
            baseline,
            rule,
            what=f"the failed payment rate at {gateway}",
        )
        if finding is None:
            continue
        yield Signal(
            "business.failed_payment_rate_anomaly",
            f"analytics:failed_payments:{gateway}:{end:%Y-%m-%d}:{end.hour:02d}",
            {
                "gateway": gateway,
                "rate": f"{counts.rate:.1%}",
                "baseline": f"{baseline.median:.1%}",
                "attempts": counts.attempts,
                "failed": counts.failed,
                "window": f"last {hours} h",
                "message": finding.message,
                **{k: v for k, v in finding.explain().items() if k != "baseline"},
                "baseline_detail": baseline.explain(),
            },
            {"gateway": gateway},
        )


# Services and addons cancelled or terminated per day, for the churn detector.
CHURN_DAILY_SQL = """
SELECT x.ended AS day, COUNT(*) AS n FROM (
  SELECT h.termination_date AS ended FROM tblhosting h
  WHERE h.domainstatus IN ('Cancelled', 'Terminated') AND h.termination_date >= %(first)s
    AND h.termination_date <= %(last)s
  UNION ALL
  SELECT ha.termination_date FROM tblhostingaddons ha
  WHERE ha.status IN ('Cancelled', 'Terminated') AND ha.termination_date >= %(first)s
    AND ha.termination_date <= %(last)s
) x GROUP BY x.ended
"""


def churn_yesterday(conn: Connection, ctx: Context) -> Iterator[Signal]:
    """Yesterday's cancellations and terminations against the same weekday in past weeks."""
    day = ctx.now.date() - timedelta(days=1)
    days = [day - timedelta(weeks=n) for n in range(1, ctx.config.baseline_weeks + 1)]
    rows = fetch(conn, CHURN_DAILY_SQL, {"first": min(days), "last": day})
    found = {row["day"]: num(row["n"]) for row in rows}
    weekday = WEEKDAYS[day.weekday()]
    baseline = robust(
        [found.get(d, 0.0) for d in days],
        f"services and addons cancelled or terminated on each of the last {len(days)} {weekday}s",
    )
    rule = LevelRule(min_baseline=ctx.config.churn_min_baseline, directions=("above",))
    count = found.get(day, 0.0)
    finding = level_anomaly(
        count, baseline, rule, what=f"churn on {weekday} {day}", typical=f"a typical {weekday}"
    )
    if finding is None:
        return
    yield Signal(
        "business.churn_spike",
        f"analytics:churn:{day}",
        {
            "count": int(count),
            "window": f"{weekday} {day}",
            "baseline": f"{baseline.median:g}",
            "message": finding.message,
            **{k: v for k, v in finding.explain().items() if k != "baseline"},
            "baseline_detail": baseline.explain(),
        },
    )


def conversion(conn: Connection, ctx: Context) -> Iterator[Signal]:
    """Orders placed in the last 24 h and paid by now, against the same window in past weeks."""
    end = ctx.now
    start = end - timedelta(days=1)
    placed, paid = orders.paid_by(conn, start, end)
    past = [
        orders.paid_by(conn, at - timedelta(days=1), at)
        for at in same_slot_past_weeks(end, ctx.config.baseline_weeks)
    ]
    samples = [p / n for n, p in past if n]
    if not samples or placed < ctx.config.conversion_min_orders:
        return
    baseline = robust(
        samples, f"share of orders paid within the same 24 h window of the last {len(past)} weeks"
    )
    rule = LevelRule(min_baseline=0.0, directions=("below",))
    rate = paid / placed
    finding = level_anomaly(
        rate,
        baseline,
        rule,
        what="order conversion over the last 24 h",
        typical=f"a typical {WEEKDAYS[end.weekday()]}",
    )
    if finding is None:
        return
    yield Signal(
        "business.conversion_drop",
        f"analytics:conversion:{end:%Y-%m-%d}:{end.hour:02d}",
        {
            "rate": f"{rate:.1%}",
            "placed": placed,
            "paid": paid,
            "window": "last 24 h",
            "baseline": f"{baseline.median:.1%}",
            "message": finding.message,
            **{k: v for k, v in finding.explain().items() if k != "baseline"},
            "baseline_detail": baseline.explain(),
        },
    )


def sla_breaches(conn: Connection, ctx: Context) -> Iterator[Signal]:
    """One event per ticket and waiting episode that exceeds its priority's SLA (business hours)."""
    for breach in support.backlog(conn, ctx)[1]:
        yield Signal(
            "business.support_sla_breach",
            f"analytics:sla:{breach.ticket_id}:{breach.waiting_since:%Y%m%d%H%M%S}",
            {
                "ticketid": breach.ticket_id,
                "department": breach.department,
                "priority": breach.priority,
                "waiting": format_duration(timedelta(seconds=int(breach.waited_seconds))),
                "sla": format_duration(timedelta(seconds=int(breach.target_seconds))),
                "waiting_since": breach.waiting_since.isoformat(),
                "message": "waiting time counts business hours only",
            },
        )


def capacity_forecast(conn: Connection, ctx: Context) -> Iterator[Signal]:
    """Servers full within ``capacity_warn_days`` at their net growth of the last weeks."""
    for server in capacity.servers(conn, ctx):
        days = server.days_until_full
        if days is None or days > ctx.config.capacity_warn_days:
            continue
        yield Signal(
            "business.capacity_forecast",
            f"analytics:capacity:{server.server_id}:{ctx.now:%Y-%m-%d}",
            {
                "serverid": server.server_id,
                "server": server.name,
                "days": round(days),
                "accounts": server.accounts,
                "maxaccounts": server.capacity,
                "growth_per_day": round(server.growth_per_day, 3),
                "message": (
                    f"{server.accounts} of {server.capacity} accounts used, growing by "
                    f"{server.growth_per_day:.2f} a day over the last "
                    f"{ctx.config.capacity_growth_days} days"
                ),
            },
            {"server": server.name},
        )


def mrr_change(conn: Connection, ctx: Context) -> Iterator[Signal]:
    """This week's net new MRR (new minus churned) when it moves MRR by more than
    ``mrr_change_min_relative``."""
    if "week" not in ctx.periods:
        return
    values = {
        (m.name, m.labels.get("period")): m.value for m in recurring.measure_recurring(conn, ctx)
    }
    mrr = values[("business_mrr_base", None)]
    change = values[("business_mrr_new", "week")] - values[("business_mrr_churned", "week")]
    start = mrr - change
    if start <= 0 or abs(change) < ctx.config.mrr_change_min_relative * start:
        return
    direction = "up" if change > 0 else "down"
    yield Signal(
        "business.mrr_changed",
        f"analytics:mrr:{ctx.now:%G-W%V}:{direction}",
        {
            "direction": direction,
            "change": _money(abs(change)),
            "mrr": _money(mrr),
            "window": "this week so far",
            "message": f"MRR {direction} {abs(change) / start:.0%} since Monday ({_money(start)} then)",
            "new_mrr": values[("business_mrr_new", "week")],
            "churned_mrr": values[("business_mrr_churned", "week")],
        },
    )


DETECTORS = (
    revenue_today,
    failed_payments,
    churn_yesterday,
    conversion,
    sla_breaches,
    capacity_forecast,
    mrr_change,
)


# What can change within minutes; churn (by date) and capacity (by day) are checked on full
# refreshes only.
FAST_DETECTORS = (revenue_today, failed_payments, conversion, sla_breaches)


def detect(conn: Connection, ctx: Context, detectors: Sequence[Detector] = DETECTORS) -> Detection:
    """Run each detector on its own: one that lacks data or fails is noted (a failure is also
    logged) and the others still run, so a refresh never loses its KPIs to one detector."""
    signals: list[Signal] = []
    notes: list[str] = []
    for detector in detectors:
        try:
            signals += list(detector(conn, ctx))
        except Exception as exc:
            if not isinstance(exc, NotEnoughData):
                log.exception("analytics detector %s failed", detector.__name__)
            notes.append(_note(detector, exc))
    return Detection(signals, notes)


def _note(detector: Detector, exc: Exception) -> str:
    if isinstance(exc, NotEnoughData):
        return f"{detector.__name__}: not enough data: {exc}"
    return f"{detector.__name__}: failed ({type(exc).__name__}: {exc}); see the service log"
