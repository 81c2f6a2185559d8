"""Native SMTP e-mail against a real aiosmtpd server: plain with login, STARTTLS, refusals."""

from __future__ import annotations

import email
import email.policy
import ssl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from alerting_fixtures import (
    T0,
    SmtpServer,
    engine_with_rules,
    outbox_rows,
    store_events,
    stored_text,
)
from whmcs_monitor.notify.email import EmailChannel, EmailConfig
from whmcs_monitor.notify.errors import DeliveryError
from whmcs_monitor.notify.message import Message
from whmcs_monitor.store.db import Database

PASSWORD = "smtp-pa55word-never-stored"
MESSAGE = Message(
    title="[CRITICAL] main: gateway failures",
    text="5 failures",
    html="<p>5 failures</p>",
    document={},
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def plain_server() -> Iterator[SmtpServer]:
    server = SmtpServer(login=("monitor", PASSWORD))
    yield server
    server.stop()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[SmtpServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = SmtpServer(tls_context=context, login=("monitor", PASSWORD))
    yield server
    server.stop()


def _config(port: int, **extra: Any) -> EmailConfig:
    data = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": "monitor@example.com",
        "to": ["ops@example.com"],
        "username": "monitor",
        "password": PASSWORD,
        **extra,
    }
    return EmailConfig.model_validate(data)


def test_a_plain_smtp_server_with_login_receives_the_alert(plain_server: SmtpServer) -> None:
    EmailChannel(_config(plain_server.port)).send(MESSAGE, delivery_id="7")
    (raw,) = plain_server.mailbox.messages
    mail = email.message_from_bytes(raw)
    assert mail["Subject"] == MESSAGE.title and mail["X-WHMCS-Monitor-Delivery"] == "7"
    assert mail.is_multipart() and {p.get_content_type() for p in mail.walk()} >= {
        "text/plain",
        "text/html",
    }


def test_starttls_with_a_verified_certificate_delivers(
    tls_server: SmtpServer, ca: trustme.CA, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    EmailChannel(_config(tls_server.port, security="starttls", ca_file=str(ca_file))).send(
        MESSAGE, delivery_id="8"
    )
    assert len(tls_server.mailbox.messages) == 1


def test_starttls_refuses_a_certificate_it_cannot_verify_as_a_temporary_failure(
    tls_server: SmtpServer,
) -> None:
    with pytest.raises(DeliveryError) as caught:
        EmailChannel(_config(tls_server.port, security="starttls")).send(MESSAGE, delivery_id="9")
    assert (
        not caught.value.permanent
        and str(caught.value) == f"smtp 127.0.0.1:{tls_server.port}: SSLCertVerificationError"
    )


def test_a_wrong_password_is_permanent_and_never_quoted(plain_server: SmtpServer) -> None:
    with pytest.raises(DeliveryError) as caught:
        EmailChannel(_config(plain_server.port, password="not-" + PASSWORD)).send(
            MESSAGE, delivery_id="10"
        )
    assert caught.value.permanent
    assert (
        str(caught.value)
        == f"smtp 127.0.0.1:{plain_server.port} refused the login for monitor (535)"
    )


def test_an_alert_mail_through_the_outbox_leaves_no_password_in_the_store(
    database_url: str, db: Database, tmp_path: Path, plain_server: SmtpServer
) -> None:
    good = {
        "name": "mail",
        "email": _config(plain_server.port).model_dump(by_alias=True, mode="json")
        | {"password": PASSWORD},
    }
    bad = {"name": "badmail", "email": good["email"] | {"password": "wrong-" + PASSWORD}}
    route = {
        "receiver": "mail",
        "group_wait": "0s",
        "routes": [{"match": ["severity=critical"], "receiver": "badmail"}],
    }
    rules = "rules: [{name: refunds, match: {kinds: [invoice.refunded]}, severity: critical}]"
    engine = engine_with_rules(
        database_url, db, tmp_path / "r.yaml", rules, receivers=[good, bad], route=route
    )
    store_events(db, ("invoice.refunded", {"invoiceid": 5}, T0))
    engine.step(now=T0 + timedelta(seconds=1))
    engine.deliver()
    assert [(r["receiver"], r["state"]) for r in outbox_rows(db)] == [("badmail", "dead")]
    text = stored_text(db)
    assert "refused the login" in text
    assert PASSWORD not in text


def test_a_summary_with_line_breaks_is_mailed_with_a_one_line_subject(
    database_url: str, db: Database, tmp_path: Path, plain_server: SmtpServer
) -> None:
    """A module's failureResponseMessage often holds CR/LF; a header must not (ValueError)."""
    mail = {"name": "mail", "email": _config(plain_server.port).model_dump(by_alias=True)}
    mail["email"]["password"] = PASSWORD
    rules = "rules: [{name: module, match: {kinds: [module.create_failed]}, severity: error}]"
    engine = engine_with_rules(
        database_url,
        db,
        tmp_path / "r.yaml",
        rules,
        receivers=[mail],
        route={"receiver": "mail", "group_wait": "0s"},
    )
    data = {
        "serviceid": 7,
        "params": {"serverhostname": "web1", "serviceid": 7, "domain": "x.com"},
        "failureResponseMessage": "failed:\r\nquota exceeded\n",
    }
    store_events(db, ("module.create_failed", data, T0))
    engine.step(now=T0)
    assert engine.deliver() == 1
    (raw,) = plain_server.mailbox.messages
    subject = email.message_from_bytes(raw, policy=email.policy.default)["Subject"]  # unfolded
    assert subject.endswith("on web1: failed: quota exceeded")
    assert [r["state"] for r in outbox_rows(db)] == ["delivered"]
