"""What happens at a small hosting company during a day, as the WHMCS hooks that would fire.

Each scenario is one customer or staff story, split into the HTTP requests (batches) it would
cause in WHMCS, with the delay before each. Ids stay consistent within a story (the invoice paid
is the invoice created), so the event stream reads like a business, not like random noise.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count
from typing import Any

from whmcs_monitor.lib.timeutil import utcnow

Batch = list[dict[str, Any]]  # [{"hook"|"kind": name, "vars": {...}, "request": "client"|...}]
Step = tuple[float, Batch]  # (delay in story seconds, what WHMCS sends then)

FIRST = ["Ava", "Liam", "Noah", "Mia", "Zoe", "Omar", "Ines", "Kenji", "Sara", "Lucas", "Priya"]
LAST = ["Patel", "Smith", "Garcia", "Müller", "Rossi", "Nguyen", "Kowalski", "Haddad", "Silva"]


@dataclass(frozen=True)
class Product:
    pid: int
    name: str
    price: float
    module: str
    type: str  # WHMCS's producttype


@dataclass(frozen=True)
class Server:
    """A row of WHMCS's server list, as module hooks name it (serverid, serverhostname...)."""

    id: int
    hostname: str
    ip: str
    port: int


PRODUCTS = [
    Product(1, "Starter Hosting", 4.99, "cpanel", "hostingaccount"),
    Product(2, "Business Hosting", 12.99, "cpanel", "hostingaccount"),
    Product(3, "Reseller Gold", 29.00, "cpanel", "reselleraccount"),
    Product(4, "Cloud VPS 2GB", 18.00, "proxmox", "server"),
    Product(5, "Cloud VPS 8GB", 49.00, "proxmox", "server"),
]
SERVERS = {
    "cpanel": [
        Server(1, "web01.example.net", "203.0.113.11", 2087),
        Server(2, "web02.example.net", "203.0.113.12", 2087),
        Server(3, "web03.example.net", "203.0.113.13", 2087),
    ],
    "proxmox": [
        Server(4, "pve-ams1.example.net", "198.51.100.21", 8006),
        Server(5, "pve-fra1.example.net", "198.51.100.22", 8006),
    ],
}
GATEWAYS = ["stripe", "paypal", "gocardless"]
REGISTRARS = ["enom", "openprovider", "resellerclub"]
TLDS = ["com", "net", "org", "io", "co.uk", "de", "shop"]
# (department id, name, what customers write to it about)
DEPARTMENTS = [
    (
        1,
        "Technical Support",
        [
            "Website down after migration",
            "Cannot send email from Outlook",
            "SSL certificate not renewing",
            "Help installing WordPress",
        ],
    ),
    (2, "Billing", ["Charged twice for one invoice", "Please update my card details"]),
    (3, "Sales", ["Upgrade to a bigger VPS", "Managed WordPress hosting for 20 sites"]),
]
# What each module answers when a create fails; {host} is the server it was sent to.
MODULE_ERRORS = {
    "cpanel": [
        "Connection to {host}:2087 timed out after 30 seconds",
        "Account limit reached for reseller package",
        "A username with that name already exists",
    ],
    "proxmox": [
        "Connection to {host}:8006 timed out after 30 seconds",
        "No free IPv4 address left in the pool",
        "Storage local-lvm on {host} is full",
    ],
}
REGISTRAR_ERRORS = [
    "Domain not available",
    "Insufficient funds in reseller account",
    "Invalid registrant contact: phone number format",
]
ADMINS = [(1, "alice"), (2, "bob")]
AUTOMATION_TASKS = [
    "CreateInvoices",
    "InvoiceReminders",
    "AddLateFees",
    "ProcessEmailQueue",
    "DomainStatusSync",
    "CancellationRequests",
]
BAN_LENGTH = timedelta(minutes=15)  # WHMCS's InvalidLoginBanLength default
COMMISSION_CLEARING = timedelta(days=30)  # the affiliate payout delay


@dataclass
class Business:
    """The running state of the simulated company: the next ids and who exists."""

    rng: random.Random = field(default_factory=random.Random)
    clients: list[int] = field(default_factory=lambda: list(range(1001, 1041)))
    # service id -> its client: the services sold before the day began, then the day's orders
    services: dict[int, int] = field(
        default_factory=lambda: {4001 + n: 1001 + n % 40 for n in range(400)}
    )
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

    def service(self) -> tuple[int, int]:
        """An existing service and the client who holds it."""
        service_id = self.rng.choice(list(self.services))
        return service_id, self.services[service_id]

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
    email = f"{_ascii(first)}.{_ascii(last)}{client_id}@example.net"
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


