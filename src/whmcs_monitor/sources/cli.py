"""``whmcs-monitor poller ...``: check the WHMCS access, print the GRANTs, run a cycle, show cursors."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table
from rich.text import Text

from whmcs_monitor.clikit import (
    Context,
    add_text_row,
    emit_json,
    err,
    friendly_errors,
    out,
    pass_ctx,
)
from whmcs_monitor.config import Settings, SiteConfig
from whmcs_monitor.errors import InputError
from whmcs_monitor.services import Services
from whmcs_monitor.sources.allowlist import grant_statements
from whmcs_monitor.sources.api_poller import API_OUTAGE_KEY
from whmcs_monitor.sources.poller import OUTAGE_KEY, CycleReport
from whmcs_monitor.sources.state import get_state, positions
from whmcs_monitor.sources.whmcs_db import database_errors
from whmcs_monitor.sources.worker import poll_one, read_only_report


def _sites(settings: Settings, site_id: str | None) -> list[SiteConfig]:
    sites = [s for s in settings.sites if s.database or s.api]
    if site_id is not None:
        sites = [s for s in sites if s.id == site_id]
        if not sites:
            raise InputError(f"--site {site_id}: no site with that id has database or api access")
    if not sites:
        raise InputError(
            "no site has WHMCS access configured: add sites[].database (read-only MySQL) "
            "or sites[].api to the config file"
        )
    return sites


@click.group("poller")
def poller_group() -> None:
    """Read WHMCS signals that have no hook, from its database or API."""


@poller_group.command("grant")
@click.argument("database")
@click.argument("user")
@click.option("--host", default="%", show_default=True, help="MySQL host pattern of the user.")
@friendly_errors
def grant(database: str, user: str, host: str) -> None:
    """Print the column-level GRANTs for the monitor's read-only MySQL USER on DATABASE."""
    try:
        statements = grant_statements(database, user, host)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    click.echo(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '<choose a password>';")
    for statement in statements:
        click.echo(statement + ";")


@poller_group.command("check")
@click.option("--site", "site_id", help="Only this site.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly_errors
def check(ctx: Context, site_id: str | None, as_json: bool) -> None:
    """Connect to each site's WHMCS database and verify its user can only read."""
    with ctx.database() as (settings, db):
        services = Services(settings=settings, db=db)
        results = [_check_site(services, s) for s in _sites(settings, site_id) if s.database]
    if as_json:
        emit_json(results)
    else:
        table = Table(title="WHMCS database access")
        for column in ("site", "reachable", "read-only", "problem"):
            table.add_column(column, overflow="fold")
        for r in results:
            table.add_row(
                Text(r["site"]),
                _yes(r["reachable"]),
                _yes(r["read_only"]),
                Text(r["problem"] or ""),
            )
        out.print(table)
        for r in results:
            if r["reachable"] and not r["read_only"]:
                err.print(
                    f"[bold red]WARNING[/] site {r['site']}: the user can write. Use instead:"
                )
                for statement in r["grants"]:
                    err.print(statement + ";", markup=False, highlight=False)
    if any(not r["reachable"] or not r["read_only"] for r in results):
        raise SystemExit(1)


def _yes(flag: bool | None) -> Text:
    return Text("-" if flag is None else ("yes" if flag else "NO"), style="" if flag else "red")


def _check_site(services: Services, site: SiteConfig) -> dict[str, Any]:
    assert site.database is not None
    result: dict[str, Any] = {
        "site": site.id,
        "reachable": False,
        "read_only": None,
        "problem": None,
    }
    try:
        report = read_only_report(services, site)
    except database_errors() as exc:
        result["problem"] = str(exc)
        return result
    result.update(reachable=True, read_only=report.read_only)
    if not report.read_only:
        result["problem"] = "can write: " + "; ".join(report.offending)
        result["grants"] = grant_statements(site.database.name, site.database.user)
    return result


@poller_group.command("run")
@click.option("--site", "site_id", help="Only this site.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly_errors
def run_once(ctx: Context, site_id: str | None, as_json: bool) -> None:
    """Run one poll cycle now for each site (ignoring any outage back-off)."""
    with ctx.database() as (settings, db):
        services = Services(settings=settings, db=db)
        reports = [poll_one(services, s, force=True) for s in _sites(settings, site_id)]
    if as_json:
        emit_json([_report_json(r) for r in reports])
    else:
        for report in reports:
            _print_report(report)
    if any(not r.ok for r in reports):
        raise SystemExit(1)


def _report_json(report: CycleReport) -> dict[str, Any]:
    return {
        "site": report.site,
        "ok": report.ok,
        "error": report.error,
        "events": report.events,
        "feeds": [vars(f) for f in report.feeds],
        "feed_errors": report.feed_errors,
    }


def _print_report(report: CycleReport) -> None:
    if not report.ok:
        err.print(Text(f"site {report.site}: ", style="bold red") + Text(report.error or ""))
        return
    table = Table(title=f"Poll cycle for site {report.site}: {report.events} new events")
    for column in ("feed", "rows read", "new events", "cursor"):
        table.add_column(column, justify="left" if column in ("feed", "cursor") else "right")
    for feed in report.feeds:
        add_text_row(table, feed.feed, feed.rows, feed.events, feed.position)
    for name, problem in report.feed_errors.items():
        table.add_row(Text(name), "-", "-", Text(f"skipped: {problem}", style="red"))
    out.print(table)


@poller_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly_errors
def status(ctx: Context, as_json: bool) -> None:
    """Each site's cursors and any ongoing outage."""
    with ctx.database() as (settings, db), db.read() as conn:
        doc: list[dict[str, Any]] = []
        for site in _sites(settings, None):
            cursors = positions(conn, site.id)
            doc.append(
                {
                    "site": site.id,
                    "source": "database" if site.database else "api",
                    "outage": get_state(
                        conn, site.id, OUTAGE_KEY if site.database else API_OUTAGE_KEY
                    )
                    or None,
                    "cursors": {
                        f: {"position": p, "updated_at": t.isoformat()}
                        for f, (p, t) in cursors.items()
                    },
                }
            )
    if as_json:
        emit_json(doc)
        return
    for entry in doc:
        outage = entry["outage"]
        state = f"unreachable since {outage['since']}: {outage['error']}" if outage else "ok"
        table = Table(title=Text(f"Site {entry['site']} ({entry['source']}): {state}"))
        table.add_column("feed")
        table.add_column("cursor")
        table.add_column("updated")
        for feed, cur in sorted(entry["cursors"].items()):
            add_text_row(table, feed, cur["position"], cur["updated_at"])
        out.print(table)
