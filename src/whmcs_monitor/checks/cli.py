"""``whmcs-monitor check [NAME]``: run the checks once, now, and show what they found.

This is a diagnostic: it does not change the stored state or store events, so running it next
to the service never disturbs flap control.
"""

from __future__ import annotations

import asyncio
import sys

import click
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from whmcs_monitor.checks.base import CheckBase, Result
from whmcs_monitor.checks.definitions import all_checks
from whmcs_monitor.checks.queries import heartbeat_snippet
from whmcs_monitor.checks.scheduler import Claim, run_probe
from whmcs_monitor.clikit import Context, emit_json, err, friendly_errors, out, pass_ctx
from whmcs_monitor.lib.timeutil import utcnow

_STYLE = {"up": "green", "degraded": "yellow", "down": "bold red"}


async def run_once(checks: list[CheckBase], progress: Progress | None) -> list[Result]:
    task = progress.add_task("running checks", total=len(checks)) if progress else None

    async def one(check: CheckBase) -> Result:
        now = utcnow()
        result = await run_probe(check, Claim(check.name, now, {}, None), now, None)
        if progress is not None and task is not None:
            progress.advance(task)
        return result

    return list(await asyncio.gather(*(one(c) for c in checks)))


def _table(checks: list[CheckBase], results: list[Result]) -> Table:
    table = Table(title=f"{len(checks)} check(s)")
    for column in ("name", "type", "target", "result", "latency", "message"):
        table.add_column(
            column, overflow="fold", justify="right" if column == "latency" else "left"
        )
    for check, result in zip(checks, results, strict=True):
        latency = f"{result.latency_ms:.0f} ms" if result.latency_ms is not None else "-"
        style = _STYLE[result.status]
        table.add_row(
            Text(check.name),
            Text(check.type_name),
            Text(check.target),
            Text(result.status.upper(), style=style),
            latency,
            Text(result.message),  # a probe's message quotes what the server sent
        )
    return table


@click.command("check")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--snippet",
    metavar="HEARTBEAT",
    help="Print the crontab line that runs the WHMCS cron and pings this heartbeat.",
)
@click.option(
    "--whmcs-root",
    default="/var/www/whmcs",
    show_default=True,
    help="The WHMCS directory, for --snippet.",
)
@pass_ctx
@friendly_errors
def _check(
    ctx: Context, name: str | None, as_json: bool, snippet: str | None, whmcs_root: str
) -> None:
    """Run every check (or the one called NAME) once and show the results.

    Exits with status 1 when a check is down, so scripts can use it.
    """
    with ctx.database() as (settings, db):
        if snippet is not None:
            click.echo(heartbeat_snippet(settings, snippet, whmcs_root))
            return
        with db.read() as conn:
            found = {n: check for n, (check, _) in all_checks(settings, conn).items()}
    if name is not None and name not in found:
        known = ", ".join(sorted(found)) or "none are configured (see checks.probes)"
        raise click.ClickException(f"no check named {name!r}; known checks: {known}")
    checks = [found[name]] if name is not None else [found[n] for n in sorted(found)]
    if as_json:
        results = asyncio.run(run_once(checks, None))
        emit_json(
            [
                {
                    "name": c.name,
                    "type": c.type_name,
                    "target": c.target,
                    "status": r.status,
                    "latency_ms": r.latency_ms,
                    "message": r.message,
                    "metrics": r.metrics,
                }
                for c, r in zip(checks, results, strict=True)
            ]
        )
    else:
        with Progress(console=err, transient=True) as progress:
            results = asyncio.run(run_once(checks, progress))
        out.print(_table(checks, results))
        if not checks:
            out.print("No checks configured: add some under checks.probes in the config.")
    if any(r.status == "down" for r in results):
        sys.exit(1)


check_command: click.Command = _check  # typed here: mypy cannot infer it through the import cycle
