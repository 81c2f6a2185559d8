"""What the poller may read from a WHMCS database: tables, columns and tblconfiguration settings.

This is the single source of truth for three things that must agree: the SQL in ``queries``
(checked against it by a test), the column-level ``GRANT`` an operator gives the monitor's MySQL
user (``grant_statements``, printed by ``whmcs-monitor poller grant``), and the docs. Secret columns
(passwords, 2FA data, card data, gateway and registrar settings, raw gateway payloads, email
bodies) are simply absent, and ``FORBIDDEN`` names them so a test can prove they never appear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

ALLOWED: dict[str, tuple[str, ...]] = {
    "tblactivitylog": (
        "id",
        "date",
        "description",
        "user",
        "userid",
        "user_id",
        "admin_id",
        "ipaddr",
    ),
    "tblbannedips": ("id", "ip", "reason", "expires"),
    "tblemails": (
        "id",
        "userid",
        "subject",
        "date",
        "to",
        "pending",
        "failed",
        "failure_reason",
        "retry_count",
    ),
    "tblgatewaylog": ("id", "date", "gateway", "result", "transaction_history_id"),
    "tblerrorlog": (
        "id",
        "severity",
        "exception_class",
        "message",
        "filename",
        "line",
        "created_at",
    ),
    "tblmodulequeue": (
        "id",
        "service_type",
        "service_id",
        "module_name",
        "module_action",
        "last_attempt",
        "last_attempt_error",
        "num_retries",
        "completed",
        "created_at",
    ),
    "tblconfiguration": ("setting", "value"),
    "tbltask": ("id", "class_name", "name", "frequency", "is_enabled"),
    "tbltask_status": ("id", "task_id", "in_progress", "last_run", "next_due", "updated_at"),
    "tblinvoices": (
        "id",
        "userid",
        "invoicenum",
        "duedate",
        "datepaid",
        "total",
        "status",
        "paymentmethod",
    ),
    "tbldomains": (
        "id",
        "userid",
        "domain",
        "registrar",
        "type",
        "expirydate",
        "status",
        "registrationdate",
    ),
    "tblorders": (
        "id",
        "ordernum",
        "userid",
        "date",
        "amount",
        "paymentmethod",
        "invoiceid",
        "status",
        "promocode",
        "promotype",
        "promovalue",
        "fraudmodule",
    ),
    "tbltickets": (
        "id",
        "tid",
        "did",
        "userid",
        "date",
        "title",
        "status",
        "urgency",
        "lastreply",
        "merged_ticket_id",
    ),
    "tblticketdepartments": ("id", "name"),
    "tblcancelrequests": ("id", "date", "relid", "type"),
    "tblupgrades": (
        "id",
        "userid",
        "orderid",
        "type",
        "date",
        "relid",
        "originalvalue",
        "newvalue",
        "amount",
        "credit_amount",
        "recurringchange",
        "status",
    ),
    "tblquotes": ("id", "userid", "subject", "stage", "total", "dateaccepted"),
    "tblaffiliates": ("id", "date", "clientid"),
    "tblaffiliateswithdrawals": ("id", "affiliateid", "date", "amount"),
    "tbladmins": ("id", "username", "roleid", "disabled", "updated_at"),
    "tblaccounts": ("id", "date", "invoiceid", "gateway", "amountin", "refundid"),
}

# tblconfiguration holds secrets in some rows: only these settings are ever selected.
CONFIG_SETTINGS: tuple[str, ...] = (
    "Version",
    "UpdaterLatestVersion",
    "MaintenanceMode",
    "lastCronInvocationTime",
    "lastDailyCronInvocationTime",
    "lastDailyCronEndTime",
    "DailyCronExecutionHour",
)

# Never read, whatever a future query wants: a test asserts none of these appears in any SQL.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "tblclients": ("password", "authdata", "securityqans", "cardnum", "bankacct", "pwresetkey"),
    "tblusers": (
        "password",
        "second_factor",
        "second_factor_config",
        "remember_token",
        "reset_token",
    ),
    "tblcontacts": ("password", "pwresetkey"),
    "tbladmins": (
        "password",
        "passwordhash",
        "authdata",
        "password_reset_key",
        "password_reset_data",
    ),
    "tblhosting": ("password",),
    "tblservers": ("password", "accesshash", "username"),
    "tblticketdepartments": ("password", "login"),
    "tblgatewaylog": ("data",),
    "tblmodulelog": ("request", "response", "arrdata"),
    "tblemails": ("message", "message_data", "cc", "bcc", "attachments"),
    "tblapilog": ("request", "response", "headers"),
    "tbladminlog": ("sessionid",),
    "tblcreditcards": ("card_data",),
    "tblpaymentgateways": ("value",),
    "tblregistrars": ("value",),
}
FORBIDDEN_SETTINGS: tuple[str, ...] = (
    "License",
    "SMTPPassword",
    "FTPBackupPassword",
    "MemberPubKey",
    "APIAllowedIPs",
)

_IDENT = re.compile(r"^[A-Za-z0-9_]+$")
_HOST = re.compile(r"^[A-Za-z0-9_.%:-]+$")


def grant_statements(
    database: str,
    user: str,
    host: str = "%",
    *,
    allowlist: Mapping[str, Sequence[str]] = ALLOWED,
) -> list[str]:
    """The column-level GRANTs that let the monitor read exactly the allow-list and nothing else."""
    for value, what in ((database, "database name"), (user, "user name")):
        if not _IDENT.match(value):
            raise ValueError(f"{what} {value!r} may only hold letters, digits and '_'")
    if not _HOST.match(host):
        raise ValueError(f"host {host!r} is not a valid MySQL host pattern")
    return [
        f"GRANT SELECT ({', '.join(f'`{c}`' for c in columns)}) "
        f"ON `{database}`.`{table}` TO '{user}'@'{host}'"
        for table, columns in allowlist.items()
    ]
