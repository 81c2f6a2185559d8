"""What happens at a small hosting company during a day, as the WHMCS hooks that would fire.

Each scenario is one customer or staff story, split into the HTTP requests (batches) it would
cause in WHMCS, with the delay before each. Ids stay consistent within a story (the invoice paid
is the invoice created), so the event stream reads like a business, not like random noise.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

Batch = list[dict[str, Any]]  # [{"hook"|"kind": name, "vars": {...}, "request": "client"|...}]
Step = tuple[float, Batch]  # (delay in story seconds, what WHMCS sends then)

FIRST = ["Ava", "Liam", "Noah", "Mia", "Zoe", "Omar", "Ines", "Kenji", "Sara", "Lucas", "Priya"]
LAST = ["Patel", "Smith", "Garcia", "Müller", "Rossi", "Nguyen", "Kowalski", "Haddad", "Silva"]
PRODUCTS = [
    ("Starter Hosting", 4.99, "cpanel"),
    ("Business Hosting", 12.99, "cpanel"),
    ("Reseller Gold", 29.00, "cpanel"),
    ("Cloud VPS 2GB", 18.00, "proxmox"),
    ("Cloud VPS 8GB", 49.00, "proxmox"),
]
SERVERS = {"cpanel": ["web01", "web02", "web03"], "proxmox": ["pve-ams1", "pve-fra1"]}
GATEWAYS = ["stripe", "paypal", "gocardless"]
REGISTRARS = ["enom", "openprovider", "resellerclub"]
TLDS = ["com", "net", "org", "io", "co.uk", "de", "shop"]
DEPARTMENTS = [(1, "Technical Support"), (2, "Billing"), (3, "Sales")]
SUBJECTS = [
    "Website down after migration",
    "Cannot send email from Outlook",
    "Invoice paid twice?",
    "How do I install WordPress?",
    "SSL certificate not renewing",
    "Upgrade to a bigger VPS",
]
MODULE_ERRORS = [
    "Connection to web02 timed out after 30 seconds",
    "Account limit reached for reseller package",
    "A username with that name already exists",
]
REGISTRAR_ERRORS = [
    "Domain not available",
    "Insufficient funds in reseller account",
    "Invalid registrant contact: phone number format",
]
ADMINS = [(1, "alice"), (2, "bob")]


@dataclass
class Business:
    """The running state of the simulated company: the next ids and who exists."""

    rng: random.Random = field(default_factory=random.Random)
    clients: list[int] = field(default_factory=lambda: list(range(1001, 1041)))
    _ids: dict[str, count[int]] = field(default_factory=dict)

    def next_id(self, what: str) -> int:
        start = {
            "client": 1041,
            "invoice": 52001,
            "order": 8801,
            "service": 4401,
            "domain": 2201,
            "ticket": 9301,
            "reply": 30001,
            "transaction": 70001,
        }[what]
        return next(self._ids.setdefault(what, count(start)))

    def client(self) -> int:
        return self.rng.choice(self.clients)

    def domain_name(self) -> tuple[str, str]:
        words = ["bright", "pixel", "north", "atlas", "maple", "harbor", "nova", "cedar", "blue"]
        sld = f"{self.rng.choice(words)}{self.rng.choice(words)}{self.rng.randint(1, 99)}"
        return sld, self.rng.choice(TLDS)


def _ev(name: str, request: str, **variables: Any) -> dict[str, Any]:
    key = "hook" if name[0].isupper() else "kind"
    return {key: name, "vars": variables, "request": request}


def new_client(b: Business) -> list[Step]:
    client_id = b.next_id("client")
    b.clients.append(client_id)
    first, last = b.rng.choice(FIRST), b.rng.choice(LAST)
    email = f"{first.lower()}.{last.lower()}{client_id}@example.net"
    return [
        (
            0,
            [
                _ev(
                    "ClientAdd",
                    "client",
                    client_id=client_id,
                    user_id=client_id,
                    firstname=first,
                    lastname=last,
                    email=email,
                    country=b.rng.choice(["GB", "US", "DE", "NL", "IN"]),
                    password="[redacted]",
                ),
                _ev("UserLogin", "client", user={"id": client_id, "email": email}),
            ],
        ),
    ]


def _paid(b: Business, client_id: int, invoice_id: int, amount: float, gateway: str) -> Batch:
    return [
        _ev("LogTransaction", "client", gateway=gateway, result="Success", data="[redacted]"),
        _ev(
            "AddTransaction",
            "client",
            id=b.next_id("transaction"),
            userid=client_id,
            currency=1,
            gateway=gateway,
            amountin=f"{amount:.2f}",
            fees=f"{amount * 0.029:.2f}",
            amountout="0.00",
            invoiceid=invoice_id,
            transid=f"ch_{b.rng.getrandbits(48):x}",
        ),
        _ev("InvoicePaid", "client", invoiceid=invoice_id),
    ]


def hosting_order(b: Business) -> list[Step]:
    client_id = b.client()
    _product, price, module = b.rng.choice(PRODUCTS)
    server = b.rng.choice(SERVERS[module])
    order_id, invoice_id, service_id = (
        b.next_id("order"),
        b.next_id("invoice"),
        b.next_id("service"),
    )
    gateway = b.rng.choice(GATEWAYS)
    sld, tld = b.domain_name()
    steps: list[Step] = [
        (
            0,
            [
                _ev(
                    "AfterShoppingCartCheckout",
                    "client",
                    OrderID=order_id,
                    OrderNumber=order_id * 7,
                    ServiceIDs=[service_id],
                    AddonIDs=[],
                    DomainIDs=[],
                    InvoiceID=invoice_id,
                    PaymentMethod=gateway,
                    TotalDue=f"{price:.2f}",
                ),
                _ev(
                    "InvoiceCreated",
                    "client",
                    source="autogen",
                    invoiceid=invoice_id,
                    status="Unpaid",
                    user=client_id,
                ),
            ],
        ),
    ]
    if b.rng.random() < 0.85:
        params = {
            "serviceid": service_id,
            "userid": client_id,
            "domain": f"{sld}.{tld}",
            "moduletype": module,
            "server": server,
            "producttype": "hostingaccount",
            "password": "[redacted]",
            "serverpassword": "[redacted]",
        }
        provision = (
            _ev(
                "AfterModuleCreateFailed",
                "client",
                params=params,
                failureResponseMessage=b.rng.choice(MODULE_ERRORS),
            )
            if b.rng.random() < 0.08
            else _ev("AfterModuleCreate", "client", params=params)
        )
        steps.append(
            (
                b.rng.uniform(20, 90),
                [
                    *_paid(b, client_id, invoice_id, price, gateway),
                    _ev(
                        "OrderPaid",
                        "client",
                        orderId=order_id,
                        userId=client_id,
                        invoiceId=invoice_id,
                    ),
                    provision,
                ],
            )
        )
    return steps


def domain_order(b: Business) -> list[Step]:
    client_id = b.client()
    sld, tld = b.domain_name()
    domain_id, invoice_id = b.next_id("domain"), b.next_id("invoice")
    registrar = b.rng.choice(REGISTRARS)
    params = {
        "domainid": domain_id,
        "userid": client_id,
        "sld": sld,
        "tld": tld,
        "regperiod": 1,
        "registrar": registrar,
    }
    outcome = (
        _ev(
            "AfterRegistrarRegistrationFailed",
            "cron",
            params=params,
            error=b.rng.choice(REGISTRAR_ERRORS),
        )
        if b.rng.random() < 0.1
        else _ev("AfterRegistrarRegistration", "cron", params=params)
    )
    return [
        (
            0,
            [
                _ev(
                    "InvoiceCreated",
                    "client",
                    source="autogen",
                    invoiceid=invoice_id,
                    status="Unpaid",
                    user=client_id,
                )
            ],
        ),
        (
            b.rng.uniform(10, 60),
            [*_paid(b, client_id, invoice_id, 11.99, b.rng.choice(GATEWAYS)), outcome],
        ),
    ]


def renewal_reminder(b: Business) -> list[Step]:
    invoice_id = b.next_id("invoice")
    kind = b.rng.choice(["reminder", "firstoverdue", "secondoverdue"])
    return [(0, [_ev("InvoicePaymentReminder", "cron", invoiceid=invoice_id, type=kind)])]


def declined_card(b: Business) -> list[Step]:
    return [
        (
            0,
            [
                _ev(
                    "LogTransaction",
                    "client",
                    gateway="stripe",
                    result="Declined",
                    data="[redacted]",
                )
            ],
        )
    ]


def support_ticket(b: Business) -> list[Step]:
    ticket_id, client_id = b.next_id("ticket"), b.client()
    dept_id, dept = b.rng.choice(DEPARTMENTS)
    subject = b.rng.choice(SUBJECTS)
    priority = b.rng.choice(["Low", "Medium", "Medium", "High"])
    admin_id, admin = b.rng.choice(ADMINS)
    common = {
        "ticketid": ticket_id,
        "deptid": dept_id,
        "deptname": dept,
        "subject": subject,
        "priority": priority,
    }
    return [
        (
            0,
            [
                _ev(
                    "TicketOpen",
                    "client",
                    ticketmask=f"ABC-{ticket_id}",
                    userid=client_id,
                    message="(message body)",
                    **common,
                )
            ],
        ),
        (
            b.rng.uniform(60, 600),
            [
                _ev(
                    "TicketAdminReply",
                    "admin",
                    replyid=b.next_id("reply"),
                    admin=admin,
                    adminid=admin_id,
                    message="(reply)",
                    status="Answered",
                    **common,
                )
            ],
        ),
        (
            b.rng.uniform(60, 300),
            [
                _ev(
                    "TicketUserReply",
                    "client",
                    replyid=b.next_id("reply"),
                    userid=client_id,
                    message="(reply)",
                    status="Customer-Reply",
                    **common,
                )
            ],
        ),
        (b.rng.uniform(60, 300), [_ev("TicketClose", "admin", ticketid=ticket_id)]),
    ]


def admin_session(b: Business) -> list[Step]:
    admin_id, username = b.rng.choice(ADMINS)
    return [
        (0, [_ev("AdminLogin", "admin", adminid=admin_id, username=username)]),
        (b.rng.uniform(300, 1800), [_ev("AdminLogout", "admin", adminid=admin_id)]),
    ]


def brute_force(b: Business) -> list[Step]:
    ip = f"185.{b.rng.randint(1, 254)}.{b.rng.randint(1, 254)}.{b.rng.randint(1, 254)}"
    attempts = [
        (
            b.rng.uniform(1, 4),
            [
                _ev(
                    "security.admin_login_failed",
                    "poll",
                    username=b.rng.choice(["admin", "root", "administrator"]),
                    ip=ip,
                )
            ],
        )
        for _ in range(b.rng.randint(6, 14))
    ]
    ban = (1.0, [_ev("security.ip_banned", "poll", ip=ip, reason="3 Invalid Login Attempts")])
    return [*attempts, ban]


def cron_run(b: Business) -> list[Step]:
    tasks = ["InvoiceReminders", "CreateInvoices", "ProcessEmailQueue", "DomainStatusSync"]
    return [
        (0, [_ev("PreAutomationTask", "cron", task={"name": t}) for t in tasks[:1]]),
        (
            2,
            [_ev("PostAutomationTask", "cron", task={"name": t}, completed=True) for t in tasks]
            + [_ev("AfterCronJob", "cron")],
        ),
    ]


def affiliate_commission(b: Business) -> list[Step]:
    return [
        (
            0,
            [
                _ev(
                    "AffiliateCommission",
                    "cron",
                    affiliateId=b.rng.randint(1, 12),
                    referralId=b.rng.randint(100, 400),
                    serviceId=b.next_id("service"),
                    commissionAmount=f"{b.rng.uniform(1, 15):.2f}",
                    commissionDelayed=True,
                    payout=False,
                    message="",
                )
            ],
        )
    ]


def cancellation(b: Business) -> list[Step]:
    return [
        (
            0,
            [
                _ev(
                    "CancellationRequest",
                    "client",
                    userid=b.client(),
                    relid=b.rng.randint(4000, 4400),
                    reason=b.rng.choice(
                        ["Too expensive", "Moving to another provider", "Project ended"]
                    ),
                    type=b.rng.choice(["Immediate", "End of Billing Period"]),
                )
            ],
        )
    ]


# Relative frequency of each story during business hours.
SCENARIOS: list[tuple[Callable[[Business], list[Step]], int]] = [
    (hosting_order, 18),
    (domain_order, 12),
    (support_ticket, 14),
    (new_client, 8),
    (renewal_reminder, 8),
    (admin_session, 5),
    (cron_run, 10),
    (declined_card, 4),
    (affiliate_commission, 3),
    (cancellation, 2),
    (brute_force, 1),
]


def pick(b: Business) -> list[Step]:
    stories = [story for story, _ in SCENARIOS]
    story = b.rng.choices(stories, weights=[weight for _, weight in SCENARIOS])[0]
    return story(b)
