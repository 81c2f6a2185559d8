"""The ``whmcs-monitor`` command: a thin shell over the same services the HTTP API uses."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from whmcs_monitor import __version__
from whmcs_monitor.accounts import ROLES, create_user, list_users, set_disabled, set_password
from whmcs_monitor.alerting.cli import COMMANDS as ALERTING_COMMANDS
from whmcs_monitor.alerting.engine import rule_loader
from whmcs_monitor.alerting.rules import RuleLoader
from whmcs_monitor.analytics.cli import COMMANDS as ANALYTICS_COMMANDS
from whmcs_monitor.bootstrap import InitReport, initialize, settle_demo
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.catalog.docs import render_markdown
from whmcs_monitor.checks.cli import check_command
from whmcs_monitor.clikit import (
    Context,
    accept_config_everywhere,
    add_text_row,
    emit_json,
    err,
    friendly_errors,
    http_url,
    out,
    pass_ctx,
    span_option,
)
from whmcs_monitor.config import Settings
from whmcs_monitor.coverage import compute as compute_coverage
from whmcs_monitor.errors import ConfigError
from whmcs_monitor.files.cli import COMMANDS as FILES_COMMANDS
from whmcs_monitor.files.cli import audit_export_cmd
from whmcs_monitor.lib.timeutil import utcnow
from whmcs_monitor.sources.cli import poller_group
from whmcs_monitor.store import audit
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events, sites_with_source
from whmcs_monitor.whmcs_cli import whmcs_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="whmcs-monitor")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Monitoring and alerting for WHMCS."""
    ctx.ensure_object(Context)  # --config (see accept_config_everywhere) may have made it


def _print_init(report: InitReport) -> None:
    out.print(f"[bold]Created[/] config {escape(str(report.config_path))} (mode 0600)")
    out.print(f"        database {escape(report.database)}")
    out.print(f"        site [bold]{report.site_id}[/] with a new secret (in the config)")
    out.print(
        f"        admin user [bold]{report.admin_username}[/], one-time password: "
        f"[bold yellow]{report.admin_password}[/] (shown once; change it at first login)"
    )


@main.command()
@pass_ctx
@friendly_errors
def init(ctx: Context) -> None:
    """Create the data directory, config, database, a site and an admin account."""
    _print_init(initialize(ctx.path))


def _require_valid_rule_files(settings: Settings, config: Path) -> None:
    """Refuse what would leave alerting dead: a rule file that is missing or invalid.

    Each file is loaded on its own by the loader the rule engine uses, so the problems of one
    file do not hide those of the next.
    """
    problems: list[str] = []
    for index, path in enumerate(rule_loader(settings).files):
        where = f"alerting.rule_files[{index}] ({path})"
        try:
            RuleLoader([path], defaults=False).load()
        except ConfigError as exc:
            problems.extend(f"{where}: {problem}" for problem in exc.problems)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            problems.append(f"{where}: cannot read the rule file: {reason}")
    if problems:
        raise ConfigError(problems, str(config))


@main.command()
@click.option("--no-demo", is_flag=True, help="Do not start the WHMCS traffic simulator.")
@click.option("--host", help="Listen address (overrides server.host).")
@click.option("--port", type=int, help="Listen port (overrides server.port).")
@click.option(
    "--ingest-only",
    is_flag=True,
    help="Only receive and serve; leave rules, checks and pollers to other instances.",
)
@pass_ctx
@friendly_errors
def run(ctx: Context, no_demo: bool, host: str | None, port: int | None, ingest_only: bool) -> None:
    """Serve the monitor (creating a config on first run)."""
    import uvicorn

    from whmcs_monitor.web.app import create_app

    if not ctx.path.exists():
        _print_init(initialize(ctx.path))
    settings = ctx.settings()
    if host:
        settings.server.host = host
    if port:
        settings.server.port = port
    if ingest_only:
        settings.server.run_workers = False
    if settings.server.run_workers:  # an ingest-only node evaluates no rules
        _require_valid_rule_files(settings, ctx.path)
    with ctx.database() as (_, db), db.read() as conn:
        has_real = bool(sites_with_source(conn, "hook", exclude_sites=[settings.demo.site_id]))
    demo = settle_demo(settings, allowed=not no_demo, has_real_events=has_real)
    url = f"http://{settings.server.host}:{settings.server.port}"
    out.print(f"[bold green]whmcs-monitor {__version__}[/] serving on {escape(url)}")
    out.print(f"  config   {escape(str(ctx.path.resolve()))}")
    out.print(f"  data     {escape(str(settings.data_dir))}")
    out.print(f"  database {escape(Database.describe(settings.database_url))}")
    out.print(f"  sites    {', '.join(s.id for s in settings.sites) or '(none)'}")
    if not settings.server.run_workers:
        out.print("  workers  off: ingest-only node (server.run_workers: false)")
    out.print(
        "  demo     "
        + (
            "on: simulating a WHMCS business day (site 'demo'); --no-demo turns it off"
            if demo
            else "off"
        )
    )
    uvicorn.run(
        create_app(settings, demo=demo, serve_forever=True),
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        proxy_headers=True,
        forwarded_allow_ips=",".join(settings.server.trusted_proxies),
    )


