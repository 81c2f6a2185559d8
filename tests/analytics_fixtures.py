"""Ninety days of WHMCS history whose KPI values are known by construction.

"Now" is Tuesday 2026-11-24 15:30 (the WHMCS server's local time, UTC here). Every figure the
analytics tests expect follows from the rules below, written down next to the rows they create:

Revenue (tblaccounts). Client 1 pays in USD (rate 1), client 21 in EUR (rate 2: 1 USD = 2 EUR).
- Weekdays: one Stripe payment of 10.00 USD (fee 0.50) at every hour 08:00-19:00 (12 a day).
- Weekends: one at 08, 10, 12, 14, 16 and 18:00 (6 a day): the weekend dip.
- Every day: one PayPal payment of 20.00 EUR (fee 1.00) at 12:00.
- Mondays: one Stripe refund of 10.00 USD at 09:30.
So a Tuesday until 15:30 nets 8 x 9.50 = 76 USD + 19 EUR, i.e. 76 + 9.5 = 85.5 in USD.

Gateway log: every hour of every day, 10 Stripe entries, one of them "Failure" on even hours
(5% over any 6 hours), and 2 PayPal "Success" entries.

Recurring items (MRR), on server "web1" (no limit): see SERVICES; USD MRR 210, EUR MRR 60,
MRR in USD 240. Orders, tickets, servers, promotions and affiliates are described where seeded.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pymysql
import pytest
from pydantic import SecretStr

from support import require
from whmcs_db import HOST, PORT, WhmcsDb, admin_connection, mariadb_available, schema_statements
from whmcs_monitor.analytics.allowlist import analytics_grants
from whmcs_monitor.analytics.config import AnalyticsConfig
from whmcs_monitor.config import WhmcsDatabaseConfig
from whmcs_monitor.sources.allowlist import grant_statements

NOW = datetime(2026, 11, 24, 15, 30)
FIRST_DAY = NOW.date() - timedelta(days=90)
USD_CLIENT, EUR_CLIENT = 1, 21
OLD = date(2026, 5, 1)

# (userid, amount, billingcycle, status, regdate, termination_date, server)
SERVICES: list[tuple[int, float, str, str, date, date | None, int]] = [
    *[(u, 10.0, "Monthly", "Active", OLD, None, 1) for u in range(1, 9)],  # 8 x 10 = 80
    (22, 10.0, "Monthly", "Active", date(2026, 11, 10), None, 1),  # new this month
    (23, 10.0, "Monthly", "Active", date(2026, 11, 10), None, 1),  # new this month
    *[(u, 120.0, "Annually", "Active", OLD, None, 1) for u in range(9, 13)],  # 4 x 10 = 40
    *[(u, 30.0, "Quarterly", "Active", OLD, None, 1) for u in (13, 14)],  # 2 x 10 = 20
    *[(u, 60.0, "Semi-Annually", "Suspended", OLD, None, 1) for u in (15, 16)],  # 2 x 10 = 20
    (17, 240.0, "Biennially", "Active", OLD, None, 1),  # 10
    (18, 360.0, "Triennially", "Active", OLD, None, 1),  # 10
    *[(u, 20.0, "Monthly", "Active", OLD, None, 1) for u in (19, 20, 21)],  # 60 EUR = 30 USD
    *[(1, 0.0, "Free Account", "Active", OLD, None, 0) for _ in range(3)],  # not recurring
    *[(2, 50.0, "One Time", "Active", OLD, None, 0) for _ in range(2)],  # not recurring
    *[(24, 10.0, "Monthly", "Pending", NOW.date(), None, 1) for _ in range(2)],  # never live
    *[(30, 10.0, "Monthly", "Terminated", OLD, date(2026, 11, 20), 1) for _ in range(2)],
    *[(31, 10.0, "Monthly", "Terminated", OLD, date(2026, 11, 23), 1) for _ in range(2)],
]
# (userid, recurring, billingcycle, status): 5 x 2 USD = 10 of MRR, the One Time addon is not.
ADDONS = [*[(u, 2.0, "Monthly", "Active") for u in range(1, 6)], (6, 25.0, "One Time", "Active")]
EXPECTED_MRR_USD = 80 + 20 + 40 + 20 + 20 + 10 + 10 + 10  # 210 (addons included)
EXPECTED_MRR_EUR = 60.0
EXPECTED_MRR_BASE = EXPECTED_MRR_USD + EXPECTED_MRR_EUR / 2  # 240


def days() -> Iterator[date]:
    day = FIRST_DAY
    while day <= NOW.date():
        yield day
        day += timedelta(days=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def insert_rows(
    conn: pymysql.connections.Connection[Any], table: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert rows (dicts with the same keys) in one statement."""
    if not rows:
        return
    cols = list(rows[0])
    sql = f"INSERT INTO `{table}` ({', '.join(f'`{c}`' for c in cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
    with conn.cursor() as cur:
        cur.executemany(sql, [[r[c] for c in cols] for r in rows])