def _ascii(name: str) -> str:
    """A name as people type it into an address: Müller becomes muller."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


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


def _module_params(
    b: Business, service_id: int, client_id: int, product: Product, domain: str
) -> dict[str, Any]:
    """The provisioning-module parameters WHMCS passes to module hooks (``$vars['params']``)."""
    server = b.rng.choice(SERVERS[product.module])
    return {
        "serviceid": service_id,
        "userid": client_id,
        "pid": product.pid,
        "serverid": server.id,
        "domain": domain,
        "username": domain.split(".")[0][:8],
        "password": "[redacted]",
        "producttype": product.type,
        "moduletype": product.module,
        "server": True,
        "serverip": server.ip,
        "serverhostname": server.hostname,
        "serverusername": "root",
        "serverpassword": "[redacted]",
        "serversecure": True,
        "serverport": server.port,
    }


def _provision(b: Business, params: dict[str, Any]) -> dict[str, Any]:
    if b.rng.random() >= 0.08:
        return _ev("AfterModuleCreate", "client", params=params)
    error = b.rng.choice(MODULE_ERRORS[params["moduletype"]])
    return _ev(
        "AfterModuleCreateFailed",
        "client",
        params=params,
        failureResponseMessage=error.format(host=params["serverhostname"]),
    )


def hosting_order(b: Business) -> list[Step]:
    client_id = b.client()
    product = b.rng.choice(PRODUCTS)
    order_id, invoice_id, service_id = (
        b.next_id("order"),
        b.next_id("invoice"),
        b.next_id("service"),
    )
    b.services[service_id] = client_id
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
                    OrderNumber=order_id,  # one number per order in every summary
                    ServiceIDs=[service_id],
                    AddonIDs=[],
                    DomainIDs=[],
                    RenewalIDs=[],
                    InvoiceID=invoice_id,
                    PaymentMethod=gateway,
                    TotalDue=f"{product.price:.2f}",
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
        params = _module_params(b, service_id, client_id, product, f"{sld}.{tld}")
        steps.append(
            (
                b.rng.uniform(20, 90),
                [
                    *_paid(b, client_id, invoice_id, product.price, gateway),
                    _ev(
                        "OrderPaid",
                        "client",
                        orderId=order_id,
                        userId=client_id,
                        invoiceId=invoice_id,
                    ),
                    _provision(b, params),
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
    dept_id, dept, subjects = b.rng.choice(DEPARTMENTS)
    subject = b.rng.choice(subjects)
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
                    ticketmask=str(ticket_id),  # one number per ticket in every summary
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
    expires = (utcnow() + BAN_LENGTH).isoformat(timespec="minutes")  # as the poller words it
    ban = (
        1.0,
        [
            _ev(
                "security.ip_banned",
                "poll",
                ip=ip,
                reason="3 Invalid Login Attempts",
                expires=expires,
            )
        ],
    )
    return [*attempts, ban]


def cron_run(b: Business) -> list[Step]:
    """One cron.php request: the due tasks one after another, sent when the request ends."""
    tasks = b.rng.sample(AUTOMATION_TASKS, b.rng.randint(2, 3))
    events = [
        event
        for name in tasks
        for event in (
            _ev("PreAutomationTask", "cron", task={"name": name}),
            _ev("PostAutomationTask", "cron", task={"name": name}, completed=True),
        )
    ]
    return [(0, [*events, _ev("AfterCronJob", "cron")])]


def affiliate_commission(b: Business) -> list[Step]:
    service_id, _client = b.service()
    clears = (utcnow() + COMMISSION_CLEARING).date().isoformat()
    return [
        (
            0,
            [
                _ev(
                    "AffiliateCommission",
                    "cron",
                    affiliateId=b.rng.randint(1, 12),
                    referralId=b.rng.randint(100, 400),
                    serviceId=service_id,
                    commissionAmount=f"{b.rng.uniform(1, 15):.2f}",
                    commissionDelayed=True,
                    clearingDate=clears,
                    payout=False,
                    message="",
                )
            ],
        )
    ]


def cancellation(b: Business) -> list[Step]:
    service_id, client_id = b.service()
    return [
        (
            0,
            [
                _ev(
                    "CancellationRequest",
                    "client",
                    userid=client_id,
                    relid=service_id,
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
