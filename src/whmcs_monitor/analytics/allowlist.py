"""The WHMCS columns analytics reads, for the monitor user's column-level GRANT.

The poller's ``sources.allowlist.ALLOWED`` covers what the poller reads; analytics needs more
(transactions, services, servers, ticket replies...). :func:`combined` is the union an operator
grants, and a test checks every KPI query against it and against ``FORBIDDEN``.
"""

from __future__ import annotations

from whmcs_monitor.sources.allowlist import ALLOWED, grant_statements

ANALYTICS_ALLOWED: dict[str, tuple[str, ...]] = {
    "tblaccounts": (
        "id",
        "userid",
        "currency",
        "gateway",
        "date",
        "amountin",
        "fees",
        "amountout",
        "rate",
        "invoiceid",
        "refundid",
    ),
    "tblinvoices": ("id", "date", "status", "datepaid"),
    "tblinvoiceitems": ("id", "invoiceid", "type", "amount"),
    "tblorders": ("id", "date", "invoiceid", "status", "promocode"),
    "tblcancelrequests": ("id", "date", "relid", "reason", "type"),
    "tblclients": ("id", "currency", "status"),
    "tblcurrencies": ("id", "code", "rate", "default"),
    "tblhosting": (
        "id",
        "userid",
        "server",
        "regdate",
        "amount",
        "billingcycle",
        "termination_date",
        "domainstatus",
    ),
    "tblhostingaddons": (
        "id",
        "userid",
        "recurring",
        "billingcycle",
        "status",
        "regdate",
        "termination_date",
    ),
    "tblservers": ("id", "name", "maxaccounts", "active", "disabled"),
    "tbltickets": ("id", "did", "date", "status", "urgency", "lastreply", "merged_ticket_id"),
    "tblticketreplies": ("id", "tid", "date", "admin"),
    "tblticketdepartments": ("id", "name"),
    "tblgatewaylog": ("id", "date", "gateway", "result"),
    "tblaffiliates": ("id", "balance", "withdrawn"),
    "tblaffiliatespending": ("id", "amount", "clearingdate", "created_at"),
    "tblaffiliateswithdrawals": ("id", "date", "amount"),
}


def combined() -> dict[str, tuple[str, ...]]:
    """The poller's allow-list plus analytics' columns: what the monitor's MySQL user needs."""
    merged = {table: tuple(cols) for table, cols in ALLOWED.items()}
    for table, cols in ANALYTICS_ALLOWED.items():
        merged[table] = tuple(dict.fromkeys((*merged.get(table, ()), *cols)))
    return merged


def analytics_grants(database: str, user: str, host: str = "%") -> list[str]:
    """The extra GRANTs analytics needs on top of the poller's."""
    return grant_statements(database, user, host, allowlist=ANALYTICS_ALLOWED)