def _past(moment: datetime) -> bool:
    return moment < NOW


def transactions() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for day in days():
        hours = range(8, 20) if day.weekday() < 5 else range(8, 20, 2)
        for hour in hours:
            rows.append(
                dict(
                    userid=USD_CLIENT,
                    currency=0,
                    gateway="stripe",
                    date=at(day, hour),
                    amountin=10,
                    fees=0.5,
                    amountout=0,
                    rate=1,
                    invoiceid=0,
                )
            )
        rows.append(
            dict(
                userid=EUR_CLIENT,
                currency=0,
                gateway="paypal",
                date=at(day, 12),
                amountin=20,
                fees=1,
                amountout=0,
                rate=2,
                invoiceid=0,
            )
        )
        if day.weekday() == 0:
            rows.append(
                dict(
                    userid=USD_CLIENT,
                    currency=0,
                    gateway="stripe",
                    date=at(day, 9, 30),
                    amountin=0,
                    fees=0,
                    amountout=10,
                    rate=1,
                    invoiceid=0,
                )
            )
    return [r for r in rows if _past(r["date"])]


def gateway_log() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for day in days():
        for hour in range(24):
            for n in range(10):
                failed = hour % 2 == 0 and n == 0
                rows.append(
                    dict(
                        date=at(day, hour, n),
                        gateway="stripe",
                        result="Failure" if failed else "Success",
                        data="card=4111111111111111",
                    )
                )
            rows += [
                dict(date=at(day, hour, 30 + n), gateway="paypal", result="Success", data="")
                for n in range(2)
            ]
    return [r for r in rows if _past(r["date"])]


def orders_and_invoices(conn: pymysql.connections.Connection[Any]) -> None:
    """Weekdays: 10 orders at 09:00-18:00; #0-7 paid 10 min later and Active, #1 with promo
    SAVE10, #8 Pending and unpaid, #9 Fraud. Weekends: 4 orders at 10:00-13:00, #0-2 paid and
    Active, #3 Pending and unpaid."""
    invoices: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    for day in days():
        count = 10 if day.weekday() < 5 else 4
        first = 9 if count == 10 else 10
        for i in range(count):
            placed = at(day, first + i)
            if not _past(placed):
                continue
            pending = i == (8 if count == 10 else 3)
            fraud = count == 10 and i == 9
            paid = not pending and not fraud
            invoices.append(
                dict(
                    id=len(invoices) + 1,
                    userid=1,
                    date=day,
                    status="Paid" if paid else ("Cancelled" if fraud else "Unpaid"),
                    datepaid=placed + timedelta(minutes=10) if paid else "0000-00-00 00:00:00",
                )
            )
            orders.append(
                dict(
                    ordernum=len(orders) + 1,
                    userid=1,
                    date=placed,
                    invoiceid=len(invoices),
                    status="Fraud" if fraud else ("Pending" if pending else "Active"),
                    promocode="SAVE10" if count == 10 and i == 1 else "",
                    amount=10,
                )
            )
    insert_rows(conn, "tblinvoices", invoices)
    insert_rows(conn, "tblorders", orders)


