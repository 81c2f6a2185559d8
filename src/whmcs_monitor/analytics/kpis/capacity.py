"""Capacity: accounts on each provisioning server against its ``maxaccounts``, and its growth.

A server's *accounts* are its services (``tblhosting.server``) that are Active or Suspended.
Servers that are disabled, or have no limit (``maxaccounts`` = 0), are skipped. *Net growth* per
day is the services placed on the server in the last ``analytics.capacity_growth_days`` days that
went live, minus those cancelled or terminated in that time, divided by the days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from whmcs_monitor.analytics.forecast import days_until_full
from whmcs_monitor.analytics.kpis.common import Connection, Context, Measure, fetch, num

SERVERS_SQL = """
SELECT s.id AS id, s.name AS name, s.maxaccounts AS capacity,
       SUM(h.domainstatus IN ('Active', 'Suspended')) AS accounts,
       SUM(h.regdate >= %(since)s
           AND h.domainstatus IN ('Active', 'Suspended', 'Cancelled', 'Terminated')) AS added,
       SUM(h.domainstatus IN ('Cancelled', 'Terminated') AND h.termination_date >= %(since)s)
           AS removed
FROM tblservers s LEFT JOIN tblhosting h ON h.server = s.id
WHERE s.disabled = 0 AND s.maxaccounts > 0
GROUP BY s.id, s.name, s.maxaccounts
"""


@dataclass(frozen=True, slots=True)
class ServerCapacity:
    server_id: int
    name: str
    accounts: int
    capacity: int  # at least 1: servers without a limit are skipped
    growth_per_day: float

    @property
    def days_until_full(self) -> float | None:
        return days_until_full(self.accounts, self.capacity, self.growth_per_day)


def servers(conn: Connection, ctx: Context) -> list[ServerCapacity]:
    if "capacity.servers" not in ctx.memo:
        ctx.memo["capacity.servers"] = _servers(conn, ctx)
    found: list[ServerCapacity] = ctx.memo["capacity.servers"]
    return found


def _servers(conn: Connection, ctx: Context) -> list[ServerCapacity]:
    days = ctx.config.capacity_growth_days
    since = ctx.now.date() - timedelta(days=days)
    return [
        ServerCapacity(
            int(row["id"]),
            row["name"] or f"server {row['id']}",
            int(num(row["accounts"])),
            int(row["capacity"]),
            (num(row["added"]) - num(row["removed"])) / days,
        )
        for row in fetch(conn, SERVERS_SQL, {"since": since})
    ]


def measure(conn: Connection, ctx: Context) -> list[Measure]:
    out: list[Measure] = []
    for s in servers(conn, ctx):
        labels = {"server": s.name}
        out += [
            Measure("business_server_accounts", s.accounts, labels),
            Measure("business_server_capacity", s.capacity, labels),
            Measure("business_server_utilization", s.accounts / s.capacity, labels),
            Measure("business_server_growth_per_day", round(s.growth_per_day, 4), labels),
        ]
        if s.days_until_full is not None:
            out.append(
                Measure("business_server_days_until_full", round(s.days_until_full, 1), labels)
            )
    return out
