"""The business report for a day, a week or a month: KPIs, forecasts and anomalies, as md/html/json.

One function builds the document (:func:`build`) and small renderers turn it into Markdown or HTML;
the CLI, the scheduled weekly report and the API all use :func:`build`, never a copy of it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from whmcs_monitor.analytics.config import AnalyticsConfig
from whmcs_monitor.analytics.definitions import BY_NAME, FAMILIES, FAMILY_OF
from whmcs_monitor.analytics.detect import not_judged_now
from whmcs_monitor.analytics.forecast import MIN_HISTORY_DAYS, linear_trend, month_end_revenue
from whmcs_monitor.analytics.kpis import capacity, recurring, revenue
from whmcs_monitor.analytics.kpis.common import Connection, Context, Measure
from whmcs_monitor.analytics.refresh import collect

Period = Literal["day", "week", "month"]
PERIOD_CHOICES: tuple[Period, ...] = ("day", "week", "month")
TREND_WEEKS = 8


@dataclass(frozen=True, slots=True)
class Window:
    period: Period
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        last = self.end - timedelta(seconds=1)
        if self.period == "day":
            return f"{self.start:%A %Y-%m-%d}"
        return f"{self.start:%Y-%m-%d} to {last:%Y-%m-%d}"


def window(period: Period, now: datetime, *, to_date: bool = False) -> Window:
    """The last complete period before ``now`` (yesterday, last Monday-Sunday, last month), or
    the current one so far with ``to_date``."""
    midnight = datetime.combine(now.date(), datetime.min.time())
    if period == "day":
        start = midnight
    elif period == "week":
        start = midnight - timedelta(days=now.weekday())
    else:
        start = midnight.replace(day=1)
    if to_date:
        return Window(period, start, now)
    if period == "day":
        return Window(period, start - timedelta(days=1), start)
    if period == "week":
        return Window(period, start - timedelta(weeks=1), start)
    previous = (start - timedelta(days=1)).replace(day=1)
    return Window(period, previous, start)


def _kpi_rows(measures: Sequence[Measure]) -> dict[str, list[dict[str, Any]]]:
    families: dict[str, list[dict[str, Any]]] = {family: [] for family in FAMILIES}
    for m in measures:
        kpi = BY_NAME[m.name]
        labels = {k: v for k, v in m.labels.items() if k != "period"}
        families[FAMILY_OF[m.name]].append(
            {
                "metric": m.name,
                "title": kpi.title,
                "unit": kpi.unit,
                "labels": labels,
                "value": m.value,
            }
        )
    return families


def _mrr_trend(conn: Connection, ctx: Context, mrr_now: float) -> dict[str, Any]:
    """MRR at the end of each of the last weeks, rebuilt from new and churned MRR, and its slope."""
    # Whole days: registration and termination dates carry no time.
    end = datetime.combine(ctx.now.date() + timedelta(days=1), datetime.min.time())
    weeks = {
        f"w{n}": (end - timedelta(weeks=n), end - timedelta(weeks=n - 1))
        for n in range(1, TREND_WEEKS + 1)
    }
    weekly = Context(ctx.now, ctx.config, periods=tuple(weeks), fixed=weeks)
    flow: dict[tuple[str, str], float] = {
        (m.name, m.labels.get("period", "")): m.value
        for m in recurring.measure_recurring(conn, weekly)
    }
    points: list[tuple[float, float]] = [(0.0, mrr_now)]
    level = mrr_now
    for n in range(1, TREND_WEEKS + 1):
        level -= flow[("business_mrr_new", f"w{n}")] - flow[("business_mrr_churned", f"w{n}")]
        points.append((-float(n), round(level, 2)))
    trend = linear_trend(points)
    per_week = trend.slope if trend else 0.0
    return {
        "mrr": round(mrr_now, 2),
        "weekly": [{"weeks_ago": -int(x), "mrr": y} for x, y in sorted(points, reverse=True)],
        "change_per_month": round(per_week * 365.25 / 12 / 7, 2),
        "method": f"least squares over MRR rebuilt from new and churned MRR in the last {TREND_WEEKS} weeks",
    }


def _month_end(conn: Connection, ctx: Context) -> dict[str, Any]:
    """The month-end projection from the last weeks, or from the first transaction if later."""
    today = ctx.now.date()
    first = revenue.first_day(conn, ctx) or today
    daily = revenue.daily_net(conn, max(first, today - timedelta(weeks=TREND_WEEKS)), today)
    elapsed = (ctx.now - datetime.combine(today, datetime.min.time())).total_seconds() / 86400
    projection = month_end_revenue(daily, today, fraction_of_today_elapsed=elapsed)
    total = projection.projected_total
    return {
        "month_to_date": round(projection.month_to_date, 2),
        "projected_total": None if total is None else round(total, 2),
        "days_left": projection.days_left,
        "history_days": projection.history_days,
        "insufficient_history": total is None,
        "method": (
            f"each remaining day at the median of its weekday over {TREND_WEEKS} weeks, from the "
            f"first transaction on; at least {MIN_HISTORY_DAYS} days of history"
        ),
    }


def _forecast(conn: Connection, ctx: Context, mrr_now: float) -> dict[str, Any]:
    return {
        "month_end_revenue": _month_end(conn, ctx),
        "mrr_trend": _mrr_trend(conn, ctx, mrr_now),
        "capacity": [
            {
                "server": s.name,
                "accounts": s.accounts,
                "maxaccounts": s.capacity,
                "growth_per_day": round(s.growth_per_day, 3),
                "days_until_full": None
                if s.days_until_full is None
                else round(s.days_until_full, 1),
            }
            for s in capacity.servers(conn, ctx)
        ],
    }


def build(
    conn: Connection,
    *,
    site: str,
    period: Period,
    config: AnalyticsConfig,
    now: datetime,
    to_date: bool = False,
    anomalies: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The report document for ``site``; ``now`` is the WHMCS server's local time."""
    win = window(period, now, to_date=to_date)
    ctx = Context(now, config, periods=("report",), fixed={"report": (win.start, win.end)})
    measures = collect(conn, ctx)
    mrr_now = next(m.value for m in measures if m.name == "business_mrr_base")
    daily = revenue.daily_net(conn, win.start.date(), (win.end - timedelta(seconds=1)).date())
    return {
        "site": site,
        "period": period,
        "window": {"start": win.start.isoformat(), "end": win.end.isoformat(), "label": win.label},
        "generated_at": now.isoformat(),
        "kpis": _kpi_rows(measures),
        "daily_net_revenue": [
            {"day": d.isoformat(), "net": round(v, 2)} for d, v in sorted(daily.items())
        ],
        "cancellation_reasons": [
            {"reason": reason, "count": n}
            for reason, n in recurring.reasons(conn, win.start, win.end)
        ],
        "forecast": _forecast(conn, ctx, mrr_now),
        "anomalies": [
            {"occurred_at": a["occurred_at"], "kind": a["kind"], "summary": a["summary"]}
            for a in anomalies
        ],
        # Detectors that cannot judge as of ``now``: "no anomalies" would otherwise read as "fine".
        "not_judged": not_judged_now(conn, ctx),
    }


