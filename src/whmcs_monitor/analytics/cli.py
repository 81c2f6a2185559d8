"""``whmcs-monitor report`` and ``whmcs-monitor analytics ...``: the same functions the worker runs."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from whmcs_monitor.analytics import report as reporting
from whmcs_monitor.analytics.allowlist import analytics_grants
from whmcs_monitor.analytics.definitions import BY_NAME
from whmcs_monitor.analytics.publish import produce, site_with_database
from whmcs_monitor.analytics.refresh import refresh_site
from whmcs_monitor.analytics.whmcs import connect
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.clikit import Context, add_text_row, emit_json, friendly_errors, out, pass_ctx
from whmcs_monitor.errors import InputError


@click.command()
@click.option(
    "--period", type=click.Choice(reporting.PERIOD_CHOICES), default="week", show_default=True
)
@click.option(
    "--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True
)
@click.option("--site", "site_id", help="Site id [default: the only site with a WHMCS database].")
@click.option(
    "--to-date", is_flag=True, help="The current period so far instead of the last complete one."
)
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
    help="Report as of this moment (WHMCS server time), to rerun a past report.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to a file.",
)
@pass_ctx
@friendly_errors
def report(
    ctx: Context,
    period: reporting.Period,
    fmt: str,
    site_id: str | None,
    to_date: bool,
    as_of: datetime | None,
    output: Path | None,
) -> None:
    """Business report: revenue, MRR, churn, orders, payments, support, capacity and forecasts."""
    with ctx.database() as (settings, db):
        site = site_with_database(settings, site_id)
        doc = produce(settings, db, site, period, now=as_of, to_date=to_date)
    text = {
        "json": lambda: json.dumps(doc, indent=2, default=str) + "\n",
        "md": lambda: reporting.to_markdown(doc),
        "html": lambda: reporting.to_html(doc),
    }[fmt]()
    if output is not None:
        try:
            output.write_text(text, "utf-8")
        except OSError as exc:
            raise click.BadParameter(
                f"cannot write {output}: {exc.strerror or exc}", param_hint="--output"
            ) from exc
        click.echo(f"Wrote the {period} report for {site.id} to {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.group("analytics")
def analytics() -> None:
    """Business KPIs, anomaly detection and forecasts from the WHMCS database."""


@analytics.command("refresh")
@click.option("--site", "site_id", help="Site id [default: the only site with a WHMCS database].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
@friendly_errors
def refresh(ctx: Context, site_id: str | None, as_json: bool) -> None:
    """Compute every KPI now, record it and raise anomaly events (what the worker does)."""
    with ctx.database() as (settings, db):
        site = site_with_database(settings, site_id)
        assert site.database is not None
        with connect(site.database) as whmcs:
            result = refresh_site(
                db, load_catalog(), site=site.id, whmcs=whmcs, config=settings.analytics
            )
    assert result is not None  # no min_interval: never skipped
    if as_json:
        emit_json(
            {
                "site": site.id,
                "seconds": round(result.seconds, 3),
                "new_events": result.new_events,
                "kpis": [
                    {"metric": m.name, "labels": dict(m.labels), "value": m.value}
                    for m in result.measures
                ],
                "anomalies": [
                    {"kind": s.kind, "message": s.data.get("message")} for s in result.signals
                ],
                "not_judged": result.notes,
            }
        )
        return
    table = Table(
        title=f"KPIs for {site.id} ({len(result.measures)} values in {result.seconds:.2f}s)"
    )
    for column in ("KPI", "for", "value"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for m in result.measures:
        kpi = BY_NAME[m.name]
        add_text_row(
            table,
            kpi.title,
            ", ".join(f"{k}={v}" for k, v in m.labels.items()),  # WHMCS gateway and product names
            reporting.format_value(m.value, kpi.unit),
        )
    out.print(table)
    for s in result.signals:
        out.print(Text(s.kind, style="yellow") + Text(f" {s.data.get('message', '')}"))
    for note in result.notes:
        out.print(f"Not judged: {note}", markup=False)
    out.print(f"{result.new_events} new event(s)")


@analytics.command("grants")
@click.option("--database", "database", required=True, help="The WHMCS database name.")
@click.option("--user", required=True, help="The monitor's MySQL user.")
@click.option("--host", default="%", show_default=True, help="The user's host pattern.")
@friendly_errors
def grants(database: str, user: str, host: str) -> None:
    """Print the column-level GRANTs analytics needs (on top of the poller's)."""
    try:
        statements = analytics_grants(database, user, host)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    click.echo(";\n".join(statements) + ";")


# What cli.py registers on the top-level group (typed, so the import cycle stays checkable).
COMMANDS: tuple[click.Command, ...] = (report, analytics)
