"""Support: first-response and resolution times in business hours, SLA breaches and the backlog.

*First response* of a ticket is its first reply by staff (``tblticketreplies.admin`` not empty)
minus its opening (``tbltickets.date``), counted in business hours. *Resolution* of a Closed ticket
is its last reply (``tbltickets.lastreply``; WHMCS stores no close time) minus its opening. The
*backlog* is the tickets not Closed; a ticket *awaits a reply* in the statuses listed in
``analytics.sla.awaiting_statuses`` and *breaches* its SLA when it has waited, in business hours
since the customer's last message (``lastreply``), longer than its priority's target. Merged
tickets (``merged_ticket_id`` > 0) are ignored.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from whmcs_monitor.analytics.businesshours import business_seconds
from whmcs_monitor.analytics.kpis.common import Connection, Context, Measure, fetch, moment

# Tickets opened in a window with their first staff reply.
OPENED_SQL = """
SELECT t.id AS id, COALESCE(d.name, '') AS department, t.urgency AS priority, t.date AS opened,
       t.status AS status, t.lastreply AS lastreply,
       (SELECT MIN(r.date) FROM tblticketreplies r WHERE r.tid = t.id AND r.admin <> '')
           AS first_staff_reply
FROM tbltickets t LEFT JOIN tblticketdepartments d ON d.id = t.did
WHERE t.date >= %s AND t.date < %s AND t.merged_ticket_id = 0
"""

# Every ticket not closed: the backlog, and those awaiting a reply.
OPEN_SQL = """
SELECT t.id AS id, COALESCE(d.name, '') AS department, t.urgency AS priority, t.date AS opened,
       t.status AS status, t.lastreply AS lastreply
FROM tbltickets t LEFT JOIN tblticketdepartments d ON d.id = t.did
WHERE t.merged_ticket_id = 0 AND t.status NOT IN %s
"""


@dataclass(frozen=True, slots=True)
class Breach:
    """A ticket waiting for staff longer than its target."""

    ticket_id: int
    department: str
    priority: str
    waiting_since: datetime
    waited_seconds: float
    target_seconds: float


def _median_by_group(
    values: dict[tuple[str, str], list[float]], name: str, period: str
) -> list[Measure]:
    return [
        Measure(name, statistics.median(v), {"period": period, "department": dep, "priority": pri})
        for (dep, pri), v in sorted(values.items())
        if v
    ]


def response_times(conn: Connection, ctx: Context, period: str) -> list[Measure]:
    start, end = ctx.window(period)
    hours = ctx.config.business_hours
    first: dict[tuple[str, str], list[float]] = defaultdict(list)
    resolved: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in fetch(conn, OPENED_SQL, (start, end)):
        opened = moment(row["opened"])
        if opened is None:
            continue
        key = (row["department"], row["priority"] or "")
        replied = moment(row["first_staff_reply"])
        if replied is not None:
            first[key].append(business_seconds(opened, replied, hours))
        closed = moment(row["lastreply"])
        if row["status"] in ctx.config.sla.closed_statuses and closed is not None:
            resolved[key].append(business_seconds(opened, closed, hours))
    return _median_by_group(
        first, "business_ticket_first_response_seconds", period
    ) + _median_by_group(resolved, "business_ticket_resolution_seconds", period)


def backlog(conn: Connection, ctx: Context) -> tuple[list[Measure], list[Breach]]:
    """Backlog and awaiting counts per department and priority, and the SLA breaches."""
    if "support.backlog" not in ctx.memo:
        ctx.memo["support.backlog"] = _backlog(conn, ctx)
    found: tuple[list[Measure], list[Breach]] = ctx.memo["support.backlog"]
    return found


def _backlog(conn: Connection, ctx: Context) -> tuple[list[Measure], list[Breach]]:
    sla = ctx.config.sla
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    breaches: list[Breach] = []
    for row in fetch(conn, OPEN_SQL, (list(sla.closed_statuses),)):
        key = (row["department"], row["priority"] or "")
        counts[key][0] += 1
        if row["status"] not in sla.awaiting_statuses:
            continue
        counts[key][1] += 1
        since = moment(row["lastreply"]) or moment(row["opened"])
        if since is None:
            continue
        waited = business_seconds(since, ctx.now, ctx.config.business_hours)
        target = sla.target(key[1]).total_seconds()
        if waited > target:
            counts[key][2] += 1
            breaches.append(Breach(int(row["id"]), key[0], key[1], since, waited, target))
    measures: list[Measure] = []
    for (dep, pri), (total, awaiting, breached) in sorted(counts.items()):
        labels = {"department": dep, "priority": pri}
        measures += [
            Measure("business_ticket_backlog", total, labels),
            Measure("business_tickets_awaiting_reply", awaiting, labels),
            Measure("business_sla_breaches", breached, labels),
        ]
    return measures, breaches


def measure(conn: Connection, ctx: Context) -> list[Measure]:
    out = backlog(conn, ctx)[0]
    for period in ctx.periods:
        out += response_times(conn, ctx, period)
    return out
