"""Fixtures for the dashboard tests: alice (admin), bob (operator) and charlie (viewer)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from support import make_settings
from whmcs_monitor import accounts
from whmcs_monitor.accounts import create_user, get_user
from whmcs_monitor.alerting import state
from whmcs_monitor.alerting.tables import alerts
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.db import Database
from whmcs_monitor.web import sessions
from whmcs_monitor.web.app import create_app

PASSWORDS = {
    "alice": "alice-password-1",
    "bob": "bob-password-22",
    "charlie": "charlie-password-3",
    "dave": "dave-password-44",
}
ROLES = {"alice": "admin", "bob": "operator", "charlie": "viewer", "dave": "viewer"}


def fire_alert(db: Database, summary: str) -> int:
    """Open one alert the way the rule engine does, and return its id."""
    fingerprint = uuid.uuid4().hex
    firing = state.Firing(
        fp=fingerprint,
        rule="domain-registration-failed",
        site="main",
        severity="error",
        labels={"rule": "domain-registration-failed", "gateway": "stripe"},
        summary=summary,
        details={},
        at=utcnow(),
    )
    with db.write() as conn:
        state.fire(conn, [firing])
        alert_id: int = conn.scalar(
            sa.select(alerts.c.id).where(alerts.c.fingerprint == fingerprint)
        )
    return alert_id


def seed_users(db: Database) -> None:
    for name, role in ROLES.items():
        create_user(db, name, PASSWORDS[name], role, actor="test")


@dataclass
class Dashboard:
    """The in-process app with the four users seeded."""

    client: TestClient

    @property
    def db(self) -> Database:
        db: Database = self.client.app.state.services.db  # type: ignore[attr-defined]
        return db

    def login_form_token(self) -> str:
        page = self.client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found is not None
        return found.group(1)

    def login(self, username: str, password: str | None = None, code: str = "") -> int:
        """Log in through the form as a browser would; returns the response status."""
        response = self.client.post(
            "/login",
            data={
                "username": username,
                "password": PASSWORDS[username] if password is None else password,
                "code": code,
                "csrf_token": self.login_form_token(),
                "next": "/",
            },
            follow_redirects=False,
        )
        return response.status_code

    def session_for(self, username: str) -> tuple[dict[str, str], str]:
        """A fresh session made directly in the store: (cookies, CSRF token), without argon2."""
        user = get_user(self.db, username)
        with self.db.write() as conn:
            value = sessions.create(
                conn, user.id, "127.0.0.1", self.client.app.state.services.settings.web
            )  # type: ignore[attr-defined]
        with self.db.read() as conn:
            found = sessions.load(conn, value, self.client.app.state.services.settings.web)  # type: ignore[attr-defined]
        assert found is not None
        return {sessions.COOKIE: value}, found.csrf_token

    def use_session(self, username: str) -> str:
        """Act as ``username`` from now on (a fresh session cookie); returns its CSRF token."""
        cookies, csrf = self.session_for(username)
        self.client.cookies.clear()
        self.client.cookies.update(cookies)
        return csrf

    def fire_alert(self, summary: str = "Gateway stripe failing") -> int:
        """Open a firing alert the way the rule engine does."""
        return fire_alert(self.db, summary)

    def csrf(self) -> str:
        page = self.client.get("/account")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found is not None
        return found.group(1)


@pytest.fixture(name="dashboard")
def dashboard_fixture(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dashboard]:
    # Still argon2id, at a cost that keeps the suite fast on a shared 2-core machine.
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    settings = make_settings(
        database_url, web={"stream_max_seconds": 0.3, "stream_poll_seconds": 0.1}
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        board = Dashboard(client)
        seed_users(board.db)
        yield board
