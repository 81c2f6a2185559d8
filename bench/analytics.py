"""Analytics refresh benchmark on a large WHMCS database (MariaDB on loopback).

It builds a throw-away WHMCS database with 50k clients, 100k services, 30k addons, 200k invoices,
60k orders, 500k transactions, 300k gateway-log rows and 20k tickets spread over a year (generated
inside MariaDB from its sequence tables, so building takes seconds), then times:

- a baseline: one aggregate pass over all of tblaccounts (the floor any revenue KPI pays);
- a full KPI refresh (every family and period, every detector, recorded into a SQLite store);
- an incremental refresh (the day window, snapshots and detectors; week and month come from the
  last full refresh), after a few new transactions arrive.

    python bench/analytics.py [--runs 3] [--keep]

Targets (issue 9): full <= 10 s, incremental <= 1 s.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from whmcs_db import admin_connection, schema_statements
from whmcs_monitor.analytics.config import AnalyticsConfig
from whmcs_monitor.analytics.detect import DETECTORS
from whmcs_monitor.analytics.kpis.common import Context
from whmcs_monitor.analytics.refresh import FAMILIES, FULL, INCREMENTAL, Scope, refresh_site
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.store.db import Database

NOW = datetime(2026, 11, 24, 15, 30)
YEAR = 365 * 86400

# Each statement fills one table from MariaDB's seq_1_to_N tables; values are functions of seq.
GENERATE = [
    "INSERT INTO tblcurrencies (id, code, rate, `default`) VALUES (1, 'USD', 1, 1), (2, 'EUR', 0.9, 0)",
    "INSERT INTO tblclients (id, currency, status, datecreated) SELECT seq, IF(seq % 10 = 0, 2, 1),"
    " ELT(1 + seq % 20, 'Closed', 'Inactive', 'Active', 'Active', 'Active', 'Active', 'Active',"
    " 'Active', 'Active', 'Active', 'Active', 'Active', 'Active', 'Active', 'Active', 'Active',"
    " 'Active', 'Active', 'Active', 'Active'), '2024-01-01' FROM seq_1_to_50000",
    "INSERT INTO tblservers (id, name, maxaccounts, disabled) SELECT seq, CONCAT('web', seq), 6000,"
    " 0 FROM seq_1_to_20",
    "INSERT INTO tblhosting (userid, server, packageid, regdate, amount, billingcycle, domainstatus,"
    " termination_date) SELECT 1 + seq % 50000, 1 + seq % 20, 1,"
    " DATE(%(now)s) - INTERVAL (seq * 7) % 700 DAY, 5 + seq % 50,"
    " ELT(1 + seq % 8, 'Monthly', 'Quarterly', 'Semi-Annually', 'Annually', 'Biennially',"
    " 'Triennially', 'Free Account', 'One Time'),"
    " ELT(1 + (seq * 13) % 10, 'Active', 'Active', 'Active', 'Active', 'Active', 'Active',"
    " 'Suspended', 'Cancelled', 'Terminated', 'Pending'),"
    " IF((seq * 13) % 10 IN (7, 8), DATE(%(now)s) - INTERVAL (seq * 3) % 90 DAY, '0000-00-00')"
    " FROM seq_1_to_100000",
    "INSERT INTO tblhostingaddons (userid, hostingid, addonid, recurring, billingcycle, status,"
    " regdate) SELECT 1 + seq % 50000, seq, 1, 2 + seq % 5, IF(seq % 2, 'Monthly', 'Annually'),"
    " IF(seq % 9, 'Active', 'Cancelled'), DATE(%(now)s) - INTERVAL seq % 500 DAY"
    " FROM seq_1_to_30000",
    "INSERT INTO tblinvoices (id, userid, date, duedate, datepaid, total, status, paymentmethod)"
    " SELECT seq, 1 + seq % 50000, DATE(%(now)s - INTERVAL (seq * 157) % %(year)s SECOND),"
    " DATE(%(now)s - INTERVAL (seq * 157) % %(year)s SECOND),"
    " IF(seq % 7, %(now)s - INTERVAL (seq * 157) % %(year)s SECOND, '0000-00-00 00:00:00'),"
    " 10 + seq % 90, IF(seq % 7, 'Paid', IF(seq % 2, 'Unpaid', 'Cancelled')), 'stripe'"
    " FROM seq_1_to_200000",
    "INSERT INTO tblorders (ordernum, userid, date, invoiceid, status, promocode, amount)"
    " SELECT seq, 1 + seq % 50000, %(now)s - INTERVAL (seq * 523) % %(year)s SECOND, seq * 3,"
    " ELT(1 + seq % 10, 'Active', 'Active', 'Active', 'Active', 'Active', 'Active', 'Active',"
    " 'Pending', 'Cancelled', 'Fraud'), IF(seq % 15 = 0, 'SAVE10', ''), 20 FROM seq_1_to_60000",
    "INSERT INTO tblaccounts (userid, currency, gateway, date, amountin, fees, amountout, rate,"
    " invoiceid) SELECT 1 + seq % 50000, 0, ELT(1 + seq % 3, 'stripe', 'paypal', 'banktransfer'),"
    " %(now)s - INTERVAL (seq * 63) % %(year)s SECOND, IF(seq % 50, 10 + seq % 90, 0),"
    " IF(seq % 50, 0.3 + (seq % 90) * 0.029, 0), IF(seq % 50, 0, 10 + seq % 90), 1,"
    " 1 + seq % 200000 FROM seq_1_to_500000",
    "INSERT INTO tblgatewaylog (date, gateway, result, data) SELECT"
    " %(now)s - INTERVAL %(year)s SECOND + INTERVAL seq * 105 SECOND,"
    " ELT(1 + seq % 2, 'stripe', 'paypal'), IF(seq % 25, 'Success', 'Failure'), ''"
    " FROM seq_1_to_300000",
    "INSERT INTO tblticketdepartments (id, name) VALUES (1, 'Support'), (2, 'Sales'),"
    " (3, 'Billing')",
    "INSERT INTO tbltickets (id, did, userid, date, status, urgency, lastreply, tid) SELECT seq,"
    " 1 + seq % 3, 1 + seq % 50000, %(now)s - INTERVAL (seq * 1571) % %(year)s SECOND,"
    " IF(seq > 19700, ELT(1 + seq % 3, 'Open', 'Customer-Reply', 'Answered'), 'Closed'),"
    " ELT(1 + seq % 3, 'Low', 'Medium', 'High'),"
    " %(now)s - INTERVAL (seq * 1571) % %(year)s SECOND + INTERVAL 3 HOUR, seq"
    " FROM seq_1_to_20000",
    "INSERT INTO tblticketreplies (tid, userid, date, admin) SELECT 1 + seq % 20000, 1,"
    " %(now)s - INTERVAL ((1 + seq % 20000) * 1571) % %(year)s SECOND"
    " + INTERVAL 1 + seq % 3 HOUR, IF(seq % 3, 'alice', '') FROM seq_1_to_60000",
    "INSERT INTO tblcancelrequests (date, relid, reason, type) SELECT"
    " %(now)s - INTERVAL (seq * 6311) % %(year)s SECOND, seq, ELT(1 + seq % 3, 'Too expensive',"
    " 'Moving', 'No longer needed'), 'End of Billing Period' FROM seq_1_to_5000",
    "INSERT INTO tblaffiliates (clientid, balance) SELECT seq, seq % 50 FROM seq_1_to_1000",
    "INSERT INTO tblaffiliatespending (amount, clearingdate, created_at) SELECT 1 + seq % 20,"
    " DATE(%(now)s) - INTERVAL 30 DAY + INTERVAL seq % 60 DAY, %(now)s - INTERVAL seq % 60 DAY"
    " FROM seq_1_to_5000",
]


def timed(step: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        step()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="Keep the generated database.")
    args = parser.parse_args()
    name = f"whmcs_bench_{secrets.token_hex(4)}"
    root = admin_connection()
    root.cursor().execute(
        f"CREATE DATABASE `{name}` CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci"
    )
    conn = admin_connection(name)
    try:
        started = time.perf_counter()
        with conn.cursor() as cur:
            for statement in schema_statements():
                cur.execute(statement)
            for statement in GENERATE:
                cur.execute(
                    statement.replace("%(now)s", f"'{NOW:%Y-%m-%d %H:%M:%S}'").replace(
                        "%(year)s", str(YEAR)
                    )
                )
            cur.execute("ANALYZE TABLE tblaccounts, tblhosting, tblinvoices, tblorders, tbltickets")
            cur.fetchall()
        print(f"generated {name} in {time.perf_counter() - started:.1f}s")
        measure(conn, args.runs)
    finally:
        conn.close()
        if not args.keep:
            root.cursor().execute(f"DROP DATABASE `{name}`")
        root.close()


def measure(conn: Any, runs: int) -> None:
    config = AnalyticsConfig()
    ctx = Context(NOW, config)
    now_utc = NOW.replace(tzinfo=UTC)

    def baseline() -> None:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT gateway, SUM(amountin - fees - amountout) FROM tblaccounts GROUP BY gateway"
            )
            cur.fetchall()

    def arrive(n: int) -> None:
        """A few new payments, as between two refreshes."""
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO tblaccounts (userid, currency, gateway, date, amountin, fees, amountout, rate, invoiceid)"
                " VALUES (%s, 0, 'stripe', %s, 25, 1, 0, 1, 0)",
                [(1 + i, NOW - timedelta(seconds=i)) for i in range(n)],
            )

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'monitor.db'}")
        db.migrate()
        catalog = load_catalog()
        timed(baseline, 1)  # warm the buffer pool for every measurement alike
        base = statistics.median(timed(baseline, runs))
        print(f"baseline: one GROUP BY pass over 500k tblaccounts rows: {base:.3f}s")
        for family, fn in FAMILIES.items():
            print(f"  family {family:<10} {timed(lambda fn=fn: fn(conn, ctx), 1)[0]:.3f}s")
        for detector in DETECTORS:
            print(
                f"  detector {detector.__name__:<18} {timed(lambda d=detector: list(d(conn, ctx)), 1)[0]:.3f}s"
            )

        def refresh(scope: Scope) -> None:
            refresh_site(
                db, catalog, site="bench", whmcs=conn, config=config, now=now_utc, scope=scope
            )

        full = statistics.median(timed(lambda: refresh(FULL), runs))
        incremental = statistics.median(timed(lambda: (arrive(20), refresh(INCREMENTAL)), runs))
        print(
            f"full refresh:        median {full:.3f}s over {runs} runs (target <= 10 s), {full / base:.1f}x the baseline"
        )
        print(
            f"incremental refresh: median {incremental:.3f}s over {runs} runs (target <= 1 s), {incremental / base:.2f}x the baseline"
        )
        db.dispose()


if __name__ == "__main__":
    main()
