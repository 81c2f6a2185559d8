"""`whmcs-monitor whmcs ...`: connect a WHMCS installation (install the addon module)."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
from rich.markup import escape

from whmcs_monitor.clikit import Context, friendly_errors, http_url, out
from whmcs_monitor.notify.errors import redact_url
from whmcs_monitor.whmcs_install import (
    check_install,
    default_collector_url,
    install_module,
    register_site,
)

# Defined here rather than imported: cli.py imports this module at its end, and mypy cannot type
# a decorator object taken across that cycle.
pass_ctx = click.make_pass_decorator(Context)


@click.group("whmcs")
def whmcs_group() -> None:
    """Connect a WHMCS installation."""


@whmcs_group.command("install-module")
@click.argument("whmcs_root", type=click.Path(path_type=Path))
@click.option(
    "--site",
    "site_id",
    default="main",
    show_default=True,
    help="Site id; added to the config with a new secret if it is not there.",
)
@click.option(
    "--url",
    callback=http_url,  # checked before the site is added to the config
    help="Collector URL the module posts to [default: server.public_url, else the listen address].",
)
@click.option(
    "--spool-dir",
    type=click.Path(path_type=Path),
    help="Where the module keeps unsent events; outside the web root "
    "[default: a private folder in the system temp dir].",
)
@pass_ctx
@friendly_errors
def install_module_command(
    ctx: Context, whmcs_root: Path, site_id: str, url: str | None, spool_dir: Path | None
) -> None:
    """Copy the addon module into WHMCS_ROOT and write its config.php."""
    server = ctx.settings().server
    url = url or default_collector_url(server.public_url, server.host, server.port)
    check_install(whmcs_root, url=url, spool_dir=spool_dir)  # before touching the config
    registration = register_site(ctx.path, site_id)
    report = install_module(
        whmcs_root,
        site_id=site_id,
        url=url,
        secret=registration.secret,
        php=shutil.which("php"),
        spool_dir=spool_dir,
    )
    if registration.created:
        out.print(f"Added site [bold]{site_id}[/] with a new secret to {escape(str(ctx.path))}")
    out.print(f"Installed {report.files_copied} files in {escape(str(report.module_dir))}")
    out.print(
        f"Wrote {escape(str(report.config_php))} (mode 0600): "
        f"posts to {escape(redact_url(report.url))} as site {site_id}"
    )
    out.print(
        f"php -l: {report.files_linted} files OK"
        if report.files_linted is not None
        else "php -l: skipped, php is not installed here"
    )
    out.print("Next steps:")
    for number, step in enumerate(report.steps, 1):
        out.print(f"  {number}. {escape(step)}")
