"""CLI groups of the alerting part: ``alerts``, ``silences``, ``rules`` and ``notify``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from whmcs_monitor.alerting import actions, queries
from whmcs_monitor.alerting.engine import rule_loader
from whmcs_monitor.alerting.replay import replay
from whmcs_monitor.alerting.rules import RuleLoader
from whmcs_monitor.clikit import (
    ROW_ID,
    Context,
    add_text_row,
    emit_json,
    friendly_errors,
    out,
    pass_ctx,
    span_option,
)
from whmcs_monitor.errors import InputError
from whmcs_monitor.lib.durations import format_duration
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.notify.errors import DeliveryError
from whmcs_monitor.notify.trial import send_test
from whmcs_monitor.store.events import EventFilter, query_events

ACTOR = "cli"


# --- alerts ----------------------------------------------------------------------------------
@click.group("alerts")
def alerts_group() -> None:
    """List, acknowledge and resolve alerts."""


@alerts_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved alerts.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly_errors
def alerts_list(ctx: Context, show_all: bool, limit: int, as_json: bool) -> None:
    """Open alerts (newest first), with why any is held back."""
    with ctx.database() as (_, db), db.read() as conn:
        rows = queries.list_alerts(
            conn, states=() if show_all else ("firing", "acknowledged"), limit=limit
        )
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} alert(s)")
    for column in (
        "id",
        "state",
        "severity",
        "site",
        "rule",
        "since (UTC)",
        "summary",
        "held back",
    ):
        table.add_column(column, overflow="fold")
    for a in rows:
        add_text_row(
            table,
            a["id"],
            a["state"],
            a["severity"],
            a["site"],
            a["rule"],
            a["starts_at"][:19].replace("T", " "),
            a["summary"],
            a["suppressed"] or "",
        )
    out.print(table)


@alerts_group.command("ack")
@click.argument("alert_id", type=ROW_ID)
@click.option("--note", default="", help="Why, or what you are doing about it.")
@click.option("--as", "actor", default=ACTOR, show_default=True, help="Who acknowledges.")
@pass_ctx
@friendly_errors
def alerts_ack(ctx: Context, alert_id: int, note: str, actor: str) -> None:
    """Acknowledge a firing alert: it stops repeating and escalating."""
    with ctx.database() as (_, db):
        actions.acknowledge(db, alert_id, actor=actor, note=note)
    out.print(f"Acknowledged alert {alert_id}")


@alerts_group.command("resolve")
@click.argument("alert_id", type=ROW_ID)
@click.option("--note", default="", help="Why it is resolved.")
@click.option("--as", "actor", default=ACTOR, show_default=True, help="Who resolves.")
@pass_ctx
@friendly_errors
def alerts_resolve(ctx: Context, alert_id: int, note: str, actor: str) -> None:
    """Resolve an alert by hand (its resolved notice is still sent)."""
    with ctx.database() as (_, db):
        actions.resolve(db, alert_id, actor=actor, note=note)
    out.print(f"Resolved alert {alert_id}")


# --- silences --------------------------------------------------------------------------------
@click.group("silences")
def silences_group() -> None:
    """Mute alerts by label matchers for a while."""


@silences_group.command("add")
@click.argument("matchers", nargs=-1, required=True)
@click.option(
    "--for", "duration", default="2h", show_default=True, help="How long, like 30m or 2h."
)
@click.option("--comment", required=True, help="Why (shown on every muted alert).")
@click.option("--as", "actor", default=ACTOR, show_default=True, help="Who silences.")
@pass_ctx
@friendly_errors
def silences_add(
    ctx: Context, matchers: tuple[str, ...], duration: str, comment: str, actor: str
) -> None:
    """Silence alerts whose labels match every MATCHER (label=value, label=~regex, label!=value)."""
    length = span_option(duration, "--for")
    with ctx.database() as (_, db):
        silence_id = actions.add_silence(
            db, matchers, duration=length, actor=actor, comment=comment
        )
    out.print(f"Created silence {silence_id} for {format_duration(length)}")


@silences_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly_errors
def silences_list(ctx: Context, show_all: bool, as_json: bool) -> None:
    """Active and pending silences."""
    with ctx.database() as (_, db), db.read() as conn:
        rows = queries.list_silences(conn, utcnow(), include_expired=show_all)
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} silence(s)")
    for column in ("id", "state", "matchers", "ends (UTC)", "by", "comment"):
        table.add_column(column, overflow="fold")
    for s in rows:
        add_text_row(
            table,
            s["id"],
            s["state"],
            " ".join(s["matchers"]),
            s["ends_at"][:19].replace("T", " "),
            s["created_by"],
            s["comment"],
        )
    out.print(table)


@silences_group.command("expire")
@click.argument("silence_id", type=ROW_ID)
@click.option("--as", "actor", default=ACTOR, show_default=True, help="Who expires it.")
@pass_ctx
@friendly_errors
def silences_expire(ctx: Context, silence_id: int, actor: str) -> None:
    """End a silence now."""
    with ctx.database() as (_, db):
        actions.expire_silence(db, silence_id, actor=actor)
    out.print(f"Expired silence {silence_id}")


# --- rules -----------------------------------------------------------------------------------
@click.group("rules")
def rules_group() -> None:
    """Check and try out alert rules."""


@rules_group.command("test")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--since", default="7d", show_default=True, help="Replay events from this far back.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=100_000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly_errors
def rules_test(ctx: Context, file: Path | None, since: str, limit: int, as_json: bool) -> None:
    """Replay stored events against FILE (default: the configured rules); print what would have fired, and when."""
    window = span_option(since, "--since")
    with ctx.database() as (settings, db):
        loader = RuleLoader([file], defaults=False) if file else rule_loader(settings)
        rules = loader.load()
        now = utcnow()
        with db.read() as conn:
            events = query_events(conn, EventFilter(since=now - window, limit=limit))
    outcomes = replay(
        events,
        rules,
        resolve_timeout=settings.alerting.resolve_timeout,
        until=now,
        sites=[s.id for s in settings.sites],
    )
    if as_json:
        emit_json(
            {
                "rules": len(rules.rules),
                "events": len(events),
                "outcomes": [o.as_json() for o in outcomes],
            }
        )
        return
    table = Table(
        title=f"{len(rules.rules)} rule(s) over {len(events)} event(s) from the last {since}"
    )
    for column in ("time (UTC)", "what", "rule", "site", "severity", "summary"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        add_text_row(
            table,
            o.at.strftime("%Y-%m-%d %H:%M:%S"),
            o.action,
            o.rule,
            o.site,
            o.severity,
            o.summary,
        )
    out.print(table)
    fired = sum(o.action == "fired" for o in outcomes)
    out.print(f"{fired} alert(s) would have fired.")


# --- notify ----------------------------------------------------------------------------------
@click.group("notify")
def notify_group() -> None:
    """Check notification receivers."""


@notify_group.command("test")
@click.argument("receiver")
@pass_ctx
@friendly_errors
def notify_test(ctx: Context, receiver: str) -> None:
    """Send a test notification to RECEIVER now (bypassing the outbox) and report the result."""
    settings = ctx.settings()
    try:
        target = send_test(settings.alerting, receiver, requested_by="`whmcs-monitor notify test`")
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint="RECEIVER") from exc
    except DeliveryError as exc:
        kind = "permanent" if exc.permanent else "temporary"
        raise click.ClickException(f"{exc} ({kind} failure)") from exc
    out.print(f"[green]OK[/] sent a test notification through {escape(target)}")


COMMANDS: tuple[click.Group, ...] = (alerts_group, silences_group, rules_group, notify_group)
