"""Realistic ``$vars`` for every WHMCS hook, with seeded secrets, for the emulation harness.

Shapes follow shared/whmcs-reference.md. Every secret below is a distinctive string so a test can
search the collector's store, the spool and the logs for it byte for byte. Objects are written as
``{"__object__": class, "attributes": {...}}``; the PHP harness builds the model from them, and the
models carry secret columns too (a hashed password, 2FA data), as the real ones do.
"""

from __future__ import annotations

from typing import Any

SECRETS: dict[str, str] = {
    "client_password": "Pw-Client-7f3a9c",
    "user_password": "Pw-User-2b8e41",
    "service_password": "Svc-Pass-5h6j7k",
    "server_password": "Srv-Pass-91c0de",
    "server_username": "srv-root-user-44",
    "server_accesshash": "AccessHash-5d7e2f",
    "card_spaced": "4111 1111 1111 1111",
    "card_plain": "5500005555555559",
    "epp": "EPP-Auth-6q2w9x",
    "registrar_apikey": "RegApiKey-3k9m2n",
    "registrar_password": "RegPass-0p9o8i",
    "twofa": "2FA-Secret-JBSWY3DP",
    "pem": "MIIEpAIBAAKCAQEA-SeededPrivateKey-zz9",
    "admin_attempt": "AdminAttempt-Pw-1q2w",
    "api_secret": "ApiSecret-4r5t6y",
    "security_answer": "SecAnswer-Fluffy-88",
    "password_hash": "$2y$10$SeededHashValueAbCdEf",
}

PEM_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n" + SECRETS["pem"] + "\nAAAA\n-----END RSA PRIVATE KEY-----"
)


def _obj(cls: str, **attributes: Any) -> dict[str, Any]:
    return {"__object__": cls, "attributes": attributes}


def user_obj() -> dict[str, Any]:
    return _obj(
        "WHMCS\\User\\User",
        id=12,
        email="alice@example.com",
        password=SECRETS["password_hash"],
        second_factor="totp",
        second_factor_config=SECRETS["twofa"],
        last_ip="203.0.113.5",
    )


def client_obj() -> dict[str, Any]:
    return _obj(
        "WHMCS\\User\\Client",
        id=7,
        uuid="c7",
        status="Active",
        password=SECRETS["password_hash"],
        authdata=SECRETS["twofa"],
        cardnum=SECRETS["card_plain"],
    )


def invoice_obj() -> dict[str, Any]:
    return _obj(
        "WHMCS\\Billing\\Invoice",
        id=1001,
        userid=7,
        status="Paid",
        total="25.00",
        paymentmethod="stripe",
        notes="paid by card " + SECRETS["card_spaced"],
    )


def module_params() -> dict[str, Any]:
    """The provisioning-module parameter array (module-parameters.md)."""
    return {
        "serviceid": 301,
        "userid": 7,
        "pid": 4,
        "serverid": 2,
        "domain": "alice.example",
        "username": "alice1",
        "password": SECRETS["service_password"],
        "producttype": "hostingaccount",
        "moduletype": "cpanel",
        "configoption1": "default",
        "clientsdetails": {
            "userid": 7,
            "email": "alice@example.com",
            "password": SECRETS["client_password"],
        },
        "customfields": {"Root password": SECRETS["service_password"]},
        "configoptions": {"Disk": 10},
        "server": True,
        "serverip": "198.51.100.2",
        "serverhostname": "web1.example.net",
        "serverusername": SECRETS["server_username"],
        "serverpassword": SECRETS["server_password"],
        "serveraccesshash": SECRETS["server_accesshash"],
        "serversecure": True,
        "serverport": 2087,
    }


def registrar_params() -> dict[str, Any]:
    """The registrar-module parameter array, with the registrar's own API settings."""
    return {
        "domainid": 55,
        "userid": 7,
        "sld": "alice",
        "tld": "com",
        "regperiod": 1,
        "registrar": "enom",
        "eppcode": SECRETS["epp"],
        "ns1": "ns1.example.net",
        "ns2": "ns2.example.net",
        "firstname": "Alice",
        "email": "alice@example.com",
        "additionalfields": {"Nexus Category": "C11"},
        # Registrar module settings: credential names vary per registrar.
        "Username": "reguser",
        "Password": SECRETS["registrar_password"],
        "ApiKey": SECRETS["registrar_apikey"],
        "TestMode": "on",
        "original": {"ApiKey": SECRETS["registrar_apikey"], "sld": "alice"},
    }


