"""Breach indicators from a site's WHMCS database: who logs in where and when, and API reads.

Per admin, a profile of known networks (/24, /48) and login hours is learned from tbladminlog;
the first run learns from the whole history without alerting. A later login is reported when it
comes from a network never seen for that admin, at an hour they never used (once enough logins
are known), or from an IP that failed to log in many times just before. API calls that read
client data (GetClients, GetClientsDetails) are counted per hour in tblapilog and compared with
their learned hourly average. Only non-secret columns are read (never sessionid, nor the API
log's request, response or headers).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from whmcs_monitor.config import Settings, SiteConfig
from whmcs_monitor.errors import InputError
from whmcs_monitor.events.model import Event
from whmcs_monitor.files import state as state_store
from whmcs_monitor.files.config import BreachConfig
from whmcs_monitor.files.emit import Emitter, store
from whmcs_monitor.files.livedb import connect
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.tables import events as events_table

log = logging.getLogger(__name__)
BATCH = 5000
CLIENT_READ_ACTIONS = ("GetClients", "GetClientsDetails")
EWMA_WEIGHT = 0.2


@dataclass(frozen=True, slots=True)
class AdminLogin:
    id: int
    username: str
    at: datetime | None  # WHMCS stores local time; a zero date comes back as None
    ip: str


def network_of(ip: str, config: BreachConfig) -> str:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip.strip() or "unknown"
    prefix = config.network_prefix_v4 if address.version == 4 else config.network_prefix_v6
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def fetch_logins(cursor: Any, after_id: int) -> list[AdminLogin]:
    cursor.execute(
        "SELECT id, adminusername, logintime, ipaddress FROM tbladminlog "
        "WHERE id > %s ORDER BY id LIMIT %s",
        (after_id, BATCH),
    )
    return [
        AdminLogin(
            int(r[0]),
            str(r[1] or ""),
            r[2] if isinstance(r[2], datetime) else None,
            str(r[3] or ""),
        )
        for r in cursor.fetchall()
    ]


def failures_from(db: Database, site: str, ip: str, since: datetime) -> int:
    """Failed admin logins from ``ip`` stored since ``since`` (from the poller's events)."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(events_table.c.labels).where(
                events_table.c.site == site,
                events_table.c.kind == "security.admin_login_failed",
                events_table.c.occurred_at >= since,
            )
        ).all()
    return sum(1 for (labels,) in rows if isinstance(labels, dict) and labels.get("ip") == ip)


class LoginJudge:
    """Applies the login indicators to one site's logins, updating the per-admin profiles."""

    def __init__(self, config: BreachConfig, emitter: Emitter, profiles: dict[str, Any]) -> None:
        self.config = config
        self.emitter = emitter
        self.profiles = profiles

    def learn(self, login: AdminLogin) -> None:
        profile = self.profiles.setdefault(
            login.username, {"networks": [], "hours": {}, "logins": 0}
        )
        network = network_of(login.ip, self.config)
        if network not in profile["networks"]:
            profile["networks"] = [*profile["networks"], network][-200:]
        if login.at is not None:
            hour = str(login.at.hour)
            profile["hours"][hour] = int(profile["hours"].get(hour, 0)) + 1
        profile["logins"] = int(profile["logins"]) + 1

    def judge(self, login: AdminLogin, failures: int) -> list[Event]:
        profile = self.profiles.get(login.username)
        found: list[Event] = []
        base = {
            "username": login.username,
            "ip": login.ip,
            "login_id": login.id,
            "login_time": login.at.isoformat(sep=" ") if login.at else None,
        }
        network = network_of(login.ip, self.config)
        if profile and network not in profile["networks"]:
            found.append(
                self.emitter.event(
                    "compliance.admin_login_new_location",
                    f"login:{login.id}",
                    {
                        **base,
                        "country": f"network {network}",
                        "network": network,
                        "known_networks": profile["networks"][-10:],
                    },
                )
            )
        if (
            profile
            and login.at is not None
            and int(profile["logins"]) >= self.config.unusual_hour_min_logins
            and not profile["hours"].get(str(login.at.hour))
        ):
            usual = sorted(int(h) for h in profile["hours"])
            found.append(
                self.emitter.event(
                    "compliance.admin_login_unusual_hour",
                    f"hour:{login.id}",
                    {
                        **base,
                        "hour": f"{login.at.hour:02d}",
                        "usual": ", ".join(f"{h:02d}" for h in usual),
                    },
                )
            )
        if failures >= self.config.failures_before_success:
            found.append(
                self.emitter.event(
                    "compliance.login_after_failures",
                    f"failures:{login.id}",
                    {**base, "failures": failures, "window": str(self.config.failure_window)},
                )
            )
        return found


