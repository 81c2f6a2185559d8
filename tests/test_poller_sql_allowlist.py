"""Every SQL statement the poller can send reads only allow-listed columns and uses an index."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pytest

from poller_helpers import Harness, ago
from whmcs_db import WhmcsDb
from whmcs_monitor.sources import poller
from whmcs_monitor.sources.allowlist import (
    ALLOWED,
    CONFIG_SETTINGS,
    FORBIDDEN,
    FORBIDDEN_SETTINGS,
    grant_statements,
)
from whmcs_monitor.sources.queries import ALL_QUERIES, CONFIG_PARAMS, Query

pytest_plugins = ["poller_fixtures"]

KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "IN", "ORDER", "BY", "LIMIT", "MAX", "AS"}
SAMPLE = {
    "after": 0,
    "limit": 100,
    "statuses": ("Active", "Open"),
    "ids": (1, 2, 3),
    "day": date(2026, 1, 10),
    "status": "Unpaid",
    "since": datetime(2026, 1, 1),
    "until": datetime(2026, 1, 20),
    **CONFIG_PARAMS,
}


def _identifiers(sql: str) -> list[str]:
    return re.findall(r"`([^`]+)`", sql)


@pytest.mark.parametrize("query", ALL_QUERIES, ids=lambda q: q.name)
def test_query_reads_only_allow_listed_columns_of_one_table(query: Query) -> None:
    sql = query.sql
    assert sql.count(" FROM ") == 1 and "JOIN" not in sql.upper() and ";" not in sql
    allowed = set(ALLOWED[query.table])
    for name in _identifiers(sql):
        assert name == query.table or name in allowed, f"{query.name}: `{name}` is not allow-listed"
    for name in FORBIDDEN.get(query.table, ()):
        assert f"`{name}`" not in sql
    bare = re.sub(r"`[^`]+`|%\(\w+\)s|\d+|[(),=<>*]", " ", sql)
    assert set(bare.split()) <= KEYWORDS, f"{query.name}: unquoted words in {sql!r}"


def test_no_allow_listed_column_is_a_known_secret() -> None:
    for table, secrets in FORBIDDEN.items():
        assert not set(secrets) & set(ALLOWED.get(table, ())), table
    for table in (
        "tblcreditcards",
        "tblpaymentgateways",
        "tblregistrars",
        "tblclients",
        "tblusers",
    ):
        assert table not in ALLOWED
    assert not set(CONFIG_SETTINGS) & set(FORBIDDEN_SETTINGS)
    assert CONFIG_PARAMS["settings"] == CONFIG_SETTINGS


def test_grant_statements_are_column_level_selects_only() -> None:
    grants = grant_statements("whmcs", "monitor", "10.0.0.%")
    assert len(grants) == len(ALLOWED)
    for grant in grants:
        assert grant.startswith("GRANT SELECT (") and " TO 'monitor'@'10.0.0.%'" in grant
    with pytest.raises(ValueError, match="database name"):
        grant_statements("whmcs; DROP", "monitor")


def _seed(whmcs_db: WhmcsDb) -> None:
    """Enough rows that the optimizer's choice between an index and a scan is meaningful."""
    rows = 300
    stamp = "2026-01-10 00:00:00"
    simple = {
        "tblactivitylog": {"description": "x", "date": stamp},
        "tblbannedips": {"ip": "1", "expires": stamp},
        "tblgatewaylog": {"result": "x", "date": stamp},
        "tblerrorlog": {"severity": "warning"},
        "tblemails": {"subject": "x", "date": stamp},
        "tblmodulequeue": {"module_name": "x"},
        "tblorders": {"ordernum": 1, "date": stamp, "amount": 1},
        "tblcancelrequests": {"relid": 1, "date": stamp},
        "tblupgrades": {"type": "package", "date": "2026-01-10", "relid": 1},
        "tblaffiliates": {"clientid": 1},
        "tblaffiliateswithdrawals": {"affiliateid": 1, "date": "2026-01-10", "amount": 1},
        "tblquotes": {"stage": "Draft", "validuntil": "2026-01-10"},
        "tbladmins": {"roleid": 1},
        "tbltask_status": {"task_id": 1},
        "tbltask": {"name": "x"},
        "tbldomains": {"type": "Register", "status": "Cancelled", "expirydate": "2026-01-10"},
        "tbltickets": {"status": "Closed", "lastreply": stamp},
        "tblticketdepartments": {"name": "x"},
        "tblinvoices": {"status": "Paid", "duedate": "2026-01-01"},
        "tblaccounts": {"date": "2025-01-01 00:00:00", "invoiceid": 1},
    }
    for table, cols in simple.items():
        names = ", ".join(f"`{c}`" for c in cols)
        marks = ", ".join(["%s"] * len(cols))
        with whmcs_db.admin.cursor() as cur:
            cur.executemany(
                f"INSERT INTO `{table}` ({names}) VALUES ({marks})", [list(cols.values())] * rows
            )
            cur.execute(f"ANALYZE TABLE `{table}`")
    for setting in (*CONFIG_SETTINGS, *(f"Setting{i}" for i in range(rows))):
        whmcs_db.insert("tblconfiguration", setting=setting, value="1")
    whmcs_db.execute("ANALYZE TABLE tblconfiguration")


def test_every_poll_query_uses_an_index_on_real_mariadb(whmcs_db: WhmcsDb) -> None:
    _seed(whmcs_db)
    with whmcs_db.admin.cursor() as cur:
        for query in ALL_QUERIES:
            cur.execute("EXPLAIN " + query.sql, SAMPLE)
            columns = [d[0] for d in cur.description]
            plan = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
            for step in plan:
                extra = str(step.get("Extra") or "")
                if "Select tables optimized away" in extra or "Impossible WHERE" in extra:
                    continue
                assert step["key"], f"{query.name} scans without an index: {step}"
                assert step["type"] != "ALL", f"{query.name} reads the whole table: {step}"


def test_a_full_cycle_sends_only_listed_statements(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every statement actually sent during a cycle (all feeds, reconciliation) is a listed one."""
    harness.hook_event("forwarder.heartbeat", {}, minutes_ago=1)  # so payments are reconciled
    w = harness.whmcs
    w.insert("tblemails", userid=1, subject="x", message="", date=ago(minutes=1), pending=1)
    w.insert("tblorders", ordernum=1, userid=1, date=ago(minutes=1), amount=1, status="Pending")
    w.insert("tbltask", name="Create Invoices", is_enabled=1, description="")
    w.insert("tbltask_status", task_id=1, next_due=ago(days=1))
    w.insert(
        "tbltickets",
        did=1,
        userid=1,
        title="t",
        status="Open",
        urgency="High",
        lastreply=ago(days=1),
        date=ago(days=1),
    )
    sent: list[str] = []
    real = poller.fetch

    def recording(conn: Any, sql: str, params: Any = None) -> Any:
        sent.append(sql)
        return real(conn, sql, params)

    monkeypatch.setattr(poller, "fetch", recording)
    assert harness.cycle().ok
    assert harness.cycle().ok
    listed = {q.sql for q in ALL_QUERIES}
    assert set(sent) <= listed
    assert {"tblemails", "tblorders", "tbltask", "tblticketdepartments", "tblaccounts"} <= {
        q.table for q in ALL_QUERIES if q.sql in sent
    }
    assert any(q.name.startswith("open:") and q.sql in sent for q in ALL_QUERIES)
