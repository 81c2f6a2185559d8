"""Periodic clean-up of the dashboard's tables: ended sessions and stale login counters."""

from __future__ import annotations

from whmcs_monitor.services import Services
from whmcs_monitor.web import sessions, throttle


def purge(services: Services) -> None:
    config = services.settings.web
    with services.db.write() as conn:
        sessions.purge_expired(conn, config)
        throttle.purge_stale(conn, config)
