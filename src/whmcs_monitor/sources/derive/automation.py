"""Cron health, automation tasks, WHMCS version and maintenance mode.

Reproduces WHMCS's own Automation Status from tblconfiguration (lastCronInvocationTime,
lastDailyCronInvocationTime, lastDailyCronEndTime) and reads tbltask_status for tasks overdue or
stuck in progress.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from whmcs_monitor.sources import queries
from whmcs_monitor.sources.allowlist import CONFIG_SETTINGS
from whmcs_monitor.sources.derive import Context, Derived, iso
from whmcs_monitor.sources.whmcs_db import Row, age_minutes, as_datetime, as_int, as_text

_ON = {"on", "1", "true", "yes"}


def version_tuple(text: str) -> tuple[int, ...]:
    """``8.4.0-release.1`` -> (8, 4, 0); anything unparseable compares lowest."""
    match = re.match(r"\s*(\d+(?:\.\d+)*)", text)
    return tuple(int(p) for p in match.group(1).split(".")) if match else ()


def configuration(ctx: Context, rows: list[Row]) -> Derived:
    """A setting missing from tblconfiguration reads as empty (a cron that never ran)."""
    settings = dict.fromkeys(CONFIG_SETTINGS, "")
    settings.update({as_text(r.get("setting")): as_text(r.get("value")) for r in rows})
    return settings_events(ctx, settings)


def settings_events(ctx: Context, settings: dict[str, str]) -> Derived:
    """Events from the settings present in ``settings`` (the API knows only some of them)."""
    out = Derived()
    out.events += _cron(ctx, settings)
    out.events += _version(ctx, settings)
    out.events += _maintenance(ctx, settings)
    return out


def _cron(ctx: Context, settings: dict[str, str]) -> list[Any]:
    limits = ctx.config.thresholds
    events = []
    last = as_datetime(settings.get("lastCronInvocationTime"), ctx.zone)
    minutes = age_minutes(last, ctx.now)
    known = "lastCronInvocationTime" in settings
    if known and (minutes is None or minutes >= limits.cron_stale_minutes):
        data = {"last_run": iso(last) or "never", "minutes_since": minutes}
        events.append(ctx.event("cron.not_running", f"cron:not_running:{iso(last)}", data))
    if "lastDailyCronInvocationTime" not in settings:
        return events
    daily = as_datetime(settings.get("lastDailyCronInvocationTime"), ctx.zone)
    if daily is None or ctx.now - daily >= timedelta(hours=limits.daily_stale_hours):
        hours = None if daily is None else int((ctx.now - daily) / timedelta(hours=1))
        data = {"last_run": iso(daily) or "never", "hours_since": hours}
        events.append(ctx.event("cron.daily_not_run", f"cron:daily_not_run:{iso(daily)}", data))
    ended = as_datetime(settings.get("lastDailyCronEndTime"), ctx.zone)
    if "lastDailyCronEndTime" not in settings:
        return events
    started_long_ago = daily is not None and ctx.now - daily >= timedelta(
        minutes=limits.task_stuck_minutes
    )
    if started_long_ago and (ended is None or ended < daily):  # type: ignore[operator]
        data = {"started_at": iso(daily), "ended_at": iso(ended)}
        events.append(
            ctx.event("cron.daily_incomplete", f"cron:daily_incomplete:{iso(daily)}", data)
        )
    return events


def _version(ctx: Context, settings: dict[str, str]) -> list[Any]:
    running, latest = settings.get("Version", ""), settings.get("UpdaterLatestVersion", "")
    if not latest or not running or version_tuple(latest) <= version_tuple(running):
        return []
    data = {"version": running, "latest_version": latest}
    return [ctx.event("system.update_available", f"whmcs:update:{latest}", data)]


def _maintenance(ctx: Context, settings: dict[str, str]) -> list[Any]:
    if "MaintenanceMode" not in settings:
        return []
    on = settings.get("MaintenanceMode", "").strip().lower() in _ON
    was_on = ctx.state.get("maintenance_on")
    ctx.state["maintenance_on"] = on
    if not on:
        ctx.state.pop("maintenance_since", None)
        return []
    since = ctx.state.setdefault("maintenance_since", iso(ctx.now))
    if was_on is True:
        return []
    return [
        ctx.event("system.maintenance_mode_enabled", f"whmcs:maintenance:{since}", {"since": since})
    ]


def tasks(ctx: Context, rows: list[Row]) -> Derived:
    out = Derived()
    ids = tuple(sorted({int(r["task_id"]) for r in rows}))
    if not ids:
        return out
    found = ctx.fetch(queries.TASK_NAMES, {"ids": ids, "limit": len(ids)})
    names = {int(r["id"]): r for r in found}
    limits = ctx.config.thresholds
    for row in rows:
        task = names.get(int(row["task_id"]))
        if task is None or not as_int(task.get("is_enabled")):
            continue
        name = as_text(task.get("name")) or as_text(task.get("class_name")).rsplit("\\", 1)[-1]
        base = {"task_id": int(row["task_id"]), "task_name": name}
        if as_int(row.get("in_progress")):
            since = as_datetime(row.get("updated_at"), ctx.zone)
            minutes = age_minutes(since, ctx.now)
            if minutes is not None and minutes >= limits.task_stuck_minutes:
                data = {**base, "minutes": minutes, "since": iso(since)}
                key = f"tbltask_status:{row['task_id']}:stuck:{iso(since)}"
                out.events.append(ctx.event("cron.task_stuck", key, data))
            continue
        due = as_datetime(row.get("next_due"), ctx.zone)
        late = age_minutes(due, ctx.now)
        if (
            due is not None
            and due < ctx.now
            and late is not None
            and late >= limits.task_overdue_minutes
        ):
            data = {**base, "next_due": iso(due), "minutes_overdue": late}
            key = f"tbltask_status:{row['task_id']}:overdue:{iso(due)}"
            out.events.append(ctx.event("cron.task_overdue", key, data))
    return out


def admins(ctx: Context, rows: list[Row]) -> Derived:
    """New admin users and role changes, against the roles remembered in the feed state.

    The first full pass only learns the current admins (unless the poller starts at the
    beginning), so installing the monitor does not report every existing admin as new.
    """
    out = Derived()
    roles: dict[str, int] = ctx.state.setdefault("roles", {})
    learning = not ctx.state.get("learned") and ctx.config.start_at == "end"
    for row in rows:
        admin_id, role = str(row["id"]), as_int(row.get("roleid")) or 0
        data = {"id": int(row["id"]), "username": as_text(row.get("username")), "roleid": role}
        previous = roles.get(admin_id)
        roles[admin_id] = role
        if learning or previous == role:
            continue
        if previous is None:
            out.events.append(
                ctx.event("admin.user_added_recorded", f"tbladmins:{admin_id}:added", data)
            )
        else:
            changed = {**data, "previous_roleid": previous}
            key = f"tbladmins:{admin_id}:role:{previous}:{role}:{iso(ctx.now)}"
            out.events.append(ctx.event("admin.role_changed_recorded", key, changed))
    return out
