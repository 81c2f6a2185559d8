"""``whmcs-monitor fim ...``, ``logs``, ``backups``: the files part's commands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from whmcs_monitor.clikit import ROW_ID, Context, add_text_row, emit_json, err, friendly_errors, out
from whmcs_monitor.files import backups, compliance, fim, permissions
from whmcs_monitor.files.fim import ScanReport

PathArgs = click.argument("paths", nargs=-1, type=click.Path(path_type=str))
# Declared here rather than imported: whmcs_monitor.cli imports this module at its end.
pass_ctx = click.make_pass_decorator(Context)
JsonFlag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group("fim")
def fim_group() -> None:
    """File integrity: baseline the WHMCS tree, scan it for changes, accept changes."""


@contextmanager
def _hashing(total: int, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A bytes progress bar on stderr while files are hashed (none under --json)."""
    if quiet or total == 0:
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("hashing"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("hash", total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def _walking(quiet: bool) -> Iterator[None]:
    """A spinner while the tree is walked and stat'ed."""
    if quiet:
        yield None
        return
    with Progress(
        SpinnerColumn(), TextColumn("walking the WHMCS tree"), console=err, transient=True
    ):
        yield None


@fim_group.command("baseline")
@JsonFlag
@pass_ctx
@friendly_errors
def baseline_cmd(ctx: Context, as_json: bool) -> None:
    """Record the whole tree as the accepted state (sha256, size, mode, owner, mtime)."""
    with ctx.database() as (settings, db):
        with _walking(as_json):
            work = fim.plan(db, settings, rehash_all=True)
        with _hashing(work.hash_bytes, as_json) as progress:
            report = fim.baseline(db, settings, actor="cli", progress=progress, prepared=work)
    if as_json:
        emit_json({"files": report.files, "hashed_bytes": report.hashed_bytes})
        return
    out.print(
        f"[green]Baseline recorded[/]: {report.files} file(s), "
        f"{report.hashed_bytes / 1e6:.1f} MB hashed under {work.root}"
    )


def _print_changes(report: ScanReport) -> None:
    table = Table(title=f"{len(report.changes)} change(s)")
    for column in ("severity", "change", "path", "kind", "why"):
        table.add_column(column, overflow="fold")
    for c in report.changes:
        add_text_row(table, c.severity, c.change, c.path, c.kind, c.reason)
    out.print(table)


@fim_group.command("scan")
@PathArgs
@JsonFlag
@pass_ctx
@friendly_errors
def scan_cmd(ctx: Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Compare the tree (or PATHs in it) with the last scan; store changes as events."""
    with ctx.database() as (settings, db):
        with _walking(as_json):
            work = fim.plan(db, settings, paths)
        with _hashing(work.hash_bytes, as_json) as progress:
            report = fim.scan(db, settings, paths, progress=progress, prepared=work)
    if as_json:
        emit_json(
            {
                "files": report.files,
                "hashed": report.hashed,
                "new_events": report.new_events,
                "changes": [
                    c.data | {"kind": c.kind, "severity": c.severity} for c in report.changes
                ],
            }
        )
        return
    if report.changes:
        _print_changes(report)
    out.print(
        f"Scanned {report.files} file(s), re-hashed {report.hashed} whose stat changed; "
        f"{len(report.changes)} change(s), {report.new_events} new event(s)."
    )


@fim_group.command("accept")
@PathArgs
@pass_ctx
@friendly_errors
def accept_cmd(ctx: Context, paths: tuple[str, ...]) -> None:
    """Accept what the last scan saw (after a WHMCS upgrade); recorded in the audit trail."""
    with ctx.database() as (settings, db):
        count = fim.accept(db, settings, paths, actor="cli")
    where = ", ".join(paths) if paths else "the whole tree"
    out.print(f"Accepted {count} changed file(s) in {where}; recorded in the audit trail.")


@fim_group.command("status")
@JsonFlag
@pass_ctx
@friendly_errors
def status_cmd(ctx: Context, as_json: bool) -> None:
    """List the files that differ from the accepted baseline."""
    with ctx.database() as (settings, db):
        rows = fim.pending(db, settings)
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} file(s) differ from the baseline")
    table.add_column("state")
    table.add_column("path", overflow="fold")
    for row in rows:
        add_text_row(table, row["state"], row["path"])
    out.print(table)


@fim_group.command("permissions")
@JsonFlag
@pass_ctx
@friendly_errors
def permissions_cmd(ctx: Context, as_json: bool) -> None:
    """Check configuration.php and the writable directories; store findings as events."""
    with ctx.database() as (settings, db):
        findings, _new = permissions.report(db, settings)
    if as_json:
        emit_json([_as_dict(f) for f in findings])
        return
    if not findings:
        out.print("[green]OK[/] configuration.php and the writable directories are locked down.")
        return
    table = Table(title=f"{len(findings)} permission problem(s)")
    for column in ("severity", "path", "problem", "fix"):
        table.add_column(column, overflow="fold")
    for f in findings:
        add_text_row(table, f.severity, f.path, f.problem, f.fix)
    out.print(table)


def _as_dict(finding: permissions.Finding) -> dict[str, str]:
    return {
        "check": finding.check,
        "path": finding.path,
        "problem": finding.problem,
        "fix": finding.fix,
        "severity": finding.severity,
    }


@click.group("backups")
def backups_group() -> None:
    """Backup verification."""


@backups_group.command("check")
@JsonFlag
@pass_ctx
@friendly_errors
def backups_check_cmd(ctx: Context, as_json: bool) -> None:
    """Check the newest backup of each configured location now."""
    with ctx.database() as (settings, db):
        if not settings.files.backups.sources:
            raise click.ClickException("no backups are configured (files.backups.sources)")
        events = backups.check_all(db, settings)
    if as_json:
        emit_json([{"kind": e.kind, "summary": e.summary, **e.payload} for e in events])
        return
    for event in events:
        out.print(f"[red]{event.kind}[/] {event.summary}")
    if not events:
        names = ", ".join(s.name for s in settings.files.backups.sources)
        out.print(f"[green]OK[/] backups {names}: present, recent and readable.")


@click.group("privacy")
def privacy_group() -> None:
    """Personal data the monitor holds about a WHMCS client: export or erase it."""


@privacy_group.command("export")
@click.argument("client_id", type=ROW_ID)
@pass_ctx
@friendly_errors
def privacy_export_cmd(ctx: Context, client_id: int) -> None:
    """Print every stored event, alert and notification about CLIENT_ID as one JSON document."""
    with ctx.database() as (_, db):
        emit_json(compliance.export_client(db, client_id))


@privacy_group.command("erase")
@click.argument("client_id", type=ROW_ID)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
@friendly_errors
def privacy_erase_cmd(ctx: Context, client_id: int, yes: bool) -> None:
    """Delete every stored event about CLIENT_ID and erase what alerts and notifications repeat
    of them; a tombstone goes to the audit trail."""
    if not yes:
        click.confirm(f"Erase everything the monitor holds about client #{client_id}?", abort=True)
    with ctx.database() as (_, db):
        done = compliance.erase_client(db, client_id, actor="cli")
    out.print(
        f"Erased {done.events} event(s), {done.alerts} alert(s) and {done.notifications} "
        f"notification(s) about client #{client_id}; recorded in the audit trail."
    )


@click.command("export")
@click.option(
    "--output", type=click.File("w", encoding="utf-8"), default="-", help="File [default: stdout]."
)
@pass_ctx
@friendly_errors
def audit_export_cmd(ctx: Context, output: TextIO) -> None:
    """Write the audit trail as JSON Lines, oldest record first."""
    with ctx.database() as (_, db):
        count = compliance.export_audit(db, output)
    if output is not sys.stdout:
        out.print(f"Wrote {count} audit record(s) to {output.name}")


# The top-level groups this part adds; ``audit_export_cmd`` joins the existing ``audit`` group.
COMMANDS: tuple[click.Command, ...] = (fim_group, backups_group, privacy_group)