def _api_reads(cursor: Any) -> tuple[str, int]:
    """(the database's current hour, client-data reads through the API in the last hour)."""
    placeholders = ", ".join(["%s"] * len(CLIENT_READ_ACTIONS))
    cursor.execute(
        "SELECT DATE_FORMAT(NOW(), '%%Y-%%m-%%d %%H'), COUNT(*) FROM tblapilog "
        f"WHERE created_at >= NOW() - INTERVAL 1 HOUR AND action IN ({placeholders})",
        CLIENT_READ_ACTIONS,
    )
    row = cursor.fetchone()
    return str(row[0]), int(row[1] or 0)


def judge_api_reads(
    config: BreachConfig, emitter: Emitter, saved: dict[str, Any], hour: str, count: int
) -> tuple[list[Event], dict[str, Any]]:
    """A burst is far above the learned hourly average; the baseline moves once an hour."""
    baseline = float(saved.get("ewma", 0.0))
    samples = int(saved.get("samples", 0))
    found = []
    burst = (
        samples >= config.api_learning_hours
        and count >= config.api_read_min
        and count > config.api_read_factor * max(baseline, 1.0)
    )
    if burst:
        found.append(
            emitter.event(
                "compliance.mass_data_export",
                f"api:{hour}",
                {
                    "admin": "API credentials",
                    "count": count,
                    "window": "1h",
                    "baseline_per_hour": round(baseline, 1),
                    "actions": list(CLIENT_READ_ACTIONS),
                    "ip": "",
                },
            )
        )
    state = dict(saved)
    if saved.get("hour") != hour:
        if not burst:  # a burst must not raise the baseline it is judged against
            state["ewma"] = baseline + EWMA_WEIGHT * (count - baseline) if samples else float(count)
            state["samples"] = samples + 1
        state["hour"] = hour
    return found, state


def check_site(db: Database, settings: Settings, site: SiteConfig) -> list[Event]:
    """Run the indicators for one site with a database; store and return the new events."""
    if site.database is None:
        return []
    config = settings.files.breach
    emitter = Emitter(site.id)
    key = f"breach:{site.id}"
    with db.read() as conn:
        saved = state_store.load(conn, site.id, key)
    judge = LoginJudge(config, emitter, dict(saved.get("admins", {})))
    learning = "last_id" not in saved
    last_id = int(saved.get("last_id", 0))
    found: list[Event] = []
    with connect(site.database) as conn, conn.cursor() as cursor:
        while True:
            logins = fetch_logins(cursor, last_id)
            for login in logins:
                if not learning:
                    since = utcnow() - config.failure_window
                    found.extend(judge.judge(login, failures_from(db, site.id, login.ip, since)))
                judge.learn(login)
                last_id = login.id
            if len(logins) < BATCH or not learning:
                break
        hour, count = _api_reads(cursor)
    api_events, api_state = judge_api_reads(config, emitter, saved.get("api", {}), hour, count)
    found.extend(api_events)
    with db.write() as conn:
        store(conn, found)
        state_store.save(
            conn, site.id, key, {"last_id": last_id, "admins": judge.profiles, "api": api_state}
        )
    return found


def check_all(db: Database, settings: Settings) -> list[Event]:
    """Every site with a database; one unreachable site does not hold up the others."""
    found: list[Event] = []
    for site in sites_with_database(settings.sites):
        try:
            found.extend(check_site(db, settings, site))
        except InputError as exc:
            log.warning("breach indicators for site %s skipped: %s", site.id, exc)
    return found


def sites_with_database(sites: Sequence[SiteConfig]) -> list[SiteConfig]:
    return [s for s in sites if s.database is not None]
