"""Rows with zero dates, NULLs and latin1 mojibake never stop the poller."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from poller_helpers import Harness, ago
from whmcs_monitor.sources.whmcs_db import as_date, as_datetime, as_int, as_text

pytest_plugins = ["poller_fixtures"]

AMS = ZoneInfo("Europe/Amsterdam")


def test_zero_and_garbage_dates_become_none() -> None:
    assert as_datetime("0000-00-00 00:00:00", AMS) is None
    assert as_datetime("", AMS) is None and as_datetime(None, AMS) is None
    assert as_datetime("not a date", AMS) is None
    assert as_date("0000-00-00") is None and as_date(b"2026-02-30") is None


def test_whmcs_wall_clock_times_are_converted_to_utc() -> None:
    assert as_datetime(datetime(2026, 7, 1, 12, 0), AMS) == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert as_datetime(date(2026, 1, 1), ZoneInfo("UTC")) == datetime(2026, 1, 1, tzinfo=UTC)


def test_latin1_bytes_and_mojibake_are_repaired_and_bad_numbers_tolerated() -> None:
    assert as_text("CafÃ© MÃ¼ller") == "Café Müller"
    assert as_text(b"Caf\xe9") == "Café"
    assert as_text("plain ascii") == "plain ascii"
    assert as_int("") is None and as_int(None) is None and as_int("12") == 12


def test_rows_with_zero_dates_nulls_and_odd_text_are_polled(harness: Harness) -> None:
    w = harness.whmcs
    w.insert(
        "tblactivitylog",
        date="0000-00-00 00:00:00",
        ipaddr="",
        description="Failed Admin Login Attempt - Username: rÃ©mi",
    )
    w.insert(
        "tblerrorlog",
        severity="warning",
        exception_class=None,
        message=None,
        filename=None,
        line=None,
        created_at="0000-00-00 00:00:00",
    )
    w.insert(
        "tbldomains",
        userid=1,
        type="Register",
        domain="nodate.example",
        status="Active",
        expirydate=None,
        registrationdate="0000-00-00",
        registrar="",
    )
    w.insert(
        "tblemails",
        userid=0,
        subject="x",
        message="",
        date=None,
        to=None,
        failed=1,
        failure_reason="",
    )
    w.insert("tblinvoices", userid=1, status="Unpaid", duedate=None, notes="")
    w.insert(
        "tbltickets",
        did=0,
        userid=0,
        title="t",
        status="Open",
        urgency="",
        lastreply="0000-00-00 00:00:00",
        date=ago(days=3),
    )
    report = harness.cycle()
    assert report.ok and not report.feed_errors, report
    (login,) = harness.events("security.admin_login_failed")
    assert login["labels"]["username"] == "rémi"
    (error,) = harness.events("system.error_logged")
    assert error["severity"] == "warning"
    (email,) = harness.events("email.send_failed")
    assert "no reason recorded" in email["summary"]
    (ticket,) = harness.events("ticket.awaiting_reply_too_long")
    assert ticket["labels"]["priority"] == "Medium"
    assert harness.events("domain.expiring") == []
