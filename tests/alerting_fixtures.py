"""Shared helpers for the alerting and notify tests: real loopback receivers and event seeding."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from support import free_port, make_settings
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.config import Settings
from whmcs_monitor.events.normalize import build_event
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import insert_events

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday


def alert_settings(database_url: str, **alerting: Any) -> Settings:
    return make_settings(database_url, alerting=alerting)


def store_events(
    db: Database, *items: tuple[str, dict[str, Any], datetime], site: str = "main"
) -> None:
    """Store catalog events the way a producer does (build_event, then insert_events)."""
    catalog = load_catalog()
    events = [
        build_event(catalog.get(kind), site=site, data=data, occurred_at=at)
        for kind, data, at in items
    ]
    with db.write() as conn:
        insert_events(conn, events)


@dataclass
class Captured:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A real HTTP server on loopback that records posts and answers from a script of statuses."""

    statuses: list[int] = field(default_factory=list)  # answered in order; then 200
    refuse: Callable[[Any], bool] | None = None  # a 503 for every document this says yes to
    received: list[Captured] = field(default_factory=list)
    attempts: int = 0

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.attempts += 1
                status = owner.statuses.pop(0) if owner.statuses else 200
                if owner.refuse is not None and owner.refuse(json.loads(body)):
                    status = 503
                if 200 <= status < 300:
                    owner.received.append(Captured(self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def webhook_receiver(statuses: Sequence[int] = ()) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(list(statuses))
    yield receiver
    receiver.close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@dataclass
class SmtpServer:
    """aiosmtpd on loopback; with ``tls_context`` it offers STARTTLS, with ``login`` it wants AUTH."""

    tls_context: Any = None
    login: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self.mailbox = _Mailbox()
        wanted = self.login

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and wanted is not None
                and (data.login.decode(), data.password.decode()) == wanted
            )
            return AuthResult(success=ok, handled=False)

        kwargs: dict[str, Any] = {}
        if self.tls_context is not None:
            kwargs.update(tls_context=self.tls_context, require_starttls=True)
        if self.login is not None:
            kwargs.update(authenticator=authenticate, auth_require_tls=self.tls_context is not None)
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def engine_with_rules(
    database_url: str, db: Database, rules_file: Any, rules_yaml: str, **alerting: Any
) -> Any:
    """An :class:`Engine` on ``db`` with only the given rules (plus any other alerting settings)."""
    from whmcs_monitor.alerting.engine import Engine

    rules_file.write_text(rules_yaml)
    settings = alert_settings(
        database_url, default_rules=False, rule_files=[str(rules_file)], **alerting
    )
    return Engine(settings, db)


def alert_rows(db: Database, *, rule: str | None = None) -> list[dict[str, Any]]:
    from whmcs_monitor.alerting import queries

    with db.read() as conn:
        rows = queries.list_alerts(conn, states=(), limit=10_000)
    return sorted((r for r in rows if rule is None or r["rule"] == rule), key=lambda r: r["id"])


def outbox_rows(db: Database) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    from whmcs_monitor.alerting.tables import notifications

    with db.read() as conn:
        rows = conn.execute(sa.select(notifications).order_by(notifications.c.id))
        return [dict(row._mapping) for row in rows]


def hook_receiver(url: str = "http://127.0.0.1:9/hook", **extra: Any) -> dict[str, Any]:
    return {"name": "ops", "webhook": {"url": url, "secret": "hook-signing-secret"}, **extra}


def stored_text(db: Database) -> str:
    """Every row of the tables a notification can leave traces in, as one string to search."""
    import sqlalchemy as sa

    from whmcs_monitor.alerting.tables import alert_history, alerts, deliveries, notifications
    from whmcs_monitor.store.tables import audit_log, events

    parts = []
    with db.read() as conn:
        for table in (deliveries, notifications, events, alerts, alert_history, audit_log):
            parts.extend(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    return "\n".join(parts)
