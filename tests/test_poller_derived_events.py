"""Each signal without a hook is derived from rows exactly as WHMCS writes them."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from poller_helpers import Harness, ago, custom_harness, local
from whmcs_db import WhmcsDb
from whmcs_monitor.lib.timeutil import utcnow

pytest_plugins = ["poller_fixtures"]


def _today(days: int = 0) -> str:
    return (utcnow() + timedelta(days=days)).strftime("%Y-%m-%d")


def _one(h: Harness, kind: str) -> dict:  # type: ignore[type-arg]
    found = h.events(kind)
    assert len(found) == 1, (kind, found)
    return found[0]


def test_activity_log_lines_become_login_reset_email_and_module_events(harness: Harness) -> None:
    w = harness.whmcs
    w.insert(
        "tblactivitylog",
        date=ago(minutes=5),
        user="System",
        ipaddr="203.0.113.9",
        description="Failed Admin Login Attempt - Username: admin",
    )
    w.insert(
        "tblactivitylog",
        date=ago(minutes=4),
        ipaddr="198.51.100.7",
        userid=17,
        description="Failed Login Attempt - User ID: 17",
    )
    w.insert(
        "tblactivitylog",
        date=ago(minutes=3),
        ipaddr="198.51.100.8",
        userid=18,
        description="Password Reset Requested",
    )
    w.insert(
        "tblactivitylog",
        date=ago(minutes=2),
        user="System",
        description="Module Suspend Failed - Service ID: 55 - Error: Connection refused",
    )
    w.insert(
        "tblactivitylog",
        date=ago(minutes=1),
        user="System",
        description="Email Sending Failed - SMTP Error: Could not authenticate. "
        "(User ID: 17 - Subject: Invoice Payment Confirmation)",
    )
    w.insert("tblactivitylog", date="0000-00-00 00:00:00", description="Cron Job: Starting")
    report = harness.cycle()
    assert report.ok, report
    admin = _one(harness, "security.admin_login_failed")
    assert admin["labels"]["username"] == "admin" and admin["labels"]["ip"] == "203.0.113.9"
    client = _one(harness, "security.client_login_failed")
    assert client["subjects"] == {"client": 17} and client["labels"]["ip"] == "198.51.100.7"
    assert _one(harness, "security.password_reset_requested")["subjects"] == {"client": 18}
    module = _one(harness, "module.command_failed_logged")
    assert module["subjects"] == {"service": 55} and module["labels"]["action"] == "Suspend"
    assert "Connection refused" in module["summary"]
    email = _one(harness, "email.send_failed")
    assert "Could not authenticate" in email["summary"]


def test_bans_gateway_errors_emails_and_module_queue_are_reported(harness: Harness) -> None:
    w = harness.whmcs
    w.insert(
        "tblbannedips", ip="192.0.2.44", reason="3 Invalid Login Attempts", expires=ago(minutes=-15)
    )
    w.insert("tblgatewaylog", date=ago(minutes=3), gateway="stripe", result="Success", data="{}")
    w.insert(
        "tblgatewaylog",
        date=ago(minutes=2),
        gateway="paypal",
        result="Hash Verification Failure",
        data="card=4111111111111111",
    )
    w.insert(
        "tblerrorlog",
        severity="error",
        exception_class="PDOException",
        message="SQLSTATE[HY000] [2002] Connection refused",
        filename="/home/whmcs/init.php",
        line=12,
    )
    w.insert(
        "tblemails",
        userid=3,
        subject="Welcome",
        message="your password is hunter2",
        date=ago(minutes=1),
        to="c@example.com",
        failed=1,
        failure_reason="550 mailbox unavailable",
    )
    w.insert(
        "tblemails",
        userid=3,
        subject="Queued",
        message="",
        date=ago(hours=2),
        to="d@example.com",
        pending=1,
    )
    w.insert(
        "tblmodulequeue",
        service_type="service",
        service_id=9,
        module_name="cpanel",
        module_action="CreateAccount",
        last_attempt_error="Login failed",
        num_retries=5,
        completed=0,
    )
    w.insert(
        "tblmodulequeue",
        service_type="domain",
        service_id=10,
        module_name="enom",
        module_action="RenewDomain",
        last_attempt_error="timeout",
        num_retries=1,
        completed=0,
    )
    assert harness.cycle().ok
    ban = _one(harness, "security.ip_banned")
    assert ban["labels"] == {"ip": "192.0.2.44", "reason": "3 Invalid Login Attempts"}
    gateway = _one(harness, "gateway.failure")
    assert gateway["labels"]["gateway"] == "paypal"
    assert "4111111111111111" not in str(gateway)
    error = _one(harness, "system.error_logged")
    assert error["labels"]["exception"] == "PDOException"
    failed = _one(harness, "email.send_failed")
    assert "550 mailbox unavailable" in failed["summary"] and "hunter2" not in str(failed)
    stuck_queue = _one(harness, "email.queue_stuck")
    assert stuck_queue["payload"]["pending_count"] == 1
    queue = _one(harness, "module.queue_item_stuck")
    assert queue["labels"]["module"] == "cpanel" and queue["payload"]["num_retries"] == 5


def test_cron_tasks_version_and_maintenance_are_checked(harness: Harness) -> None:
    w = harness.whmcs
    for setting, value in {
        "Version": "8.4.0-release.1",
        "UpdaterLatestVersion": "8.13.1-release.1",
        "MaintenanceMode": "on",
        "lastCronInvocationTime": ago(hours=5),
        "lastDailyCronInvocationTime": ago(hours=30),
        "lastDailyCronEndTime": ago(hours=54),
        "License": "encoded-local-key-SECRET",
        "SMTPPassword": "smtp-SECRET",
    }.items():
        w.insert("tblconfiguration", setting=setting, value=value)
    overdue = w.insert(
        "tbltask",
        class_name="WHMCS\\Cron\\Task\\CreateInvoices",
        name="Create Invoices",
        frequency=1440,
        is_enabled=1,
        description="",
    )
    stuck = w.insert(
        "tbltask",
        class_name="WHMCS\\Cron\\Task\\DomainStatusSync",
        name="Domain Status Sync",
        frequency=240,
        is_enabled=1,
        description="",
    )
    w.insert(
        "tbltask_status", task_id=overdue, in_progress=0, last_run=ago(days=2), next_due=ago(days=1)
    )
    w.insert(
        "tbltask_status",
        task_id=stuck,
        in_progress=1,
        last_run=ago(hours=3),
        next_due=ago(minutes=-60),
        updated_at=ago(hours=3),
    )
    assert harness.cycle().ok
    assert _one(harness, "cron.not_running")["payload"]["minutes_since"] >= 299
    assert _one(harness, "cron.daily_not_run")["payload"]["hours_since"] >= 29
    assert _one(harness, "cron.daily_incomplete")
    assert _one(harness, "cron.task_overdue")["labels"]["task"] == "Create Invoices"
    assert _one(harness, "cron.task_stuck")["labels"]["task"] == "Domain Status Sync"
    update = _one(harness, "system.update_available")
    assert update["payload"] == {"version": "8.4.0-release.1", "latest_version": "8.13.1-release.1"}
    assert _one(harness, "system.maintenance_mode_enabled")
    harness.cycle()
    assert len(harness.events("system.maintenance_mode_enabled")) == 1
    assert "SECRET" not in str(harness.events())


def test_billing_domain_ticket_and_admin_signals_are_derived(harness: Harness) -> None:
    w = harness.whmcs
    w.insert(
        "tblinvoices",
        userid=4,
        status="Unpaid",
        total="49.95",
        paymentmethod="paypal",
        duedate=_today(-7),
        notes="",
    )
    w.insert(
        "tblinvoices",
        userid=4,
        status="Paid",
        total="10.00",
        paymentmethod="paypal",
        duedate=_today(-7),
        notes="",
    )
    w.insert(
        "tblorders",
        ordernum=111,
        userid=4,
        date=ago(hours=30),
        amount="20.00",
        status="Pending",
        promocode="SPRING",
        paymentmethod="paypal",
    )
    fraud = w.insert(
        "tblorders",
        ordernum=112,
        userid=5,
        date=ago(minutes=5),
        amount="900.00",
        status="Fraud",
        paymentmethod="stripe",
    )
    w.insert("tblcancelrequests", date=ago(hours=1), relid=31, reason="too slow", type="Immediate")
    w.insert(
        "tblupgrades",
        userid=4,
        orderid=111,
        type="package",
        date=_today(),
        relid=31,
        originalvalue="1",
        newvalue="2",
        amount="5.00",
        recurringchange="5.00",
    )
    w.insert(
        "tblupgrades",
        userid=4,
        orderid=111,
        type="package",
        date=_today(),
        relid=32,
        originalvalue="2",
        newvalue="1",
        amount="-5.00",
        recurringchange="-5.00",
    )
    w.insert(
        "tblquotes",
        subject="Big deal",
        stage="Accepted",
        userid=4,
        total="1000.00",
        dateaccepted=_today(),
        validuntil=_today(30),
    )
    w.insert("tblaffiliates", date=_today(), clientid=4)
    w.insert("tblaffiliateswithdrawals", affiliateid=1, date=_today(), amount="25.00")
    w.insert(
        "tbldomains",
        userid=4,
        type="Register",
        domain="soon.example",
        registrar="enom",
        status="Active",
        expirydate=_today(6),
        registrationdate=_today(-359),
    )
    w.insert(
        "tbldomains",
        userid=4,
        type="Register",
        domain="late.example",
        registrar="enom",
        status="Redemption",
        expirydate=_today(-40),
        registrationdate=_today(-400),
    )
    w.insert(
        "tbldomains",
        userid=4,
        type="Transfer",
        domain="slow.example",
        registrar="enom",
        status="Pending Transfer",
        expirydate="0000-00-00",
        registrationdate=_today(-12),
    )
    dept = w.insert("tblticketdepartments", name="Sales", email="s@example.com")
    w.insert(
        "tbltickets",
        tid="ABC-123",
        did=dept,
        userid=4,
        date=ago(hours=5),
        title="Help",
        status="Customer-Reply",
        urgency="High",
        lastreply=ago(hours=3),
    )
    w.insert(
        "tbladmins",
        roleid=1,
        username="root",
        password="x",
        authdata="",
        firstname="",
        lastname="",
        email="",
        disabled=0,
        loginattempts=0,
        password_reset_data="",
    )
    assert harness.cycle().ok
    overdue = _one(harness, "invoice.overdue")
    assert overdue["labels"]["age"] == "7d+" and overdue["subjects"]["client"] == 4
    assert _one(harness, "promotion.code_used")["labels"]["promocode"] == "SPRING"
    assert _one(harness, "order.pending_too_long")["payload"]["hours_pending"] >= 29
    status = _one(harness, "order.status_changed")
    assert status["subjects"]["order"] == fraud and status["severity"] == "warning"
    assert _one(harness, "service.cancellation_request_recorded")["labels"]["type"] == "Immediate"
    assert _one(harness, "service.upgrade_recorded")["payload"]["relid"] == 31
    assert _one(harness, "service.downgrade_recorded")["payload"]["relid"] == 32
    assert _one(harness, "quote.accepted_recorded")
    assert _one(harness, "affiliate.signup_recorded")["subjects"] == {"client": 4}
    assert _one(harness, "affiliate.withdrawal_recorded")
    expiring = _one(harness, "domain.expiring")
    assert expiring["labels"]["threshold"] == "7" and expiring["payload"]["days_left"] == 6
    assert _one(harness, "domain.entered_redemption")["payload"]["domain"] == "late.example"
    assert _one(harness, "domain.transfer_pending_too_long")["payload"]["days_pending"] == 12
    ticket = _one(harness, "ticket.awaiting_reply_too_long")
    assert ticket["labels"] == {"department": "Sales", "priority": "High"}
    assert _one(harness, "admin.user_added_recorded")["labels"]["username"] == "root"
    w.execute("UPDATE tbladmins SET roleid=2")
    before = len(harness.events())
    assert harness.cycle().ok
    assert _one(harness, "admin.role_changed_recorded")["payload"]["previous_roleid"] == 1
    assert len(harness.events()) == before + 1


def test_open_rows_are_watched_until_they_settle_without_holding_the_cursor(
    harness: Harness,
) -> None:
    w = harness.whmcs
    email = w.insert(
        "tblemails",
        userid=2,
        subject="Receipt",
        message="",
        date=ago(minutes=1),
        to="e@example.com",
        pending=1,
    )
    order = w.insert(
        "tblorders",
        ordernum=7,
        userid=2,
        date=ago(minutes=10),
        amount="5.00",
        status="Pending",
        paymentmethod="paypal",
    )
    assert harness.cycle().ok
    assert harness.events("email.send_failed", "order.status_changed") == []
    w.insert(
        "tblemails", userid=2, subject="Later", message="", date=ago(minutes=0), to="f@example.com"
    )
    w.execute(
        "UPDATE tblemails SET pending=0, failed=1, failure_reason='timeout' WHERE id=%s", (email,)
    )
    w.execute("UPDATE tblorders SET status='Active' WHERE id=%s", (order,))
    report = harness.cycle()
    assert report.ok
    assert {f.feed: f.position for f in report.feeds}["emails"] == str(email + 1)
    assert "timeout" in _one(harness, "email.send_failed")["summary"]
    changed = _one(harness, "order.status_changed")
    assert changed["labels"] == {"status": "Active", "previous_status": "Pending"}
    assert harness.cycle().ok
    assert len(harness.events("email.send_failed", "order.status_changed")) == 2


def test_open_rows_from_every_page_of_a_backlog_stay_watched(
    database_url: str, whmcs_db: WhmcsDb
) -> None:
    with custom_harness(database_url, whmcs_db, batch_size=10) as h:
        for n in range(25):  # three pages in one cycle
            h.whmcs.insert(
                "tblorders",
                ordernum=n,
                userid=2,
                date=ago(minutes=10),
                amount="5.00",
                status="Pending",
                paymentmethod="paypal",
            )
        assert h.cycle().ok
        h.whmcs.execute("UPDATE tblorders SET status='Active'")
        assert h.cycle().ok
        assert len(h.events("order.status_changed")) == 25


def test_task_queue_and_error_log_timestamps_are_read_in_the_whmcs_zone(
    database_url: str, whmcs_db: WhmcsDb
) -> None:
    """Healthy tasks on a US install raise nothing; event times are the real moments."""
    now = utcnow().replace(microsecond=0)
    zone = ZoneInfo("America/New_York")

    def wall(**delta: float) -> str:
        return local((now - timedelta(**delta)).astimezone(zone))

    with custom_harness(database_url, whmcs_db, whmcs_timezone=zone.key) as h:
        w = h.whmcs
        for name, in_progress in (("Process Email Queue", 0), ("Create Invoices", 1)):
            task = w.insert(
                "tbltask", class_name="X", name=name, frequency=5, is_enabled=1, description=""
            )
            w.insert(
                "tbltask_status",
                task_id=task,
                in_progress=in_progress,
                last_run=wall(minutes=2),
                next_due=wall(minutes=-5),
                updated_at=wall(minutes=2),
            )
        w.insert(
            "tblmodulequeue",
            service_type="service",
            service_id=9,
            module_name="cpanel",
            module_action="CreateAccount",
            last_attempt=wall(minutes=3),
            last_attempt_error="Login failed",
            num_retries=5,
        )
        w.insert("tblerrorlog", severity="error", message="boom", created_at=wall(minutes=4))
        assert h.cycle(now=now).ok
        assert h.events("cron.task_stuck", "cron.task_overdue") == []
        stamp = (now - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
        assert _one(h, "module.queue_item_stuck")["occurred_at"] == stamp
        stamp = (now - timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
        assert _one(h, "system.error_logged")["occurred_at"] == stamp


def test_starting_at_the_end_reports_domain_statuses_that_change_later_not_old_ones(
    database_url: str, whmcs_db: WhmcsDb
) -> None:
    with custom_harness(database_url, whmcs_db, start_at="end") as h:
        for n, status in enumerate(("Expired", "Expired", "Active")):
            h.whmcs.insert(
                "tbldomains",
                userid=4,
                type="Register",
                domain=f"d{n}.example",
                registrar="enom",
                status=status,
                expirydate=_today(-2000 + n) if status == "Expired" else _today(200),
                registrationdate=_today(-3000),
            )
        assert h.cycle().ok
        assert h.cycle().ok
        assert h.events("domain.expired") == []
        h.whmcs.execute(
            "UPDATE tbldomains SET status='Grace', expirydate=%s WHERE id=3", (_today(-1),)
        )
        assert h.cycle().ok
        assert _one(h, "domain.entered_grace")["payload"]["domain"] == "d2.example"
        assert h.events("domain.expired") == []