def services(conn: pymysql.connections.Connection[Any]) -> None:
    insert_rows(
        conn,
        "tblservers",
        [
            dict(id=1, name="web1", maxaccounts=0, disabled=0, password="server-secret-1"),
            dict(id=2, name="web2", maxaccounts=50, disabled=0, password="server-secret-2"),
            dict(id=3, name="old", maxaccounts=10, disabled=1, password="server-secret-3"),
        ],
    )
    rows = [
        dict(
            userid=u,
            amount=a,
            billingcycle=c,
            domainstatus=s,
            regdate=r,
            termination_date=t or "0000-00-00",
            server=srv,
            packageid=1,
            password="svc-secret",
        )
        for u, a, c, s, r, t, srv in SERVICES
    ]
    # web2: 30 old free accounts and 10 placed in the last 30 days: 40 of 50, +1 every 3 days.
    rows += [
        dict(
            userid=40,
            amount=0,
            billingcycle="Free Account",
            domainstatus="Active",
            regdate=OLD,
            termination_date="0000-00-00",
            server=2,
            packageid=2,
            password="svc-secret",
        )
        for _ in range(30)
    ]
    rows += [
        dict(
            userid=40,
            amount=0,
            billingcycle="Free Account",
            domainstatus="Active",
            regdate=NOW.date() - timedelta(days=3 * n + 1),
            termination_date="0000-00-00",
            server=2,
            packageid=2,
            password="svc-secret",
        )
        for n in range(10)
    ]
    insert_rows(conn, "tblhosting", rows)
    insert_rows(
        conn,
        "tblhostingaddons",
        [
            dict(
                userid=u, recurring=r, billingcycle=c, status=s, regdate=OLD, hostingid=1, addonid=1
            )
            for u, r, c, s in ADDONS
        ],
    )
    clients = [
        dict(
            id=u, currency=2 if u in (19, 20, 21) else 1, status="Active", password="client-secret"
        )
        for u in range(1, 41)
    ]
    insert_rows(conn, "tblclients", clients)
    insert_rows(
        conn,
        "tblcurrencies",
        [dict(id=1, code="USD", rate=1, default=1), dict(id=2, code="EUR", rate=2, default=0)],
    )


def support(conn: pymysql.connections.Connection[Any]) -> None:
    """Business hours Mon-Fri 09:00-17:00. See the support tests for each ticket's story."""
    insert_rows(
        conn,
        "tblticketdepartments",
        [
            dict(id=1, name="Support", password="pop3-secret"),
            dict(id=2, name="Sales", password="pop3-secret"),
        ],
    )
    tickets = [
        # id, did, urgency, opened, status, lastreply, merged
        (1, 1, "High", at(date(2026, 11, 23), 16), "Answered", at(NOW.date(), 9, 30), 0),
        (2, 1, "High", at(NOW.date(), 10), "Answered", at(NOW.date(), 10, 20), 0),
        (3, 2, "Low", at(date(2026, 11, 20), 16, 30), "Closed", at(date(2026, 11, 23), 10), 0),
        (4, 1, "High", at(NOW.date(), 9), "Customer-Reply", at(NOW.date(), 12), 0),
        (5, 2, "Medium", at(NOW.date(), 14), "Open", at(NOW.date(), 14), 0),
        (6, 1, "High", at(date(2026, 11, 2), 9), "Open", at(date(2026, 11, 2), 9), 5),
    ]
    insert_rows(
        conn,
        "tbltickets",
        [
            dict(
                id=i,
                did=d,
                urgency=u,
                date=o,
                status=s,
                lastreply=lr,
                merged_ticket_id=m,
                tid=f"T{i}",
                userid=1,
                message="hello",
            )
            for i, d, u, o, s, lr, m in tickets
        ],
    )
    replies = [
        (1, at(NOW.date(), 9, 30), "alice"),
        (2, at(NOW.date(), 10, 5), ""),  # the customer adds a detail: not a response
        (2, at(NOW.date(), 10, 20), "bob"),
        (3, at(date(2026, 11, 23), 9, 30), "alice"),
        (3, at(date(2026, 11, 23), 10), ""),
        (4, at(NOW.date(), 9, 15), "alice"),
        (4, at(NOW.date(), 12), ""),
    ]
    insert_rows(
        conn,
        "tblticketreplies",
        [dict(tid=t, date=d, admin=a, userid=1, message="reply") for t, d, a in replies],
    )


def marketing(conn: pymysql.connections.Connection[Any]) -> None:
    """Two promo discounts this week, affiliate balances 15.50 + 4.50, 7.25 pending (created today),
    3.00 cleared last month, one 12.00 withdrawal on Nov 2, three cancellation requests this week."""
    insert_rows(
        conn,
        "tblinvoiceitems",
        [dict(invoiceid=i, type="PromoHosting", amount=-5, userid=1, relid=1) for i in (1, 2)],
    )
    conn.cursor().execute(
        "UPDATE tblinvoices SET date = %s WHERE id IN (1, 2)", (date(2026, 11, 23),)
    )
    insert_rows(
        conn, "tblaffiliates", [dict(clientid=1, balance=15.5), dict(clientid=2, balance=4.5)]
    )
    insert_rows(
        conn,
        "tblaffiliatespending",
        [
            dict(amount=7.25, clearingdate=date(2026, 12, 24), created_at=at(NOW.date(), 8)),
            dict(amount=3, clearingdate=date(2026, 11, 1), created_at=at(date(2026, 10, 2), 8)),
        ],
    )
    insert_rows(
        conn, "tblaffiliateswithdrawals", [dict(affiliateid=1, date=date(2026, 11, 2), amount=12)]
    )
    insert_rows(
        conn,
        "tblcancelrequests",
        [
            dict(
                date=at(date(2026, 11, 23), 11),
                relid=1,
                reason="Too expensive",
                type="End of Billing Period",
            ),
            dict(
                date=at(NOW.date(), 11),
                relid=2,
                reason="Too expensive",
                type="End of Billing Period",
            ),
            dict(
                date=at(NOW.date(), 12), relid=3, reason="Moving to another host", type="Immediate"
            ),
        ],
    )


