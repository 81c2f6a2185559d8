"""Cursors survive restarts and outages: no gap, no duplicate, one unreachable event per outage."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from poller_helpers import Harness, ago, custom_harness, poller_settings
from support import free_port
from whmcs_db import WhmcsDb
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.services import Services
from whmcs_monitor.sources import poller
from whmcs_monitor.sources.allowlist import grant_statements
from whmcs_monitor.sources.claim import site_claim
from whmcs_monitor.sources.poller import CycleReport, poll_site
from whmcs_monitor.sources.state import set_state
from whmcs_monitor.sources.worker import BUSY, CYCLE_KEY, poll_all, poll_one
from whmcs_monitor.store.events import EventFilter, query_events

pytest_plugins = ["poller_fixtures"]


def _failed_logins(w: WhmcsDb, first: int, count: int) -> None:
    for n in range(first, first + count):
        w.insert(
            "tblactivitylog",
            date=ago(minutes=1),
            ipaddr=f"192.0.2.{n}",
            description=f"Failed Login Attempt - User ID: {n}",
        )


def _clients(h: Harness) -> list[int]:
    return sorted(e["subjects"]["client"] for e in h.events("security.client_login_failed"))


def test_cursors_persist_across_a_restart_without_duplicates(
    database_url: str, whmcs_db: WhmcsDb
) -> None:
    settings = poller_settings(database_url, whmcs_db, batch_size=10)
    first = Services.open(settings)
    _failed_logins(whmcs_db, 1, 25)
    assert poll_site(first, settings.sites[0]).ok
    first.db.dispose()
    _failed_logins(whmcs_db, 26, 5)
    second = Services.open(settings)
    h = Harness(second, whmcs_db)
    assert h.cycle().ok
    assert h.cycle().ok
    assert _clients(h) == list(range(1, 31))
    second.db.dispose()


def test_a_new_poller_starts_at_the_newest_row_instead_of_replaying_history(
    database_url: str, whmcs_db: WhmcsDb
) -> None:
    _failed_logins(whmcs_db, 1, 3)
    services = Services.open(poller_settings(database_url, whmcs_db, start_at="end"))
    h = Harness(services, whmcs_db)
    assert h.cycle().ok
    assert _clients(h) == []
    _failed_logins(whmcs_db, 4, 2)
    assert h.cycle().ok
    assert _clients(h) == [4, 5]
    services.db.dispose()


def test_database_going_away_mid_poll_resumes_with_no_gap_and_no_duplicate(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = harness.whmcs
    _failed_logins(w, 1, 3)
    w.insert("tblgatewaylog", date=ago(minutes=1), gateway="paypal", result="Declined")
    real_fetch = poller.fetch

    def dying_fetch(conn: Any, sql: str, params: Any = None) -> Any:
        if "`tblgatewaylog`" in sql:  # the server goes away after the activity feed ran
            w.execute(f"KILL {conn.thread_id()}")
        return real_fetch(conn, sql, params)

    monkeypatch.setattr(poller, "fetch", dying_fetch)
    report = harness.cycle()
    assert not report.ok and report.error
    assert _clients(harness) == [1, 2, 3]
    assert harness.events("gateway.failure") == []
    assert len(harness.events("system.database_unreachable")) == 1
    second = harness.cycle(force=True)
    assert not second.ok
    assert len(harness.events("system.database_unreachable")) == 1

    monkeypatch.setattr(poller, "fetch", real_fetch)
    _failed_logins(w, 4, 1)
    assert harness.cycle(force=True).ok
    assert _clients(harness) == [1, 2, 3, 4]
    assert len(harness.events("gateway.failure")) == 1
    (down,) = harness.events("system.database_unreachable")
    (back,) = harness.events("system.database_reachable")  # it ends the outage's alert
    assert back["payload"]["since"] == down["payload"]["since"]
    assert harness.cycle(force=True).ok
    assert len(harness.events("system.database_reachable")) == 1


def test_an_unreachable_database_backs_off_and_reports_once(
    database_url: str, whmcs_db: WhmcsDb
) -> None:
    settings = poller_settings(database_url, whmcs_db, interval_seconds=60)
    assert settings.sites[0].database is not None
    settings.sites[0].database.port = free_port()
    services = Services.open(settings)
    now = utcnow()
    first = poll_site(services, settings.sites[0], now=now)
    assert not first.ok and not first.skipped and "Can't connect" in (first.error or "")
    assert poll_site(services, settings.sites[0], now=now + timedelta(seconds=30)).skipped
    retried = poll_site(services, settings.sites[0], now=now + timedelta(seconds=61))
    assert not retried.skipped and not retried.ok
    assert poll_site(services, settings.sites[0], now=now + timedelta(seconds=150)).skipped
    with services.db.read() as conn:
        found = query_events(conn, EventFilter(kinds=["system.database_unreachable"]))
    assert len(found) == 1 and found[0]["severity"] == "critical"
    assert whmcs_db.password not in str(found)
    services.db.dispose()


def test_the_worker_step_polls_every_site_with_access(harness: Harness) -> None:
    harness.whmcs.insert(
        "tblbannedips",
        ip="192.0.2.9",
        reason="3 Invalid API Login Attempts",
        expires=ago(minutes=-15),
    )
    (report,) = poll_all(harness.services)
    assert report.ok and report.site == harness.site.id
    assert len(harness.events("security.ip_banned")) == 1


def _revoke(w: WhmcsDb, table: str) -> None:
    (grant,) = (g for g in grant_statements(w.name, w.user) if f".`{table}` TO " in g)
    w.execute(grant.replace("GRANT ", "REVOKE ", 1).replace(" TO ", " FROM "))


@pytest.mark.parametrize(
    ("table", "step"), [("tblaccounts", "reconcile_payments"), ("tblinvoices", "overdue_invoices")]
)
def test_a_missing_grant_skips_only_the_step_that_needs_it(
    harness: Harness, table: str, step: str
) -> None:
    _revoke(harness.whmcs, table)
    harness.hook_event("forwarder.heartbeat", {}, minutes_ago=1)  # the module is there
    _failed_logins(harness.whmcs, 1, 1)
    report = harness.cycle()
    assert report.ok and list(report.feed_errors) == [step]
    assert "denied" in report.feed_errors[step]
    assert _clients(harness) == [1]
    assert harness.events("system.database_unreachable") == []
    assert not harness.cycle().skipped


def test_a_missing_table_is_a_skipped_step_not_an_outage(harness: Harness) -> None:
    harness.whmcs.execute("RENAME TABLE tblaccounts TO tblaccounts_gone")
    harness.hook_event("forwarder.heartbeat", {}, minutes_ago=1)
    try:
        report = harness.cycle()
    finally:
        harness.whmcs.execute("RENAME TABLE tblaccounts_gone TO tblaccounts")
    assert report.ok and "doesn't exist" in report.feed_errors["reconcile_payments"]


def test_one_site_failing_does_not_stop_the_others(
    database_url: str, whmcs_db: WhmcsDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = poller_settings(database_url, whmcs_db)
    broken = settings.sites[0].model_copy(update={"id": "broken"})
    settings.sites.insert(0, broken)
    real = poller._reconcile

    def fails_for_broken(services: Services, site: str, *args: Any) -> Any:
        if site == "broken":
            raise RuntimeError("a bug")
        return real(services, site, *args)

    monkeypatch.setattr(poller, "_reconcile", fails_for_broken)
    _failed_logins(whmcs_db, 1, 1)
    services = Services.open(settings)
    try:
        first, second = poll_all(services)
    finally:
        services.db.dispose()
    assert not first.ok and "RuntimeError: a bug" in (first.error or "")
    assert second.ok and second.site == settings.sites[1].id


def test_a_table_emptied_under_the_cursor_is_read_again_in_a_new_generation(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    _failed_logins(harness.whmcs, 1, 5)
    assert harness.cycle().ok
    harness.whmcs.execute("TRUNCATE TABLE tblactivitylog")
    _failed_logins(harness.whmcs, 6, 3)  # ids 1 to 3 again
    assert harness.cycle().ok
    assert "tblactivitylog now ends before id 5" in caplog.text
    (reset,) = harness.events("system.table_reset")
    assert reset["id"] == "poll:g1:table_reset:tblactivitylog:5"
    assert reset["severity"] == "warning" and reset["site"] == harness.site.id
    assert reset["labels"]["table"] == "tblactivitylog"
    assert reset["payload"] == {
        "table": "tblactivitylog", "max_id": 3, "previous_max_id": 5, "restart_after": 0,
    }  # fmt: skip
    assert reset["summary"].startswith("WHMCS table tblactivitylog now ends at id 3, before id 5")
    assert harness.cycle().ok
    assert _clients(harness) == list(range(1, 9))
    assert len(harness.events("system.table_reset")) == 1
    again = [e for e in harness.events() if e["kind"] == "security.client_login_failed"]
    assert sorted(e["id"] for e in again if e["subjects"]["client"] > 5) == [
        f"poll:g1:tblactivitylog:{n}" for n in (1, 2, 3)
    ]


def test_a_table_restored_from_an_older_backup_is_reported_and_read_on_from_its_end(
    database_url: str, whmcs_db: WhmcsDb
) -> None:
    with custom_harness(database_url, whmcs_db, start_at="end") as h:
        _failed_logins(h.whmcs, 1, 2)
        assert h.cycle().ok
        _failed_logins(h.whmcs, 3, 3)
        assert h.cycle().ok
        h.whmcs.execute("DELETE FROM tblactivitylog WHERE id > 3")  # the backup ends at id 3
        assert h.cycle().ok
        (reset,) = h.events("system.table_reset")
        assert (reset["payload"]["max_id"], reset["payload"]["restart_after"]) == (3, 3)
        assert _clients(h) == [3, 4, 5]
        _failed_logins(h.whmcs, 9, 1)
        assert h.cycle().ok
        assert _clients(h) == [3, 4, 5, 9]
        assert len(h.events("system.table_reset")) == 1


@pytest.fixture
def hanging_whmcs() -> Iterator[int]:
    """A database server that takes a connection, says nothing for a second and hangs up: a
    poll of it is a one-second outage."""
    stop = threading.Event()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.settimeout(0.1)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = sock.accept()
                except TimeoutError:
                    continue
                threading.Timer(1.0, conn.close).start()

        server = threading.Thread(target=serve)
        server.start()
        yield int(sock.getsockname()[1])
        stop.set()
        server.join()


def _unreachable(services: Services) -> list[dict[str, Any]]:
    with services.db.read() as conn:
        return query_events(conn, EventFilter(kinds=["system.database_unreachable"]))


def test_instances_sharing_postgresql_poll_a_site_one_at_a_time(
    pg_database_url: str, whmcs_db: WhmcsDb, hanging_whmcs: int
) -> None:
    settings = poller_settings(pg_database_url, whmcs_db)
    assert settings.sites[0].database is not None
    settings.sites[0].database.port = hanging_whmcs
    site = settings.sites[0]
    instances = [Services.open(settings), Services.open(settings)]
    barrier = threading.Barrier(2)
    reports: list[CycleReport] = []

    def poll(services: Services) -> None:
        barrier.wait()
        reports.append(poll_one(services, site))

    try:
        threads = [threading.Thread(target=poll, args=(s,)) for s in instances]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        later = [poll_one(s, site) for s in instances]
        events = _unreachable(instances[0])
    finally:
        for services in instances:
            services.db.dispose()
    polled, busy = sorted(reports, key=lambda r: r.skipped)
    assert busy.skipped and busy.error == BUSY and not busy.ok
    assert not polled.skipped and "Lost connection" in (polled.error or "")
    assert [e["payload"]["attempts"] for e in events] == [1]  # one outage, reported once
    assert all(r.skipped for r in later)  # the outage is being retried on its own schedule


def test_a_site_being_polled_elsewhere_is_skipped_even_by_a_forced_cycle(
    pg_database_url: str, whmcs_db: WhmcsDb
) -> None:
    with (
        custom_harness(pg_database_url, whmcs_db) as h,
        custom_harness(pg_database_url, whmcs_db) as other,
    ):
        _failed_logins(h.whmcs, 1, 1)
        with site_claim(other.services.db, h.site.id) as held:
            assert held
            report = poll_one(h.services, h.site, force=True)
        assert report.skipped and report.error == BUSY
        assert _clients(h) == []
        assert poll_one(h.services, h.site, force=True).ok  # released with its transaction
        assert _clients(h) == [1]


def test_instances_share_a_site_s_polling_interval(database_url: str, whmcs_db: WhmcsDb) -> None:
    with (
        custom_harness(database_url, whmcs_db, interval_seconds=60) as first,
        custom_harness(database_url, whmcs_db, interval_seconds=60) as second,
    ):
        _failed_logins(first.whmcs, 1, 1)
        polled = poll_one(first.services, first.site)
        assert polled.ok and not polled.skipped and _clients(first) == [1]
        _failed_logins(first.whmcs, 2, 1)
        recent = poll_one(second.services, second.site)
        assert recent.ok and recent.skipped and _clients(first) == [1]
        with second.services.db.write() as conn:  # as if the first cycle began a minute ago
            started = (utcnow() - timedelta(seconds=60)).isoformat()
            set_state(conn, second.site.id, CYCLE_KEY, {"started_at": started}, utcnow())
        due = poll_one(second.services, second.site)
        assert due.ok and not due.skipped and _clients(first) == [1, 2]
