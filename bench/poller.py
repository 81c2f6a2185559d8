"""Poller benchmark: the time of one poll cycle that picks up 1,000 new rows, by table size.

It builds a WHMCS database on the local MariaDB, fills the busiest tables (activity log, gateway
log, email history, invoices, orders, domains, tickets) with N rows of history, starts the poller
at the newest row, then adds 1,000 new rows spread over those tables and times one cycle
(median of --repeats). It does this for 10k rows (the baseline, same run) and for --large rows
(default 1M), and prints both and their ratio. Target: ratio <= 1.5, because every poll query is
an indexed range on a cursor and never reads a table whole.

    python bench/poller.py [--small 10000] [--large 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
from support import SITE_SECRET, make_settings  # noqa: E402
from whmcs_db import admin_connection, schema_statements  # noqa: E402
from whmcs_monitor.services import Services  # noqa: E402
from whmcs_monitor.sources.allowlist import grant_statements  # noqa: E402
from whmcs_monitor.sources.poller import poll_site  # noqa: E402

# History rows: INSERT ... SELECT from MariaDB's sequence engine, n = row number.
HISTORY = {
    "tblactivitylog": "INSERT INTO tblactivitylog (date, description, user, ipaddr) "
    "SELECT NOW() - INTERVAL seq SECOND, CONCAT('Cron Job: Starting ', seq), 'System', '' FROM {seq}",
    "tblgatewaylog": "INSERT INTO tblgatewaylog (date, gateway, data, result) "
    "SELECT NOW() - INTERVAL seq SECOND, 'paypal', '{{}}', 'Successful' FROM {seq}",
    "tblemails": "INSERT INTO tblemails (userid, subject, message, date, `to`) "
    "SELECT seq % 5000, 'Invoice', '', NOW() - INTERVAL seq SECOND, 'a@example.com' FROM {seq}",
    "tblinvoices": "INSERT INTO tblinvoices (userid, invoicenum, duedate, status, paymentmethod, notes) "
    "SELECT seq % 5000, '', CURDATE() - INTERVAL (seq % 3000) DAY, 'Paid', 'paypal', '' FROM {seq}",
    "tblorders": "INSERT INTO tblorders (ordernum, userid, date, amount, status) "
    "SELECT seq, seq % 5000, NOW() - INTERVAL seq MINUTE, 10, 'Active' FROM {seq}",
    "tbldomains": "INSERT INTO tbldomains (userid, type, domain, registrar, status, expirydate, "
    "registrationdate) SELECT seq % 5000, 'Register', CONCAT('d', seq, '.example'), 'enom', "
    "IF(seq % 10 = 0, 'Cancelled', 'Active'), CURDATE() + INTERVAL (100 + seq % 200) DAY, "
    "CURDATE() - INTERVAL 300 DAY FROM {seq}",
    "tbltickets": "INSERT INTO tbltickets (did, userid, date, title, status, urgency, lastreply) "
    "SELECT 1, seq % 5000, NOW() - INTERVAL seq MINUTE, 'Help', 'Closed', 'Low', "
    "NOW() - INTERVAL seq MINUTE FROM {seq}",
}
# 1,000 new rows per cycle, some of which are signals.
NEW_ROWS = {
    "tblactivitylog": (
        400,
        "INSERT INTO tblactivitylog (date, description, user, ipaddr) "
        "SELECT NOW(), IF(seq % 10 = 0, CONCAT('Failed Login Attempt - User ID: ', seq),"
        " 'Cron Job: Done'), 'System', '192.0.2.1' FROM {seq}",
    ),
    "tblgatewaylog": (
        200,
        "INSERT INTO tblgatewaylog (date, gateway, data, result) SELECT NOW(), "
        "'stripe', '{{}}', IF(seq % 20 = 0, 'Declined', 'Successful') FROM {seq}",
    ),
    "tblemails": (
        200,
        "INSERT INTO tblemails (userid, subject, message, date, `to`, failed, "
        "failure_reason) SELECT 1, 'x', '', NOW(), 'b@example.com', seq % 50 = 0, "
        "'550' FROM {seq}",
    ),
    "tblorders": (
        200,
        "INSERT INTO tblorders (ordernum, userid, date, amount, status) "
        "SELECT seq, 1, NOW(), 10, 'Active' FROM {seq}",
    ),
}


def build(rows: int) -> tuple[str, str, str]:
    name, user, password = (
        f"whmcs_bench_{secrets.token_hex(4)}",
        f"wm_bench_{secrets.token_hex(4)}",
        secrets.token_hex(12),
    )
    root = admin_connection()
    with root.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci")
        cur.execute(f"USE `{name}`")
        for statement in schema_statements():
            cur.execute(statement)
        for table, sql in HISTORY.items():
            cur.execute(sql.format(seq=f"seq_1_to_{rows}"))
            cur.execute(f"ANALYZE TABLE `{table}`")
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
        for grant in grant_statements(name, user):
            cur.execute(grant)
    root.close()
    return name, user, password


def drop(name: str, user: str) -> None:
    root = admin_connection()
    with root.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"DROP USER IF EXISTS '{user}'@'%%'")
    root.close()


def add_new_rows(name: str) -> None:
    conn = admin_connection(name)
    with conn.cursor() as cur:
        for count, sql in NEW_ROWS.values():
            cur.execute(sql.format(seq=f"seq_1_to_{count}"))
    conn.close()


def measure(rows: int, repeats: int) -> tuple[float, int]:
    started = time.perf_counter()
    name, user, password = build(rows)
    print(f"  built {rows:,} rows per table in {time.perf_counter() - started:.1f} s", flush=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            database = {
                "host": "127.0.0.1",
                "port": 3306,
                "name": name,
                "user": user,
                "password": password,
            }
            settings = make_settings(
                f"sqlite:///{tmp}/monitor.db",
                sites=[{"id": "bench", "secret": SITE_SECRET, "database": database}],
                poller={"start_at": "end", "batch_size": 500},
            )
            services = Services.open(settings)
            site = settings.sites[0]
            assert poll_site(services, site).ok  # start at the newest rows
            times, events = [], 0
            for _ in range(repeats):
                add_new_rows(name)
                t0 = time.perf_counter()
                report = poll_site(services, site)
                times.append(time.perf_counter() - t0)
                assert report.ok, report.error
                assert (
                    sum(
                        f.rows
                        for f in report.feeds
                        if f.feed in ("activity", "gateway_log", "emails", "orders")
                    )
                    == 1000
                )
                events += report.events
            services.db.dispose()
            return statistics.median(times), events // repeats
    finally:
        drop(name, user)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        admin_connection().close()
    except pymysql.err.MySQLError as exc:
        sys.exit(f"MariaDB is not reachable at 127.0.0.1:3306 as root: {exc}")
    results = {}
    for rows in (args.small, args.large):
        print(f"tables of {rows:,} rows:", flush=True)
        seconds, events = measure(rows, args.repeats)
        results[rows] = seconds
        print(
            f"  one cycle picking up 1,000 new rows ({events} events): {seconds * 1000:.0f} ms",
            flush=True,
        )
    ratio = results[args.large] / results[args.small]
    verdict = "OK" if ratio <= 1.5 else "OVER TARGET"
    print(f"ratio {args.large:,} / {args.small:,} rows: {ratio:.2f} (target <= 1.5) {verdict}")


if __name__ == "__main__":
    main()