def seed(whmcs: WhmcsDb) -> None:
    conn = whmcs.admin
    insert_rows(conn, "tblaccounts", transactions())
    insert_rows(conn, "tblgatewaylog", gateway_log())
    orders_and_invoices(conn)
    services(conn)
    support(conn)
    marketing(conn)
    grant_analytics(whmcs)


def grant_analytics(whmcs: WhmcsDb) -> None:
    with whmcs.admin.cursor() as cur:
        for grant in analytics_grants(whmcs.name, whmcs.user):
            cur.execute(grant)


def daily_takings(whmcs: WhmcsDb, days: range, amount: float = 100.0) -> None:
    """A young shop: one Stripe payment of ``amount`` USD at 10:00 on each of ``days`` days ago."""
    insert_rows(
        whmcs.admin,
        "tblaccounts",
        [
            dict(
                userid=USD_CLIENT,
                currency=0,
                gateway="stripe",
                date=at(NOW.date() - timedelta(days=n), 10),
                amountin=amount,
                fees=0,
                amountout=0,
                rate=1,
                invoiceid=0,
            )
            for n in days
        ],
    )


@dataclass
class History:
    whmcs: WhmcsDb
    conn: pymysql.connections.Connection[Any]  # the monitor's read-only user


def read_only(whmcs: WhmcsDb) -> pymysql.connections.Connection[Any]:
    return pymysql.connect(
        host=whmcs.config.host,
        port=whmcs.config.port,
        user=whmcs.user,
        password=whmcs.password,
        database=whmcs.name,
    )


@pytest.fixture
def history(whmcs_db: WhmcsDb) -> Iterator[History]:
    """A freshly seeded database a test may change (inject a drop, a failure spike)."""
    seed(whmcs_db)
    conn = read_only(whmcs_db)
    yield History(whmcs_db, conn)
    conn.close()


@pytest.fixture
def bare_history(whmcs_db: WhmcsDb) -> Iterator[History]:
    """An empty WHMCS database, readable by the monitor's user, that a test fills itself."""
    grant_analytics(whmcs_db)
    conn = read_only(whmcs_db)
    yield History(whmcs_db, conn)
    conn.close()


@pytest.fixture(scope="module")
def shared_history() -> Iterator[History]:
    """One seeded database for a module's read-only tests: seeding takes seconds, reading does not.

    It is built like ``whmcs_db`` (same schema, same read-only user and grants) but lives for the
    module; tests using it must not write.
    """
    whmcs = _module_whmcs_db()
    db = next(whmcs)
    seed(db)
    conn = read_only(db)
    yield History(db, conn)
    conn.close()
    next(whmcs, None)


def _module_whmcs_db() -> Iterator[WhmcsDb]:
    global _UP
    if _UP is None:
        _UP = mariadb_available()
    require(_UP, f"MariaDB is not reachable at {HOST}:{PORT} as root without a password")
    suffix = secrets.token_hex(5)
    name, user, password = f"whmcs_an_{suffix}", f"wm_an_{suffix}", secrets.token_hex(16)
    root = admin_connection()
    with root.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci")
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
    admin = admin_connection(name)
    try:
        with admin.cursor() as cur:
            for statement in schema_statements():
                cur.execute(statement)
            for grant in grant_statements(name, user):
                cur.execute(grant)
        config = WhmcsDatabaseConfig(
            host=HOST, port=PORT, name=name, user=user, password=SecretStr(password)
        )
        yield WhmcsDb(name=name, user=user, password=password, admin=admin, config=config)
    finally:
        admin.close()
        with root.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        root.close()


_UP: bool | None = None


def config(**overrides: Any) -> AnalyticsConfig:
    return AnalyticsConfig(**overrides)
