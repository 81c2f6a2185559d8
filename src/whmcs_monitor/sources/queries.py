"""Every SQL statement the poller sends to a WHMCS database, and nothing else writes SQL for it.

Each statement reads one allow-listed table (``allowlist.ALLOWED``), names only allow-listed
columns, is an indexed range on a persisted cursor (an id, a date or a status) and is bounded by
``LIMIT %(limit)s``. ``ALL_QUERIES`` lists them so a test can check every one against the
allow-list and run ``EXPLAIN`` on it; identifiers are always back-quoted so that check is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from whmcs_monitor.sources.allowlist import ALLOWED, CONFIG_SETTINGS


@dataclass(frozen=True)
class Query:
    name: str
    table: str
    where: str
    order_by: str = "`id`"
    columns: tuple[str, ...] = field(default=())
    select: str = ""
    limited: bool = True

    @property
    def sql(self) -> str:
        select = self.select or ", ".join(f"`{c}`" for c in (self.columns or ALLOWED[self.table]))
        sql = f"SELECT {select} FROM `{self.table}` WHERE {self.where}"
        if self.order_by:
            sql += f" ORDER BY {self.order_by}"
        if self.limited:
            sql += " LIMIT %(limit)s"
        return sql


def after_id(name: str, table: str) -> Query:
    """The next rows of an append-mostly table, by primary key."""
    return Query(name=name, table=table, where="`id` > %(after)s")


def by_ids(table: str) -> Query:
    """Rows still open from earlier cycles (a pending email, order, queued module command)."""
    return Query(name=f"open:{table}", table=table, where="`id` IN %(ids)s")


def head(table: str) -> Query:
    """The newest id, to start a feed at "now" instead of replaying history."""
    return Query(
        name=f"head:{table}",
        table=table,
        where="`id` > %(after)s",
        select="MAX(`id`) AS `id`",
        order_by="",
        limited=False,
    )


ACTIVITY = after_id("activity", "tblactivitylog")
BANNED_IPS = after_id("banned_ips", "tblbannedips")
GATEWAY_LOG = after_id("gateway_log", "tblgatewaylog")
ERROR_LOG = after_id("error_log", "tblerrorlog")
EMAILS = after_id("emails", "tblemails")
MODULE_QUEUE = after_id("module_queue", "tblmodulequeue")
ORDERS = after_id("orders", "tblorders")
CANCEL_REQUESTS = after_id("cancel_requests", "tblcancelrequests")
UPGRADES = after_id("upgrades", "tblupgrades")
AFFILIATES = after_id("affiliates", "tblaffiliates")
WITHDRAWALS = after_id("withdrawals", "tblaffiliateswithdrawals")
QUOTES = after_id("quotes", "tblquotes")
ADMINS = after_id("admins", "tbladmins")
TASK_STATUS = after_id("task_status", "tbltask_status")

DOMAINS = Query(
    name="domains",
    table="tbldomains",
    where="`status` IN %(statuses)s AND `id` > %(after)s",
)
WATCHED_DOMAIN_STATUSES = ("Active", "Grace", "Redemption", "Expired", "Pending Transfer")

TICKETS_AWAITING = Query(
    name="tickets_awaiting",
    table="tbltickets",
    where="`status` IN %(statuses)s AND `merged_ticket_id` = 0 AND `id` > %(after)s",
)
TICKET_DEPARTMENTS = Query(
    name="ticket_departments", table="tblticketdepartments", where="`id` IN %(ids)s"
)

TASK_NAMES = Query(name="task_names", table="tbltask", where="`id` IN %(ids)s")

INVOICES_DUE_ON = Query(
    name="invoices_due_on",
    table="tblinvoices",
    where="`duedate` = %(day)s AND `id` > %(after)s AND `status` = %(status)s",
)


def dated_between(
    name: str, table: str, condition: str = "", columns: tuple[str, ...] = ()
) -> Query:
    """Rows dated within a reconciliation window, through the table's ``date`` index."""
    where = "`date` >= %(since)s AND `date` < %(until)s"
    return Query(
        name=name,
        table=table,
        where=f"{where} AND {condition}" if condition else where,
        order_by="`date`",
        columns=columns,
    )


# Incoming payments only: a refund is a tblaccounts row too (amountout, refundid) and fires
# InvoiceRefunded, not InvoicePaid.
PAYMENTS_BETWEEN = dated_between(
    "payments_between",
    "tblaccounts",
    "`invoiceid` > %(after)s AND `amountin` > 0 AND `refundid` = 0",
)
TICKETS_OPENED_BETWEEN = dated_between(
    "tickets_opened_between", "tbltickets", columns=("id", "date")
)
ORDERS_PLACED_BETWEEN = dated_between("orders_placed_between", "tblorders", columns=("id", "date"))

CONFIGURATION = Query(
    name="configuration",
    table="tblconfiguration",
    where="`setting` IN %(settings)s",
    order_by="",
    limited=False,
)
CONFIG_PARAMS = {"settings": CONFIG_SETTINGS}

# The two statements that read no table: the session setup and the read-only check.
SESSION_SETUP = "SET SESSION TRANSACTION READ ONLY"
SHOW_GRANTS = "SHOW GRANTS FOR CURRENT_USER()"

FEED_TABLES = (
    ACTIVITY,
    BANNED_IPS,
    GATEWAY_LOG,
    ERROR_LOG,
    EMAILS,
    MODULE_QUEUE,
    ORDERS,
    CANCEL_REQUESTS,
    UPGRADES,
    AFFILIATES,
    WITHDRAWALS,
    QUOTES,
    ADMINS,
    TASK_STATUS,
    DOMAINS,
    TICKETS_AWAITING,
)

# Tail feeds whose rows can stay open (see ``feeds.run_feed``).
WATCHED_TABLES = (EMAILS, MODULE_QUEUE, ORDERS)

ALL_QUERIES: tuple[Query, ...] = (
    *FEED_TABLES,
    *(head(q.table) for q in FEED_TABLES),
    *(by_ids(q.table) for q in WATCHED_TABLES),
    TICKET_DEPARTMENTS,
    TASK_NAMES,
    INVOICES_DUE_ON,
    PAYMENTS_BETWEEN,
    TICKETS_OPENED_BETWEEN,
    ORDERS_PLACED_BETWEEN,
    CONFIGURATION,
)