@main.command()
@click.option("--url", callback=http_url, help="Monitor base URL [default: from the config].")
@click.option("--events-per-minute", type=click.IntRange(1, 60_000), help="Traffic rate.")
@click.option("--duration", type=float, help="Stop after this many seconds.")
@click.option("--count", "max_events", type=click.IntRange(1), help="Stop after this many events.")
@click.option("--seed", type=int, help="Random seed, for a repeatable day.")
@pass_ctx
@friendly_errors
def demo(
    ctx: Context,
    url: str | None,
    events_per_minute: int | None,
    duration: float | None,
    max_events: int | None,
    seed: int | None,
) -> None:
    """Send simulated WHMCS traffic to a running monitor through its ingest API."""
    from whmcs_monitor.demo.simulator import DemoSiteRefused, Simulator, Target

    settings = ctx.settings()
    try:
        target = Target.from_settings(settings, url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    rate = events_per_minute or settings.demo.events_per_minute
    simulator = Simulator(target, events_per_minute=rate, seed=seed)
    out.print(
        f"Sending a simulated business day to {escape(target.shown_url)} as site '{target.site_id}' "
        f"(~{rate} events/min); Ctrl-C stops."
    )
    try:
        sent = asyncio.run(simulator.run(max_events=max_events, duration=duration))
    except ConnectionError as exc:
        raise click.ClickException(f"{exc}; start it with `whmcs-monitor run`") from exc
    except DemoSiteRefused as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        sent = simulator.sent_events
    out.print(f"Sent {sent} events.")


@main.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@pass_ctx
@friendly_errors
def config_check(ctx: Context) -> None:
    """Validate the config file and report every problem with its path."""
    settings = ctx.settings()
    _require_valid_rule_files(settings, ctx.path)
    out.print(
        f"[green]OK[/] {escape(str(ctx.path))}: {len(settings.sites)} site(s), "
        f"database {escape(Database.describe(settings.database_url))}"
    )


@main.command()
@click.option("--category", help="Only this category.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--export-hooks", is_flag=True, help="Print the hooks.json the PHP module ships.")
@click.option("--markdown", is_flag=True, help="Print the reference that docs/events.md holds.")
@friendly_errors
def catalog(category: str | None, as_json: bool, export_hooks: bool, markdown: bool) -> None:
    """List the kinds of event whmcs-monitor knows."""
    cat = load_catalog()
    if export_hooks:
        click.echo(json.dumps(cat.export_hooks(), indent=1))
        return
    if markdown:
        click.echo(render_markdown(cat), nl=False)
        return
    known = {c.id for c in cat.categories}
    if category and category not in known:
        raise click.BadParameter(
            f"{category!r}; choose from {', '.join(sorted(known))}", param_hint="--category"
        )
    entries = [e for e in cat.events if not category or e.category == category]
    if as_json:
        emit_json([e.model_dump(mode="json") for e in entries])
        return
    table = Table(title=f"Event catalog ({len(entries)} kinds)")
    for column in ("kind", "category", "severity", "source", "from", "aliases"):
        table.add_column(column)
    for e in entries:
        add_text_row(
            table,
            e.kind,
            e.category,
            e.severity,
            e.source,
            ", ".join(e.hooks) or (e.table or ""),
            ", ".join(e.aliases),
        )
    out.print(table)


def _kinds_for(names: tuple[str, ...]) -> list[str]:
    cat = load_catalog()
    kinds: list[str] = []
    for name in names:
        matches = cat.resolve(name)
        if not matches:
            raise click.BadParameter(
                f"{name!r} is not a kind, hook or alias in the catalog", param_hint="--kind"
            )
        kinds.extend(m.kind for m in matches)
    return kinds


@main.command()
@click.option("--since", default="1h", show_default=True, help="How far back, like 10m, 6h, 7d.")
@click.option("--kind", "kinds", multiple=True, help="Kind, hook name or alias (repeatable).")
@click.option("--category", "categories", multiple=True, help="Category (repeatable).")
@click.option("--site", "sites", multiple=True, help="Site id (repeatable).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly_errors
def events(
    ctx: Context,
    since: str,
    kinds: tuple[str, ...],
    categories: tuple[str, ...],
    sites: tuple[str, ...],
    limit: int,
    as_json: bool,
) -> None:
    """Show stored events, newest first."""
    flt = EventFilter(
        since=utcnow() - span_option(since, "--since"),
        kinds=_kinds_for(kinds),
        categories=categories,
        sites=sites,
        limit=limit,
    )
    with ctx.database() as (_, db), db.read() as conn:
        rows = query_events(conn, flt)
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} event(s) in the last {since}")
    for column in ("time (UTC)", "site", "severity", "kind", "summary"):
        table.add_column(column, overflow="fold")
    for row in rows:
        add_text_row(
            table,
            row["occurred_at"][:19].replace("T", " "),
            row["site"],
            row["severity"],
            row["kind"],
            row["summary"],
        )
    out.print(table)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly_errors
def coverage(ctx: Context, as_json: bool) -> None:
    """The audit's scorecard: kinds possible, wired, observed (7 d) and routed, per category."""
    with ctx.database() as (settings, db), db.read() as conn:
        card = compute_coverage(load_catalog(), settings, conn)
    if as_json:
        emit_json(card.as_json())
        return
    table = Table(title="Monitoring coverage")
    for column in ("category", "possible", "wired", "observed 7d", "routed", "wired %"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for s in [*card.categories, card.totals]:
        add_text_row(table, s.title, s.possible, s.wired, s.observed, s.routed, f"{s.percent}%")
    out.print(table)
    gaps = Table(title="Gaps and what to do")
    for column in ("category", "missing", "kinds", "action"):
        gaps.add_column(column, overflow="fold")
    for s in card.categories:
        for gap in s.gaps:
            add_text_row(gaps, s.title, gap.stage, len(gap.kinds), gap.action)
    out.print(gaps)


@main.group("audit")
def audit_group() -> None:
    """The hash-chained audit trail."""


@audit_group.command("verify")
@pass_ctx
@friendly_errors
def audit_verify(ctx: Context) -> None:
    """Check every record's hash chain; name the first broken record."""
    with ctx.database() as (_, db), db.read() as conn:
        result = audit.verify(conn)
    if not result.ok:
        broken = (
            "audit trail"
            if result.first_broken_id is None
            else f"audit record {result.first_broken_id}"
        )
        err.print(f"[red]BROKEN[/] {broken}: {result.reason} ({result.records} record(s) read)")
        sys.exit(1)
    out.print(f"[green]OK[/] {result.records} audit record(s); the chain is intact")


@main.group("users")
def users_group() -> None:
    """Manage dashboard accounts."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.password_option(help="Password (prompted for if not given).")
@pass_ctx
@friendly_errors
def users_add(ctx: Context, username: str, role: str, password: str) -> None:
    """Create an account."""
    with ctx.database() as (_, db):
        create_user(db, username, password, role, actor="cli")
    out.print(f"Created {role} {username}")


@users_group.command("passwd")
@click.argument("username")
@click.password_option(help="New password (prompted for if not given).")
@pass_ctx
@friendly_errors
def users_passwd(ctx: Context, username: str, password: str) -> None:
    """Set an account's password."""
    with ctx.database() as (_, db):
        set_password(db, username, password, actor="cli")
    out.print(f"Password changed for {username}")


@users_group.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@pass_ctx
@friendly_errors
def users_disable(ctx: Context, username: str, enable: bool) -> None:
    """Disable (or --enable) an account."""
    with ctx.database() as (_, db):
        set_disabled(db, username, not enable, actor="cli")
    out.print(f"{'Enabled' if enable else 'Disabled'} {username}")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly_errors
def users_list(ctx: Context, as_json: bool) -> None:
    """List accounts."""
    with ctx.database() as (_, db):
        accounts = list_users(db)
    if as_json:
        emit_json(
            [
                {
                    "username": u.username,
                    "role": u.role,
                    "disabled": u.disabled,
                    "last_login_at": u.last_login_at,
                }
                for u in accounts
            ]
        )
        return
    table = Table(title="Users")
    for column in ("username", "role", "state", "last login"):
        table.add_column(column)
    for u in accounts:
        add_text_row(
            table,
            u.username,
            u.role,
            "disabled" if u.disabled else "active",
            u.last_login_at or "never",
        )
    out.print(table)


# The other parts' commands, assembled in one place.
for command in (
    whmcs_group,
    poller_group,
    check_command,
    *ALERTING_COMMANDS,
    *FILES_COMMANDS,
    *ANALYTICS_COMMANDS,
):
    main.add_command(command)
audit_group.add_command(audit_export_cmd)
accept_config_everywhere(main)