# Hook-specific shapes; hooks not listed get a family shape or the generic one.
SHAPES: dict[str, dict[str, Any]] = {
    "InvoicePaid": {"invoiceid": 1001, "invoice": invoice_obj()},
    "UserLogin": {"user": user_obj()},
    "UserLogout": {"user": user_obj()},
    "ClientAdd": {
        "client_id": 7,
        "user_id": 12,
        "firstname": "Alice",
        "lastname": "Doe",
        "email": "alice@example.com",
        "password": SECRETS["client_password"],
        "customFields": {},
    },
    "ClientChangePassword": {"userid": 7, "password": SECRETS["client_password"]},
    "UserChangePassword": {"userid": 12, "password": SECRETS["user_password"]},
    "UserAdd": {"user_id": 12, "email": "a@example.com", "password": SECRETS["user_password"]},
    "PreUserAdd": {"user_id": 12, "email": "a@example.com", "password": SECRETS["user_password"]},
    "ClientEdit": {
        "userid": 7,
        "email": "alice@example.com",
        "authmodule": "totp",
        "authdata": SECRETS["twofa"],
        "olddata": {"email": "old@example.com", "authdata": SECRETS["twofa"]},
    },
    "AdminClientProfileTabFields": {
        "userid": 7,
        "password": SECRETS["password_hash"],
        "authdata": SECRETS["twofa"],
    },
    "CCUpdate": {
        "userid": 7,
        "cardtype": "Visa",
        "cardnum": SECRETS["card_spaced"],
        "cardcvv": "737",
        "expdate": "1230",
    },
    "ShoppingCartValidateCheckout": {
        "paymentmethod": "stripe",
        "ccnumber": SECRETS["card_plain"],
        "cccvv": "123",
        "ccexpirymonth": "12",
        "ccexpiryyear": "30",
        "loginemail": "a@example.com",
        "loginpassword": SECRETS["client_password"],
        "password": SECRETS["client_password"],
        "password2": SECRETS["client_password"],
        "securityqid": 1,
        "securityqans": SECRETS["security_answer"],
    },
    "ClientLoginShare": {"username": "alice@example.com", "password": SECRETS["client_password"]},
    "AuthAdmin": {"userInput": SECRETS["admin_attempt"]},
    "AuthAdminApi": {"userInput": SECRETS["api_secret"], "admin": {"id": 1}},
    "AfterModuleChangePassword": {
        "serviceid": 301,
        "oldpassword": SECRETS["service_password"],
        "newpassword": SECRETS["service_password"] + "-new",
    },
    "ClientAreaProductDetailsPreModuleTemplate": {
        "serviceid": 301,
        "username": "alice1",
        "password": SECRETS["service_password"],
    },
    "OrderDomainPricingOverride": {
        "domain": "alice.com",
        "regperiod": 1,
        "eppcode": SECRETS["epp"],
    },
    "AfterRegistrarGetEPPCode": {
        "params": registrar_params(),
        "results": {"eppcode": SECRETS["epp"]},
        "functionExists": True,
        "functionSuccessful": True,
    },
    "TicketOpen": {
        "ticketid": 9,
        "userid": 7,
        "subject": "Card problem",
        "message": "my card is " + SECRETS["card_spaced"] + " and my key:\n" + PEM_KEY,
        "priority": "High",
    },
    "TicketUserReply": {
        "ticketid": 9,
        "replyid": 3,
        "userid": 7,
        "message": "try " + SECRETS["card_plain"],
        "status": "Customer-Reply",
    },
    "AfterCalculateCartTotals": {
        "total": {"__object__": "WHMCS\\View\\Formatter\\Price", "amount": "19.99"}
    },
    "ClientAreaDomainDetails": {
        "domain": _obj("WHMCS\\Domain\\Domain", id=55, domain="alice.com", status="Active")
    },
    "ClientAreaProductDetails": {
        "service": _obj(
            "WHMCS\\Service\\Service",
            id=301,
            domain="alice.example",
            password=SECRETS["service_password"],
        )
    },
    "PayMethodMigration": {"client": client_obj()},
}


def vars_for(hook: str) -> dict[str, Any]:
    """Realistic ``$vars`` for a hook name, seeded with the secrets that hook can carry."""
    if hook in SHAPES:
        return SHAPES[hook]
    if "Registrar" in hook or hook in ("PreDomainTransfer", "PreDomainRegister"):
        vars_: dict[str, Any] = {"params": registrar_params()}
        if hook.endswith("Failed"):
            vars_["error"] = "Registrar error: insufficient funds"
        if hook.startswith("AfterRegistrar") and not hook.endswith("Failed"):
            vars_.update(results={"success": True}, functionExists=True, functionSuccessful=True)
        return vars_
    if hook.startswith(("PreModule", "AfterModule")) or hook == "OverrideModuleUsernameGeneration":
        vars_ = {"params": module_params()}
        if hook.endswith("Failed"):
            vars_["failureResponseMessage"] = "Server refused: quota exceeded"
        return vars_
    # Generic: ids plus a password and a card number in places any hook might have them.
    return {
        "userid": 7,
        "id": 42,
        "invoiceid": 1001,
        "status": "Active",
        "password": SECRETS["client_password"],
        "note": "paid with " + SECRETS["card_spaced"],
    }