def format_value(value: float, unit: str) -> str:
    if unit == "money":
        return f"{value:,.2f}"
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "seconds":
        minutes = round(value / 60)
        return f"{minutes // 60}h {minutes % 60:02d}m"
    if unit in ("days", "per_day"):
        return f"{value:g}"
    return f"{value:,.0f}"


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items())


def _title(doc: dict[str, Any]) -> str:
    return f"Business report for {doc['site']}: {doc['period']} {doc['window']['label']}"


def _forecast_lines(doc: dict[str, Any]) -> list[str]:
    trend = doc["forecast"]["mrr_trend"]
    lines = [
        _month_end_line(doc["forecast"]["month_end_revenue"]),
        f"MRR {trend['mrr']:,.2f}, trend {trend['change_per_month']:+,.2f} per month.",
    ]
    for s in doc["forecast"]["capacity"]:
        full = (
            "not growing"
            if s["days_until_full"] is None
            else f"full in about {s['days_until_full']:g} days"
        )
        lines.append(
            f"Server {s['server']}: {s['accounts']} of {s['maxaccounts']} accounts, {full}."
        )
    return lines


def _month_end_line(month: dict[str, Any]) -> str:
    so_far = f"{month['month_to_date']:,.2f} so far, {month['days_left']} day(s) left"
    if month["projected_total"] is None:
        return (
            f"Month-end revenue projection: not enough history yet ({month['history_days']} "
            f"day(s) of revenue before today, {MIN_HISTORY_DAYS} needed; {so_far})."
        )
    return f"Month-end revenue projection: {month['projected_total']:,.2f} ({so_far})."


def _anomaly_lines(doc: dict[str, Any]) -> list[str]:
    found = [f"{a['occurred_at']} {a['summary']}" for a in doc["anomalies"]] or ["None."]
    return found + [f"Not judged: {note}" for note in doc["not_judged"]]


def to_markdown(doc: dict[str, Any]) -> str:
    out = [f"# {_title(doc)}", ""]
    for family, rows in doc["kpis"].items():
        if not rows:
            continue
        out += [f"## {family}", "", "| KPI | for | value |", "|---|---|---:|"]
        out += [
            f"| {r['title']} | {_labels(r['labels'])} | {format_value(r['value'], r['unit'])} |"
            for r in rows
        ]
        out.append("")
    out += ["## Forecast", "", *[f"- {line}" for line in _forecast_lines(doc)], ""]
    if doc["cancellation_reasons"]:
        out += [
            "## Cancellation reasons",
            "",
            *[
                f"- {r['reason'] or '(none given)'}: {r['count']}"
                for r in doc["cancellation_reasons"]
            ],
            "",
        ]
    out += ["## Anomalies", "", *[f"- {line}" for line in _anomaly_lines(doc)]]
    return "\n".join(out) + "\n"


def to_html(doc: dict[str, Any]) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(_title(doc))}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .6em}td.v{text-align:right}</style></head><body>",
        f"<h1>{e(_title(doc))}</h1>",
    ]
    for family, rows in doc["kpis"].items():
        if not rows:
            continue
        parts.append(f"<h2>{e(family)}</h2><table><tr><th>KPI</th><th>for</th><th>value</th></tr>")
        parts += [
            f"<tr><td>{e(r['title'])}</td><td>{e(_labels(r['labels']))}</td>"
            f"<td class='v'>{e(format_value(r['value'], r['unit']))}</td></tr>"
            for r in rows
        ]
        parts.append("</table>")
    parts.append(
        "<h2>Forecast</h2><ul>"
        + "".join(f"<li>{e(x)}</li>" for x in _forecast_lines(doc))
        + "</ul>"
    )
    if doc["cancellation_reasons"]:
        parts.append("<h2>Cancellation reasons</h2><ul>")
        parts += [
            f"<li>{e(r['reason'] or '(none given)')}: {r['count']}</li>"
            for r in doc["cancellation_reasons"]
        ]
        parts.append("</ul>")
    parts.append("<h2>Anomalies</h2><ul>")
    parts += [f"<li>{e(line)}</li>" for line in _anomaly_lines(doc)]
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"
